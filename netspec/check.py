"""Check a built network: infer every node's type in dependency order, count parameters, and
turn shape-rule failures into E3xx diagnostics. A failed node gets no type, so errors do not
cascade to the nodes that use it."""

from __future__ import annotations

from netspec.diagnostics import Diagnostic, error
from netspec.ir import Graph, Node, Role
from netspec.source import Sources, Span
from netspec.units import REGISTRY
from netspec.units.base import EquationContext, ShapeError


def check(graph: Graph, sources: Sources, diags: list[Diagnostic]) -> None:
    """Set `type` and `meta["params"]` on every node that can be typed."""
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
    cause = ins[exc.input_index] if exc.input_index is not None and exc.input_index < len(ins) else None
    call = _text(sources, node)
    fill = {"input": cause.label if cause else "x", "call": call}
    secondary = []
    if cause is not None:
        span = cause.value_span or cause.span
        if not _overlaps(span, node.span):
            what = f"`{cause.label}` gets" if cause.name else f"`{cause.kind}` gives"
            secondary.append((span, f"{what} {cause.type} here"))
    for site in reversed(node.scope):
        secondary.append((site.span, f"in block `{site.block}`, called here as `{site.id}`"))
    return error(
        exc.code,
        exc.message.replace("{input}", fill["input"]),
        node.span,
        exc.label,
        help=exc.help.replace("{input}", fill["input"]).replace("{call}", call) if exc.help else None,
        secondary=secondary,
    )


def _overlaps(a: Span, b: Span) -> bool:
    return a.file == b.file and a.start < b.end and b.start < a.end


def _text(sources: Sources, node: Node) -> str:
    text = sources.text(node.span.file)
    if text is None:
        return node.kind
    return " ".join(text[node.span.start:node.span.end].split())


def equation(graph: Graph, node: Node) -> str | None:
    """The unit's equation with its parameter shapes (for `explain`), once check typed it."""
    if node.role not in (Role.UNIT, Role.LOSS) or node.type is None:
        return None
    ins = [graph.node(i) for i in graph.inputs_of(node.id)]
    ctx = EquationContext(
        name=node.label,
        inputs=tuple(i.label for i in ins),
        in_types=tuple(i.type for i in ins),  # type: ignore[misc]
        out_type=node.type,
        params=node.params,
    )
    return REGISTRY[node.kind].equation(ctx)
