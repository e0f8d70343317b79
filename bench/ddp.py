"""Data-parallel throughput: one training process against two under torchrun, same spec, same
steps, in the same run (interleaved), on the CPU over gloo and, on a machine with two or more
GPUs, over NCCL.

Each run is a whole `netspec train` process; its throughput is the training samples it went
through over the seconds its epochs took (metrics.jsonl's `seconds`: start-up, data loading and
the final evaluation are left out, as they do not shrink with more processes). Two processes
split each minibatch, so the steps are the same and only the time per step may differ.

    .venv/bin/python bench/ddp.py                # --spec specs/mlp.net --epochs 5 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def one_run(spec: Path, processes: int, backend_device: str, epochs: int, runs: Path) -> float:
    """Samples per second of one run with `processes` processes on `backend_device`."""
    train = ["-m", "netspec", "train", str(spec), "--runs", str(runs), "--quiet"]
    train += ["--epochs", str(epochs), "--device", backend_device, "--threads", "1"]
    if processes == 1:
        command = [sys.executable, *train]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command += [f"--nproc_per_node={processes}", *train]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    run = Path(done.stdout.split("run:")[-1].split()[0])
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    manifest = json.loads((run / "manifest.json").read_text())
    samples = manifest["data"]["train"] * len(rows)  # every epoch goes through the split once
    return samples / sum(row["seconds"] for row in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "specs" / "mlp.net"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the median counts")
    args = parser.parse_args(argv)
    backends = [("cpu", "gloo")]
    if torch.cuda.device_count() >= 2:
        backends.append(("cuda", "nccl"))
    spec = Path(args.spec)
    print(f"{spec.name}, {args.epochs} epochs, median of {args.repeats} interleaved runs each")
    print(f"{'backend':8} {'1 process':>14} {'2 processes':>14} {'speed-up':>9}")
    with tempfile.TemporaryDirectory() as folder:
        for device, backend in backends:
            rates: dict[int, list[float]] = {1: [], 2: []}
            for r in range(args.repeats):
                for n in (1, 2) if r % 2 == 0 else (2, 1):
                    rates[n].append(one_run(spec, n, device, args.epochs, Path(folder)))
            one, two = (statistics.median(rates[n]) for n in (1, 2))
            print(f"{backend:8} {one:10.0f} /s {two:10.0f} /s {two / one:8.2f}x", flush=True)
    if len(backends) == 1:
        print("nccl: needs two or more CUDA devices; none here")
    return 0


if __name__ == "__main__":
    sys.exit(main())
