"""Render DOT text to SVG, PNG or JPEG with the pinned `graphviz-pure` (no system install), or
to PDF with a system Graphviz `dot`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from netspec.diagnostics.failure import Failure

FORMATS = ("svg", "png", "jpeg", "pdf", "dot")
PURE = "graphviz-pure"
INSTALL_HINT = (
    "install Graphviz for PDF output (Debian/Ubuntu: `apt install graphviz`, macOS: "
    "`brew install graphviz`, Windows: `winget install graphviz`), or use --format svg or png"
)


class RenderError(Failure):
    """No renderer could produce the requested format; the message says what to install."""

    code = "E747"


def find_renderer(fmt: str, prefer_system: bool = False) -> list[str] | None:
    """The command that renders `fmt`: graphviz-pure next to this Python first, a system `dot`
    for PDF or when asked; None when neither is present."""
    system = shutil.which("dot")
    if fmt == "pdf" or (prefer_system and system):
        return [system] if system else None
    exe = PURE + (".exe" if os.name == "nt" else "")
    beside = Path(sysconfig.get_path("scripts")) / exe
    if beside.is_file():
        return [str(beside)]
    beside_python = Path(sys.executable).parent / exe
    if beside_python.is_file():
        return [str(beside_python)]
    found = shutil.which(PURE)
    if found:
        return [found]
    return [system] if system else None


def render(dot: str, fmt: str, prefer_system: bool = False) -> bytes:
    """The rendered image; RenderError when no renderer is installed or rendering fails."""
    if fmt == "dot":
        return dot.encode("utf-8")
    command = find_renderer(fmt, prefer_system)
    if command is None:
        raise RenderError(f"no renderer for {fmt.upper()}: {INSTALL_HINT}")
    result = subprocess.run(
        [*command, f"-T{fmt}"], input=dot.encode("utf-8"), capture_output=True, check=False
    )
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip()
        raise RenderError(f"{Path(command[0]).name} failed to render {fmt.upper()}: {detail}")
    return result.stdout
