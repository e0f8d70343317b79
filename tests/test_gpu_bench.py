"""bench/gpu.py, the GPU one-shot, runs whole on the CPU with --dry-run, so it cannot rot before
the first GPU machine runs it: every row (training in fp32 and bf16, --compile, exact resume, the
matmul peak, compiled against hand-written steps) must come out without FAILED."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_gpu_one_shot_runs_dry_on_the_cpu() -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gpu.py"), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "FAILED" not in out
    rows = {line.split()[0] for line in out.splitlines()[2:-1]}
    assert rows == {"train", "compile", "resume", "peak", "steps"}
    assert "max |difference| 0.0e+00 (exact)" in out  # resume on the device is bitwise
    assert out.count("ratio") == 4 and out.count("of peak") == 4  # MLP and CNN, fp32 and bf16
    assert out.splitlines()[-1].startswith("8 rows, 0 failed")
