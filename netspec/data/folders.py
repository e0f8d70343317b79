"""Folders of labelled files: one subfolder per class, named after it (`pictures/cat/1.png`)."""

from __future__ import annotations

import os

import numpy as np

from netspec.data import contracts
from netspec.data.contracts import DataError
from netspec.plan.file_fields import classes

__all__ = ["labelled_files"]


def labelled_files(
    path: str, suffixes: tuple[str, ...], what: str
) -> tuple[tuple[str, ...], list[str], np.ndarray]:
    """The class names, every file of the classes ending in one of `suffixes` (in class order,
    then by name), and each file's class id. E511 for a path that is no folder or holds no
    class folders; E516 for a class folder with no such files."""
    kinds = "/".join(suffixes)
    try:
        names = classes(path)
    except OSError as exc:
        raise DataError(
            f"cannot read the folder `{path}`: {exc.strerror or exc}",
            code=contracts.UNREADABLE,
            help=f"give a folder that holds one subfolder of {what} per class",
        ) from None
    if not names:
        raise DataError(
            f"`{path}` holds no class folders: its {what} must lie in one subfolder per class",
            code=contracts.UNREADABLE,
            help=f"put the {what} in subfolders named after their classes, "
            f"such as `{path}/cat/1{suffixes[0]}`",
        )
    files: list[str] = []
    ids: list[int] = []
    for k, name in enumerate(names):
        folder = os.path.join(path, name)
        found = sorted(
            f
            for f in os.listdir(folder)
            if f.lower().endswith(suffixes) and os.path.isfile(os.path.join(folder, f))
        )
        if not found:
            raise DataError(
                f"the class folder `{folder}` holds no {what} ({kinds} files)",
                code=contracts.TOO_FEW,
                help=f"add {what} of class `{name}` there, or remove the folder",
            )
        files += [os.path.join(folder, f) for f in found]
        ids += [k] * len(found)
    return tuple(names), files, np.array(ids, dtype=np.int64)
