"""The `netspec` program ends a compile-only command at once, with all its output written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

UNITS = 2000


def _spec(units: int) -> str:
    body = "\n".join(f"    h{i} = h{i - 1} -> dense(8)" for i in range(1, units + 1))
    return (
        "network n {\n    input pixels: [64]\n    input digit: class(10)\n    h0 = pixels\n"
        f"{body}\n    y = h{units} -> softmax(10)\n    loss cross_entropy(y, digit)\n}}\n"
    )


def _netspec(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "netspec", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=60)


def test_a_large_table_arrives_whole_through_a_pipe(tmp_path: Path) -> None:
    (tmp_path / "big.net").write_text(_spec(UNITS))
    done = _netspec("check", "big.net", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"h{UNITS}" in done.stdout  # the table's last unit: nothing lost in the buffer
    assert done.stdout.rstrip().splitlines()[-1].strip(), "the summary line is printed"


def test_errors_still_end_with_status_1_and_the_whole_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "bad.net").write_text(_spec(3).replace("dense(8)", "dense(-8)", 1))
    done = _netspec("check", "bad.net", cwd=tmp_path)
    assert done.returncode == 1
    assert "error[E404]" in done.stderr and done.stderr.rstrip().endswith("found 1 error")
