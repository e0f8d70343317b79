"""Data contracts: what a data source's samples must satisfy before a network trains on them.

Every sample a file or a generator gives is checked once, as it is loaded: the file exists and
reads, a CSV row has one value per header column, a feature is a number and finite (netspec
does not impute: a nan, an inf or an empty cell is an error, never a silent zero), and class
labels lie within the declared `class(N)` (0 or 1 for `binary`). Each problem is a DataError
with its own code (E510-E518) and, where the data are a file, a location `file:line:column`
(for a `.npy` file, the sample's number along the first axis and the value's within it).

The checks collect problems rather than stopping at the first, so `netspec check` lists them
all; `problems_raised` turns them into one exception (the first, with the rest attached), so
training reports the first and `check` all. Only numpy is imported here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from math import prod
from typing import Any

import numpy as np

from netspec.data.rows import blocks
from netspec.diagnostics.failure import Failure, at
from netspec.lang.source import Span

__all__ = [
    "DataError",
    "Locate",
    "cells",
    "labels",
    "missing_file",
    "non_finite",
    "problems_raised",
    "ragged_rows",
    "sample_number",
    "target_cells",
]

MISSING = "E510"  # a data file does not exist
UNREADABLE = "E511"  # cannot be opened or parsed, or holds no table or array
RAGGED = "E512"  # a CSV row with more or fewer values than the header has columns
NOT_A_NUMBER = "E513"  # text where numbers are needed
NOT_FINITE = "E514"  # nan, inf or an empty cell
BAD_LABEL = "E515"  # a label outside `class(N)`, not 0/1 for `binary`, or not a whole number
TOO_FEW = "E516"  # no samples, or too few for the test and validation fractions
BAD_SHAPE = "E517"  # values per sample or sample counts that do not fit
NO_COLUMN = "E518"  # a named column that the file does not have

# Names sample i (0-based) for a message, "line 4" or "sample 5", and where it is, when in a file.
Locate = Callable[[int], tuple[str, Span | None]]


def sample_number(i: int) -> tuple[str, Span | None]:
    return f"sample {i + 1}", None


# Problems of one kind listed one by one; the rest are counted in the last one's note, so a
# file with a million nans gives a screenful, not a million diagnostics.
SHOWN = 5


class DataError(Failure):
    """A data file is missing or malformed, or does not fit the network's inputs.

    `problems` holds every problem found when there were several (this one, the first, carries
    a note that counts the others); empty when this is the only one."""

    code = "E520"
    problems: tuple[DataError, ...] = ()


def problems_raised(problems: Sequence[DataError]) -> None:
    """Raise the first of `problems`, the rest attached to it; nothing when there are none."""
    if not problems:
        return
    first = problems[0]
    if len(problems) == 1:
        raise first
    more = len(problems) - 1
    count = f"{more} more problem{'s' * (more != 1)} in the data; `netspec check` lists them all"
    note = f"{first.note}\n{count}" if first.note else count
    error = DataError(
        first.message,
        code=first.code,
        help=first.help,
        note=note,
        span=first.span,
        label=first.label,
    )
    error.problems = tuple(problems)
    raise error


def missing_file(path: str, parameter: str, source: str, span: Span | None) -> DataError | None:
    """E510 when the file `parameter` of `source` names does not exist."""
    if os.path.exists(path):
        return None
    folder = os.path.dirname(path) or "."
    return DataError(
        f"cannot read `{path}`: there is no such file",
        code=MISSING,
        span=span,
        label=f"`{parameter}` names no file",
        help=f"paths in `{source}(...)` are relative to the spec's folder (`{folder}` here); "
        "check the file's name and where it lies",
    )


# --- CSV ---------------------------------------------------------------------------------------

Row = tuple[int, list[str]]  # the line in the file (1-based, the header is line 1), the cells


def ragged_rows(path: str, header: Sequence[str], rows: Sequence[Row]) -> list[DataError]:
    """E512 for each row without one value per header column."""
    bad = [(line, row) for line, row in rows if len(row) != len(header)]
    found = [
        DataError(
            f"`{path}` line {line} has {len(row)} value{'s' * (len(row) != 1)}, "
            f"but the header names {len(header)} columns",
            code=RAGGED,
            span=at(path, line, min(len(row), len(header)) + 1),
            help="give every row one value per column (an empty cell still needs its comma)",
        )
        for line, row in bad
    ]
    return _capped(found, "rows of the wrong length", path)


def cells(
    path: str, header: Sequence[str], rows: Sequence[Row], columns: Sequence[int]
) -> tuple[np.ndarray, list[DataError]]:
    """The numbers in `columns` (0-based) of the rows, one row per sample, and a problem for
    each cell that is text (E513), or empty, nan or inf (E514). Rows of the wrong length are
    skipped (`ragged_rows` reports them)."""
    values = np.zeros((len(rows), len(columns)))
    text: list[DataError] = []
    missing: list[DataError] = []
    counts = {"text": 0, "missing": 0}  # all of them; only the first SHOWN are made problems
    for r, (line, row) in enumerate(rows):
        if len(row) != len(header):
            continue
        for c, i in enumerate(columns):
            cell = row[i].strip()
            where = f"`{path}` line {line}, column `{header[i]}`"
            span = at(path, line, i + 1)
            try:
                value = float(cell)
            except ValueError:
                kind = "text" if cell else "missing"
                counts[kind] += 1
                if counts[kind] > SHOWN:
                    continue
                if not cell:
                    missing.append(_missing(where, "is empty", span))
                else:
                    text.append(
                        DataError(
                            f"{where}: `{cell}` is not a number (feature columns must be numeric)",
                            code=NOT_A_NUMBER,
                            span=span,
                            help="write the value as a number, or leave the column out of the file",
                        )
                    )
                continue
            if not np.isfinite(value):
                counts["missing"] += 1
                if counts["missing"] <= SHOWN:
                    missing.append(_missing(where, f"holds {value}", span))
            values[r, c] = value
    return values, [
        *_capped(text, "cells that are not numbers", path, counts["text"]),
        *_capped(missing, "missing or non-finite values", path, counts["missing"]),
    ]


def target_cells(
    path: str, header: Sequence[str], rows: Sequence[Row], column: int
) -> list[DataError]:
    """E514 for each empty, nan or inf cell of the target column (0-based): text labels are
    allowed there, but a missing label is not a class of its own."""
    found = []
    for line, row in rows:
        if len(row) != len(header):
            continue
        cell = row[column].strip()
        where = f"`{path}` line {line}, column `{header[column]}`"
        span = at(path, line, column + 1)
        if not cell:
            found.append(_missing(where, "is empty", span, "target"))
        elif cell.lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
            found.append(_missing(where, f"holds {cell}", span, "target"))
    return _capped(found, "missing targets", path)


def _missing(where: str, what: str, span: Span, value: str = "value") -> DataError:
    return DataError(
        f"{where} {what}: netspec does not impute missing values",
        code=NOT_FINITE,
        span=span,
        help=f"remove the row, or fill in the {value}",
    )


# --- arrays ------------------------------------------------------------------------------------


def non_finite(array: np.ndarray, origin: str, file: str | None = None) -> list[DataError]:
    """E514 for the first samples of `array` (samples on axis 0) that hold nan or inf.
    `origin` names it in messages (a file "`x.npy`", or a source "`blobs`"); `file`, when it is
    one, gives the location: line = the sample's number, column = the value's within it.
    Read in chunks, so a memory-mapped file is never copied whole."""
    if array.dtype.kind not in "fc" or len(array) == 0:
        return []
    width = prod(array.shape[1:])
    first: list[tuple[int, int, Any]] = []  # sample, its first bad value's place, that value
    total = 0
    for start, part in blocks(array):
        flat = part.reshape(len(part), -1)
        bad = ~np.isfinite(flat)
        samples = np.flatnonzero(bad.any(axis=1))
        total += len(samples)
        for s in samples[: SHOWN - len(first)]:
            v = int(np.argmax(bad[s]))
            first.append((start + int(s), v, flat[s, v]))
    found = []
    for s, v, value in first:
        where = f"sample {s + 1} (index {s})" + (f", value {v + 1}" if width > 1 else "")
        found.append(
            DataError(
                f"{origin} {where} holds {value}: netspec does not impute missing values",
                code=NOT_FINITE,
                span=at(file, s + 1, v + 1) if file else None,
                help="remove the sample, or fill in its values"
                if file
                else f"{origin} generated it: fix the source, or report it with the spec",
            )
        )
    return _capped(found, "samples holding nan or inf", origin, total)


def labels(
    data: np.ndarray,
    k: int,
    low: int,
    takes: str,
    where: str,
    locate: Locate,
    names: Sequence[str] = (),
) -> list[DataError]:
    """E515 when the class ids of `data` (samples on axis 0) are not whole numbers from `low`
    to k - 1: one problem for the whole array, naming its range and the first samples outside
    it. `takes` says what the input takes ("`class(3)` takes class ids 0 to 2"); `locate(i)`
    names sample i and where it is ("line 4", a span). `names`: the labels of a file that
    the ids stand for (text, or integers numbered in sorted order), when it gave such. Read in
    chunks, so a memory-mapped file is never copied whole."""
    if data.size == 0:
        return []
    outside_at: list[int] = []  # the first SHOWN samples with an id outside low..k-1
    total, value, smallest, largest = 0, None, None, None
    for start, part in blocks(data):
        flat = part.reshape(len(part), -1)
        whole = np.isfinite(flat) & (flat == np.round(flat))
        if not whole.all():
            s = int(np.flatnonzero(~whole.all(axis=1))[0])
            place, span = locate(start + s)
            fraction = flat[s, int(np.argmax(~whole[s]))]
            return [
                DataError(
                    f"{where} holds values that are not whole numbers ({fraction:g} at {place}): "
                    f"{takes}",
                    code=BAD_LABEL,
                    span=span,
                    help="give the class ids as whole numbers, or declare the input `real`",
                )
            ]
        outside = (flat < low) | (flat >= k)
        samples = np.flatnonzero(outside.any(axis=1))
        if len(samples) and value is None:
            value = flat[samples[0], int(np.argmax(outside[samples[0]]))]
        outside_at += [start + int(s) for s in samples[: SHOWN - len(outside_at)]]
        total += len(samples)
        low_here, high_here = flat.min(), flat.max()
        smallest = low_here if smallest is None else min(smallest, low_here)
        largest = high_here if largest is None else max(largest, high_here)
    if value is None:
        return []
    place, span = locate(outside_at[0])
    others = [locate(s)[0] for s in outside_at[1:]]
    note = None
    if others:
        rest = total - SHOWN
        note = "also at " + "; ".join(others) + (f"; and {rest} more" if rest > 0 else "")
    if names and value >= 0:  # the file's own labels, numbered in sorted order
        listed = ", ".join(f"`{v}`" for v in names[:8]) + (", ..." if len(names) > 8 else "")
        found = (
            f"{len(names)} different labels ({listed}), but {takes}: numbered in sorted "
            f"order, `{names[int(value)]}` (first at {place}) is class {value:g}"
        )
        note = None
    else:
        found = f"values from {smallest:g} to {largest:g}, but {takes}: {value:g} at {place}"
    return [
        DataError(
            f"{where} holds {found}",
            code=BAD_LABEL,
            span=span,
            note=note,
            help="fix the labels, or declare as many classes as the data has",
        )
    ]


def _capped(
    found: list[DataError], what: str, where: str, total: int | None = None
) -> list[DataError]:
    """The first SHOWN problems, the last one's note counting those left out."""
    total = len(found) if total is None else total
    kept = found[:SHOWN]
    if total > len(kept) and kept:
        last = kept[-1]
        count = f"and {total - len(kept)} more {what} in {_quoted(where)}"
        last.note = f"{last.note}\n{count}" if last.note else count
    return kept


def _quoted(where: str) -> str:
    return where if where.startswith("`") else f"`{where}`"
