"""The user's own tables and arrays: CSV files (several targets, named column groups) and NPZ
archives (arrays bound to inputs by name).

Binding rule for a CSV (told in grammar/README.md, "Binding data to inputs"): every column
named in `target=` is a target field of that name; every other column whose header is
`GROUP.NAME` belongs to the feature field GROUP (its columns in the header's order); the
columns left form the field `features`. The binder (netspec.plan.databind) then feeds each
field to the input of its name, a left-over column named exactly like an input to that input,
and `features` to the real input(s) left. Only numpy is imported here.
"""

from __future__ import annotations

import csv
import zipfile
from typing import Any

import numpy as np

from netspec.data import contracts
from netspec.data.contracts import DataError
from netspec.data.loading import Column, Samples
from netspec.diagnostics.failure import at
from netspec.plan.file_fields import target_columns

__all__ = ["from_csv", "from_npz"]

# --- CSV ---------------------------------------------------------------------------------------


def from_csv(path: str, target: Any) -> Samples:
    """A CSV file's rows as samples: the `target` columns (none, one or several) as targets,
    the first as y and the others in `more`; every other column in x, `columns` naming them."""
    header, samples, first = _rows(path)
    targets = target_columns(target)
    problems = contracts.ragged_rows(path, header, samples)
    absent = [t for t in targets if t not in header]
    for t in absent:
        problems.append(
            DataError(
                f"`{path}` has no column `{t}` for the target; its columns: "
                + ", ".join(f"`{h}`" for h in header),
                code=contracts.NO_COLUMN,
                span=at(path, first),
                help="name one of the header's columns in `target=`",
            )
        )
    features = [i for i, h in enumerate(header) if h not in targets]
    if not features and not absent:
        problems.append(
            DataError(
                f"`{path}` has no feature columns besides the target "
                + ", ".join(f"`{t}`" for t in targets),
                code=contracts.NO_COLUMN,
                span=at(path, first),
                help="add the feature columns, or leave out `target=` to use the column as x",
            )
        )
    if absent or not features:
        contracts.problems_raised(problems)
    x, found = contracts.cells(path, header, samples, features)
    problems += found
    for t in targets:
        problems += contracts.target_cells(path, header, samples, header.index(t))
    contracts.problems_raised(sorted(problems, key=_place))
    lines = np.array([line for line, _ in samples])
    columns = tuple(header[i] for i in features)
    common: dict[str, Any] = {"x_from": f"`{path}`", "x_file": path, "lines": lines}
    if not targets:
        return Samples(x, None, columns=columns, **common)
    labelled = {t: _labels([row[header.index(t)].strip() for _, row in samples]) for t in targets}
    y, names, text = labelled[targets[0]]
    more = {t: (labelled[t][0], labelled[t][1]) for t in targets[1:]}
    where = {
        t: Column(f"column `{t}` of `{path}`", path, header.index(t) + 1, labelled[t][2])
        for t in targets[1:]
    }
    return Samples(
        x,
        y,
        names,
        y_from=f"column `{targets[0]}` of `{path}`",
        y_text=text,
        y_file=path,
        y_column=header.index(targets[0]) + 1,
        more=more,
        more_columns=where,
        columns=columns,
        **common,
    )


def _rows(path: str) -> tuple[list[str], list[contracts.Row], int]:
    """The header, the non-empty rows after it, and the header's line."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        if isinstance(exc, UnicodeDecodeError):  # say where, not which codec
            reason = (
                f"it is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start})"
            )
        raise DataError(
            f"cannot read `{path}`: {reason}",
            code=contracts.UNREADABLE,
            help="give a readable UTF-8 CSV file: a header row, then one row per sample",
        ) from None
    if len(rows) < 2:
        empty = not rows
        raise DataError(
            f"`{path}` {'is empty' if empty else 'has a header but no samples'}: expected a "
            "header row, then one row per sample",
            code=contracts.UNREADABLE if empty else contracts.TOO_FEW,
            span=None if empty else at(path, rows[0][0]),
            help="add the samples, one row each",
        )
    return [h.strip() for h in rows[0][1]], rows[1:], rows[0][0]


def _place(problem: DataError) -> tuple[int, int]:
    """The file order of a problem: line, then column."""
    span = problem.span
    return (0, 0) if span is None else (span.line, span.col)


def _labels(cells: list[str]) -> tuple[np.ndarray, tuple[str, ...], bool]:
    """A target column: integers (ids, or mapped to sorted ids when some are negative), real
    numbers, or text mapped to the ids of its sorted values (kept as the class names)."""
    for kind in (int, float):
        try:
            values = np.array([kind(c) for c in cells])
        except ValueError:
            continue
        if kind is int and values.min() < 0:
            names, ids = np.unique(values, return_inverse=True)
            return ids.astype(np.int64), tuple(str(v) for v in names), False
        return values, (), False
    names, ids = np.unique(np.array(cells), return_inverse=True)
    return ids.astype(np.int64), tuple(str(v) for v in names), True


# --- NPZ ---------------------------------------------------------------------------------------


def from_npz(path: str) -> Samples:
    """An .npz archive's arrays, each a field of its name in `more` (samples on axis 0); text
    arrays become the ids of their sorted values."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        if "allow_pickle" in reason or "Object arrays" in reason:
            reason = "it holds Python objects (a pickle), and netspec reads only numeric arrays"
        raise DataError(
            f"cannot read `{path}`: {reason}",
            code=contracts.UNREADABLE,
            help="give an archive written by `np.savez` holding numeric (or text) arrays",
        ) from None
    if not arrays:
        raise DataError(f"`{path}` holds no arrays", code=contracts.UNREADABLE)
    counts = {name: (a.shape[0] if a.ndim else 0) for name, a in arrays.items()}
    if len(set(counts.values())) > 1 or 0 in counts.values():
        listed = ", ".join(f"`{k}` {v}" for k, v in counts.items())
        raise DataError(
            f"the arrays of `{path}` must hold the same number of samples, but hold: {listed}",
            code=contracts.BAD_SHAPE,
            help="save every array with the samples along its first axis, one row per sample",
        )
    n = next(iter(counts.values()))
    problems: list[DataError] = []
    more: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
    where: dict[str, Column] = {}
    for name, a in arrays.items():
        origin = f"array `{name}` of `{path}`"
        text = a.dtype.kind in "US"
        names: tuple[str, ...] = ()
        if text:
            unique, ids = np.unique(a, return_inverse=True)
            a, names = ids.reshape(a.shape).astype(np.int64), tuple(map(str, unique))
        elif a.dtype.kind not in "biuf":
            problems.append(
                DataError(
                    f"{origin} holds {a.dtype} values: arrays must hold numbers or text",
                    code=contracts.NOT_A_NUMBER,
                    help="save it as numbers (`a.astype(float)`) or strings",
                )
            )
            continue
        problems += contracts.non_finite(a, origin, path)
        more[name] = (a, names)
        where[name] = Column(origin, path, 0, text)
    contracts.problems_raised(problems)
    return Samples(np.zeros((n, 0)), x_from=f"`{path}`", x_file=path, more=more, more_columns=where)
