"""Equation lines, as `netspec explain` prints them, as MathML: names with subscripts (`W_h1`),
transposes (`^T`), sums and deltas as symbols, the rest as the operators and words they are; a
trailing note (after four spaces) stays text beside the formula."""

from __future__ import annotations

import re
from html import escape

TOKEN = re.compile(
    r"\s+|(?P<num>\d+(?:\.\d+)?(?:e-?\d+)?)|(?P<name>[A-Za-z][\w.]*)|(?P<sup>\^)|(?P<op>.)"
)
SYMBOLS = {"delta": "\u03b4", "sum": "\u2211"}  # names written as their symbol
OPERATORS = {"*": "\u00b7", "-": "\u2212", "<": "\u27e8", ">": "\u27e9"}
NOTE = re.compile(r"\s{4,}")  # what follows is a note or a shape, not part of the formula


def equation_html(line: str) -> str:
    """One equation line as a `<div class="eq-line">` holding a `<math>` element, its note
    as text; a line that is a note itself, `(...)`, stays text.

    >>> equation_html("x^T    (note)")  # doctest: +ELLIPSIS
    '<div class="eq-line"><math alttext="x^T"><msup>...</msup></math><span ...>(note)</span></div>'
    """
    depth = (len(line) - len(line.lstrip(" "))) // 2
    text = line.strip()
    indent = f' data-depth="{depth}"' if depth else ""
    if text.startswith("("):
        return f'<div class="eq-line eq-note"{indent}>{escape(text)}</div>'
    formula, *rest = NOTE.split(text, maxsplit=1)
    note = f'<span class="eq-note">{escape(rest[0])}</span>' if rest else ""
    math = f'<math alttext="{escape(formula)}">{to_mathml(formula)}</math>'
    return f'<div class="eq-line"{indent}>{math}{note}</div>'


def to_mathml(formula: str) -> str:
    """The formula's MathML content (without the `<math>` element).

    >>> to_mathml("delta_z = 2 * a")
    '<msub><mi>δ</mi><mi>z</mi></msub><mo>=</mo><mn>2</mn><mo>·</mo><mi>a</mi>'
    """
    parts: list[str] = []
    raise_next = False
    for match in TOKEN.finditer(formula):
        kind = match.lastgroup
        if kind is None:  # white space
            continue
        token = match.group(kind)
        if kind == "sup":
            raise_next = bool(parts)
            continue
        element = _element(kind, token)
        if raise_next:
            parts[-1] = f"<msup>{parts[-1]}{element}</msup>"
            raise_next = False
        else:
            parts.append(element)
    return "".join(parts)


def _element(kind: str, token: str) -> str:
    if kind == "num":
        return f"<mn>{token}</mn>"
    if kind == "op":
        return f"<mo>{escape(OPERATORS.get(token, token))}</mo>"
    base, _, sub = token.partition("_")
    shown = f"<mi>{escape(SYMBOLS.get(base, base))}</mi>"
    return f"<msub>{shown}<mi>{escape(sub)}</mi></msub>" if sub else shown
