"""Training step time: netspec's compiled objective against the same network by hand in PyTorch.

For MLP, CNN, GRU and multimodal (specs/mlp.net, cnn.net, rnn.net, multimodal.net) it times one
training step -- forward, backward and an Adam step -- of the lowered objective and of a
hand-written nn.Module with the same layers and the same loss, on the same batch, in the same
process. The two run interleaved, in blocks of `--steps` steps after a warm-up, alternating which
goes first; each block gives the median step time, and each side's figure is the best of
`--repeats` such medians. CPU runs on one thread; on CUDA (when available) it times fp32 and bf16
autocast too. It prints a table of step times and the ratio compiled/hand, and exits 1 when a CPU
ratio exceeds `--target` (1.03).

    .venv/bin/python bench/step_time.py            # --steps 300 --repeats 7 --device cpu,cuda
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from netspec.api import compile_file  # noqa: E402
from netspec.backend.lower import Lowered, lower  # noqa: E402


# --- the same networks, by hand -------------------------------------------------------------------
class MLP(nn.Module):  # specs/mlp.net
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.drop = nn.Linear(64, 128), nn.Dropout(0.2)
        self.fc2, self.out = nn.Linear(128, 64), nn.Linear(64, 10)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        h = self.drop(torch.relu(self.fc1(pixels)))
        logits: torch.Tensor = self.out(torch.relu(self.fc2(h)))
        return logits


class CNN(nn.Module):  # specs/cnn.net
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.fc, self.drop, self.out = nn.Linear(128, 64), nn.Dropout(0.2), nn.Linear(64, 10)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        h = self.pool(torch.relu(self.conv1(image)))
        h = self.pool(torch.relu(self.conv2(h)))
        h = self.drop(torch.relu(self.fc(torch.flatten(h, 1))))
        logits: torch.Tensor = self.out(h)
        return logits


class GRU(nn.Module):  # specs/rnn.net
    def __init__(self) -> None:
        super().__init__()
        self.gru, self.out = nn.GRU(1, 64, batch_first=True), nn.Linear(64, 10)

    def forward(self, signal: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(signal)
        logits: torch.Tensor = self.out(h[-1])
        return logits


class Multimodal(nn.Module):  # specs/multimodal.net: an RBM's up pass is sigmoid(W v + c)
    def __init__(self) -> None:
        super().__init__()
        self.image1, self.image2 = nn.Linear(64, 128), nn.Linear(128, 64)
        self.sound1, self.sound2 = nn.Linear(8, 32), nn.Linear(32, 32)
        self.joint, self.out = nn.Linear(96, 128), nn.Linear(128, 10)

    def forward(self, image: torch.Tensor, sound: torch.Tensor) -> torch.Tensor:
        i = torch.sigmoid(self.image2(torch.sigmoid(self.image1(image))))
        s = torch.sigmoid(self.sound2(torch.sigmoid(self.sound1(sound))))
        logits: torch.Tensor = self.out(torch.sigmoid(self.joint(torch.cat((i, s), dim=1))))
        return logits


@dataclass(frozen=True)
class Case:
    name: str
    spec: str
    hand: Callable[[], nn.Module]
    inputs: tuple[str, ...]  # the hand model's arguments, in order
    weights: dict[str, str]  # hand parameter -> lowered root parameter, to check they agree
    steps: int = 40  # T, for sequences (MNIST-1D's length)


def _rbm(hand: str, root: str) -> dict[str, str]:
    return {f"{hand}.weight": f"{root}.W", f"{hand}.bias": f"{root}.c"}


CASES = (
    Case(
        "MLP",
        "mlp.net",
        MLP,
        ("pixels",),
        {
            **{f"fc1.{p}": f"h_dense.{p}" for p in ("weight", "bias")},
            **{f"fc2.{p}": f"h.{p}" for p in ("weight", "bias")},
            **{f"out.{p}": f"y.{p}" for p in ("weight", "bias")},
        },
    ),
    Case(
        "CNN",
        "cnn.net",
        CNN,
        ("image",),
        {
            **{f"conv1.{p}": f"conv1_conv2d.{p}" for p in ("weight", "bias")},
            **{f"conv2.{p}": f"conv2_conv2d.{p}" for p in ("weight", "bias")},
            **{f"fc.{p}": f"y_dense.{p}" for p in ("weight", "bias")},
            **{f"out.{p}": f"y.{p}" for p in ("weight", "bias")},
        },
    ),
    Case(
        "GRU",
        "rnn.net",
        GRU,
        ("signal",),
        {
            **{f"gru.{p}": f"h.rnn.{p}" for p in GRU().gru.state_dict()},
            **{f"out.{p}": f"y.{p}" for p in ("weight", "bias")},
        },
    ),
    Case(
        "multimodal",
        "multimodal.net",
        Multimodal,
        ("image", "sound"),
        {
            **_rbm("image1", "image_h1"),
            **_rbm("image2", "image_h2"),
            **_rbm("sound1", "sound_h1"),
            **_rbm("sound2", "sound_h2"),
            **_rbm("joint", "joint"),
            **{f"out.{p}": f"y.{p}" for p in ("weight", "bias")},
        },
    ),
)


# --- one side of a comparison ---------------------------------------------------------------------
class Side:
    """A model, its optimizer and its training step on a fixed batch."""

    def __init__(self, step: Callable[[], torch.Tensor], model: nn.Module, device: str) -> None:
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        self._step = step
        self.cuda = device == "cuda"

    def step(self) -> None:
        loss = self._step()
        self.opt.zero_grad(set_to_none=True)
        torch.autograd.backward(loss)
        self.opt.step()

    def block(self, steps: int) -> float:
        """The median time of `steps` steps, in seconds."""
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            self.step()
            if self.cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
        return statistics.median(times)


def _batch(lowered: Lowered, size: int, steps: int, device: str) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    batch = {}
    for name in lowered.inputs:
        t = lowered.input_types[name]
        shape = (size, *(d if isinstance(d, int) else steps for d in t.dims))
        if t.dtype == "class":
            value = torch.randint(0, int(t.classes or 1), shape, generator=gen)
        else:
            value = torch.rand(shape, generator=gen)
        batch[name] = value.to(device)
    return batch


def _sides(case: Case, device: str, bf16: bool) -> tuple[Side, Side, Side, float]:
    compiled = compile_file(ROOT / "specs" / case.spec)
    graph = compiled.network()
    size = compiled.trains[graph.name].batch
    torch.manual_seed(0)
    lowered = lower(graph, compiled.sources)
    lowered.root.to(device).train()
    hand = case.hand().to(device).train()
    _copy_weights(hand, lowered.root, case.weights)
    batch = _batch(lowered, size, case.steps, device)
    args = [batch[i] for i in case.inputs]
    target = batch[lowered.heads[0].target]
    objective = lowered.objective

    def autocast() -> contextlib.AbstractContextManager[Any]:
        if not bf16:
            return contextlib.nullcontext()
        return torch.autocast(device_type=device, dtype=torch.bfloat16)

    def compiled_step() -> torch.Tensor:
        with autocast():
            loss: torch.Tensor = objective(**batch)["loss"]
        return loss

    def hand_step() -> torch.Tensor:
        # what the objective returns: the loss, and the network's output y = softmax(logits)
        with autocast():
            logits = hand(*args)
            torch.softmax(logits, dim=-1)
            return F.cross_entropy(logits, target)

    loss_only = copy.deepcopy(hand)

    def loss_only_step() -> torch.Tensor:
        with autocast():
            return F.cross_entropy(loss_only(*args), target)

    # the same function: equal losses and outputs with equal weights (eval mode: no dropout)
    lowered.root.eval(), hand.eval()
    with torch.no_grad():  # (loss_only is a copy of hand)
        out = objective(**batch)
        logits = hand(*args)
        gap = max(
            float((out["loss"] - F.cross_entropy(logits, target)).abs()),
            float((out["outputs"]["y"] - torch.softmax(logits, dim=-1)).abs().max()),
        )
    lowered.root.train(), hand.train()
    return (
        Side(compiled_step, lowered.root, device),
        Side(hand_step, hand, device),
        Side(loss_only_step, loss_only, device),
        gap,
    )


def _copy_weights(hand: nn.Module, root: nn.Module, names: dict[str, str]) -> None:
    own = dict(root.named_parameters())
    theirs = dict(hand.named_parameters())
    assert set(names) == set(theirs), f"unmapped: {set(theirs) ^ set(names)}"
    with torch.no_grad():
        for mine, other in names.items():
            theirs[mine].copy_(own[other])


@dataclass
class Row:
    case: str
    device: str
    compiled: float
    hand: float
    loss_only: float  # the hand step without the output softmax, for reference
    gap: float

    @property
    def ratio(self) -> float:
        return self.compiled / self.hand


def measure(case: Case, device: str, bf16: bool, steps: int, repeats: int, warmup: int) -> Row:
    compiled, hand, loss_only, gap = _sides(case, device, bf16)
    sides = {"compiled": compiled, "hand": hand, "loss_only": loss_only}
    for _ in range(warmup):
        for side in sides.values():
            side.step()
    best = dict.fromkeys(sides, float("inf"))
    for r in range(repeats):
        order = list(sides.items())
        for name, side in order if r % 2 == 0 else order[::-1]:
            best[name] = min(best[name], side.block(steps))
    label = device + (" bf16" if bf16 else "")
    return Row(case.name, label, best["compiled"], best["hand"], best["loss_only"], gap)


def _configs(devices: list[str]) -> Iterator[tuple[str, bool]]:
    for device in devices:
        if device == "cuda" and not torch.cuda.is_available():
            continue
        yield device, False
        if device == "cuda":
            yield device, True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="steps per timed block")
    ap.add_argument("--repeats", type=int, default=7, help="blocks per side; the best counts")
    ap.add_argument("--warmup", type=int, default=50, help="untimed steps first")
    ap.add_argument("--device", default="cpu,cuda", help="comma-separated: cpu, cuda")
    ap.add_argument("--target", type=float, default=1.03, help="largest CPU ratio compiled/hand")
    ap.add_argument("--only", default="", help="comma-separated case names (default: all)")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    only = {n.lower() for n in args.only.split(",") if n}
    cases = [c for c in CASES if not only or c.name.lower() in only]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread, Adam step")
    header = (
        f"{'network':<11} {'device':<10} {'compiled':>11} {'hand':>11} {'ratio':>7}"
        f" {'hand, loss only':>16} {'ratio':>7}  max |difference|"
    )
    print(header)
    print("-" * len(header))
    missed = []
    for device, bf16 in _configs(args.device.split(",")):
        for case in cases:
            row = measure(case, device, bf16, args.steps, args.repeats, args.warmup)
            print(
                f"{row.case:<11} {row.device:<10} {row.compiled * 1e6:>9.1f}us "
                f"{row.hand * 1e6:>9.1f}us {row.ratio:>7.3f} {row.loss_only * 1e6:>14.1f}us "
                f"{row.compiled / row.loss_only:>7.3f}  {row.gap:.1e}",
                flush=True,
            )
            if device == "cpu" and row.ratio > args.target:
                missed.append(f"{row.case} on {row.device}: {row.ratio:.3f} > {args.target}")
    for line in missed:
        print(f"MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
