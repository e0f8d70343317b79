"""The fields of the sources that read the user's files, as the plan sees them before any data
is loaded: a CSV's header, an NPZ's member names and shapes (from the .npy headers inside, not
the arrays), a folder's class subfolders. Torch-free and cheap, so `check` binds data by name;
netspec.data reads the data itself.
"""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netspec.plan.catalog import FEATURES, TARGET, Field
from netspec.types import TensorType

__all__ = ["REST", "class_count", "classes", "csv_fields", "npz_fields", "target_columns"]

REST = "features"  # the field of the columns that are neither targets nor in a group


def target_columns(target: Any) -> tuple[str, ...]:
    """`target=` as a tuple of column names: none, one name, or a list of them."""
    if target is None:
        return ()
    return (target,) if isinstance(target, str) else tuple(target)


# --- CSV ---------------------------------------------------------------------------------------


def csv_fields(p: Mapping[str, Any]) -> tuple[Field, ...]:
    """The fields of `csv(path, target)`, named from the file's header when it reads; without
    it, one `features` field and the targets, their sizes known once loaded."""
    targets = target_columns(p["target"])
    header = _header(p["path"])
    known = header is not None and set(targets) <= set(header)  # else loading says what's wrong
    needed = known and len(targets) > 1
    target_fields = tuple(
        Field(t, TARGET, None, (t,), needed=needed, shown=f"column {t}") for t in targets
    )
    if header is None or not known:
        return (Field(REST, FEATURES, None, shown="the feature columns"), *target_fields)
    groups: dict[str, list[str]] = {}
    for name in header:
        if name not in targets:
            group = name.partition(".")[0] if "." in name else REST
            groups.setdefault(group, []).append(name)
    features = []
    for group, columns in groups.items():
        shown = f"columns {group}.* ({len(columns)})" if group != REST else _listed(columns)
        features.append(
            Field(group, FEATURES, TensorType((len(columns),)), tuple(columns), shown=shown)
        )
    return (*features, *target_fields)


def _listed(columns: Sequence[str]) -> str:
    names = ", ".join(columns[:4]) + (", ..." if len(columns) > 4 else "")
    return f"column {names}" if len(columns) == 1 else f"columns {names} ({len(columns)})"


def _header(path: Any) -> list[str] | None:
    """The CSV's header names, or None when the file does not read (loading reports why)."""
    if not isinstance(path, str):
        return None
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            for row in csv.reader(f):
                if any(c.strip() for c in row):
                    return [c.strip() for c in row]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None


# --- NPZ ---------------------------------------------------------------------------------------


def npz_fields(p: Mapping[str, Any]) -> tuple[Field, ...]:
    """A field per array of the archive, each to feed the input of its name; () when the
    archive does not read (loading reports why). Only the arrays' headers are read."""
    members = _members(p["path"])
    if members is None:
        return ()
    fields = []
    for name, (shape, dtype) in members.items():
        one_label = dtype.kind in "US" or (dtype.kind in "iub" and len(shape) == 1)
        kind = TensorType(tuple(shape[1:])) if dtype.kind == "f" else None
        shown = f"array {name} {list(shape)}"
        fields.append(
            Field(name, TARGET if one_label else FEATURES, kind, (name,), needed=True, shown=shown)
        )
    return tuple(fields)


def _members(path: Any) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]] | None:
    """Each array's name, shape and dtype, read from the .npy headers inside the archive."""
    if not isinstance(path, str):
        return None
    found = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    return None
                with archive.open(info) as f:
                    version = np.lib.format.read_magic(f)
                    read = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = read(f)
                found[info.filename.removesuffix(".npy")] = (tuple(shape), dtype)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return None
    return found


# --- folders -------------------------------------------------------------------------------------


def classes(path: str) -> list[str]:
    """The class subfolders of `path`, sorted (their ids are their places), hidden ones left out."""
    with os.scandir(path) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def class_count(path: Any) -> int | None:
    """How many classes the folder holds, or None when it does not read (loading says why)."""
    if not isinstance(path, str):
        return None
    try:
        count = len(classes(path))
    except OSError:
        return None
    return count or None
