"""What the benchmarks share: best-of timing, pinning to one core, and timing a `netspec`
command as a whole process for every zoo spec."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCESS_TARGET_S = 1.0  # one `python -m netspec ...` of a zoo spec, start to exit


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
            return "one core"
        except OSError:
            pass
    return "all cores (could not pin)"


def zoo_processes(
    args_for: Callable[[Path], list[str]],
    runs: int,
    ok: Callable[[Path], bool] = lambda spec: True,
) -> list[tuple[str, float]]:
    """Wall time of `python -m netspec ARGS`, best of `runs`, for every zoo spec; `ok` checks
    what a run wrote."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    results = []
    for spec in sorted((ROOT / "specs").glob("*.net")):
        cmd = [sys.executable, "-m", "netspec", *args_for(spec)]

        def run(cmd: list[str] = cmd, spec: Path = spec) -> None:
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode != 0 or not ok(spec):
                raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")

        results.append((spec.relative_to(ROOT).as_posix(), best_of(runs, run)))
    return results


def report_zoo(zoo: list[tuple[str, float]], verb: str, missed: list[str]) -> None:
    """Print each spec's process time and the slowest; note a missed target in `missed`."""
    if not zoo:
        print("no zoo specs under specs/: process timing skipped")
        return
    for name, seconds in zoo:
        print(f"  netspec {verb} {name}: {seconds:.2f} s")
    name, slowest = max(zoo, key=lambda r: r[1])
    print(
        f"slowest zoo {verb} process: {slowest:.2f} s, {name} "
        f"(target < {PROCESS_TARGET_S:g} s, {len(zoo)} specs)"
    )
    if slowest >= PROCESS_TARGET_S:
        missed.append(f"zoo {verb} process")
