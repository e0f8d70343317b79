"""RBM training speed and quality against scikit-learn's BernoulliRBM, in the same run.

The nudged digits (scikit-learn's 8x8 digits plus their 1-pixel shifts, 80/20 split: 7,188
training images), 256 hidden units, 20 epochs, learning rate 0.06, PCD-1 against its PCD-1, one
CPU thread for both. Pseudo-likelihood of both models is scored by the same estimator
(scikit-learn's `score_samples`, our weights copied into a BernoulliRBM), on the held-out images.

    .venv/bin/python bench/rbm.py            # --epochs 20 --hidden 256
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy loads its BLAS
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import torch
from scipy.ndimage import convolve
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import BernoulliRBM
from threadpoolctl import threadpool_limits

from netspec.nn.energy import RBM
from netspec.pretrain.rbm import CDSettings, ContrastiveDivergence


def nudged_digits() -> tuple[np.ndarray, np.ndarray]:
    """The digits and their shifts by one pixel in each direction (scikit-learn's gallery)."""
    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    shifts = (
        [[0, 1, 0], [0, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [1, 0, 0], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 1], [0, 0, 0]],
        [[0, 0, 0], [0, 0, 0], [0, 1, 0]],
    )
    moved = [
        np.apply_along_axis(
            lambda r, w=w: convolve(r.reshape(8, 8), w, mode="constant").ravel(), 1, x
        )
        for w in shifts
    ]
    return np.concatenate([x, *moved]), np.concatenate([y] * 5)


def train_ours(x: np.ndarray, hidden: int, epochs: int, batch: int, lr: float, seed: int) -> RBM:
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    rbm = RBM(x.shape[1], hidden)
    data = torch.tensor(x, dtype=torch.float32)
    rule = ContrastiveDivergence(rbm, CDSettings(lr=lr, k=1, persistent=True), batch, g)
    for _ in range(epochs):
        order = torch.randperm(len(data), generator=g)
        for i in range(0, len(data), batch):
            rule.step(data[order[i : i + batch]])
    return rbm


def as_sklearn(rbm: RBM, hidden: int) -> BernoulliRBM:
    model = BernoulliRBM(n_components=hidden, random_state=0)
    model.components_ = rbm.W.detach().double().numpy()
    model.intercept_hidden_ = rbm.c.detach().double().numpy()
    model.intercept_visible_ = rbm.b.detach().double().numpy()
    model.h_samples_ = np.zeros((1, hidden))
    model.random_state_ = np.random.RandomState(0)
    return model


def pseudo_likelihood(model: BernoulliRBM, x: np.ndarray) -> float:
    """Exact mean pseudo-log-likelihood: every bit flipped in turn, so no sampling noise decides
    which model wins (scikit-learn's score_samples flips one random bit)."""
    w, b, c = model.components_, model.intercept_visible_, model.intercept_hidden_

    def free_energy(v: np.ndarray) -> np.ndarray:
        return -(v @ b) - np.logaddexp(0, v @ w.T + c).sum(1)

    base = free_energy(x)
    total = np.zeros(len(x))
    for i in range(x.shape[1]):
        flipped = x.copy()
        flipped[:, i] = 1 - flipped[:, i]
        total += -np.logaddexp(0, -(free_energy(flipped) - base))  # log sigmoid(F(v~) - F(v))
    return float(total.mean())


def accuracy(model: BernoulliRBM, train: tuple, test: tuple) -> float:  # type: ignore[type-arg]
    clf = LogisticRegression(C=100, max_iter=5000)
    clf.fit(model.transform(train[0]), train[1])
    return float(clf.score(model.transform(test[0]), test[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--lr", type=float, default=0.06)
    parser.add_argument("--seeds", type=int, default=3, help="times and scores over these seeds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    x, y = nudged_digits()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    print(
        f"nudged digits: {len(x_train)} train x {x.shape[1]}, {len(x_test)} test; "
        f"{args.hidden} hidden, {args.epochs} epochs, lr {args.lr}, PCD-1, one thread"
    )
    print(
        f"{'batch':>5}  {'sklearn s':>9}  {'netspec s':>9}  {'speed-up':>8}  "
        f"{'PL sklearn':>10}  {'PL netspec':>10}  {'acc sklearn':>11}  {'acc netspec':>11}"
    )
    missed = []
    for batch in (64, 10):
        times, pls, accs = [], [], []
        for seed in range(args.seeds):
            theirs = BernoulliRBM(
                n_components=args.hidden,
                learning_rate=args.lr,
                batch_size=batch,
                n_iter=args.epochs,
                random_state=seed,
            )
            with threadpool_limits(1):
                start = time.perf_counter()
                theirs.fit(x_train)
                t_theirs = time.perf_counter() - start
            start = time.perf_counter()
            ours_rbm = train_ours(x_train, args.hidden, args.epochs, batch, args.lr, seed)
            t_ours = time.perf_counter() - start
            ours = as_sklearn(ours_rbm, args.hidden)
            with threadpool_limits(1):
                pls.append((pseudo_likelihood(theirs, x_test), pseudo_likelihood(ours, x_test)))
                accs.append(
                    (
                        accuracy(theirs, (x_train, y_train), (x_test, y_test)),
                        accuracy(ours, (x_train, y_train), (x_test, y_test)),
                    )
                )
            times.append((t_theirs, t_ours))
        t = [statistics.median(x) for x in zip(*times, strict=True)]
        pl = [statistics.mean(x) for x in zip(*pls, strict=True)]
        acc = [statistics.mean(x) for x in zip(*accs, strict=True)]
        speedup = t[0] / t[1]
        print(
            f"{batch:>5}  {t[0]:>9.2f}  {t[1]:>9.2f}  {speedup:>7.2f}x  {pl[0]:>10.2f}  "
            f"{pl[1]:>10.2f}  {acc[0]:>11.3f}  {acc[1]:>11.3f}"
        )
        need = 2.0 if batch == 64 else 1.0
        if speedup < need:
            missed.append(f"batch {batch}: {speedup:.2f}x < {need}x")
        if pl[1] < pl[0]:
            missed.append(f"batch {batch}: pseudo-likelihood {pl[1]:.2f} < {pl[0]:.2f}")
    for line in missed:
        print("MISSED:", line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
