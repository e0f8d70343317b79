"""The neuron-level view, as in textbook figures: each neuron a circle, layers as rows joined by
straight lines, large layers elided with a count; layers that are not flat vectors are drawn as
one box. Activations and regularizers fold into the layer they follow; a concat of rows is the
rows side by side; an elementwise add or mul of rows is a row of junctions wired one to one.
RBM couplings are undirected, but below a deep belief net's top pair directed top-down, as in
the units view (views/model.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise

from netspec.ir import Graph, Node, Role
from netspec.units import REGISTRY
from netspec.units.base import NeuronView
from netspec.views.dot import FONT, OBSERVED, Digraph, html
from netspec.views.model import Coupling, couplings, weight_label

SHOWN = 6  # neurons drawn per layer before eliding the middle ones


@dataclass
class _Layer:
    """What one IR node (or a run of folded ones) becomes: a row of neurons or a box."""

    node: Node
    neurons: list[str] = field(default_factory=list)  # empty for a box
    folded: list[Node] = field(default_factory=list)  # activations and regularizers after it
    virtual: bool = False  # a concat of rows: its neurons are its sources', drawn there
    level: int = 0  # longest path from an input, in layers

    @property
    def ends(self) -> list[str]:
        return self.neurons or [self.node.id]

    @property
    def shown(self) -> Node:
        """The node that names the layer: the last one the user named, else the first."""
        named = [n for n in (self.node, *self.folded) if n.name is not None]
        return named[-1] if named else self.node

    @property
    def kinds(self) -> str:
        first = "observed" if self.node.role is Role.INPUT else self.node.kind
        return " -> ".join([first, *(n.kind for n in self.folded)])


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
    coupled = couplings(graph)
    for node_id in graph.topo_order():
        node = graph.node(node_id)
        if node.role is Role.OUTPUT:
            continue
        sources = [layers[s] for s in graph.inputs_of(node_id)]
        if _folds(graph, node, sources):
            sources[0].folded.append(node)
            layers[node_id] = sources[0]
            continue
        level = 1 + max((s.level for s in sources), default=-1)
        placement = _placement(node)
        if placement == "side_by_side" and _side_by_side(graph, node, sources):
            neurons = [n for s in sources for n in s.neurons]
            layers[node_id] = _Layer(node, neurons, virtual=True, level=level - 1)
            continue
        if placement == "junction" and _one_to_one(node, sources):
            layers[node_id] = layer = _junctions(dot, node)
            for src in sources:
                for a, b in zip(src.neurons, layer.neurons, strict=True):
                    if not a.endswith("#..."):
                        dot.edge(a, b)
        else:
            layers[node_id] = layer = _layer(dot, graph, node)
            for src_id, src in zip(graph.inputs_of(node_id), sources, strict=True):
                _connect(dot, src, layer, node, coupled.get((src_id, node_id)))
        layer.level = level
    for node in graph.nodes(Role.INPUT):  # labels sit beside the loss that reads them
        users = graph.users_of(node.id)
        if not layers[node.id].neurons and users and all(u.startswith("loss:") for u in users):
            dot.ranks.append([node.id, users[0]])
    rows: dict[int, list[str]] = {}  # level -> the rows at that level, one after another
    drawn: set[int] = set()
    for layer in layers.values():
        if id(layer) in drawn or layer.virtual:  # folded nodes share their layer
            continue
        drawn.add(id(layer))
        if layer.neurons:
            rows.setdefault(layer.level, []).extend(_row(dot, layer))
        elif layer.folded:
            _relabel_box(dot, layer)
    for level in sorted(rows):  # rows of one depth side by side, each kept whole and in order
        dot.ranks.append(rows[level])
        for a, b in pairwise(rows[level]):
            dot.edge(a, b, style="invis", weight="10")
    if _adjacent_only(dot, layers.values()):
        dot.graph["splines"] = "line"  # straight lines, as in textbook figures
    return dot.source()


def _adjacent_only(dot: Digraph, layers: Iterable[_Layer]) -> bool:
    """Whether every drawn edge joins neighbouring layers: then straight lines cross no neuron.
    A skip connection would run straight through the rows between, so it keeps curved edges."""
    level = {
        n: layer.level
        for layer in layers
        if not layer.virtual
        for n in [*layer.ends, f"{layer.node.id}#label"]
    }
    beside = {(group[0], group[1]) for group in dot.ranks if len(group) == 2}  # label, loss
    return all(
        values.get("style") == "invis" or (a, b) in beside or level[b] - level[a] <= 1
        for a, b, values in dot.edges
    )


def _folds(graph: Graph, node: Node, sources: list[_Layer]) -> bool:
    """Whether `node` (an activation or regularizer, or a pooling after a box) joins the layer it
    reads: only as that layer's sole reader, so other readers still see the value before it."""
    if node.role is not Role.UNIT or len(sources) != 1 or sources[0].virtual:
        return False
    src = sources[0]
    if not src.neurons and src.node.role is not Role.UNIT:
        return False  # observed boxes and losses stay as they are
    placement = _placement(node)
    if placement != "fold" and (placement != "fold_after_box" or src.neurons):
        return False
    last = (src.folded or [src.node])[-1]
    readers = [u for u in graph.users_of(last.id) if graph.node(u).role is not Role.OUTPUT]
    return readers == [node.id]


def _side_by_side(graph: Graph, node: Node, sources: list[_Layer]) -> bool:
    """A concat of rows that something reads is drawn as those rows, not as a layer of its own."""
    readers = [u for u in graph.users_of(node.id) if graph.node(u).role is not Role.OUTPUT]
    return bool(readers) and all(s.neurons for s in sources)


def _one_to_one(node: Node, sources: list[_Layer]) -> bool:
    """An elementwise merge of flat rows of its own size."""
    t = node.type
    if t is None or not t.is_static or t.rank != 1:
        return False
    width = len(_indices(int(t.dims[0])))  # type: ignore[arg-type]
    width += int(t.dims[0]) > SHOWN  # type: ignore[operator]
    return all(not s.virtual and len(s.neurons) == width for s in sources)


def _indices(size: int) -> list[int]:
    return list(range(size)) if size <= SHOWN else [*range(SHOWN - 2), size - 1]


def _is_row(node: Node) -> bool:
    t = node.type
    if t is None or not t.is_static or t.rank > 1:
        return False
    if node.role is Role.INPUT:  # a label or a scalar is one observed variable: one node
        return t.is_real and t.rank == 1
    return _placement(node) == "row"


def _placement(node: Node) -> NeuronView:
    """Where the unit registry puts a unit in this view; inputs and losses are boxes here."""
    return REGISTRY[node.kind].drawing.neurons if node.role is Role.UNIT else "box"


def _layer(dot: Digraph, graph: Graph, node: Node) -> _Layer:
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
        dot.node(
            node.id,
            shape="box",
            style=style,
            label=_box_label(node, node.kind, node),
            tooltip=f"{node.label}: {node.type}",
        )
        if node.role is Role.UNIT:
            ins = graph.inputs_of(node.id)
            x = graph.node(ins[0]).label if ins else ""
            for loop in REGISTRY[node.kind].drawing.self_loops(node.label, x, node.params):
                dot.edge(node.id, node.id, label=loop.label, fontsize="9", fontname=FONT)
        return _Layer(node)
    return _neurons(dot, node, {})


def _box_label(title: Node, kinds: str, last: Node) -> str:
    name = title.name or title.kind
    if title.role is Role.LOSS:  # its kind under its name, if it has one, and its weight
        parts = [kinds if title.name else "", weight_label(title)]
        sub = ", ".join(p for p in parts if p)
    else:
        sub = f"{kinds}  {last.type}"
    small = f'<br/><font point-size="9">{html(sub)}</font>' if sub else ""
    return f"<<b>{html(name)}</b>{small}>"


def _relabel_box(dot: Digraph, layer: _Layer) -> None:
    """A box with folded activations names them all, and shows the last one's shape."""
    last = layer.folded[-1]
    dot.nodes[layer.node.id]["label"] = _box_label(layer.shown, layer.kinds, last)
    dot.nodes[layer.node.id]["tooltip"] = f"{layer.shown.label}: {last.type}"


def _neurons(dot: Digraph, node: Node, extra: dict[str, str]) -> _Layer:
    """A row of circles, the middle ones elided behind a `... N more` when the layer is large."""
    size = int(node.type.dims[0]) if node.type and node.type.dims else 1  # type: ignore[arg-type]
    layer = _Layer(node)
    observed = node.role is Role.INPUT
    for i in _indices(size):
        neuron = f"{node.id}#{i}"
        attrs = {
            "shape": "circle",
            "width": "0.25",
            "fixedsize": "true",
            "label": "",
            "tooltip": f"{node.label}[{i}]",
            **extra,
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


def _junctions(dot: Digraph, node: Node) -> _Layer:
    """An elementwise merge: one small junction per neuron, labelled with its symbol (+, x)."""
    return _neurons(dot, node, {"label": REGISTRY[node.kind].drawing.junction, "fontsize": "9"})


def _connect(dot: Digraph, src: _Layer, dst: _Layer, node: Node, coupling: Coupling | None) -> None:
    """Every shown neuron of `src` to every shown neuron of `dst` (or to its box); an RBM's
    coupling undirected, or generative (arrows from `dst` down to `src`) below a DBN's top."""
    extra = {}
    if coupling is not None:
        extra = {"dir": "back" if coupling.generative else "none"}
    if node.role is Role.LOSS:
        extra = {"style": "dashed"}
        if src.neurons and src.node.role is Role.INPUT:  # an observed target, read as a whole
            dot.edge(f"{src.node.id}#label", dst.node.id, **extra)
            return
    for a in src.ends:
        if a.endswith("#..."):
            continue
        for b in dst.ends:
            if not b.endswith("#..."):
                dot.edge(a, b, **extra)


def _row(dot: Digraph, layer: _Layer) -> list[str]:
    """A label naming the layer, then its neurons in order."""
    shown = layer.shown
    last = (layer.folded or [layer.node])[-1]
    title = f"{layer.node.id}#label"
    dot.node(
        title,
        shape="plaintext",
        fontsize="10",
        label=f"<<b>{html(shown.label)}</b><br/>{html(layer.kinds)}  {last.type}>",
    )
    return [title, *layer.neurons]
