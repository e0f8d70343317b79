"""A whole `netspec train` run against a hand-written PyTorch script of the same recipe, both as
whole processes (start-up, data, training, evaluation, finish), interleaved, in the same run:
the ratio is what netspec costs on top of the work itself. The hand scripts are in bench/hand/.
Exits 1 and prints MISSED when a recipe's ratio of medians is over TARGET (issue 15's bound).

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
TARGET = 1.05  # netspec's whole run at most 5% slower than the hand script's
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
    print(f"median of {args.repeats} interleaved runs each (fastest-slowest in brackets)")
    print(f"{'recipe':8} {'netspec train':>22} {'by hand':>22} {'ratio':>7}")
    missed = []
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
            shown = "".join(f" {_spread(times[k]):>22}" for k in ("ours", "theirs"))
            print(f"{name:8}{shown} {a / b:7.2f}", flush=True)
            if a / b > TARGET:
                missed.append(f"{name} {a / b:.2f}")
    if missed:
        print(f"MISSED: ratio over {TARGET}: {', '.join(missed)}")
    return 1 if missed else 0


def _spread(seconds: list[float]) -> str:
    """The median, and the fastest and slowest run: '12.3 s (11.9-13.0)'."""
    return f"{statistics.median(seconds):.1f} s ({min(seconds):.1f}-{max(seconds):.1f})"


if __name__ == "__main__":
    sys.exit(main())
