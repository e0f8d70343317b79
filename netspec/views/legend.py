"""The units view's legend: a small cluster with a sample of each convention the drawing uses
(and none it does not), each sample drawn with the very attributes the drawing gives it."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from itertools import pairwise

from netspec.views.dot import FONT, OBSERVED, Cluster, Digraph

OBJECTIVE = "#2171b5"  # what only a pretraining objective computes: drawn in blue, dashed
COUPLING = {"dir": "none", "penwidth": "1.8"}
GENERATIVE = {"dir": "back", "penwidth": "1.8"}  # against the IR edge: from the upper layer down
DASHED = {"style": "dashed"}
OBJECTIVE_EDGE = {"style": "dashed", "color": OBJECTIVE, "fontcolor": OBJECTIVE}


@dataclass(frozen=True)
class Entry:
    """One convention: a node sample (`node`), or an edge sample (`edge`) between two of them."""

    key: str
    text: str
    node: Mapping[str, str] = field(default_factory=dict)
    edge: Mapping[str, str] | None = None


NODES = (
    Entry("observed", "observed", {"shape": "ellipse", "style": "filled", "fillcolor": OBSERVED}),
    Entry("latent", "latent random variable", {"shape": "ellipse"}),
    Entry("unit", "deterministic unit", {"shape": "box", "style": "rounded"}),
    Entry("recurrent", "recurrent unit", {"shape": "box", "style": "rounded"}),
    Entry("junction", "merge", {"shape": "circle", "width": "0.35", "fixedsize": "true"}),
    Entry("output", "network output", {"shape": "box", "style": "rounded", "peripheries": "2"}),
    Entry("loss", "loss head", {"shape": "box", "style": "dashed"}),
    Entry("trained", "trained in this stage", {"shape": "box", "style": "rounded,filled"}),
    Entry("frozen", "frozen", {"shape": "box", "style": "rounded,dashed"}),
    Entry("idle", "left alone by this stage", {"shape": "box", "style": "rounded"}),
)
EDGES = (
    Entry("computation", "computation", edge={}),
    Entry("coupling", "undirected: RBM coupling", edge=COUPLING),
    Entry("generative", "generative (top-down)", edge=GENERATIVE),
    Entry("inference", "inference", edge=DASHED),
    Entry("loss_edge", "into a loss", edge=DASHED),
    Entry("objective", "pretraining objective only", edge=OBJECTIVE_EDGE),
)
KEYS = frozenset(e.key for e in (*NODES, *EDGES)) | {"backward"}


def add_legend(
    dot: Digraph,
    used: Collection[str],
    styles: Mapping[str, Mapping[str, str]],
    symbols: str = "",
) -> Cluster | None:
    """Add the legend's samples of the `used` conventions to `dot`; its cluster, or None when
    nothing is used. `styles` gives the stage colours (trained, frozen, idle) as drawn;
    `symbols` the merge symbols drawn (`+ ||`); `backward` in `used` adds a `t+1` loop."""
    unknown = set(used) - KEYS
    assert not unknown, f"no legend entry for {sorted(unknown)}"
    nodes = [e for e in NODES if e.key in used]
    edges = [e for e in EDGES if e.key in used]
    if not nodes and not edges:
        return None
    cluster = Cluster("legend", {"label": "legend", "style": "rounded", "color": "#bdbdbd"})
    cluster.attrs.update(fontname=FONT, fontsize="9", tooltip="the conventions of this drawing")
    for entry in nodes:
        attrs = {"fontsize": "9", "height": "0.3", "label": entry.text, **entry.node}
        if entry.key == "junction":  # its symbols inside, as drawn, and the word beside it
            attrs.update(label=symbols or "+", xlabel=entry.text)
        attrs.update(styles.get(entry.key, {}))
        attrs["tooltip"] = entry.text
        _add(dot, cluster, f"legend:{entry.key}", attrs)
    if "recurrent" in used:
        for label in ("t-1", "t+1") if "backward" in used else ("t-1",):
            dot.edge("legend:recurrent", "legend:recurrent", label=label, tooltip=label)
    _edge_samples(dot, cluster, [f"legend:{e.key}" for e in nodes], edges)
    return cluster


def _edge_samples(dot: Digraph, cluster: Cluster, column: list[str], edges: list[Entry]) -> None:
    """The node samples stand in a column; each edge sample joins two of them, top down (with
    points added at the foot when there are more edges than gaps), the other gaps invisible."""
    while len(column) < len(edges) + 1:
        end = f"legend:end{len(column)}"
        _add(dot, cluster, end, {"shape": "point", "width": "0.06", "tooltip": "legend"})
        column.append(end)
    for i, (upper, lower) in enumerate(pairwise(column)):
        if i < len(edges):
            entry = edges[i]
            assert entry.edge is not None
            dot.edge(upper, lower, label=entry.text, tooltip=entry.text, **entry.edge)
        else:
            dot.edge(upper, lower, style="invis")


def _add(dot: Digraph, cluster: Cluster, node_id: str, attrs: dict[str, str]) -> None:
    dot.node(node_id, **attrs)
    cluster.nodes.append(node_id)
