"""Optimizers and learning-rate schedules from a stage's `CallPlan`s: each is its catalogue
entry's implementation, below.

A schedule's rate is a function of the step and epoch counters, plus for `plateau` a little
state kept as JSON scalars, so a checkpoint restores it exactly and no torch scheduler object is
saved.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import torch

from netspec.plan.catalog import OPTIMIZERS, SCHEDULES
from netspec.plan.plans import CallPlan
from netspec.training.eager_optim import eager

Parameters = Iterable[torch.nn.Parameter]


def make_optimizer(call: CallPlan, params: Parameters) -> torch.optim.Optimizer:
    """The optimizer a stage names, over the parameters it trains."""
    optimizer: torch.optim.Optimizer = OPTIMIZERS[call.name].resolve()(list(params), **call.params)
    return optimizer


def sgd(
    params: Parameters, *, lr: float, momentum: float, nesterov: bool, weight_decay: float
) -> torch.optim.Optimizer:
    # Nesterov without momentum is an error in torch; the checker rejects it, this keeps it so.
    nesterov = nesterov and momentum > 0
    return eager(torch.optim.SGD)(
        params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
    )


def adam(
    params: Parameters, *, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float
) -> torch.optim.Optimizer:
    return eager(torch.optim.Adam)(
        params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay
    )


def adamw(
    params: Parameters, *, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float
) -> torch.optim.Optimizer:
    return eager(torch.optim.AdamW)(
        params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay
    )


def rmsprop(
    params: Parameters,
    *,
    lr: float,
    alpha: float,
    momentum: float,
    eps: float,
    weight_decay: float,
) -> torch.optim.Optimizer:
    return eager(torch.optim.RMSprop)(
        params, lr=lr, alpha=alpha, momentum=momentum, eps=eps, weight_decay=weight_decay
    )


class Schedule:
    """The learning rate before each optimizer step: the stage's schedule entry's `Rate`.

    `step` and `cosine` count in the stage's unit: epochs, or optimizer steps when the stage sets
    `steps`; warmups always count optimizer steps. `plateau` scales the rate when the monitored
    loss stalls, judged at each epoch end.
    """

    def __init__(self, call: CallPlan, base_lr: float, total_steps: int, by_steps: bool) -> None:
        make = SCHEDULES[call.name].resolve()
        self.rate: Rate = make(base_lr, total_steps, by_steps, **call.params)

    def lr(self, step: int, epoch: int) -> float:
        """The rate for optimizer step `step` (0-based, within the stage) in epoch `epoch`."""
        return self.rate.lr(step, epoch)

    def epoch_end(self, monitored: float) -> None:
        self.rate.epoch_end(monitored)

    def state_dict(self) -> dict[str, Any]:
        return self.rate.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rate.load_state_dict(state)


class Rate:
    """A schedule's rates for one stage (optimizer steps in all: `total_steps`; `by_steps`: the
    stage counts steps, not epochs). This base keeps the optimizer's rate: the `constant`
    schedule. The others override `lr`, and those that watch the monitored loss `epoch_end`,
    with the state a checkpoint keeps."""

    def __init__(self, base_lr: float, total_steps: int, by_steps: bool) -> None:
        self.base_lr, self.total_steps, self.by_steps = base_lr, total_steps, by_steps

    def lr(self, step: int, epoch: int) -> float:
        return self.base_lr

    def epoch_end(self, monitored: float) -> None:
        """Most schedules do not look at the monitored loss."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Nothing to restore: the rate is a function of the counters."""


class StepDecay(Rate):
    def __init__(
        self, base_lr: float, total_steps: int, by_steps: bool, *, every: int, gamma: float
    ) -> None:
        super().__init__(base_lr, total_steps, by_steps)
        self.every, self.gamma = every, gamma

    def lr(self, step: int, epoch: int) -> float:
        unit = step if self.by_steps else epoch
        return self.base_lr * self.gamma ** (unit // self.every)


class Warmup(Rate):
    def __init__(self, base_lr: float, total_steps: int, by_steps: bool, *, steps: int) -> None:
        super().__init__(base_lr, total_steps, by_steps)
        self.steps = steps

    def lr(self, step: int, epoch: int) -> float:
        return self.base_lr * min(1.0, (step + 1) / self.steps)


class Cosine(Rate):
    def __init__(
        self, base_lr: float, total_steps: int, by_steps: bool, *, warmup: int, min_lr: float
    ) -> None:
        super().__init__(base_lr, total_steps, by_steps)
        self.warmup, self.min_lr = warmup, min_lr

    def lr(self, step: int, epoch: int) -> float:
        if step < self.warmup:
            return self.base_lr * (step + 1) / self.warmup
        span = max(1, self.total_steps - self.warmup)
        progress = min(1.0, (step - self.warmup) / span)
        return self.min_lr + (self.base_lr - self.min_lr) * 0.5 * (
            1.0 + math.cos(math.pi * progress)
        )


class Plateau(Rate):
    """Decay by `factor` after `patience` epochs without a better monitored loss."""

    def __init__(
        self,
        base_lr: float,
        total_steps: int,
        by_steps: bool,
        *,
        patience: int,
        factor: float,
        min_lr: float,
    ) -> None:
        super().__init__(base_lr, total_steps, by_steps)
        self.patience, self.factor, self.min_lr = patience, factor, min_lr
        self.scale = 1.0  # the accumulated decay
        self.best: float | None = None  # the best monitored loss
        self.bad = 0  # epochs without improvement

    def lr(self, step: int, epoch: int) -> float:
        return self.base_lr * self.scale

    def epoch_end(self, monitored: float) -> None:
        # A relative threshold, as torch's ReduceLROnPlateau, so noise does not count as progress.
        if self.best is None or monitored < self.best * (1.0 - 1e-4):
            self.best, self.bad = monitored, 0
            return
        self.bad += 1
        if self.bad > self.patience:
            self.scale = max(self.scale * self.factor, self.min_lr / self.base_lr)
            self.bad = 0

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "best": self.best, "bad": self.bad}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.scale = float(state["scale"])
        self.best = None if state["best"] is None else float(state["best"])
        self.bad = int(state["bad"])


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        if group["lr"] != lr:  # a constant schedule's steps skip the dict writes
            group["lr"] = lr
