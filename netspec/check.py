"""Check a built network: infer every node's type in dependency order, count parameters, and
turn shape-rule failures into E3xx diagnostics. A failed node gets no type, so errors do not
cascade to the nodes that use it."""

from __future__ import annotations

import re

from netspec.diagnostics.core import Diagnostic, error
from netspec.equations.expr import Equations, summary
from netspec.ir import Graph, Node, Role
from netspec.lang.collector import collector_paused
from netspec.lang.source import Sources, Span
from netspec.units import REGISTRY
from netspec.units.base import EquationContext, ShapeError


def check(graph: Graph, sources: Sources, diags: list[Diagnostic]) -> None:
    """Set `type` and `meta["params"]` on every node that can be typed."""
    with collector_paused():
        _infer(graph, sources, diags)


def _infer(graph: Graph, sources: Sources, diags: list[Diagnostic]) -> None:
    for node_id in graph.topo_order():
        node = graph.node(node_id)
        if node.role is Role.INPUT:
            continue
        ins = [graph.node(i) for i in graph.inputs_of(node_id)]
        types = tuple(i.type for i in ins)
        if any(t is None for t in types):
            continue
        if node.role is Role.OUTPUT:
            node.type = types[0]
            continue
        kind = REGISTRY[node.kind]
        try:
            node.type = kind.shape(types, node.params)  # type: ignore[arg-type]
            node.meta["params"] = kind.count(types, node.params, node.type)  # type: ignore[arg-type]
        except ShapeError as exc:
            node.type = None
            diags.append(_shape_diagnostic(exc, node, ins, sources))


def _shape_diagnostic(exc: ShapeError, node: Node, ins: list[Node], sources: Sources) -> Diagnostic:
    """The diagnostic of a failed shape rule: at the call, with where each input it blames got
    its type, and the block call sites it sits in."""
    written = node.meta.get("written", ())

    def shown(i: int) -> str:
        return written[i] if i < len(written) and written[i] else ins[i].label

    index = exc.input_index if exc.input_index is not None and exc.input_index < len(ins) else None
    fill = {"input": shown(index) if index is not None else "x", "call": _text(sources, node)}
    fill.update({f"input{i + 1}": shown(i) for i in range(len(ins))})
    secondary: list[tuple[Span, str]] = []
    blamed = [i for i in (index, *exc.related) if i is not None and i < len(ins)]
    for i in dict.fromkeys(blamed):
        cause = ins[i]
        span = cause.value_span or cause.span
        if _overlaps(span, node.span):
            continue
        if cause.role is Role.INPUT:
            what = f"`{cause.label}` is declared as {cause.type} here"
        elif cause.name:
            what = f"`{cause.label}` gets {cause.type} here"
        else:
            what = f"`{cause.kind}` gives {cause.type} here"
        secondary.append((span, what))
    for site in reversed(node.scope):
        secondary.append((site.span, f"in block `{site.block}`, called here"))
    help = exc.help
    if exc.input_help and index is not None and ins[index].role is Role.INPUT:
        help = exc.input_help
    return error(
        exc.code,
        _fill(exc.message, fill),
        node.span,
        _fill(exc.label, fill),
        help=_fill(help, fill) if help else None,
        secondary=secondary,
    )


def _fill(text: str, fill: dict[str, str]) -> str:
    """Replace `{name}` placeholders that fill knows; leave any other braces alone."""
    return re.sub(r"\{(\w+)\}", lambda m: fill.get(m.group(1), m.group(0)), text)


def _overlaps(a: Span, b: Span) -> bool:
    return a.file == b.file and a.start < b.end and b.start < a.end


def _text(sources: Sources, node: Node) -> str:
    text = sources.text(node.span.file)
    if text is None:
        return node.kind
    return " ".join(text[node.span.start : node.span.end].split())


def equations(graph: Graph, node: Node, links: bool = True) -> Equations | None:
    """What a unit or loss computes, as equations (once check typed it); `links` also asks its
    inputs which link function each is (a loss reads that link's logits)."""
    if node.role not in (Role.UNIT, Role.LOSS) or node.type is None:
        return None
    found = REGISTRY[node.kind].equation(context(graph, node, links))
    if isinstance(found, str):  # a kind registered by a plugin that gives only text
        return Equations(output=node.label, forward=(), notes=(found,))
    return found


def context(graph: Graph, node: Node, links: bool = True) -> EquationContext:
    """What a kind's equation rules see of a typed node: names, types, parameters, links."""
    ins = [graph.node(i) for i in graph.inputs_of(node.id)]
    return EquationContext(
        name=node.label,
        inputs=tuple(i.label for i in ins),
        in_types=tuple(i.type for i in ins),  # type: ignore[misc]
        out_type=node.type,  # type: ignore[arg-type]
        params=node.params,
        in_links=tuple(_link(graph, i) for i in ins) if links else (),
    )


def _link(graph: Graph, node: Node) -> str:
    found = equations(graph, node, links=False)
    return found.link if found is not None else ""


def equation(graph: Graph, node: Node) -> str | None:
    """The unit's equations on one line, with its tensors' shapes (a drawing's tooltip)."""
    found = equations(graph, node)
    return None if found is None else summary(found)
