"""A whole `netspec train` run against a hand-written PyTorch script of the same recipe, both as
whole processes (start-up, data, training, evaluation, finish), interleaved, in the same run:
the ratio is what netspec costs on top of the work itself. The hand scripts are in bench/hand/.

    .venv/bin/python bench/e2e.py                 # --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# name: (spec, hand script and its arguments); the hand scripts score the held-out split as
# often as netspec does by default (`eval_every`: about 20 evaluations a stage)
RECIPES = {
    "cnn1d": ("specs/cnn1d.net", ["bench/hand/cnn1d.py", "--eval-every", "8"]),  # 150 epochs
    "dbn": ("specs/dbn.net", ["bench/hand/dbn.py", "--eval-every", "8"]),  # fine-tuning: 150
}


def timed(command: list[str]) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()[-300:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the median counts")
    parser.add_argument("--only", default="", help="comma-separated recipe names")
    args = parser.parse_args(argv)
    names = [n for n in RECIPES if not args.only or n in args.only.split(",")]
    print(f"median of {args.repeats} interleaved runs each")
    print(f"{'recipe':8} {'netspec train':>14} {'by hand':>9} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as runs:
        for name in names:
            spec, hand = RECIPES[name]
            ours = [sys.executable, "-m", "netspec", "train", spec, "--runs", runs, "--quiet"]
            theirs = [sys.executable, *hand]
            times: dict[str, list[float]] = {"ours": [], "theirs": []}
            for r in range(args.repeats):
                order = (("ours", ours), ("theirs", theirs))
                for key, command in order if r % 2 == 0 else order[::-1]:
                    times[key].append(timed(command))
            a, b = (statistics.median(times[k]) for k in ("ours", "theirs"))
            print(f"{name:8} {a:12.1f} s {b:7.1f} s {a / b:7.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
