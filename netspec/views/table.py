"""Plain-text tables for the terminal: left-aligned columns two spaces apart."""

from __future__ import annotations

from collections.abc import Sequence


def columns(rows: Sequence[Sequence[str]]) -> str:
    """The rows as aligned columns, one line each, with no trailing spaces.

    >>> print(columns([["head", "loss"], ["y", "0.25"]]), end="")
    head  loss
    y     0.25
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines) + "\n"
