"""specs/dbn.net by hand: the digits (80/20, stratified, seed 0), two RBMs (64 -> 256 -> 128)
pretrained one after the other by PCD-1 with momentum (50 epochs each, batch 16, the chains as
many as a minibatch), each epoch's monitors as netspec logs them (reconstruction error and
pseudo-likelihood on up to 2,048 training rows, the free-energy gap to the test rows); then the
stack with a softmax on top fine-tuned by SGD (150 epochs), the test split scored every
`--eval-every` epochs and at the end. No checkpoints, plots or logs: the work alone.
"""

from __future__ import annotations

import argparse
import math

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

ROWS = 2048  # rows the per-epoch monitors look at


class RBM(nn.Module):
    def __init__(self, visible: int, hidden: int) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.randn(hidden, visible) * 0.01)
        self.b = nn.Parameter(torch.zeros(visible))
        self.c = nn.Parameter(torch.zeros(hidden))

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.linear(v, self.W, self.c))

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        return -(v @ self.b) - F.softplus(F.linear(v, self.W, self.c)).sum(-1)


@torch.no_grad()
def pcd(rbm: RBM, x: torch.Tensor, held: torch.Tensor, epochs: int, batch: int) -> None:
    W, b, c = rbm.W.data, rbm.b.data, rbm.c.data
    velocity = [torch.zeros_like(p) for p in (W, b, c)]
    chain = torch.zeros(batch, W.shape[0])
    n = len(x)
    for _ in range(epochs):
        shuffled = x[torch.randperm(n)]
        for j in range(math.ceil(n / batch)):
            v0 = shuffled[j * batch : (j + 1) * batch]
            ph0 = torch.sigmoid(F.linear(v0, W, c))
            h = (torch.rand_like(chain) < chain).float()
            vk = (torch.rand(batch, W.shape[1]) < torch.sigmoid(h @ W + b)).float()
            chain = torch.sigmoid(F.linear(vk, W, c))
            grads = (
                ph0.t() @ v0 / len(v0) - chain.t() @ vk / batch,
                v0.mean(0) - vk.mean(0),
                ph0.mean(0) - chain.mean(0),
            )
            for p, g, m in zip((W, b, c), grads, velocity, strict=True):
                m.mul_(0.5).add_(g, alpha=0.1)
                p.add_(m)
        sample = x[:ROWS]
        _ = F.mse_loss(torch.sigmoid(rbm(sample) @ W + b), sample).item()
        bits = torch.randint(W.shape[1], (len(sample),))
        flipped = sample.clone()
        rows = torch.arange(len(sample))
        flipped[rows, bits] = 1 - flipped[rows, bits]
        gap = rbm.free_energy(flipped) - rbm.free_energy(sample)
        _ = float((W.shape[1] * F.logsigmoid(gap)).mean())
        _ = float(rbm.free_energy(held[:ROWS]).mean() - rbm.free_energy(sample).mean())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--eval-every", type=int, default=8, help="epochs between test passes")
    parser.add_argument("--pretrain-epochs", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=150)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    pixels, digits = load_digits(return_X_y=True)
    split = train_test_split(pixels / 16.0, digits, test_size=0.2, random_state=0, stratify=digits)
    x, x_test = (torch.tensor(a, dtype=torch.float32) for a in split[:2])
    y, y_test = (torch.tensor(a, dtype=torch.long) for a in split[2:])
    batch = 16
    h1, h2 = RBM(64, 256), RBM(256, 128)
    pcd(h1, x, x_test, args.pretrain_epochs, batch)
    with torch.no_grad():
        pcd(h2, h1(x), h1(x_test), args.pretrain_epochs, batch)
    model = nn.Sequential(h1, h2, nn.Linear(128, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-4)
    per_epoch = math.ceil(len(x) / batch)
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(x))
        for j in range(per_epoch):
            idx = order[j * batch : (j + 1) * batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if epoch % args.eval_every == 0 or epoch == args.epochs:
            model.eval()
            with torch.no_grad():
                accuracy = float((model(x_test).argmax(1) == y_test).float().mean())
    print(f"test accuracy {accuracy:.4f} after {args.epochs * per_epoch} fine-tuning steps")


if __name__ == "__main__":
    main()
