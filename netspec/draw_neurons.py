"""The neuron-level view, as in textbook figures: each neuron a circle, layers as rows, large
layers elided with a count; layers that are not flat vectors are drawn as one box."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from netspec.dot import FONT, OBSERVED, Digraph, html
from netspec.ir import Graph, Node, Role
from netspec.units import REGISTRY

SHOWN = 6  # neurons drawn per layer before eliding the middle ones
FULLY_CONNECTED = ("regression", "energy-based", "autoencoders", "sparse coding")
FOLDED = ("activations", "regularizers")  # drawn as part of the layer they follow


@dataclass
class _Layer:
    """What one IR node (or a run of folded ones) becomes: a row of neurons or a box."""

    node: Node
    neurons: list[str] = field(default_factory=list)  # empty for a box
    notes: list[str] = field(default_factory=list)

    @property
    def ends(self) -> list[str]:
        return self.neurons or [self.node.id]


def draw_neurons(graph: Graph, rankdir: str = "TB") -> str:
    """DOT text with one circle per (shown) neuron and full connections between flat layers."""
    dot = Digraph(graph.name)
    dot.graph.update(
        rankdir=rankdir,
        fontname=FONT,
        labelloc="t",
        nodesep="0.12",
        ranksep="0.7",
        label=f"network {graph.name}: neurons",
        tooltip=f"network {graph.name}",
    )
    dot.node_defaults.update(fontname=FONT, fontsize="10")
    dot.edge_defaults.update(color="#9e9e9e", arrowsize="0.4", penwidth="0.6")
    layers: dict[str, _Layer] = {}
    for node_id in graph.topo_order():
        node = graph.node(node_id)
        if node.role is Role.OUTPUT:
            continue
        sources = graph.inputs_of(node_id)
        if _folds(node) and len(sources) == 1 and layers[sources[0]].neurons:
            layer = layers[sources[0]]
            layer.notes.append(node.kind)
            layers[node_id] = layer
            continue
        layers[node_id] = _layer(dot, node)
        for src in sources:
            _connect(dot, layers[src], layers[node_id], node)
    for node in graph.nodes(Role.INPUT):  # labels sit beside the loss that reads them
        users = graph.users_of(node.id)
        if not layers[node.id].neurons and users and all(u.startswith("loss:") for u in users):
            dot.ranks.append([node.id, users[0]])
    drawn: set[int] = set()
    for layer in layers.values():
        if layer.neurons and id(layer) not in drawn:  # folded nodes share their layer
            drawn.add(id(layer))
            _row(dot, layer)
    return dot.source()


def _folds(node: Node) -> bool:
    return node.role is Role.UNIT and REGISTRY[node.kind].family in FOLDED


def _is_row(node: Node) -> bool:
    t = node.type
    if t is None or not t.is_static or t.rank > 1:
        return False
    if node.role is Role.INPUT:
        return t.is_real  # a label is one observed variable, drawn as one node
    return node.role is Role.UNIT and REGISTRY[node.kind].family in FULLY_CONNECTED


def _layer(dot: Digraph, node: Node) -> _Layer:
    if node.role is Role.INPUT and not _is_row(node):
        dot.node(
            node.id,
            shape="ellipse",
            style="filled",
            fillcolor=OBSERVED,
            label=f'<<b>{html(node.label)}</b><br/><font point-size="9">{node.type}</font>>',
            tooltip=f"{node.label}: {node.type}, observed",
        )
        return _Layer(node)
    if not _is_row(node):
        style = "dashed" if node.role is Role.LOSS else "rounded"
        title = node.name or node.kind
        sub = node.kind if node.role is Role.LOSS else f"{node.kind}  {node.type}"
        label = f'<<b>{html(title)}</b><br/><font point-size="9">{html(sub)}</font>>'
        dot.node(
            node.id, shape="box", style=style, label=label, tooltip=f"{node.label}: {node.type}"
        )
        return _Layer(node)
    size = int(node.type.dims[0]) if node.type and node.type.dims else 1  # type: ignore[arg-type]
    shown = list(range(size)) if size <= SHOWN else [*range(SHOWN - 2), size - 1]
    layer = _Layer(node)
    observed = node.role is Role.INPUT
    for i in shown:
        neuron = f"{node.id}#{i}"
        attrs = {
            "shape": "circle",
            "width": "0.25",
            "fixedsize": "true",
            "label": "",
            "tooltip": f"{node.label}[{i}]",
        }
        if observed:
            attrs.update(style="filled", fillcolor=OBSERVED)
        dot.node(neuron, **attrs)
        layer.neurons.append(neuron)
    if size > SHOWN:
        gap = f"{node.id}#..."
        dot.node(
            gap,
            shape="plaintext",
            label=f"... {size - SHOWN + 1} more",
            tooltip=f"{size - SHOWN + 1} neurons not drawn",
        )
        layer.neurons.insert(SHOWN - 2, gap)
    return layer


def _connect(dot: Digraph, src: _Layer, dst: _Layer, node: Node) -> None:
    """Every shown neuron of `src` to every shown neuron of `dst` (or to its box)."""
    undirected = node.role is Role.UNIT and REGISTRY[node.kind].undirected
    extra = {"dir": "none"} if undirected else {}
    if node.role is Role.LOSS:
        extra = {"style": "dashed"}
    for a in src.ends:
        if a.endswith("#..."):
            continue
        for b in dst.ends:
            if not b.endswith("#..."):
                dot.edge(a, b, **extra)


def _row(dot: Digraph, layer: _Layer) -> None:
    """A layer's neurons in one row, in order, after a label naming the layer."""
    node = layer.node
    kind = "observed" if node.role is Role.INPUT else node.kind
    folded = "".join(f" -> {n}" for n in layer.notes)
    title = f"{node.label}#label"
    dot.node(
        title,
        shape="plaintext",
        fontsize="10",
        label=f"<<b>{html(node.label)}</b><br/>{html(kind + folded)}  {node.type}>",
    )
    row = [title, *layer.neurons]
    dot.ranks.append(row)
    for a, b in pairwise(row):
        dot.edge(a, b, style="invis")
