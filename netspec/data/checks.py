"""What `netspec check` adds to `compile` for data: the problems of the local files a spec's
`train` sections read (a missing file, nan, text in a number column, a label outside
`class(N)`, a split left empty...; codes E510-E518). Only numpy is imported, and only for a
spec that reads files, so checking stays fast and torch-free."""

from __future__ import annotations

from collections.abc import Sequence

from netspec.api import Compiled
from netspec.diagnostics.core import Diagnostic
from netspec.plan.catalog import SOURCES
from netspec.plan.trainspec import TrainPlan


def check_data(compiled: Compiled, networks: Sequence[str] | None = None) -> list[Diagnostic]:
    """Every problem in the local data files (`csv(...)`, `npy(...)`) of the `train` sections
    of `networks` (all: None), as diagnostics; empty when they fit the networks. What
    `netspec check` adds to `compile`: a missing file, nan, text in a number column, a label
    outside `class(N)`, a split left empty... (codes E510-E518). Reads only with numpy."""
    reading = [
        (train.data, compiled.networks[name])
        for name, train in compiled.trains.items()
        if (networks is None or name in networks) and _reads_files(train)
    ]
    if not reading:
        return []
    from netspec.data.loading import check_files

    return [d for plan, graph in reading for d in check_files(plan, graph)]


def _reads_files(train: TrainPlan) -> bool:
    entry = SOURCES.get(train.data.source)
    return entry is not None and bool(entry.files)
