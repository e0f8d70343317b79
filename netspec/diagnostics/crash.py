"""Internal errors: a bug in netspec, not a mistake of the user's.

The user sees one line naming the exception and the path of a crash log that holds what a bug
report needs (the traceback, the command line, the versions and the platform), never a bare
traceback. `NETSPEC_TRACEBACK=1` lets the exception through instead, for developers.
"""

from __future__ import annotations

import os
import platform
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from netspec import __version__

INTERNAL_STATUS = 3  # 1 is a user error, 2 a usage error
TRACEBACK_VARIABLE = "NETSPEC_TRACEBACK"


def wants_traceback() -> bool:
    """Whether the developer asked for the raw traceback (`NETSPEC_TRACEBACK=1`)."""
    return os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0")


def report_internal_error(exc: BaseException, argv: Sequence[str], stream: TextIO) -> int:
    """Tell the user about an unexpected exception, keep the details in a crash log, and return
    the exit status; if no log can be written, the traceback goes to the stream instead."""
    first = (str(exc).strip().splitlines() or [""])[0]
    summary = type(exc).__qualname__ + (f": {first}" if first else "")
    stream.write(f"error: internal error, please report: {summary}\n")
    try:
        log = write_crash_log(exc, argv)
    except OSError as why:
        stream.write(f"  = note: no crash log could be written ({why.strerror or why}):\n")
        stream.write(crash_report(exc, argv))
    else:
        stream.write(f"  = note: the traceback, versions and platform are in {log}\n")
        stream.write("  = help: attach that file to the report\n")
    return INTERNAL_STATUS


def write_crash_log(exc: BaseException, argv: Sequence[str]) -> Path:
    """Write the crash report to the first crash folder that takes it; the file's path."""
    name = time.strftime("crash-%Y%m%d-%H%M%S") + f"-{os.getpid()}.log"
    text = crash_report(exc, argv)
    failure: OSError | None = None
    for folder in crash_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError as err:
            failure = err
    assert failure is not None  # crash_folders() is never empty
    raise failure


def crash_folders() -> list[Path]:
    """Where crash logs go, best first: the user's cache (XDG_CACHE_HOME, by default ~/.cache),
    then the system's temporary folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return [Path(cache) / "netspec", Path(tempfile.gettempdir()) / "netspec"]


def crash_report(exc: BaseException, argv: Sequence[str]) -> str:
    """What a bug report needs: the command line, the versions, the platform, the traceback."""
    lines = [
        "netspec internal error",
        f"time:     {time.strftime('%Y-%m-%d %H:%M:%S %z')}",
        f"argv:     {shlex.join(argv)}",
        f"netspec:  {__version__}",
        f"python:   {sys.version.split()[0]} ({sys.executable})",
        f"torch:    {_torch_version()}",
        f"platform: {platform.platform()}",
        "",
    ]
    return "\n".join(lines) + "".join(traceback.format_exception(exc))


def _torch_version() -> str:
    """torch's version if this process imported it; never imports it (check/draw stay light)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return "not imported"
    return str(getattr(torch, "__version__", "unknown"))
