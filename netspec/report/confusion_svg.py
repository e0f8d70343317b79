"""A classification head's confusion matrix on the test split as an SVG file (no matplotlib):
rows the true class, columns the predicted one, each cell its count, shaded from white (none)
to dark blue (the largest count), and the accuracy (the diagonal's share) in the title."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np

CELL = 30  # pixels a side
LIGHT, DARK = (247, 251, 255), (8, 48, 107)  # the ends of the shading, as matplotlib's Blues
CHAR = 6.5  # pixels per character of a class name


def shade(fraction: float) -> str:
    """The colour of a cell holding `fraction` of the largest count.

    >>> shade(0.0), shade(1.0)
    ('#f7fbff', '#08306b')
    """
    rgb = (round(a + (b - a) * fraction) for a, b in zip(LIGHT, DARK, strict=True))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def confusion_svg(matrix: np.ndarray, names: Sequence[str], head: str) -> str:
    """The (K, K) counts `matrix` as an SVG document, classes named by `names`."""
    k = matrix.shape[0]
    labels = list(names) if len(names) == k else [str(i) for i in range(k)]
    widest = max((len(n) for n in labels), default=1)
    left, top = 40 + CHAR * widest, 40  # room for the true classes' names, and the title
    below = 36 + (CHAR * widest * 0.71 if widest > 3 else 12)  # predicted names, turned if long
    width, height = left + k * CELL + 16, top + k * CELL + below
    largest = float(matrix.max()) if matrix.size else 0.0
    accuracy = float(np.trace(matrix)) / max(1.0, float(matrix.sum()))
    title = f"{head}: test accuracy {accuracy:.3f}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="system-ui, sans-serif" '
        f'font-size="11" data-accuracy="{accuracy!r}">',
        f"<title>{escape(title)}</title>",
        '<rect width="100%" height="100%" fill="#fff"/>',
        f'<text x="{left}" y="20" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    for i in range(k):
        for j in range(k):
            count = int(matrix[i, j])
            fraction = count / largest if largest else 0.0
            x, y = left + j * CELL, top + i * CELL
            ink = "#fff" if fraction > 0.5 else "#222"
            parts.append(
                f'<rect class="cell" data-true="{i}" data-predicted="{j}" data-count="{count}" '
                f'x="{x}" y="{y}" width="{CELL}" height="{CELL}" fill="{shade(fraction)}">'
                f"<title>true {escape(labels[i])}, predicted {escape(labels[j])}: {count}"
                "</title></rect>"
            )
            parts.append(
                f'<text x="{x + CELL / 2}" y="{y + CELL / 2 + 4}" text-anchor="middle" '
                f'fill="{ink}">{count}</text>'
            )
    for i, name in enumerate(labels):
        row = top + i * CELL + CELL / 2 + 4
        parts.append(f'<text x="{left - 6}" y="{row}" text-anchor="end">{escape(name)}</text>')
        column, under = left + i * CELL + CELL / 2, top + k * CELL + 14
        turn = f' transform="rotate(-45 {column} {under})"' if widest > 3 else ""
        anchor = "end" if widest > 3 else "middle"
        parts.append(
            f'<text x="{column}" y="{under}" text-anchor="{anchor}"{turn}>{escape(name)}</text>'
        )
    middle_x, middle_y = left + k * CELL / 2, top + k * CELL / 2
    parts += [
        f'<text x="{middle_x}" y="{height - 8:.0f}" text-anchor="middle" fill="#666">'
        "predicted</text>",
        f'<text x="14" y="{middle_y}" text-anchor="middle" fill="#666" '
        f'transform="rotate(-90 14 {middle_y})">true</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def write_confusion(matrix: np.ndarray, names: Sequence[str], head: str, path: Path) -> Path:
    path.write_text(confusion_svg(matrix, names, head), encoding="utf-8")
    return path
