"""The GPU one-shot: everything the CUDA path must do, in one script that runs as is on a machine
with a CUDA GPU and prints one table (target: under 10 minutes on an H100).

1. trains zoo specs through the command line on CUDA, in fp32 and in bf16 autocast;
2. checks exact resume on CUDA: a run stopped after N steps and resumed ends with the same weights
   as a run that was not stopped (the largest difference is printed; 0 is exact);
3. trains with `--compile` (torch.compile of the objective);
4. times training steps (forward, backward, Adam) of netspec's compiled objective against the same
   network written by hand, for a wide MLP and a CNN at batch 1,024, in fp32 and bf16, and the
   FLOP/s each achieves (counted by torch.utils.flop_counter) against the device's bf16 matmul
   peak measured in the same run.

`--dry-run` does all of it on the CPU with tiny sizes (about a minute on 2 cores), so the test
suite runs it and it cannot rot. Each row that fails says FAILED and why; the exit status is 1
when any row failed.

    python bench/gpu.py              # on a GPU machine
    python bench/gpu.py --dry-run    # anywhere
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import netspec  # noqa: E402
from netspec.backend.lower import lower  # noqa: E402


@dataclass(frozen=True)
class Sizes:
    """How big each part runs: the real sizes on a GPU, tiny ones for --dry-run."""

    device: str
    train_specs: tuple[str, ...]
    small_spec: str  # the spec that is compiled and resumed
    epochs: int
    resume_steps: int
    width: int  # the wide MLP: in -> width x depth -> 10
    depth: int
    channels: int  # the CNN's first conv layer; the second has twice as many
    image: int  # the CNN's input is [3, image, image]
    batch: int
    steps: int  # timed steps per measurement
    repeats: int
    matmul: int  # n of the n x n bf16 matmul that measures the peak


GPU = Sizes(
    "cuda", ("mlp", "cnn", "tagger", "dbn"), "mlp", 3, 40, 4096, 4, 64, 32, 1024, 50, 5, 8192
)
DRY = Sizes("cpu", ("softmax_regression",), "softmax_regression", 1, 6, 64, 2, 4, 8, 16, 3, 2, 128)


@dataclass
class Row:
    part: str
    what: str
    result: str
    seconds: float
    ok: bool = True


# --- 1-3: the command line on the device ----------------------------------------------------------


def _netspec(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "netspec", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


def _final(run: Path) -> str:
    """The run's final metrics, as `name value` pairs (its manifest's `final`)."""
    manifest = json.loads((run / "manifest.json").read_text())
    final = manifest.get("final") or manifest.get("metrics") or {}
    shown = [f"{k} {v:.4g}" for k, v in final.items() if isinstance(v, float)][:2]
    ran = f"ran {manifest.get('precision')} on {manifest.get('device')}"
    return ", ".join([ran, *shown])


def train_rows(sizes: Sizes, work: Path) -> Iterator[Row]:
    length = ["--smoke"] if sizes.device == "cpu" else ["--epochs", str(sizes.epochs)]
    # bf16 autocast is a CUDA path: a CPU run records fp32 whatever is asked, so a dry run
    # trains in fp32 only
    precisions = ("fp32", "bf16") if sizes.device == "cuda" else ("fp32",)
    for spec in sizes.train_specs:
        for precision in precisions:
            run = work / f"{spec}-{precision}"
            args = ["train", str(ROOT / "specs" / f"{spec}.net"), "--device", sizes.device]
            args += [*length, "--set", f"precision={precision}", "--run-dir", str(run), "--quiet"]
            yield _timed("train", f"{spec} {precision}", lambda a=args, r=run: _train(a, r, work))
    small = sizes.small_spec
    run = work / "compiled"
    args = ["train", str(ROOT / "specs" / f"{small}.net"), "--device", sizes.device, "--compile"]
    args += [*length, "--run-dir", str(run), "--quiet"]
    yield _timed("compile", f"{small} --compile", lambda: _train(args, run, work))
    stopped = f"{small}, stopped at step {sizes.resume_steps}"
    yield _timed("resume", stopped, lambda: _resume(sizes, work))


def _train(args: list[str], run: Path, work: Path) -> str:
    done = _netspec(*args, cwd=work)
    if done.returncode != 0:
        raise RuntimeError((done.stderr or done.stdout).strip().splitlines()[-1])
    return _final(run)


def _resume(sizes: Sizes, work: Path) -> str:
    """A run stopped by --max-steps and resumed against one that was not: same weights?"""
    from safetensors.torch import load_file

    spec = str(ROOT / "specs" / f"{sizes.small_spec}.net")
    common = ["--device", sizes.device, "--steps", str(2 * sizes.resume_steps), "--quiet"]
    whole, parts = work / "resume-whole", work / "resume-parts"
    for args in (
        ["train", spec, *common, "--run-dir", str(whole)],
        ["train", spec, *common, "--run-dir", str(parts), "--max-steps", str(sizes.resume_steps)],
        ["train", spec, *common[:-1], "--resume", str(parts), "--quiet"],
    ):
        done = _netspec(*args, cwd=work)
        if done.returncode != 0:
            raise RuntimeError((done.stderr or done.stdout).strip().splitlines()[-1])
    a = load_file(str(whole / "checkpoints" / "last.safetensors"))
    b = load_file(str(parts / "checkpoints" / "last.safetensors"))
    weights = [k for k in a if k.startswith("model/")]
    gap = max(float((a[k].float() - b[k].float()).abs().max()) for k in weights)
    if gap > 1e-6:
        raise RuntimeError(f"resumed weights differ by up to {gap:.1e}")
    return f"{len(weights)} tensors, max |difference| {gap:.1e}" + (" (exact)" if gap == 0 else "")


# --- 4: step throughput, compiled against hand-written --------------------------------------------


def wide_mlp(sizes: Sizes) -> tuple[str, nn.Module, dict[str, str]]:
    d, w, depth = sizes.width, sizes.width, sizes.depth
    text = f"""network wide {{
    input x: [{d}]
    input label: class(10)
    h = x -> dense({w}, act=relu) * {depth}
    y = softmax(h, 10)
    loss cross_entropy(y, label)
}}
"""
    layers: list[nn.Module] = []
    for k in range(depth):
        layers += [nn.Linear(d if k == 0 else w, w), nn.ReLU()]
    hand = nn.Sequential(*layers, nn.Linear(w, 10))
    return text, hand, {"x": "x", "label": "label"}


def cnn(sizes: Sizes) -> tuple[str, nn.Module, dict[str, str]]:
    c, s = sizes.channels, sizes.image
    flat = 2 * c * (s // 4) ** 2
    text = f"""network convnet {{
    input image: [3, {s}, {s}]
    input label: class(10)
    h = image -> conv2d({c}, 3, pad=1) -> relu -> maxpool(2)
          -> conv2d({2 * c}, 3, pad=1) -> relu -> maxpool(2)
          -> flatten -> dense(256, act=relu)
    y = softmax(h, 10)
    loss cross_entropy(y, label)
}}
"""
    hand = nn.Sequential(
        nn.Conv2d(3, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(flat, 256), nn.ReLU(), nn.Linear(256, 10),
    )  # fmt: skip
    return text, hand, {"image": "image", "label": "label"}


def _steppers(
    text: str, hand: nn.Module, sizes: Sizes, bf16: bool
) -> tuple[Callable[[], None], Callable[[], None], dict[str, torch.Tensor]]:
    compiled = netspec.compile(text, "bench.net")
    torch.manual_seed(0)
    lowered = lower(compiled.network(), compiled.sources)
    device = sizes.device
    root = lowered.root.to(device).train()
    hand = hand.to(device).train()
    gen = torch.Generator().manual_seed(0)
    batch = {}
    for name in lowered.inputs:
        t = lowered.input_types[name]
        shape = (sizes.batch, *(d for d in t.dims if isinstance(d, int)))
        if t.dtype == "class":
            batch[name] = torch.randint(0, int(t.classes or 1), shape, generator=gen).to(device)
        else:
            batch[name] = torch.rand(shape, generator=gen).to(device)
    features = next(v for k, v in batch.items() if k != "label")
    mine = torch.optim.Adam(root.parameters(), lr=1e-3)
    theirs = torch.optim.Adam(hand.parameters(), lr=1e-3)

    def autocast() -> contextlib.AbstractContextManager[Any]:
        if not bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device, dtype=torch.bfloat16)

    def compiled_step() -> None:
        mine.zero_grad(set_to_none=True)
        with autocast():
            loss = lowered.objective(**batch)["loss"]
        loss.backward()
        mine.step()

    def hand_step() -> None:
        theirs.zero_grad(set_to_none=True)
        with autocast():
            logits = hand(features)
            torch.softmax(logits, dim=-1)  # the objective returns the output too
            loss = F.cross_entropy(logits, batch["label"])
        loss.backward()
        theirs.step()

    return compiled_step, hand_step, batch


def _time(step: Callable[[], None], sizes: Sizes) -> float:
    def sync() -> None:
        if sizes.device == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(sizes.repeats):
        sync()
        start = time.perf_counter()
        for _ in range(sizes.steps):
            step()
        sync()
        best = min(best, (time.perf_counter() - start) / sizes.steps)
    return best


def _flops(step: Callable[[], None]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        step()
    return int(counter.get_total_flops())


def peak_matmul(sizes: Sizes) -> float:
    """FLOP/s of an n x n bf16 matmul on the device: the ceiling the networks are held to."""
    n = sizes.matmul
    a = torch.rand(n, n, device=sizes.device, dtype=torch.bfloat16)
    b = torch.rand(n, n, device=sizes.device, dtype=torch.bfloat16)

    def step() -> None:
        torch.matmul(a, b)

    seconds = _time(step, sizes)
    return 2 * n**3 / seconds


def _rate(flops_per_second: float) -> str:
    if flops_per_second >= 1e12:
        return f"{flops_per_second / 1e12:.1f} TFLOP/s"
    return f"{flops_per_second / 1e9:.2f} GFLOP/s"


def throughput_rows(sizes: Sizes) -> Iterator[Row]:
    holder: dict[str, float] = {}

    def peak() -> str:
        holder["peak"] = peak_matmul(sizes)
        return f"{_rate(holder['peak'])} (n = {sizes.matmul})"

    yield _timed("peak", "bf16 matmul", peak)
    for name, build in (("wide MLP", wide_mlp), ("CNN", cnn)):
        for bf16 in (False, True):
            label = f"{name} batch {sizes.batch} {'bf16' if bf16 else 'fp32'}"

            def measure(build: Any = build, bf16: bool = bf16) -> str:
                text, hand, _ = build(sizes)
                mine, theirs, _ = _steppers(text, hand, sizes, bf16)
                flops = _flops(mine)
                a, b = _time(mine, sizes), _time(theirs, sizes)
                share = flops / a / holder["peak"] if holder.get("peak") else float("nan")
                return (
                    f"compiled {a * 1e3:.2f} ms, hand {b * 1e3:.2f} ms, ratio {a / b:.3f}; "
                    f"{_rate(flops / a)} = {share:.0%} of peak"
                )

            yield _timed("steps", label, measure)


# --- the table ------------------------------------------------------------------------------------


def _timed(part: str, what: str, run: Callable[[], str]) -> Row:
    start = time.perf_counter()
    try:
        result, ok = run(), True
    except Exception as exc:  # one failing part must not hide the others' figures
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        result, ok = f"FAILED: {detail[:150]}", False
    return Row(part, what, result, time.perf_counter() - start, ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes, on the CPU")
    args = parser.parse_args(argv)
    sizes = DRY if args.dry_run else GPU
    if sizes.device == "cuda" and not torch.cuda.is_available():
        print("no CUDA device: run with --dry-run to check the script on the CPU")
        return 2
    if sizes.device == "cpu":
        torch.set_num_threads(1)
    device = torch.cuda.get_device_name(0) if sizes.device == "cuda" else "CPU (dry run)"
    print(f"netspec {netspec.__version__}, torch {torch.__version__}, {device}", flush=True)
    print(f"{'part':8} {'what':36} {'seconds':>8}  result")
    rows = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for row in itertools.chain(train_rows(sizes, Path(folder)), throughput_rows(sizes)):
            rows.append(row)
            print(f"{row.part:8} {row.what:36} {row.seconds:8.1f}  {row.result}", flush=True)
    failed = [r for r in rows if not r.ok]
    print(f"{len(rows)} rows, {len(failed)} failed, {time.perf_counter() - start:.0f} s in all")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
