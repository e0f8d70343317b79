"""Optimizers and learning-rate schedules from a stage's `CallPlan`s.

Schedules are plain functions of the step and epoch counters plus a little plateau state kept
as JSON scalars, so a checkpoint restores them exactly and no torch scheduler object is saved.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch

from netspec.plan.plans import CallPlan


def make_optimizer(call: CallPlan, params: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """The optimizer a stage names, over the parameters it trains."""
    p = call.params
    lr, wd = float(p["lr"]), float(p.get("weight_decay", 0.0))
    plist = list(params)
    if call.name == "sgd":
        momentum = float(p["momentum"])
        # Nesterov without momentum is an error in torch; the checker allows it, so drop it here.
        nesterov = bool(p["nesterov"]) and momentum > 0
        return torch.optim.SGD(plist, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=wd)
    if call.name in ("adam", "adamw"):
        cls = torch.optim.Adam if call.name == "adam" else torch.optim.AdamW
        betas = (float(p["beta1"]), float(p["beta2"]))
        return cls(plist, lr=lr, betas=betas, eps=float(p["eps"]), weight_decay=wd)
    if call.name == "rmsprop":
        return torch.optim.RMSprop(
            plist,
            lr=lr,
            alpha=float(p["alpha"]),
            momentum=float(p["momentum"]),
            eps=float(p["eps"]),
            weight_decay=wd,
        )
    raise ValueError(f"unknown optimizer `{call.name}`")


@dataclass
class Schedule:
    """The learning rate before each optimizer step.

    `step` and `cosine` count in the stage's unit: epochs, or optimizer steps when the stage sets
    `steps`; warmups always count optimizer steps. `plateau` scales the rate when the monitored
    loss stalls, judged at each epoch end.
    """

    call: CallPlan
    base_lr: float
    total_steps: int  # optimizer steps in the whole stage
    by_steps: bool  # the stage counts steps, not epochs
    scale: float = 1.0  # plateau's accumulated decay
    best: float | None = None  # plateau's best monitored loss
    bad: int = 0  # plateau's epochs without improvement

    def lr(self, step: int, epoch: int) -> float:
        """The rate for optimizer step `step` (0-based, within the stage) in epoch `epoch`."""
        p, name = self.call.params, self.call.name
        if name == "step":
            unit = step if self.by_steps else epoch
            return self.base_lr * float(p["gamma"]) ** (unit // int(p["every"]))
        if name == "warmup":
            return self.base_lr * min(1.0, (step + 1) / int(p["steps"]))
        if name == "cosine":
            return self._cosine(step, int(p["warmup"]), float(p["min_lr"]))
        return self.base_lr * self.scale  # constant, plateau

    def _cosine(self, step: int, warmup: int, min_lr: float) -> float:
        if step < warmup:
            return self.base_lr * (step + 1) / warmup
        span = max(1, self.total_steps - warmup)
        progress = min(1.0, (step - warmup) / span)
        return min_lr + (self.base_lr - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def epoch_end(self, monitored: float) -> None:
        """Plateau: decay by `factor` after `patience` epochs without a better monitored loss."""
        if self.call.name != "plateau":
            return
        p = self.call.params
        # A relative threshold, as torch's ReduceLROnPlateau, so noise does not count as progress.
        if self.best is None or monitored < self.best * (1.0 - 1e-4):
            self.best, self.bad = monitored, 0
            return
        self.bad += 1
        if self.bad > int(p["patience"]):
            floor = float(p["min_lr"]) / self.base_lr
            self.scale = max(self.scale * float(p["factor"]), floor)
            self.bad = 0

    def state(self) -> dict[str, Any]:
        return {"scale": self.scale, "best": self.best, "bad": self.bad}

    def restore(self, state: dict[str, Any]) -> None:
        self.scale = float(state["scale"])
        self.best = None if state["best"] is None else float(state["best"])
        self.bad = int(state["bad"])


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr
