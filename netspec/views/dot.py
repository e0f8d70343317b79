"""A small DOT writer: quoted ids, sorted attributes, HTML labels; no Graphviz needed to build."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Attrs = Mapping[str, str]
FONT = "Helvetica"
OBSERVED = "#d9d9d9"  # the fill of observed variables, as in graphical-model figures


def quote(text: str) -> str:
    """A DOT double-quoted string.

    >>> quote('a "b"')
    '"a \\\\"b\\\\""'
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def html(text: str) -> str:
    """Text escaped for an HTML-like label."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def attrs(values: Attrs) -> str:
    """`[a="1", b=<...>]` with keys sorted; a value in <...> is an HTML label, kept as is."""
    parts = []
    for key in sorted(values):
        value = values[key]
        is_html = value.startswith("<") and value.endswith(">")
        parts.append(f"{key}={value if is_html else quote(value)}")
    return "[" + ", ".join(parts) + "]" if parts else ""


@dataclass
class Cluster:
    """A subgraph drawn as a labelled box; clusters nest."""

    id: str
    attrs: dict[str, str]
    nodes: list[str] = field(default_factory=list)
    children: list[Cluster] = field(default_factory=list)


@dataclass
class Digraph:
    name: str
    graph: dict[str, str] = field(default_factory=dict)
    node_defaults: dict[str, str] = field(default_factory=dict)
    edge_defaults: dict[str, str] = field(default_factory=dict)
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    ranks: list[list[str]] = field(default_factory=list)  # groups kept on one rank

    def node(self, node_id: str, **values: str) -> None:
        self.nodes[node_id] = dict(values)

    def edge(self, src: str, dst: str, **values: str) -> None:
        self.edges.append((src, dst, dict(values)))

    def source(self) -> str:
        """The DOT text: nodes outside clusters first, then clusters, then edges, in order added."""
        lines = [f"digraph {quote(self.name)} {{"]
        for kind, values in (
            ("graph", self.graph),
            ("node", self.node_defaults),
            ("edge", self.edge_defaults),
        ):
            if values:
                lines.append(f"  {kind} {attrs(values)};")
        clustered = {n for c in self.clusters for n in _all_nodes(c)}
        for node_id, values in self.nodes.items():
            if node_id not in clustered:
                lines.append(f"  {quote(node_id)} {attrs(values)};".replace(" ;", ";"))
        for cluster in self.clusters:
            lines += self._cluster(cluster, "  ")
        for group in self.ranks:
            lines.append("  { rank=same; " + " ".join(quote(n) + ";" for n in group) + " }")
        for src, dst, values in self.edges:
            lines.append(f"  {quote(src)} -> {quote(dst)} {attrs(values)};".replace(" ;", ";"))
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _cluster(self, cluster: Cluster, indent: str) -> list[str]:
        lines = [f"{indent}subgraph {quote('cluster_' + cluster.id)} {{"]
        inner = indent + "  "
        if cluster.attrs:
            lines.append(f"{inner}graph {attrs(cluster.attrs)};")
        for node_id in cluster.nodes:
            lines.append(
                f"{inner}{quote(node_id)} {attrs(self.nodes[node_id])};".replace(" ;", ";")
            )
        for child in cluster.children:
            lines += self._cluster(child, inner)
        lines.append(f"{indent}}}")
        return lines


def _all_nodes(cluster: Cluster) -> list[str]:
    return cluster.nodes + [n for c in cluster.children for n in _all_nodes(c)]
