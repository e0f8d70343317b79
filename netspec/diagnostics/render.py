"""Render diagnostics: rustc-like text with source excerpts, one-line short form, or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from netspec.diagnostics.core import Diagnostic, Label, Severity
from netspec.lang.source import Sources

_RESET = "\033[0m"
_STYLE = {"error": "\033[1;31m", "warning": "\033[1;33m", "gutter": "\033[1;34m", "bold": "\033[1m"}


def _paint(text: str, style: str, color: bool) -> str:
    return f"{_STYLE[style]}{text}{_RESET}" if color and text else text


def render_text(diagnostics: Sequence[Diagnostic], sources: Sources, color: bool = False) -> str:
    """Every diagnostic as a block of rustc-like text, followed by a summary line."""
    blocks = [_render_one(d, sources, color) for d in diagnostics]
    errors = sum(d.severity is Severity.ERROR for d in diagnostics)
    if errors:
        plural = "s" if errors > 1 else ""
        blocks.append(_paint(f"error: found {errors} error{plural}", "error", color) + "\n")
    return "\n".join(blocks)


def _render_one(diag: Diagnostic, sources: Sources, color: bool) -> str:
    head = _paint(f"{diag.severity.value}[{diag.code}]", diag.severity.value, color)
    out = [f"{head}{_paint(': ' + diag.message, 'bold', color)}"]
    primary = diag.primary_span
    shown = [lb for lb in diag.labels if _quotable(lb.span.file, sources)]
    width = max([len(str(lb.span.line)) for lb in shown] + [1]) + 1
    bar = _paint(" " * width + " |", "gutter", color)
    if primary is not None:
        out.append(_paint(" " * width + "--> ", "gutter", color) + primary.excerpt_location())
    if shown:
        out.append(bar)
        out += _excerpt(shown, sources, width, color, primary.file if primary else "")
    if not shown and (diag.help or diag.note):
        out.append(bar)
    for prefix, text in (("help", diag.help), ("note", diag.note)):
        if text:
            lines = text.splitlines()
            out.append(_paint(" " * width + " = ", "gutter", color) + f"{prefix}: {lines[0]}")
            out += [" " * (width + 3 + len(prefix) + 2) + line for line in lines[1:]]
    return "\n".join(out) + "\n"


def _quotable(file: str, sources: Sources) -> bool:
    """Only spec text is quoted: a span into a data file (or any other file) shows its place."""
    spec = file.endswith(".net") or file in ("<string>", "<stdin>")
    return spec and sources.text(file) is not None


def _excerpt(
    labels: list[Label], sources: Sources, width: int, color: bool, main: str
) -> list[str]:
    """Quote each labelled line once, in file then line order, with its underlines; a `...`
    gutter marks skipped lines."""
    out: list[str] = []
    by_line: dict[tuple[str, int], list[Label]] = {}
    for label in labels:
        by_line.setdefault((label.span.file, label.span.line), []).append(label)
    files = sorted({f for f, _ in by_line}, key=lambda f: (f != main, f))
    for file in files:
        if file != main:
            first = min(lb.span for lb in labels if lb.span.file == file)
            if out:
                out.append(_paint(" " * width + " |", "gutter", color))
            out.append(_paint(" " * width + "::: ", "gutter", color) + first.excerpt_location())
            out.append(_paint(" " * width + " |", "gutter", color))
        previous = None
        for (_, line_no), group in sorted((k, v) for k, v in by_line.items() if k[0] == file):
            if previous is not None and line_no > previous + 1:
                out.append(_paint("...", "gutter", color))
            previous = line_no
            text = sources.line(file, line_no) or ""
            quoted = _quoted_line(text.rstrip(), color)
            out.append(_paint(f"{line_no:>{width}} |", "gutter", color) + f" {quoted}".rstrip())
            out += _underlines(group, text, width, color)
    out.append(_paint(" " * width + " |", "gutter", color))
    return out


def _quoted_line(text: str, color: bool) -> str:
    """A quoted source line, its tokens coloured when `color` is on (escape codes take no
    columns, so the underlines still line up)."""
    if not color or not text:
        return text
    from netspec.editor.pygments_lexer import ansi_line  # Pygments only when colouring

    return ansi_line(text)


def _underlines(group: list[Label], text: str, width: int, color: bool) -> list[str]:
    """One row of carets and dashes with the rightmost message inline; each other message
    hangs below its label on a `|`, rightmost first, as rustc draws them."""
    group = sorted(group, key=lambda lb: (lb.span.col, not lb.primary))
    marks = [" "] * (len(text) + 1)
    for label in group:
        start = label.span.col - 1
        end = label.span.end_col - 1 if label.span.end_line == label.span.line else len(text)
        end = max(end, start + 1)
        if end > len(marks):
            marks += [" "] * (end - len(marks))
        for i in range(start, end):
            if marks[i] != "^":
                marks[i] = "^" if label.primary else "-"
    style = "error" if any(lb.primary for lb in group) else "gutter"
    gutter = _paint(" " * width + " |", "gutter", color)
    row = "".join(marks).rstrip()
    with_text = [lb for lb in group if lb.message]
    if with_text:
        row += " " + with_text[-1].message
    rows = [gutter + " " + _paint(row, style, color)]
    hanging = with_text[:-1]
    while hanging:
        last = hanging[-1]
        bars = _bars([lb.span.col - 1 for lb in hanging])
        rows.append(gutter + " " + _paint(bars, style, color))
        left = _bars([lb.span.col - 1 for lb in hanging[:-1]])
        line = left.ljust(last.span.col - 1) + last.message
        rows.append(gutter + " " + _paint(line, "error" if last.primary else "gutter", color))
        hanging = hanging[:-1]
    return rows


def _bars(columns: list[int]) -> str:
    row = [" "] * (max(columns) + 1) if columns else []
    for col in columns:
        row[col] = "|"
    return "".join(row)


def render_short(diagnostics: Sequence[Diagnostic]) -> str:
    """One line per diagnostic, `file:line:col: error[CODE]: message`, for editors."""
    lines = []
    for diag in diagnostics:
        span = diag.primary_span
        where = f"{span.excerpt_location()}: " if span else ""
        lines.append(f"{where}{diag.severity.value}[{diag.code}]: {diag.message}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """A JSON array of diagnostics with 1-based positions, for tools."""
    return json.dumps([_as_json(d) for d in diagnostics], indent=2) + "\n"


def _as_json(diag: Diagnostic) -> dict[str, object]:
    def where(label: Label) -> dict[str, object]:
        s = label.span
        return {
            "file": s.file,
            "line": s.line,
            "column": s.col,
            "end_line": s.end_line,
            "end_column": s.end_col,
            "message": label.message,
            "primary": label.primary,
        }

    return {
        "code": diag.code,
        "severity": diag.severity.value,
        "message": diag.message,
        "labels": [where(lb) for lb in diag.labels],
        "help": diag.help,
        "note": diag.note,
    }
