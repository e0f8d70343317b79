"""Draw a checked network as a graphical model in DOT: observed inputs shaded, latent units
plain, undirected RBM couplings, recurrent self-loops, merge junctions, block clusters, loss
heads with weights; optionally coloured by what one training stage trains and freezes.
Never imports torch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from netspec.check import equation
from netspec.ir import Graph, Node, Role, Site
from netspec.plan.trainspec import StagePlan
from netspec.units import REGISTRY
from netspec.views.dot import FONT, OBSERVED, Cluster, Digraph, html
from netspec.views.neurons import draw_neurons
from netspec.views.render_dot import render

if TYPE_CHECKING:
    from netspec.api import Compiled

VIEWS = ("units", "neurons")


@dataclass(frozen=True)
class Style:
    """How one node looks in a stage view."""

    color: str = "black"
    fill: str = ""
    font: str = "black"
    dashed: bool = False
    penwidth: str = ""
    note: str = ""


TRAINED = Style(color="#238b45", fill="#e5f5e0", penwidth="2")
FROZEN = Style(color="#969696", fill="#f0f0f0", font="#636363", dashed=True, note="frozen")
IDLE = Style(color="#bdbdbd", font="#9e9e9e")


def draw(
    compiled: Compiled,
    network: str | None = None,
    view: str = "units",
    stage: str | None = None,
    rankdir: str = "TB",
    fmt: str = "dot",
) -> str | bytes:
    """A network as DOT text (`fmt="dot"`), or rendered bytes (svg, png, jpeg, pdf).

    `stage` names a stage of the network's `train` section: the drawing then shows what that
    stage trains, freezes and leaves alone. Raises KeyError for an unknown network or stage,
    RenderError when no renderer can produce `fmt`.

    >>> import netspec
    >>> dot = draw(netspec.compile("network n { input x: [4]  h = rbm(x, 2) }"))
    >>> '"x" -> "h" [dir="none"' in dot
    True
    """
    graph = compiled.network(network)
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}; views: {', '.join(VIEWS)}")
    plan = None
    if stage is not None:
        plan = stage_plan(compiled, graph.name, stage)
    text = draw_neurons(graph, rankdir) if view == "neurons" else draw_units(graph, rankdir, plan)
    return text if fmt == "dot" else render(text, fmt)


def stage_plan(compiled: Compiled, network: str, stage: str) -> StagePlan:
    """The named stage of the network's train section; KeyError listing the stages if none."""
    train = compiled.trains.get(network)
    stages = {s.name: s for s in train.stages} if train else {}
    if stage not in stages:
        known = ", ".join(stages) or f"none (network {network} has no train section)"
        raise KeyError(f"no stage `{stage}`; stages: {known}")
    return stages[stage]


def draw_units(graph: Graph, rankdir: str = "TB", stage: StagePlan | None = None) -> str:
    """DOT text for the units view; with a stage, colour what it trains, freezes and leaves."""
    dot = Digraph(graph.name)
    title = f"network {graph.name}" + (f": stage {stage.name}" if stage else "")
    dot.graph.update(
        rankdir=rankdir,
        fontname=FONT,
        labelloc="t",
        label=title,
        nodesep="0.35",
        ranksep="0.45",
        tooltip=title,
    )
    dot.node_defaults.update(fontname=FONT, fontsize="11")
    dot.edge_defaults.update(fontname=FONT, fontsize="9", color="#525252", arrowsize="0.7")
    styles = stage_styles(graph, stage) if stage else {}
    shown = [n for n in graph.nodes() if n.role is not Role.OUTPUT]
    outputs = {graph.inputs_of(n.id)[0] for n in graph.nodes(Role.OUTPUT)}
    for node in shown:
        dot.node(node.id, **_node_attrs(graph, node, node.id in outputs, styles.get(node.id)))
    for src, dst, _ in graph.edges():
        target = graph.node(dst)
        if target.role is Role.OUTPUT:
            continue
        attrs = _edge_attrs(graph.node(src), target)
        if styles.get(dst) is IDLE or styles.get(src) is IDLE:
            attrs["color"] = IDLE.color  # what the stage does not touch fades out
        dot.edge(src, dst, **attrs)
    for node in shown:
        if node.role is Role.UNIT and REGISTRY[node.kind].drawing.recurrent:
            faded = (
                {"color": IDLE.color, "fontcolor": IDLE.font} if styles.get(node.id) is IDLE else {}
            )
            dot.edge(
                node.id, node.id, label="t-1", tooltip=f"{node.label}: recurrent state", **faded
            )
    dot.clusters = _clusters(graph, shown)
    return dot.source()


def stage_styles(graph: Graph, stage: StagePlan) -> dict[str, Style]:
    """Trained, frozen and idle units of a stage (inputs keep their observed look)."""
    styles: dict[str, Style] = {}
    if stage.kind == "pretrain":
        order = {step.unit: i + 1 for i, step in enumerate(stage.greedy)}
        for node in graph.nodes(Role.UNIT):
            if node.id in order:
                styles[node.id] = Style(**{**TRAINED.__dict__, "note": f"step {order[node.id]}"})
            else:
                styles[node.id] = IDLE
        for node in graph.nodes(Role.LOSS):
            styles[node.id] = IDLE
        return styles
    frozen = set(stage.freeze)
    for node in graph.nodes():
        if node.role is Role.UNIT and node.meta.get("params"):
            styles[node.id] = FROZEN if node.id in frozen else TRAINED
    return styles


def _node_attrs(graph: Graph, node: Node, is_output: bool, style: Style | None) -> dict[str, str]:
    where = f"{node.span.file}:{node.span.line}"
    if node.role is Role.INPUT:
        return {
            "shape": "ellipse",
            "style": "filled",
            "fillcolor": OBSERVED,
            "label": _label(node.label, str(node.type), 0, style),
            "tooltip": f"{node.label}: {node.type}, observed\n{where}",
        }
    kind = REGISTRY[node.kind]
    tooltip = f"{equation(graph, node) or node.kind}\n{where}"
    if kind.is_merge:
        return {
            "shape": "circle",
            "width": "0.35",
            "fixedsize": "true",
            "fontsize": "12",
            "label": kind.drawing.junction,
            "xlabel": f'<<font point-size="9">{html(str(node.type))}</font>>',
            "tooltip": tooltip,
            **_style_attrs(style, base_style=""),
        }
    if node.role is Role.LOSS:
        weight = node.params.get("weight", 1.0)
        parts = [node.kind if node.name else "", f"weight {weight:g}" if weight != 1.0 else ""]
        sub = ", ".join(p for p in parts if p)  # the kind under a loss's name, and its weight
        return {
            "shape": "box",
            "style": "dashed",
            "label": _label(node.name or node.kind, sub, 0, style),
            "tooltip": tooltip,
            **_style_attrs(style, base_style="dashed"),
        }
    latent = kind.drawing.latent
    title = node.name or node.kind  # inside a block, the cluster names the call site
    sub = f"{node.kind}  {node.type}" if node.name else str(node.type)
    attrs = {
        "shape": "ellipse" if latent else "box",
        "style": "" if latent else "rounded",
        "label": _label(title, sub, int(node.meta.get("params", 0)), style),
        "tooltip": tooltip,
    }
    if is_output:
        attrs["peripheries"] = "2"
    attrs.update(_style_attrs(style, base_style=attrs["style"]))
    if not attrs["style"]:
        del attrs["style"]
    return attrs


def _style_attrs(style: Style | None, base_style: str) -> dict[str, str]:
    if style is None:
        return {}
    parts = [p for p in base_style.split(",") if p]
    if style.fill:
        parts.append("filled")
    if style.dashed and "dashed" not in parts:
        parts.append("dashed")
    out = {"color": style.color, "fontcolor": style.font, "style": ",".join(parts)}
    if style.fill:
        out["fillcolor"] = style.fill
    if style.penwidth:
        out["penwidth"] = style.penwidth
    return out


def _label(title: str, sub: str, params: int, style: Style | None) -> str:
    rows = [f"<b>{html(title)}</b>"]
    small = [
        s for s in (sub, f"{params:,} params" if params else "", style.note if style else "") if s
    ]
    rows += [f'<font point-size="9">{html(s)}</font>' for s in small]
    return "<" + "<br/>".join(rows) + ">"


def _edge_attrs(src: Node, dst: Node) -> dict[str, str]:
    tip = f"{src.label} -> {dst.label}: {src.type}"
    if dst.role is Role.LOSS:
        return {"style": "dashed", "tooltip": tip}
    if dst.role is Role.UNIT and REGISTRY[dst.kind].drawing.undirected:
        return {"dir": "none", "penwidth": "1.8", "tooltip": f"{tip} (undirected coupling)"}
    return {"tooltip": tip}


def _clusters(graph: Graph, shown: list[Node]) -> list[Cluster]:
    """One cluster per block call site, nested as the calls are."""
    roots: list[Cluster] = []
    made: dict[str, Cluster] = {}
    for node in shown:
        parent: Cluster | None = None
        for site in node.scope:
            cluster = made.get(site.id)
            if cluster is None:
                cluster = made[site.id] = Cluster(site.id, _cluster_attrs(site))
                (parent.children if parent else roots).append(cluster)
            parent = cluster
        if parent is not None:
            parent.nodes.append(node.id)
    return roots


def _cluster_attrs(site: Site) -> dict[str, str]:
    where = f"{site.span.file}:{site.span.line}"
    return {
        "label": f"{site.id}: {site.block}",
        "style": "rounded,dashed",
        "color": "#737373",
        "fontname": FONT,
        "fontsize": "10",
        "tooltip": f"block {site.block} called at {where}",
    }
