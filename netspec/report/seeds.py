"""Metrics over repeated runs (seeds): each metric's mean and sample standard deviation, as a
table (`netspec train --seeds N`, and each sweep trial's objective). Torch-free."""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netspec.views.table import columns


@dataclass(frozen=True)
class Spread:
    """A metric over n runs: its mean and sample standard deviation (0 for one run)."""

    mean: float
    sd: float
    n: int

    def text(self, digits: int = 4) -> str:
        """`0.9750 +- 0.0041`; a single run shows its value alone.

        >>> Spread(0.975, 0.00412, 3).text(), Spread(2.0, 0.0, 1).text()
        ('0.9750 +- 0.0041', '2.0000')
        """
        value = f"{self.mean:.{digits}f}"
        return value if self.n < 2 else f"{value} +- {self.sd:.{digits}f}"


def spread(values: Sequence[float]) -> Spread:
    """The mean and sample sd (n - 1) of finite values; nan when there are none.

    >>> spread([1.0, 2.0, 3.0])
    Spread(mean=2.0, sd=1.0, n=3)
    """
    finite = [float(v) for v in values if math.isfinite(v)]
    if not finite:
        return Spread(math.nan, math.nan, 0)
    sd = statistics.stdev(finite) if len(finite) > 1 else 0.0
    return Spread(statistics.fmean(finite), sd, len(finite))


def aggregate(runs: Sequence[Mapping[str, object]]) -> dict[str, Spread]:
    """Each numeric metric that every run reports, in the first run's order."""
    if not runs:
        return {}
    names = [k for k, v in runs[0].items() if _number(v)]
    shared = [k for k in names if all(_number(r.get(k)) for r in runs)]
    return {k: spread([float(r[k]) for r in runs]) for k in shared}  # type: ignore[arg-type]


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def seeds_table(seeds: Sequence[int], runs: Sequence[Mapping[str, object]]) -> str:
    """One row per metric: its mean +- sd over the runs, then each seed's value.

    >>> print(seeds_table([0, 1], [{"loss": 0.5}, {"loss": 0.7}]), end="")
    metric  mean +- sd        seed 0  seed 1
    loss    0.6000 +- 0.1414  0.5000  0.7000
    """
    header = ["metric", "mean +- sd", *(f"seed {s}" for s in seeds)]
    rows = [header]
    for name, s in aggregate(runs).items():
        rows.append([name, s.text(), *(f"{float(r[name]):.4f}" for r in runs)])  # type: ignore[arg-type]
    return columns(rows)
