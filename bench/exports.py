"""Every zoo network exported as ONNX and as a torch.export program, each run against the torch
model on random inputs at new sizes (what `netspec export --check` does), in one table: the
largest difference per format, whether the sequence length stayed dynamic, and the seconds.

    .venv/bin/python bench/exports.py            # every spec of specs/
    .venv/bin/python bench/exports.py mlp tagger
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

import netspec
from netspec.backend.deploy import check_export
from netspec.backend.export import export_network

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", help="zoo spec names (default: all)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.specs or sorted(p.stem for p in (ROOT / "specs").glob("*.net"))
    print(f"{'spec':24} {'format':6} {'result':34} {'seconds':>7}")
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            spec = ROOT / "specs" / f"{name}.net"
            compiled = netspec.compile(spec.read_text(encoding="utf-8"), str(spec))
            for fmt in ("onnx", "pt2"):
                start = time.perf_counter()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        done = export_network(compiled, fmt, Path(folder) / f"{name}.{fmt}")
                        checked = check_export(
                            fmt, done.path, done.reference, done.lowered, fixed=done.fixed
                        )
                except Exception as exc:  # a refused export is a row of the table, not a stop
                    result = f"refused: {str(exc).splitlines()[0][:60]}"
                else:
                    worst = max(checked.worst.values())
                    fixed = ", ".join(f"{k}={v} fixed" for k, v in done.fixed.items())
                    result = f"{'ok' if checked.ok else 'DIFFERS'} {worst:.1e}" + (
                        f" ({fixed})" if fixed else ""
                    )
                    failed += not checked.ok
                seconds = time.perf_counter() - start
                print(f"{name:24} {fmt:6} {result:34} {seconds:7.1f}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
