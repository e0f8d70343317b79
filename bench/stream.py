"""Training from data over the memory budget (streamed) against data under it (held whole).

A random-feature classification task (features N(0, 1), labels the argmax of a fixed random
linear map) is written to .npy files in a temporary folder, chunk by chunk: a large set over the
budget, which trains on the streaming path (a DataLoader over the memory-mapped rows), and a
small one under it, which is copied to the device whole. Both train the same MLP for the same
steps, interleaved round by round in one process so that load from other work falls on both.
Samples/s is over the training loop only (the metrics rows' `seconds`); peak RSS is sampled
every 5 ms during each run (a high-water mark: a later run may show an earlier one's heap).

    OMP_NUM_THREADS=1 .venv/bin/python bench/stream.py    # --budget-mb 64 --large-mb 256
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy loads its BLAS

import numpy as np

import netspec
from netspec.data.streaming import BUDGET_ENV
from netspec.training.run import TrainOptions, train

FEATURES, CLASSES, BATCH = 256, 10, 256
CHUNK = 16384  # rows written at a time: the generator's own memory stays small

SPEC = """
network mlp {{
    input x: [{features}]
    input label: class({classes})
    y = x -> dense(256, act=relu) -> dense(128, act=relu) -> softmax({classes})
    loss cross_entropy(y, label)
}}

train mlp {{
    data = npy(path="{name}-x.npy", target="{name}-y.npy", test=0.002, val=0.002)
    batch = {batch}
    optimizer = adam(lr=0.001)
    steps = {steps}
}}
"""


def write_task(folder: Path, name: str, megabytes: int) -> int:
    """The task's features and labels as `name`-x.npy and `name`-y.npy; its sample count."""
    n = megabytes * (1 << 20) // (FEATURES * 4)
    rng = np.random.default_rng(0)
    w = rng.normal(size=(FEATURES, CLASSES)).astype("float32")
    x = np.lib.format.open_memmap(folder / f"{name}-x.npy", "w+", "float32", (n, FEATURES))
    y = np.lib.format.open_memmap(folder / f"{name}-y.npy", "w+", "int64", (n,))
    for start in range(0, n, CHUNK):
        part = rng.normal(size=(min(CHUNK, n - start), FEATURES)).astype("float32")
        x[start : start + len(part)], y[start : start + len(part)] = part, (part @ w).argmax(1)
    x.flush()
    y.flush()
    del x, y
    return n


def _rss_bytes(field: str = "VmRSS") -> int:
    """This process's resident memory (`RssAnon`: less the pages mapped from files)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    return 0


def measured(folder: Path, name: str, steps: int) -> tuple[float, int]:
    """Samples/s of the training loop and the peak RSS while training `name` for `steps`."""
    peak, done = [_rss_bytes()], threading.Event()

    def sample() -> None:
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss_bytes())

    spec = SPEC.format(features=FEATURES, classes=CLASSES, name=name, batch=BATCH, steps=steps)
    options = TrainOptions(runs_root=folder / "runs", quiet=True, plots=False, drawing=False)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = train(netspec.compile(spec, f"{name}.net"), options)
    finally:
        done.set()
        sampler.join()
    seconds = sum(float(r["seconds"]) for r in result.rows)
    return steps * BATCH / seconds, peak[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-mb", type=int, default=64)
    parser.add_argument("--large-mb", type=int, default=256)
    parser.add_argument("--small-mb", type=int, default=32)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ[BUDGET_ENV] = f"{args.budget_mb}M"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.chdir(folder)  # a spec reads files under its own folder
        sizes = {
            name: write_task(folder, name, mb)
            for name, mb in (("large", args.large_mb), ("small", args.small_mb))
        }
        before = _rss_bytes(), _rss_bytes("RssAnon")  # torch and netspec loaded, no data
        found: dict[str, list[tuple[float, int]]] = {"large": [], "small": []}
        for _ in range(args.rounds):
            for name in found:
                found[name].append(measured(folder, name, args.steps))
    print(f"budget {args.budget_mb} MB, batch {BATCH}, {args.steps} steps, {args.rounds} rounds")
    print(f"RSS before training: {before[0] >> 20} MB ({before[1] >> 20} MB anonymous)")
    print("| data | samples | path | samples/s (best) | peak RSS (max) |")
    print("| --- | --- | --- | --- | --- |")
    for name, runs in found.items():
        path = "streamed" if name == "large" else "held whole"
        mb = args.large_mb if name == "large" else args.small_mb
        best, rss = max(r[0] for r in runs), max(r[1] for r in runs)
        print(f"| {mb} MB | {sizes[name]} | {path} | {best:,.0f} | {rss / (1 << 20):.0f} MB |")


if __name__ == "__main__":
    main()
