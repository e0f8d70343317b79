"""sweep.html: a sweep's trials as one self-contained table page (no scripts, no requests)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

_STYLE = (
    "body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse}th,td{padding:4px 10px;border-bottom:1px solid #ddd;"
    "text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}"
    "tr.best{background:#eef7ee}code{background:#f4f4f4;padding:2px 4px}"
)


def sweep_page(
    title: str, rows: Sequence[Sequence[str]], best: str | None, best_trial: str | None
) -> str:
    """The page's HTML: a heading, the best settings as a command, the table of trials (the
    first row is the header; the best trial's row is marked)."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = []
    for row in rows[1:]:
        marked = ' class="best"' if best_trial is not None and row[0] == best_trial else ""
        cells = "".join(f"<td>{html.escape(c)}</td>" for c in row)
        body.append(f"<tr{marked}>{cells}</tr>")
    best_html = (
        f"<p>best: <code>{html.escape(best)}</code></p>" if best else "<p>no trial finished</p>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{best_html}"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "</body></html>\n"
    )


def write_sweep_page(
    path: Path, title: str, rows: Sequence[Sequence[str]], best: str | None, best_trial: str | None
) -> Path:
    """Write the page to `path`; return it."""
    path.write_text(sweep_page(title, rows, best, best_trial), encoding="utf-8")
    return path
