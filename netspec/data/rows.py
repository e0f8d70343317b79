"""An input's values as rows of their source, read when asked: how a split over the memory
budget is kept without a copy.

The loader describes each input as a `RowView`: the source's array (a `.npy` file's memory map,
or an array in memory), the indices of its samples, and the `Convert` that turns raw rows into
the input's values (its shape, element type and `normalize = standard` scaling). A split that
fits the budget is read whole into an array, as it always was; one over it stays a view, and
the DataLoader's workers (and evaluation, chunk by chunk) read only the rows of each batch.
Whatever needs every sample (checks of values, scaling statistics) reads `chunks` of rows.

A memory map's pages count in a process's resident memory once read, although the kernel can
drop them at any time; `release` unmaps them after each read (they stay in the page cache), so
the resident set shows what is really held. Only numpy is imported here.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from math import prod
from typing import Any

import numpy as np

from netspec.data.budget import host_budget

__all__ = ["CHUNK_BYTES", "Convert", "RowView", "blocks", "chunks", "gathered", "release"]

# Values read at a time by the scans over every sample: 4 MiB, whose temporaries (a float64 copy
# for statistics) stay a small part of any budget worth streaming under.
CHUNK_BYTES = 1 << 22
# Rows of a batch gathered from a memory map between releases: reading a row, the kernel maps up
# to 64 KiB of cached pages around it ("fault-around"), so scattered rows map far more than they
# hold; 64 at a time keep that under about 4 MiB. (A split read whole from a map under the budget
# releases once, at the end: a release per group would make loading it several times slower.)
RELEASE_ROWS = 64


@dataclass(frozen=True)
class Convert:
    """What turns a chunk of a source's rows into an input's values: reshaped to the input's
    shape, class ids mapped to the numbers they stand for (`table`), cast to `dtype`, then
    scaled by `(mean, std)` into float32. A dataclass, not a closure, so it pickles to
    workers started by `spawn`."""

    dims: tuple[int, ...]
    dtype: np.dtype[Any]
    table: np.ndarray | None = None  # number of class id i: a file's sorted integer labels
    scale: tuple[np.ndarray, np.ndarray] | None = None  # (mean, std), float64

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        values = rows.reshape(len(rows), *self.dims)
        if self.table is not None:
            values = self.table[values]
        values = values.astype(self.dtype)
        if self.scale is not None:
            mean, std = self.scale
            values = ((values - mean) / std).astype(np.float32)
        return values

    @property
    def out(self) -> np.dtype[Any]:
        return np.dtype(np.float32) if self.scale is not None else self.dtype


class RowView:
    """The values of rows `index` of `source` (samples on axis 0), not read yet. Its `shape`,
    `dtype` and `nbytes` are those of the array it stands for; indexing it with a slice or an
    index array reads those rows (in file order, then put back in the order asked), and
    `np.asarray` reads them all."""

    def __init__(self, source: np.ndarray, convert: Convert, index: np.ndarray) -> None:
        self.source, self.convert, self.index = source, convert, index
        self.dtype = convert.out
        self.shape = (len(index), *convert.dims)

    @classmethod
    def whole(cls, source: np.ndarray, convert: Convert) -> RowView:
        return cls(source, convert, np.arange(len(source)))

    @property
    def nbytes(self) -> int:
        return prod(self.shape) * self.dtype.itemsize

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, rows: slice | np.ndarray) -> np.ndarray:
        picked = self.index[rows]
        order = np.argsort(picked, kind="stable")
        values = self.convert(_gathered_rows(self.source, picked[order], RELEASE_ROWS))
        back = np.empty_like(order)
        back[order] = np.arange(order.size)
        return values[back]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self.values()
        return values if dtype is None else values.astype(dtype)

    def values(self) -> np.ndarray:
        """Every row, read in the view's order: the array a split held whole is."""
        scattered = _over_budget(self.source)  # rows of a big map: in groups, as a batch's
        group = RELEASE_ROWS if scattered else len(self.index)
        return self.convert(_gathered_rows(self.source, self.index, group))

    def take(self, index: np.ndarray) -> RowView:
        """The view of its rows `index`."""
        return RowView(self.source, self.convert, self.index[index])

    def scaled(self, mean: np.ndarray, std: np.ndarray) -> RowView:
        return RowView(self.source, replace(self.convert, scale=(mean, std)), self.index)

    def __reduce__(self) -> tuple[Any, ...]:
        # A memory map pickles as a copy of all its values: a loader worker started by `spawn`
        # (macOS, Windows) opens the file again instead.
        mapped = _mapped(self.source)
        if mapped is None or not isinstance(mapped.filename, str | os.PathLike):
            return RowView, (self.source, self.convert, self.index)
        order = "F" if mapped.flags.f_contiguous and not mapped.flags.c_contiguous else "C"
        where = (os.fspath(mapped.filename), mapped.dtype, mapped.shape, mapped.offset, order)
        start = _address(self.source) - _address(mapped)
        view = (self.source.dtype, self.source.shape, self.source.strides, start)
        return _reopened, (where, view, self.convert, self.index)


def _reopened(
    where: tuple[str, np.dtype[Any], tuple[int, ...], int, Any],
    view: tuple[np.dtype[Any], tuple[int, ...], tuple[int, ...], int],
    convert: Convert,
    index: np.ndarray,
) -> RowView:
    filename, dtype, shape, offset, order = where
    mapped = np.memmap(filename, dtype, "r", offset, shape, order)
    kind, rows_shape, strides, start = view
    source = np.ndarray(rows_shape, kind, buffer=mapped, offset=start, strides=strides)
    return RowView(source, convert, index)


def _gathered_rows(source: np.ndarray, picked: np.ndarray, group: int) -> np.ndarray:
    """`source[picked]`; from a memory map, `group` rows at a time, its pages let go after
    each group."""
    if _mapped(source) is None:
        rows: np.ndarray = source[picked]
        return rows
    out = np.empty((len(picked), *source.shape[1:]), source.dtype)
    for start in range(0, len(picked), max(1, group)):
        out[start : start + group] = source[picked[start : start + group]]
        release(source)
    return out


def _address(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])


def _mapped(array: np.ndarray) -> np.memmap[Any, Any] | None:
    """The memory map of a file under `array` (itself, or what it is a view of); None if none."""
    base: object = array
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap) and isinstance(base.base, mmap.mmap):
            return base
        base = base.base
    return None


def chunks(view: RowView) -> Iterator[np.ndarray]:
    """The view's values, `CHUNK_BYTES` (or one row) at a time, in file order; a memory map's
    pages let go after each when it is over the budget."""
    rows = np.sort(view.index)
    step = _step(view.nbytes, len(view))
    over = _over_budget(view.source)
    for start in range(0, len(rows), step):
        yield view.convert(view.source[rows[start : start + step]])
        if over:
            release(view.source)


def blocks(array: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
    """`array`'s rows `CHUNK_BYTES` (or one row) at a time, each with its first row's number:
    views of a memory map, whose pages are let go after each when it is over the budget (under
    it, they stay mapped for the copy that loading then makes)."""
    step = _step(array.nbytes, len(array))
    over = _over_budget(array)
    for start in range(0, len(array), step):
        yield start, array[start : start + step]
        if over:
            release(array)


def _over_budget(array: np.ndarray) -> bool:
    if _mapped(array) is None:
        return False
    budget = host_budget()
    return budget is not None and array.nbytes > budget


def _step(nbytes: int, rows: int) -> int:
    return max(1, CHUNK_BYTES // max(1, nbytes // max(1, rows)))


def gathered(array: np.ndarray | RowView, rows: slice | np.ndarray) -> np.ndarray:
    """Rows of a split's array, contiguous and in the order asked; an array's are read in
    sorted order (a memory map reads sorted rows with fewer seeks)."""
    if isinstance(array, RowView):
        return array[rows]
    if isinstance(rows, slice):
        return np.ascontiguousarray(array[rows])
    order = np.argsort(rows, kind="stable")
    back = np.empty_like(order)
    back[order] = np.arange(order.size)
    return np.ascontiguousarray(array[rows[order]][back])


def release(array: np.ndarray) -> None:
    """Unmap the pages this process has read of the read-only memory map under `array`
    (nothing for an array in memory, or a map that may hold changes). They stay in the page
    cache, so reading them again costs no disk I/O."""
    mapped = _mapped(array)
    pages = None if mapped is None or mapped.mode != "r" else mapped.base
    if isinstance(pages, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        pages.madvise(mmap.MADV_DONTNEED)
