"""The frame every report page shares: one self-contained HTML document (its style and script
inside, a policy that lets it make no request), numbers as tables show them, and writing a page
so that no reader sees half of it."""

from __future__ import annotations

import math
import os
from html import escape
from pathlib import Path
from typing import Any

from netspec.report.page_assets import CSS

GENERATOR = '<meta name="generator" content="netspec report">'  # marks a page netspec may redo
# No request may leave the page: styles and scripts are its own, images data URIs.
CSP = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
    "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
)


def html_page(title: str, body: str, runs: int, script: str = "") -> str:
    """A self-contained page: its style, its script, `body` inside `<main id="report">`."""
    scripts = f"<script>{script}</script>" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'{CSP}\n{GENERATOR}\n<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"\n<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<main id="report" data-runs="{runs}">\n{body}\n</main>\n{scripts}\n</body>\n</html>\n'
    )


def number(value: Any) -> str:
    """A metric as tables show it.

    >>> number(0.123456), number(None), number("done")
    ('0.1235', '-', 'done')
    """
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def write_text(path: Path, text: str) -> Path:
    """Write `text` through a temporary file beside `path`, so a reader never sees half a page;
    OSError when the folder refuses it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return path
