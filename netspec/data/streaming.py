"""Training batches for splits too big to copy to the device whole.

A split whose bytes exceed the memory budget (the device's free memory times `BUDGET_SHARE`, or
`NETSPEC_STREAM_BUDGET` bytes when set) stays in host memory, memory-mapped where it came from
`.npy` files; a DataLoader's workers gather each batch's rows and the main process moves them
to the device (from pinned memory on CUDA). Batches follow the index chunks the trainer hands
over, so the per-epoch permutation drawn from the session's shuffle generator (and saved with
the position for resume) decides the order exactly as it does for a split held on the device.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from netspec.diagnostics.failure import Failure
from netspec.plan.resources import host_available_bytes

BUDGET_ENV = "NETSPEC_STREAM_BUDGET"  # bytes (suffix K, M or G allowed); 0 streams every split
BUDGET_SHARE = 0.5  # of the free memory: room is left for weights, activations and the optimizer
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class BudgetError(Failure):
    """`NETSPEC_STREAM_BUDGET` holds no size."""


class BatchSource(Protocol):
    """Where a split's training batches come from: `epoch(chunks)` yields, for each chunk of
    sample indices in turn, that chunk's rows of every array, on the device."""

    def epoch(self, chunks: Sequence[torch.Tensor]) -> Iterator[list[torch.Tensor]]: ...


def budget_bytes(device: torch.device) -> int | None:
    """The bytes a split may take on `device` before it is streamed; None where unknown."""
    forced = os.environ.get(BUDGET_ENV, "").strip()
    if forced:
        return parse_bytes(forced)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
    else:
        known = host_available_bytes()
        if known is None:
            return None
        free = known
    return int(free * BUDGET_SHARE)


def parse_bytes(text: str) -> int:
    """`text` ("64M", "1G", "4096") as a count of bytes."""
    scale = _UNITS.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    try:
        value = int(float(digits) * scale)
    except ValueError:
        value = -1
    if value < 0:
        raise BudgetError(
            f"{BUDGET_ENV}={text!r} is not a size in bytes",
            help=f"set {BUDGET_ENV} to a byte count such as 64M, 1G or 4096 (0: stream all)",
        )
    return value


def streams(arrays: Sequence[np.ndarray], device: torch.device) -> bool:
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

    def __init__(self, arrays: Sequence[np.ndarray]) -> None:
        self.arrays = list(arrays)

    def __len__(self) -> int:
        return int(self.arrays[0].shape[0])

    def __getitem__(self, idx: np.ndarray) -> list[torch.Tensor]:  # type: ignore[override]
        order = np.argsort(idx, kind="stable")
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        return [torch.from_numpy(np.ascontiguousarray(a[idx[order]][back])) for a in self.arrays]


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
        self, arrays: Sequence[np.ndarray], device: torch.device, workers: int | None = None
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

    def __init__(self, array: np.ndarray, device: torch.device) -> None:
        self.array, self.device = array, device
        self.shape = torch.Size(array.shape)

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, rows: slice | torch.Tensor) -> torch.Tensor:
        picked = self.array[rows] if isinstance(rows, slice) else self.array[rows.cpu().numpy()]
        return torch.from_numpy(np.ascontiguousarray(picked)).to(self.device)


def source(tensors: Sequence[torch.Tensor], device: torch.device) -> BatchSource:
    """The training batches of a split as `Session` holds it: streamed when its arrays were
    left on the host (`HostRows`), else indexed on the device."""
    kept = [t.array for t in tensors if isinstance(t, HostRows)]
    return Streamed(kept, device) if kept else OnDevice(tensors)
