"""What the graphical model says about a network's RBM stacks, read from the registry's drawing
hooks (never a kind's name): a stack of undirected units, each fed by the one below, is a deep
belief net, whose top pair stays undirected while the couplings below it are directed top-down."""

from __future__ import annotations

from dataclasses import dataclass

from netspec.ir import Graph, Node, Role
from netspec.units import REGISTRY
from netspec.units.base import AUTO

Edge = tuple[str, str]  # (source, destination) node ids, as the IR has it: bottom-up


@dataclass(frozen=True)
class Coupling:
    """How one edge of an RBM stack is drawn. `generative`: directed top-down, from `upper`'s
    layer to `lower`'s (drawn against the IR edge); else undirected. `stacked`: the edge is part
    of a stack of two or more RBMs (a deep belief net), not a lone RBM."""

    generative: bool
    upper: str  # the node id of the RBM whose weights the edge stands for
    lower: str  # the node id of the layer it generates (or couples to): its visible side
    stacked: bool
    carry: bool = False  # not a coupling but the path from a lower RBM up to one (a concat)

    def tooltip(self, graph: Graph) -> str:
        up, low = graph.node(self.upper).label, graph.node(self.lower).label
        if self.carry:
            return (
                f"{low} -> {up}'s visible layer, drawn generative (top-down): the layer above "
                f"hands {low} its share on the way down; recognition passes {low} up unchanged"
            )
        if not self.generative:
            if self.stacked:
                return (
                    f"{low} -- {up}: the top pair of a deep belief net, an undirected RBM "
                    f"coupling (an associative memory that Gibbs sampling runs in)"
                )
            return f"{low} -- {up}: undirected RBM coupling"
        return (
            f"{up} -> {low}: generative, top-down. Below its top pair a deep belief net is "
            f"directed: {up} generates {low} by p({low} | {up}), as `netspec sample` carries "
            f"a dream down. Recognition, the bottom-up inference the network computes, runs "
            f"the other way: {up} = p({up} = 1 | {low})"
        )


def is_layer(node: Node) -> bool:
    """An undirected unit (an RBM): a layer of a stack."""
    return node.role is Role.UNIT and REGISTRY[node.kind].drawing.undirected


def _passes(node: Node) -> bool:
    """Units a stack reaches through: layout-only ones, and the joins a DBN splits going down."""
    if node.role is not Role.UNIT:
        return False
    kind = REGISTRY[node.kind]
    return kind.layout_only or kind.sampling == "join"


def _below(graph: Graph, unit: str) -> list[tuple[str, list[Edge]]]:
    """The layers feeding `unit`'s coupling, directly or through `_passes` units, each with the
    edges from it up to `unit` (the last one is `unit`'s coupling)."""
    found: list[tuple[str, list[Edge]]] = []
    todo = [(src, [(src, unit)]) for src in graph.inputs_of(unit)]
    while todo:
        node_id, path = todo.pop()
        node = graph.node(node_id)
        if is_layer(node):
            found.append((node_id, path))
        elif _passes(node):
            todo += [(src, [(src, node_id), *path]) for src in graph.inputs_of(node_id)]
    return found


def couplings(graph: Graph) -> dict[Edge, Coupling]:
    """How each edge of the network's RBMs is drawn: a lone RBM's coupling and the top pair of
    a stack undirected, every coupling below a top (and the path up to it) generative.

    >>> from netspec.api import compile
    >>> g = compile("network n { input x: [4]  h1 = rbm(x, 3)  h2 = rbm(h1, 2) }").network()
    >>> {e: c.generative for e, c in couplings(g).items()}
    {('x', 'h1'): True, ('h1', 'h2'): False}
    """
    layers = [n.id for n in graph.nodes(Role.UNIT) if is_layer(n)]
    below = {unit: _below(graph, unit) for unit in layers}
    under_another = {low for unit in layers for low, _ in below[unit]}
    out: dict[Edge, Coupling] = {}
    for unit in layers:
        stacked = unit in under_another or bool(below[unit])
        for src in graph.inputs_of(unit):
            out[(src, unit)] = Coupling(unit in under_another, unit, src, stacked)
        for low, path in below[unit]:
            for edge in path[:-1]:
                out[edge] = Coupling(True, unit, low, True, carry=True)
    return out


def weight_label(loss: Node) -> str:
    """How a loss's weight is written beside it: `weight 0.5`, `weight learned`; "" for 1."""
    weight = loss.params.get("weight", 1.0)
    if weight == AUTO:
        return "weight learned"
    return f"weight {weight:g}" if weight != 1.0 else ""
