"""Hover text (Markdown) for a position in a document: a unit's shape, parameter count and
equations from the last compile that succeeded; a unit kind's, train entry's or setting's page."""

from __future__ import annotations

from netspec.check import equations
from netspec.editor.positions import word_at
from netspec.equations.expr import statement_lines, tensor_list
from netspec.ir import Graph, Node, Role
from netspec.lang import ast
from netspec.units import REGISTRY
from netspec.views import explain

_NAMED = (Role.INPUT, Role.UNIT, Role.LOSS)


def hover(text: str, offset: int, networks: dict[str, Graph], module: ast.Module | None) -> str:
    """What to show for the word at `offset`; "" when there is nothing to say.

    `networks` are the last good compile's (possibly of an older text: then a unit is found
    by its name only), and `module` the text's parse (None when it does not parse).

    >>> from netspec.api import compile
    >>> text = "network n { input x: [4]  y = x -> dense(3) }"
    >>> print(hover(text, text.index("y ="), compile(text).networks, None).splitlines()[0])
    **y**: `dense(3)` gives `[3]`, 15 parameters
    """
    found = word_at(text, offset)
    if found is None:
        return ""
    word, start, _ = found
    item = _enclosing(module, offset)
    parts = [_unit(graph, node, text) for graph, node in _nodes(networks, word, start, item, text)]
    page = _page(word)
    if page:
        parts.append("```\n" + page.rstrip() + "\n```")
    return "\n\n---\n\n".join(parts)


def _nodes(
    networks: dict[str, Graph], word: str, start: int, item: ast.Item | None, text: str
) -> list[tuple[Graph, Node]]:
    """The node the word names, with its network: the unit called there, or the value or input
    of that name in the network or block the cursor is in (a block's units appear once per
    call: the first is shown)."""
    nodes = [(g, n) for g in networks.values() for n in g.nodes() if n.role in _NAMED]
    called = [
        (g, n) for g, n in nodes if n.span.start == start and n.kind == word and _same(n, text)
    ]
    named = [(g, n) for g, n in nodes if n.name == word and _inside(n, item)]
    return (called or named)[:1]


def _same(node: Node, text: str) -> bool:
    """Whether the compile that made `node` read this very text (its call still stands there)."""
    return text[node.span.start : node.span.start + len(node.kind)] == node.kind


def _inside(node: Node, item: ast.Item | None) -> bool:
    if item is None:
        return not node.scope  # no parse: the networks' own names
    span = item.span
    return node.span.file == span.file and span.start <= node.span.start < span.end


def _enclosing(module: ast.Module | None, offset: int) -> ast.Item | None:
    if module is None:
        return None
    return next((i for i in module.items if i.span.start <= offset <= i.span.end), None)


def _unit(graph: Graph, node: Node, text: str) -> str:
    """`**h**: `dense(64)` gives `[64]`, 4,160 parameters`, then its equations."""
    if node.role is Role.INPUT:
        return f"**{node.label}**: input `{node.type}`"
    call = node.kind
    if _same(node, text):
        call = " ".join(text[node.span.start : node.span.end].split())
    count = int(node.meta.get("params", 0))
    head = f"**{node.label}**: `{call}` gives `{node.type}`, {count:,} parameters"
    eqs = _equations(graph, node)
    return head if not eqs else f"{head}\n\n```\n{eqs}\n```"


def _equations(graph: Graph, node: Node) -> str:
    found = equations(graph, node)
    if found is None:
        return ""
    lines = [line for s in found.forward for line in statement_lines(s)]
    lines += [f"({note})" for note in found.notes]
    if found.tensors:
        lines.append(f"[{tensor_list(found.tensors)}]")
    return "\n".join(lines)


def _page(word: str) -> str:
    """The `netspec explain` page of a unit kind, a train catalogue entry or a setting."""
    if word in REGISTRY or explain.catalogue_entry(word) is not None or word in explain.SETTINGS:
        return explain.topic_page(word) or ""
    return ""
