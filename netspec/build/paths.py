"""Confinement: a spec reads files only under its own folder and the folders the user allows.

A `use` and a data source's file are named relative to the file that names them. Wherever the
name leads once `..` and symbolic links are followed, it must lie under the root spec's folder (the
current directory for a spec given as text or on stdin) or under a folder passed as `--allow-path`.
So running someone else's spec cannot read `~/.ssh` or `/etc/passwd`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from netspec.diagnostics.core import Diagnostic, error
from netspec.lang.source import Span

TEXT_SOURCES = ("<string>", "<stdin>")  # specs that have no file: their folder is the cwd


@dataclass(frozen=True)
class Confinement:
    """The folders a compilation may read under: the root spec's own, then the allowed ones."""

    home: str  # the root spec's folder, as the user wrote it (for messages)
    folders: tuple[Path, ...]  # absolute, not resolved: a link inside them is seen as a link

    @classmethod
    def of(cls, root_file: str, allow: Sequence[str | Path] = ()) -> Confinement:
        home = "." if root_file in TEXT_SOURCES else str(Path(root_file).parent)
        return cls(home, tuple(Path(os.path.abspath(p)) for p in (home, *allow)))

    def locate(self, raw: str, naming_file: str) -> str:
        """The path to read for `raw` as written in `naming_file`: relative to its folder."""
        base = Path(".") if naming_file in TEXT_SOURCES else Path(naming_file).parent
        return str(base / raw)

    def refusal(self, raw: str, located: str, span: Span, what: str) -> Diagnostic | None:
        """An error when `located` (the path `raw` leads to) lies outside every allowed folder,
        or cannot be a path at all."""
        if "\0" in raw:  # the OS refuses it, and resolving it raises
            return error(
                "E113",
                f"{what} contains a NUL character, which no file name can hold",
                span,
                "not a file name",
                help="remove the NUL character (a binary paste or a wrong encoding leaves one)",
            )
        target = _resolved(located)
        if any(target.is_relative_to(_resolved(str(f))) for f in self.folders):
            return None
        folder = "the current directory" if self.home == "." else f"`{self.home}`"
        outside = f"outside the spec's folder ({folder})"
        help_ = (
            f"move the file under {folder} and name it relative to the spec, "
            "or pass `--allow-path DIR` to allow reading under DIR"
        )
        lexical = Path(os.path.abspath(located))
        if Path(raw).is_absolute():
            code, label = "E110", "absolute path"
            message = f"{what} `{raw}` is an absolute path {outside}"
        elif any(lexical.is_relative_to(f) for f in self.folders):
            code, label = "E111", "leads outside through a link"
            message = f"{what} `{raw}` leads through a symbolic link to `{target}`, {outside}"
        else:
            code, label = "E111", "leads outside the folder"
            message = f"{what} `{raw}` leads {outside}"
        note = "a spec reads only files under its own folder and the folders allowed to it"
        return error(code, message, span, label, help=help_, note=note)


def _resolved(path: str) -> Path:
    """The absolute path with links followed; a link loop is left as it is, to fail on reading."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))
