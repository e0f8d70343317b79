"""The IR: a network as a directed graph of nodes with ordered inputs; networkx stays inside."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import networkx as nx

from netspec.lang.source import Span
from netspec.types import TensorType


class Role(str, Enum):
    INPUT = "input"
    UNIT = "unit"
    OUTPUT = "output"
    LOSS = "loss"


@dataclass(frozen=True)
class Site:
    """A block call site: nodes built by the call carry it, outermost first."""

    block: str
    id: str
    span: Span


@dataclass
class Node:
    """One IR node. `type` is declared for inputs and inferred by check for the rest;
    `meta` holds what later passes attach (parameter count, equation)."""

    id: str
    role: Role
    kind: str
    span: Span
    params: dict[str, Any] = field(default_factory=dict)
    name: str | None = None  # the user's name, when they wrote one
    value_span: Span | None = None  # the whole expression the name stands for
    scope: tuple[Site, ...] = ()
    type: TensorType | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """How diagnostics and tables name the node: inside a block, by its call site."""
        return self.name if self.name is not None and not self.scope else self.id


class Graph:
    """A network: nodes by id in insertion order, edges with input ports.

    The graph itself is a networkx MultiDiGraph (one edge per input port), which orders and
    checks it; beside it two plain indexes, each node and its inputs by port, answer the lookups
    every pass makes per node, which networkx's views would make the compiler's largest cost on
    a 20,000-unit spec.

    >>> from netspec.lang.source import NOWHERE
    >>> g = Graph("n")
    >>> _ = g.add(Node("x", Role.INPUT, "input", NOWHERE))
    >>> _ = g.add(Node("y", Role.UNIT, "relu", NOWHERE), inputs=["x"])
    >>> g.inputs_of("y"), g.users_of("x"), g.topo_order()
    (['x'], ['y'], ['x', 'y'])
    """

    def __init__(self, name: str, span: Span | None = None) -> None:
        self.name = name
        self.span = span
        self.names: dict[str, str] = {}  # user name -> node id, at network scope
        self.sites: dict[str, Site] = {}  # block call-site id -> the call
        self._g: nx.MultiDiGraph[str] = nx.MultiDiGraph()
        self._nodes: dict[str, Node] = {}  # in insertion order
        self._inputs: dict[str, list[str]] = {}  # node id -> its sources, by port
        self._order: dict[str, int] = {}

    def add(self, node: Node, inputs: list[str] = ()) -> Node:  # type: ignore[assignment]
        if node.id in self._nodes:
            raise ValueError(f"node `{node.id}` already exists")
        self._order[node.id] = len(self._order)
        self._nodes[node.id] = node
        self._inputs[node.id] = list(inputs)
        self._g.add_node(node.id)
        for port, src in enumerate(inputs):
            self._g.add_edge(src, node.id, key=port, port=port)
        return node

    def node(self, node_id: str) -> Node:
        return self._nodes[node_id]

    def newest_ids(self) -> Iterator[str]:
        """Every node id, the last one added first."""
        return reversed(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def nodes(self, role: Role | None = None) -> Iterator[Node]:
        for node in self._nodes.values():
            if role is None or node.role is role:
                yield node

    def inputs_of(self, node_id: str) -> list[str]:
        return list(self._inputs[node_id])

    def users_of(self, node_id: str) -> list[str]:
        """The nodes it feeds, once each, in insertion order."""
        return sorted(self._g.succ[node_id], key=self._order.__getitem__)

    def edges(self) -> Iterator[tuple[str, str, int]]:
        """(source, destination, port) in a deterministic order."""
        for dst, sources in self._inputs.items():
            for port, src in enumerate(sources):
                yield src, dst, port

    def topo_order(self) -> list[str]:
        """Nodes in dependency order, ties broken by insertion order (so output is stable).

        The builder adds each node after its inputs, so insertion order is almost always the
        answer itself (the lexicographic sort picks the earliest ready node, which is then the
        next one inserted); checking that is one pass over the edges, five times faster than
        the sort, which remains for graphs that a pass has added to out of order.
        """
        if self._inserted_in_order():
            return list(self._nodes)
        return list(nx.lexicographical_topological_sort(self._g, key=self._order.__getitem__))

    def _inserted_in_order(self) -> bool:
        """Whether every node was added after all of its inputs (hence no cycle either)."""
        order = self._order
        for node_id, sources in self._inputs.items():
            at = order[node_id]
            for src in sources:
                if order.get(src, at) >= at:
                    return False
        return True

    def lint(self) -> list[str]:
        """Invariants every pass keeps; an empty list means the graph is well formed."""
        problems = []
        if not self._inserted_in_order() and not nx.is_directed_acyclic_graph(self._g):
            problems.append("the graph has a cycle")
        pred = self._g.pred
        for node in self._nodes.values():
            sources = self._inputs[node.id]
            missing = [src for src in sources if src not in self._nodes]
            if missing:
                problems.append(f"`{node.id}` has inputs from missing nodes {missing}")
            ports = sorted(int(port) for keys in pred[node.id].values() for port in keys)
            if ports != list(range(len(sources))):
                problems.append(f"`{node.id}` has input ports {ports}")
            if node.role is Role.INPUT and sources:
                problems.append(f"input `{node.id}` has inputs")
            if node.role in (Role.OUTPUT, Role.LOSS) and self._g.succ[node.id]:
                problems.append(f"{node.role.value} `{node.id}` has users")
        for name, node_id in self.names.items():
            if node_id not in self:
                problems.append(f"name `{name}` points at missing node `{node_id}`")
        return problems
