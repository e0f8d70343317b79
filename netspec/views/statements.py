"""Which statement of the spec made each drawn node, and how its call reads as written, so a
drawing names every op the way its line does (`h = pixels -> dense(128, act=relu) -> ...`);
the units view's clusters: block call sites, and the statements of two or more nodes."""

from __future__ import annotations

from dataclasses import dataclass

from netspec.ir import Graph, Node, Role, Site
from netspec.lang.source import Sources, Span
from netspec.views.dot import FONT, Cluster, html

LONGEST_CALL = 48  # characters of a call shown in a node's title before it is cut with `...`


@dataclass(frozen=True)
class Statement:
    """One assignment or loss statement: the node it names, its text, and the nodes it made at
    its own scope (a block it calls has its nodes in the call's cluster), in graph order."""

    root: str
    head: str  # what the statement names: `h =`, `loss fit =`, `loss`
    text: str
    nodes: tuple[str, ...]


def source_of(sources: Sources | None, span: Span | None) -> str | None:
    """The text a span covers, its whitespace squeezed to single spaces; None if unknown."""
    text = sources.text(span.file) if sources is not None and span is not None else None
    if text is None or span is None or span.end <= span.start:
        return None
    return " ".join(text[span.start : span.end].split())


def call_text(node: Node, sources: Sources | None) -> str:
    """The call that made a unit or loss, as written (`dense(128, act=relu)`), else its kind."""
    text = source_of(sources, node.span) or node.kind
    return text if len(text) <= LONGEST_CALL else text[: LONGEST_CALL - 3] + "..."


def statements(graph: Graph, sources: Sources | None) -> list[Statement]:
    """Every named unit's or loss's statement, with the unnamed nodes inside it.

    >>> from netspec.api import compile
    >>> c = compile("network n { input x: [4]  h = x -> dense(3) -> relu }")
    >>> [(s.text, s.nodes) for s in statements(c.network(), c.sources)]
    [('h = x -> dense(3) -> relu', ('h.dense', 'h'))]
    """
    roots = {n.id: span for n in graph.nodes() if (span := _statement_span(n)) is not None}
    by_scope: dict[tuple[str, ...], list[tuple[str, Span]]] = {}
    for root, span in roots.items():
        by_scope.setdefault(_scope(graph.node(root)), []).append((root, span))
    members: dict[str, list[str]] = {root: [] for root in roots}
    for node in graph.nodes():
        if node.id in roots:
            members[node.id].append(node.id)
        elif node.role is Role.UNIT and node.name is None:
            owner = _owner(node, by_scope.get(_scope(node), []))
            if owner is not None:
                members[owner].append(node.id)
    found = []
    for root, span in roots.items():
        node = graph.node(root)
        text = source_of(sources, span) or node.kind
        if node.role is Role.LOSS:
            head = "loss" + (f" {node.name} =" if node.name else "")
        else:
            head = f"{node.name} ="
        found.append(Statement(root, head, f"{head} {text}", tuple(members[root])))
    return found


def _scope(node: Node) -> tuple[str, ...]:
    return tuple(site.id for site in node.scope)


def _statement_span(node: Node) -> Span | None:
    """What a statement's root covers: a named unit's value, or a loss statement's call."""
    if node.role is Role.LOSS:
        return node.span
    if node.role is Role.UNIT and node.name is not None and node.value_span is not None:
        return node.value_span
    return None


def _owner(node: Node, roots: list[tuple[str, Span]]) -> str | None:
    """The innermost statement (of those at the node's scope) whose text holds its call."""
    holding = [
        (span.end - span.start, root)
        for root, span in roots
        if span.file == node.span.file and span.start <= node.span.start < span.end
    ]
    return min(holding)[1] if holding else None


def clusters(
    graph: Graph, shown: list[Node], found: list[Statement]
) -> tuple[list[Cluster], dict[str, Cluster]]:
    """One cluster per block call site, nested as the calls are, and inside them one per
    statement of two or more nodes, labelled with the statement as written. Returns the
    outermost clusters and the block clusters by call-site id."""
    roots: list[Cluster] = []
    sites: dict[str, Cluster] = {}
    owner = {n: s for s in found if len(s.nodes) > 1 for n in s.nodes}
    made: dict[str, Cluster] = {}  # statement root -> its cluster
    for node in shown:
        parent: Cluster | None = None
        for site in node.scope:
            cluster = sites.get(site.id)
            if cluster is None:
                cluster = sites[site.id] = Cluster(site.id, _site_attrs(site))
                (parent.children if parent else roots).append(cluster)
            parent = cluster
        statement = owner.get(node.id)
        if statement is not None:
            cluster = made.get(statement.root)
            if cluster is None:
                root = graph.node(statement.root)
                attrs = _statement_attrs(statement, root.value_span or root.span)
                cluster = made[statement.root] = Cluster(f"statement:{statement.root}", attrs)
                (parent.children if parent else roots).append(cluster)
            parent = cluster
        if parent is not None:
            parent.nodes.append(node.id)
    return roots, sites


def _site_attrs(site: Site) -> dict[str, str]:
    where = f"{site.span.file}:{site.span.line}"
    return {
        "label": f"{site.id}: {site.block}",
        "style": "rounded,dashed",
        "color": "#737373",
        "fontname": FONT,
        "fontsize": "10",
        "tooltip": f"block {site.block} called at {where}",
    }


def _statement_attrs(statement: Statement, span: Span) -> dict[str, str]:
    """A statement's cluster: a light box labelled with what it names and its line, short so
    that the edges entering it miss the label (the whole statement is its tooltip)."""
    left = '<br align="left"/>'
    return {
        "label": f"<{html(statement.head)} ...{left}line {span.line}{left}>",
        "labeljust": "l",
        "style": "rounded",
        "color": "#d9d9d9",
        "fontcolor": "#737373",
        "fontname": FONT,
        "fontsize": "9",
        "tooltip": f"{statement.text}\n{span.file}:{span.line}",
    }
