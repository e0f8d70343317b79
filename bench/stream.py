"""Training from data over the memory budget (streamed) against data under it (held whole).

A random-feature classification task (features N(0, 1), labels the argmax of a fixed random
linear map) is written to .npy files in a temporary folder, chunk by chunk: a large set over the
budget, which trains on the streaming path (a DataLoader over the memory-mapped rows), and a
small one under it, which is copied to the device whole. Both train the same MLP for the same
steps, interleaved round by round so that load from other work falls on both; each run in a
process of its own (this script again, with `--run`), as a `netspec train` run is, so that no
run inherits the heap of another.
Samples/s is over the training loop only (the metrics rows' `seconds`). Memory is sampled during
each run: this process's RSS every 5 ms, and every 50 ms the proportional set size (PSS, pages
shared with the loader workers split between them) of this process and its workers together,
in all and of anonymous memory only (what is really held: pages mapped from the `.npy` files
count in RSS while resident, but the kernel may drop them at any time). Each figure is a peak,
the largest over the rounds.

    OMP_NUM_THREADS=1 .venv/bin/python bench/stream.py    # --budget-mb 64 --large-mb 256
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
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


def _field_bytes(path: Path, field: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    except OSError:  # a worker that has just exited
        pass
    return 0


def _rss_bytes(field: str = "VmRSS") -> int:
    """This process's resident memory (`RssAnon`: less the pages mapped from files)."""
    return _field_bytes(Path("/proc/self/status"), field)


def _pss_bytes() -> tuple[int, int]:
    """PSS of this process and its children (the loader workers): in all, and anonymous."""
    pids = ["self"]
    for children in Path("/proc/self/task").glob("*/children"):
        pids += children.read_text().split()
    rollups = [Path(f"/proc/{pid}/smaps_rollup") for pid in pids]
    return (
        sum(_field_bytes(r, "Pss") for r in rollups),
        sum(_field_bytes(r, "Pss_Anon") for r in rollups),
    )


Memory = tuple[int, int, int]  # peaks: this process's RSS, PSS with workers, its anonymous part
Run = tuple[float, Memory]  # samples/s, memory peaks


def measured(folder: Path, name: str, steps: int) -> Run:
    """Samples/s of the training loop and the memory peaks while training `name` for `steps`."""
    peak, done = [_rss_bytes(), *_pss_bytes()], threading.Event()

    def sample() -> None:
        ticks = 0
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss_bytes())
            ticks += 1
            if ticks % 10 == 0:
                pss, anon = _pss_bytes()
                peak[1], peak[2] = max(peak[1], pss), max(peak[2], anon)

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
    return steps * BATCH / seconds, (peak[0], peak[1], peak[2])


def in_own_process(folder: Path, name: str, steps: int) -> tuple[tuple[int, int], Run]:
    """`measured` in a fresh process; with its RSS (and anonymous part) before it trained."""
    command = [sys.executable, __file__, "--run", name, "--steps", str(steps)]
    out = subprocess.run(command, cwd=folder, check=True, capture_output=True, text=True).stdout
    before, (speed, memory) = json.loads(out.splitlines()[-1])
    return (before[0], before[1]), (speed, (memory[0], memory[1], memory[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget-mb", type=int, default=64)
    parser.add_argument("--large-mb", type=int, default=256)
    parser.add_argument("--small-mb", type=int, default=32)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--run", help="train this task once, in the current folder (internal)")
    args = parser.parse_args()
    os.environ[BUDGET_ENV] = f"{args.budget_mb}M"
    if args.run:
        before = _rss_bytes(), _rss_bytes("RssAnon")  # torch and netspec loaded, no data
        print(json.dumps([before, measured(Path.cwd(), args.run, args.steps)]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sizes = {
            name: write_task(folder, name, mb)
            for name, mb in (("large", args.large_mb), ("small", args.small_mb))
        }
        found: dict[str, list[Run]] = {"large": [], "small": []}
        befores = []
        for _ in range(args.rounds):
            for name in found:
                before, run = in_own_process(folder, name, args.steps)
                befores.append(before)
                found[name].append(run)
    print(f"budget {args.budget_mb} MB, batch {BATCH}, {args.steps} steps, {args.rounds} rounds")
    rss, anon = max(b[0] for b in befores) >> 20, max(b[1] for b in befores) >> 20
    print(f"RSS of a run's process before training: {rss} MB ({anon} MB anonymous)")
    print("| data | samples | path | samples/s (best) | peak RSS | peak PSS | peak anon PSS |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, runs in found.items():
        path = "streamed" if name == "large" else "held whole"
        mb = args.large_mb if name == "large" else args.small_mb
        best = max(r[0] for r in runs)
        peaks = (max(r[1][i] for r in runs) >> 20 for i in range(3))
        memory = " | ".join(f"{p:,} MB" for p in peaks)
        print(f"| {mb} MB | {sizes[name]:,} | {path} | {best:,.0f} | {memory} |")
    for name, runs in found.items():
        for speed, peaks in runs:
            each = ", ".join(f"{p >> 20:,} MB" for p in peaks)
            print(f"{name}: {speed:,.0f} samples/s, peaks {each}")


if __name__ == "__main__":
    main()
