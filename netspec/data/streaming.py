"""Training batches for splits too big to copy to the device whole.

A split whose bytes exceed the memory budget (the device's free memory times `BUDGET_SHARE`, or
`NETSPEC_STREAM_BUDGET` bytes when set; `netspec.data.budget`) stays in host memory: as the
loader gave it, an array, or a `RowView` of a `.npy` file's memory map when it was over the
host's budget too, never read whole. A DataLoader's workers gather each batch's rows and the
main process moves them to the device (from pinned memory on CUDA). Batches follow the index
chunks the trainer hands over, so the per-epoch permutation drawn from the session's shuffle
generator (and saved with the position for resume) decides the order exactly as it does for a
split held on the device.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from netspec.data.budget import BUDGET_ENV, BUDGET_SHARE, BudgetError, forced_budget, parse_bytes
from netspec.data.rows import RowView, gathered
from netspec.plan.resources import host_available_bytes

__all__ = [
    "BUDGET_ENV",
    "BatchSource",
    "BudgetError",
    "HostRows",
    "OnDevice",
    "Streamed",
    "budget_bytes",
    "parse_bytes",
    "source",
    "streams",
]

Rows = np.ndarray | RowView  # a split's array as the loader gives it


class BatchSource(Protocol):
    """Where a split's training batches come from: `epoch(chunks)` yields, for each chunk of
    sample indices in turn, that chunk's rows of every array, on the device."""

    def epoch(self, chunks: Sequence[torch.Tensor]) -> Iterator[list[torch.Tensor]]: ...


def budget_bytes(device: torch.device) -> int | None:
    """The bytes a split may take on `device` before it is streamed; None where unknown."""
    forced = forced_budget()
    if forced is not None:
        return forced
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
    else:
        known = host_available_bytes()
        if known is None:
            return None
        free = known
    return int(free * BUDGET_SHARE)


def streams(arrays: Sequence[Rows], device: torch.device) -> bool:
    """Whether a split of these arrays is too big for the device's memory budget."""
    budget = budget_bytes(device)
    return budget is not None and sum(a.nbytes for a in arrays) > budget


class OnDevice:
    """A split held whole on the device: a batch is plain indexing."""

    def __init__(self, tensors: Sequence[torch.Tensor]) -> None:
        self.tensors = list(tensors)

    def epoch(self, chunks: Sequence[torch.Tensor]) -> Iterator[list[torch.Tensor]]:
        for idx in chunks:
            yield [t[idx] for t in self.tensors]


class _Rows(Dataset[list[torch.Tensor]]):
    """Item = a whole batch: the rows of a chunk of indices, read in file order (a memory map
    reads sorted rows with fewer seeks) and put back in the chunk's order."""

    def __init__(self, arrays: Sequence[Rows]) -> None:
        self.arrays = list(arrays)

    def __len__(self) -> int:
        return int(self.arrays[0].shape[0])

    def __getitem__(self, idx: np.ndarray) -> list[torch.Tensor]:  # type: ignore[override]
        return [torch.from_numpy(gathered(a, idx)) for a in self.arrays]


class _Chunks(Sampler[np.ndarray]):
    """The current epoch's index chunks; set before each pass, since persistent workers keep
    one DataLoader (and so one sampler) for the whole run."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter(self.chunks)

    def __len__(self) -> int:
        return len(self.chunks)


def worker_count() -> int:
    """Loader workers: the threads this process may use, less one for the training loop."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        available = os.cpu_count() or 1
    return max(0, min(available - 1, 8))


class Streamed:
    """A split kept in host memory (memory-mapped where it can be) and read batch by batch."""

    def __init__(
        self, arrays: Sequence[Rows], device: torch.device, workers: int | None = None
    ) -> None:
        self.arrays, self.device = list(arrays), device
        self.size = int(self.arrays[0].shape[0])
        self._sampler = _Chunks()
        workers = worker_count() if workers is None else workers
        self._loader = DataLoader(
            _Rows(self.arrays),
            sampler=self._sampler,
            batch_size=None,  # each sampled item is already a batch
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=device.type == "cuda",
            prefetch_factor=4 if workers > 0 else None,
            # Its own generator: each pass draws the workers' seed from it, not from the global
            # one that dropout uses, so a streamed run stays on the same random numbers.
            generator=torch.Generator().manual_seed(0),
        )

    def epoch(self, chunks: Sequence[torch.Tensor]) -> Iterator[list[torch.Tensor]]:
        self._sampler.chunks = [c.cpu().numpy() for c in chunks]
        for batch in self._loader:
            yield [t.to(self.device, non_blocking=True) for t in batch]


class HostRows:
    """One array of a streamed split, standing where a device tensor would: `shape` as the
    array's, and indexing (a slice or indices, as evaluation in chunks does) gives those rows
    on the device."""

    def __init__(self, array: Rows, device: torch.device) -> None:
        self.array, self.device = array, device
        self.shape = torch.Size(array.shape)

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, rows: slice | torch.Tensor) -> torch.Tensor:
        picked = np.arange(len(self))[rows] if isinstance(rows, slice) else rows.cpu().numpy()
        return torch.from_numpy(gathered(self.array, picked)).to(self.device)


def source(tensors: Sequence[torch.Tensor], device: torch.device) -> BatchSource:
    """The training batches of a split as `Session` holds it: streamed when its arrays were
    left on the host (`HostRows`), else indexed on the device."""
    kept = [t.array for t in tensors if isinstance(t, HostRows)]
    return Streamed(kept, device) if kept else OnDevice(tensors)
