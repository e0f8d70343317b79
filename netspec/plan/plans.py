"""The frozen, fully defaulted plans that checked `train` sections become."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from netspec.lang.source import NOWHERE, Span
from netspec.plan.catalog import GRAD_STATS_EVERY, Entry, Field
from netspec.plan.databind import Binding

StageKind = Literal["supervised", "pretrain"]


def _frozen_dict() -> Any:
    return field(default_factory=lambda: MappingProxyType({}), hash=False)


@dataclass(frozen=True)
class CallPlan:
    """A catalogue call with every parameter bound and defaulted, such as `sgd(lr=0.1)`."""

    name: str
    params: Mapping[str, Any] = _frozen_dict()
    span: Span = field(default=NOWHERE, compare=False, repr=False)

    @classmethod
    def default(cls, entry: Entry) -> CallPlan:
        """`entry` called without arguments: every parameter at its default."""
        return cls(entry.name, MappingProxyType({p.name: p.default for p in entry.params}))


@dataclass(frozen=True)
class DataPlan:
    """The data source with its parameters (file paths resolved against the spec's folder)."""

    source: str
    params: Mapping[str, Any] = field(hash=False)
    test: float
    val: float
    seed: int  # the split's seed: the source's own, else the section's
    fields: tuple[Field, ...]
    bindings: tuple[Binding, ...]  # empty when the network has errors of its own
    span: Span = field(default=NOWHERE, compare=False, repr=False)
    normalize: str = "none"  # the section's `normalize`: none, or standard (netspec.data.scaling)


@dataclass(frozen=True)
class GreedyStep:
    """One unit of a greedy stage, pretrained with `method` after the steps before it."""

    unit: str  # node id
    name: str  # as listed
    kind: str
    method: CallPlan


EVALUATIONS = 20  # a stage's evaluations by default (the last epoch is always one)


@dataclass(frozen=True)
class StagePlan:
    """One training phase; exactly one of `epochs` and `steps` is set."""

    name: str
    kind: StageKind
    optimizer: CallPlan
    schedule: CallPlan
    batch: int
    epochs: int | None
    steps: int | None
    greedy: tuple[GreedyStep, ...] = ()  # pretrain stages: the units, bottom-up
    freeze: tuple[str, ...] = ()  # supervised stages: ids of the units whose weights stay fixed
    early_stop: int | None = None  # patience in evaluations
    monitor: str = "train"  # the loss early stopping and `plateau` watch: val or train
    clip: float | None = None  # largest gradient norm
    eval_every: int | None = None  # epochs between evaluations; None: `evaluation_interval`
    span: Span = field(default=NOWHERE, compare=False, repr=False)

    @property
    def weight_decay(self) -> float:
        return float(self.optimizer.params.get("weight_decay", 0.0))

    def evaluation_interval(self, epochs: int) -> int:
        """The epochs between evaluations of a stage of `epochs` epochs: `eval_every`, else every
        epoch where a patience counts epochs (`early_stop`, `plateau`), else often enough for
        EVALUATIONS evaluations, so a long run does not spend its time evaluating."""
        if self.eval_every is not None:
            return self.eval_every
        if self.early_stop is not None or self.schedule.name == "plateau":
            return 1
        return max(1, math.ceil(epochs / EVALUATIONS))


@dataclass(frozen=True)
class TrainPlan:
    """A checked `train` section: section-wide settings and the stages, in order."""

    network: str
    data: DataPlan
    batch: int
    seed: int
    device: str
    precision: str
    stages: tuple[StagePlan, ...]
    span: Span = field(default=NOWHERE, compare=False, repr=False)
    grad_stats_every: int = GRAD_STATS_EVERY  # steps between gradient measurements
