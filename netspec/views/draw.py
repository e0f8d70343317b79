"""Draw a checked network as a graphical model in DOT: observed inputs shaded, latent random
variables as ellipses, deterministic units as rounded boxes titled by their call as written and
grouped by statement, RBM couplings undirected (below a deep belief net's top pair, directed
top-down), sparse coding's generative arrow and its inference, an autoencoder's pretraining
objective beside it, recurrent self-loops per direction, merge junctions, block clusters, loss
heads with weights and a legend of the conventions drawn; optionally coloured by what one
training stage trains and freezes. Never imports torch."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from netspec.check import equation
from netspec.ir import Graph, Node, Role
from netspec.lang.source import Sources
from netspec.plan.plans import CallPlan
from netspec.plan.trainspec import StagePlan
from netspec.units import REGISTRY
from netspec.units.base import SelfLoop
from netspec.views.dot import FONT, OBSERVED, Digraph, html
from netspec.views.gradient_colors import GradientRecord, colour_by_gradient
from netspec.views.legend import COUPLING, DASHED, GENERATIVE, add_legend
from netspec.views.model import couplings, weight_label
from netspec.views.neurons import draw_neurons
from netspec.views.objective import Objectives
from netspec.views.render_dot import render
from netspec.views.statements import call_text, clusters, statements

if TYPE_CHECKING:
    from netspec.api import Compiled

VIEWS = ("units", "neurons")
UNTIPPED = ("png", "jpeg", "pdf")  # formats without tooltips: a small net's equations go below
CAPTION_UNITS = 8  # the most units and losses a network may have for its equations caption
CAPTION_LINES = 24  # and the most lines its equations may take
CAPTION_WIDTH = 100  # characters of a caption line before it breaks after a comma
EDGE = "#525252"


@dataclass(frozen=True)
class Style:
    """How one node looks in a stage view; `key` is its legend entry."""

    key: str
    color: str = "black"
    fill: str = ""
    font: str = "black"
    dashed: bool = False
    penwidth: str = ""
    note: str = ""


TRAINED = Style("trained", color="#238b45", fill="#e5f5e0", penwidth="2")
FROZEN = Style(
    "frozen", color="#969696", fill="#f0f0f0", font="#636363", dashed=True, note="frozen"
)
IDLE = Style("idle", color="#bdbdbd", font="#9e9e9e")


def draw(
    compiled: Compiled,
    network: str | None = None,
    view: str = "units",
    stage: str | None = None,
    rankdir: str = "TB",
    fmt: str = "dot",
    gradients: GradientRecord | None = None,
    epoch: int | None = None,
    *,
    legend: bool = True,
    caption: bool | None = None,
    decorate: Callable[[Digraph], None] | None = None,
) -> str | bytes:
    """A network as DOT text (`fmt="dot"`), or rendered bytes (svg, png, jpeg, pdf).

    `stage` names a stage of the network's `train` section: the drawing then shows what that
    stage trains, freezes and leaves alone. `gradients` (a run's, `read_gradients`) colours the
    units view by the gradient norms of its `epoch`th recorded epoch (the last when None).
    The units view has a `legend` of the conventions it uses; `caption` lists a small
    network's equations under it (by default in PNG, JPEG and PDF, which show no tooltips);
    `decorate` may restyle or add to the units view's DOT graph last (`netspec diff --draw`).
    Raises KeyError for an unknown network or stage,
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
    if view == "neurons":
        text = draw_neurons(graph, rankdir)
    else:
        text = draw_units(
            graph,
            rankdir,
            plan,
            gradients,
            epoch,
            sources=compiled.sources,
            legend=legend,
            caption=fmt in UNTIPPED if caption is None else caption,
            methods=pretraining_methods(compiled, graph.name),
            decorate=decorate,
        )
    return text if fmt == "dot" else render(text, fmt)


def pretraining_methods(compiled: Compiled, network: str) -> dict[str, str]:
    """Each greedily pretrained unit's method as called: `reconstruction(loss=bce)`."""
    train = compiled.trains.get(network)
    steps = [step for stage in train.stages for step in stage.greedy] if train else []
    return {step.unit: _call(step.method) for step in steps}


def _call(call: CallPlan) -> str:
    args = ", ".join(f"{k}={v}" for k, v in call.params.items())
    return f"{call.name}({args})"


def stage_plan(compiled: Compiled, network: str, stage: str) -> StagePlan:
    """The named stage of the network's train section; KeyError listing the stages if none."""
    train = compiled.trains.get(network)
    stages = {s.name: s for s in train.stages} if train else {}
    if stage not in stages:
        known = ", ".join(stages) or f"none (network {network} has no train section)"
        raise KeyError(f"no stage `{stage}`; stages: {known}")
    return stages[stage]


def draw_units(
    graph: Graph,
    rankdir: str = "TB",
    stage: StagePlan | None = None,
    gradients: GradientRecord | None = None,
    epoch: int | None = None,
    *,
    sources: Sources | None = None,
    legend: bool = True,
    caption: bool = False,
    methods: Mapping[str, str] | None = None,
    decorate: Callable[[Digraph], None] | None = None,
) -> str:
    """DOT text for the units view; with a stage, colour what it trains, freezes and leaves;
    with a run's gradients, colour the units by their gradient norms. `sources` lets each op be
    named by its statement as written; `legend` adds the legend of the conventions drawn;
    `caption` lists a small network's equations under it; `methods` names the pretraining
    method of a unit (`reconstruction(loss=bce)`) in its objective; `decorate`, called last,
    may restyle the nodes or add some."""
    view = _UnitsView(graph, sources, stage, methods or {})
    dot = view.dot
    title = f"network {graph.name}" + (f": stage {stage.name}" if stage else "")
    dot.graph.update(
        rankdir=rankdir,
        fontname=FONT,
        labelloc="t",
        label=title,
        nodesep="0.35",
        ranksep="0.45",
        newrank="true",  # rank across clusters: an objective's path leaves and re-enters one
        tooltip=title,
    )
    dot.node_defaults.update(fontname=FONT, fontsize="11")
    dot.edge_defaults.update(fontname=FONT, fontsize="9", color=EDGE, arrowsize="0.7")
    view.draw()
    if caption:
        _add_caption(dot, graph)
    if legend:
        found = add_legend(dot, view.used, view.legend_styles(), " ".join(view.symbols))
        if found is not None:
            dot.clusters.append(found)
    if gradients is not None:
        colour_by_gradient(dot, graph, gradients, epoch)
    if decorate is not None:
        decorate(dot)
    return dot.source()


def stage_styles(graph: Graph, stage: StagePlan) -> dict[str, Style]:
    """Trained, frozen and idle units of a stage (inputs keep their observed look)."""
    styles: dict[str, Style] = {}
    if stage.kind == "pretrain":
        order = {step.unit: i + 1 for i, step in enumerate(stage.greedy)}
        for node in graph.nodes(Role.UNIT):
            if node.id in order:
                styles[node.id] = replace(TRAINED, note=f"step {order[node.id]}")
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


class _UnitsView:
    """One units-view drawing being built: its nodes, edges and clusters, and the conventions
    it has used so far (the legend shows those and no others)."""

    def __init__(
        self,
        graph: Graph,
        sources: Sources | None,
        stage: StagePlan | None,
        methods: Mapping[str, str],
    ) -> None:
        self.graph, self.sources, self.stage, self.methods = graph, sources, stage, methods
        self.dot = Digraph(graph.name)
        self.styles = stage_styles(graph, stage) if stage else {}
        self.couplings = couplings(graph)
        self.used: set[str] = set()
        self.symbols: list[str] = []  # the merge symbols drawn, in order

    def draw(self) -> None:
        graph = self.graph
        shown = [n for n in graph.nodes() if n.role is not Role.OUTPUT]
        outputs = {graph.inputs_of(n.id)[0] for n in graph.nodes(Role.OUTPUT)}
        for node in shown:
            attrs = self._node_attrs(node, node.id in outputs, self.styles.get(node.id))
            self.dot.node(node.id, **attrs)
        for src, dst, _ in graph.edges():
            if graph.node(dst).role is not Role.OUTPUT:
                self._edges(graph.node(src), graph.node(dst))
        for node in shown:
            if node.role is Role.UNIT:
                self._loops(node)
        roots, sites = clusters(graph, shown, statements(graph, self.sources))
        self.dot.clusters = roots
        idle = {"color": IDLE.color, "fontcolor": IDLE.font}
        objectives = Objectives(self.dot, graph, self.methods, self._objective_idle, idle)
        for node in graph.nodes(Role.UNIT):
            cluster = objectives.add(node)
            if cluster is not None:
                scope = sites[node.scope[-1].id].children if node.scope else roots
                scope.append(cluster)
        self.used |= objectives.used

    def legend_styles(self) -> dict[str, dict[str, str]]:
        """The stage colours as the drawing gives them, for the legend's samples."""
        return {key: _style_attrs(style, "rounded") for key, style in STAGE_LOOKS.items()}

    def _faded(self, *node_ids: str) -> bool:
        return any(self.styles.get(n) is IDLE for n in node_ids)

    def _objective_idle(self, unit: str) -> bool:
        """A pretraining objective is idle in a stage that does not pretrain its unit."""
        if self.stage is None:
            return False
        return self.stage.kind != "pretrain" or self._faded(unit)

    # --- nodes ------------------------------------------------------------------------------

    def _node_attrs(self, node: Node, is_output: bool, style: Style | None) -> dict[str, str]:
        where = f"{node.span.file}:{node.span.line}"
        if style is not None:
            self.used.add(style.key)
        if node.role is Role.INPUT:
            self.used.add("observed")
            return {
                "shape": "ellipse",
                "style": "filled",
                "fillcolor": OBSERVED,
                "label": _label(f"<b>{html(node.label)}</b>", [str(node.type)]),
                "tooltip": f"{node.label}: {node.type}, observed\n{where}",
            }
        tooltip = f"{equation(self.graph, node) or node.kind}\n{where}"
        if REGISTRY[node.kind].is_merge:
            return self._junction_attrs(node, tooltip, style)
        if node.role is Role.LOSS:
            self.used.add("loss")
            small = [weight_label(node)] if weight_label(node) else []
            return {
                "shape": "box",
                "style": "dashed",
                "label": _label(self._title(node), _notes(small, 0, style)),
                "tooltip": tooltip,
                **_style_attrs(style, base_style="dashed"),
            }
        return self._unit_attrs(node, is_output, tooltip, style)

    def _junction_attrs(self, node: Node, tooltip: str, style: Style | None) -> dict[str, str]:
        symbol = REGISTRY[node.kind].drawing.junction
        self.used.add("junction")
        if symbol not in self.symbols:
            self.symbols.append(symbol)
        return {
            "shape": "circle",
            "width": "0.35",
            "fixedsize": "true",
            "fontsize": "12",
            "label": symbol,
            "xlabel": f'<<font point-size="9">{html(str(node.type))}</font>>',
            "tooltip": tooltip,
            **_style_attrs(style, base_style=""),
        }

    def _unit_attrs(
        self, node: Node, is_output: bool, tooltip: str, style: Style | None
    ) -> dict[str, str]:
        """A latent unit's ellipse or a deterministic unit's rounded box: its call, shape and
        parameter count, and where a recurrent one's directions end."""
        drawing = REGISTRY[node.kind].drawing
        self.used.add("latent" if drawing.latent else "recurrent" if drawing.recurrent else "unit")
        params = int(node.meta.get("params", 0))
        ends = [loop.ends for loop in self._self_loops(node) if loop.ends]
        attrs = {
            "shape": "ellipse" if drawing.latent else "box",
            "style": "" if drawing.latent else "rounded",
            "label": _label(self._title(node), [*_notes([str(node.type)], params, style), *ends]),
            "tooltip": tooltip,
        }
        if is_output:
            self.used.add("output")
            attrs["peripheries"] = "2"
        attrs.update(_style_attrs(style, base_style=attrs["style"]))
        if not attrs["style"]:
            del attrs["style"]
        return attrs

    def _title(self, node: Node) -> str:
        """The call as written, under the name it is given (inside a block, the cluster names
        the call site): `h` over `dense(64, act=relu)`, or `dropout(0.2)` inside a chain."""
        call = html(call_text(node, self.sources))
        return f"<b>{html(node.name)}</b><br/>{call}" if node.name else f"<b>{call}</b>"

    # --- edges ------------------------------------------------------------------------------

    def _edges(self, src: Node, dst: Node) -> None:
        for attrs in self._edge_attrs(src, dst):
            if self._faded(src.id, dst.id):
                attrs["color"] = IDLE.color  # what the stage does not touch fades out
                if "label" in attrs:
                    attrs["fontcolor"] = IDLE.font
            self.dot.edge(src.id, dst.id, **attrs)

    def _edge_attrs(self, src: Node, dst: Node) -> list[dict[str, str]]:
        """How the edge from `src` to `dst` is drawn: usually one arrow along the computation;
        an RBM coupling undirected or generative; a generative model's input edge two edges,
        the generative arrow (from the unit to its input) and the inference the network runs."""
        tip = f"{src.label} -> {dst.label}: {src.type}"
        if dst.role is Role.LOSS:
            self.used.add("loss_edge")
            return [{**DASHED, "tooltip": tip}]
        coupling = self.couplings.get((src.id, dst.id))
        if coupling is not None:
            self.used.add("generative" if coupling.generative else "coupling")
            look = GENERATIVE if coupling.generative else COUPLING
            return [{**look, "tooltip": coupling.tooltip(self.graph)}]
        hook = REGISTRY[dst.kind].drawing.generative if dst.role is Role.UNIT else None
        if hook is not None:
            self.used |= {"generative", "inference"}
            model = hook(dst.label, src.label, dst.params)
            inferred = f"{tip}; inference: {model.inference}, what the network computes"
            return [
                {**GENERATIVE, "label": model.arrow, "tooltip": model.tooltip},
                {**DASHED, "label": model.inference, "tooltip": inferred},
            ]
        self.used.add("computation")
        return [{"tooltip": tip}]

    def _self_loops(self, node: Node) -> tuple[SelfLoop, ...]:
        if not REGISTRY[node.kind].drawing.recurrent:
            return ()
        ins = self.graph.inputs_of(node.id)
        x = self.graph.node(ins[0]).label if ins else ""
        return REGISTRY[node.kind].drawing.self_loops(node.label, x, node.params)

    def _loops(self, node: Node) -> None:
        """A recurrent unit's self-loops: `t-1`, and `t+1` when it also reads backwards."""
        loops = self._self_loops(node)
        if len(loops) > 1:
            self.used.add("backward")
        faded = {"color": IDLE.color, "fontcolor": IDLE.font} if self._faded(node.id) else {}
        for loop in loops:
            self.dot.edge(node.id, node.id, label=loop.label, tooltip=loop.tooltip, **faded)


STAGE_LOOKS = {"trained": TRAINED, "frozen": FROZEN, "idle": IDLE}


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


def _notes(rows: list[str], params: int, style: Style | None) -> list[str]:
    """A node's small rows: its shape (or weight) and parameter count, the stage's note."""
    if params:
        rows = [", ".join([*rows, f"{params:,} params"])]
    return [*rows, style.note] if style and style.note else rows


def _label(title: str, small: list[str]) -> str:
    """An HTML label: the title (already HTML), then each small row."""
    rows = [title, *(f'<font point-size="9">{html(s)}</font>' for s in small if s)]
    return "<" + "<br/>".join(rows) + ">"


def _add_caption(dot: Digraph, graph: Graph) -> None:
    """A small network's equations as lines under the drawing (a PNG has no tooltips)."""
    lines = [
        line
        for node in graph.nodes()
        if node.role in (Role.UNIT, Role.LOSS) and (found := equation(graph, node))
        for line in caption_lines(found)
    ]
    if not lines or len([n for n in graph.nodes() if n.role is not Role.INPUT]) > CAPTION_UNITS:
        return
    if len(lines) > CAPTION_LINES:
        return
    text = "".join(f'{html(line)}<br align="left"/>' for line in lines)
    dot.node("caption", shape="plaintext", label=f'<<font point-size="9">{text}</font>>')
    dot.nodes["caption"]["tooltip"] = "the equations"
    sources = {src for src, dst, _ in dot.edges if src != dst}
    for node_id in list(dot.nodes):
        if node_id != "caption" and node_id not in sources:  # below every node that ends a path
            dot.edge(node_id, "caption", style="invis")


def caption_lines(text: str, width: int = CAPTION_WIDTH) -> list[str]:
    """One unit's one-line equations as caption lines: a line per statement (`;  ` separates
    them; a note in parentheses stays on its statement's line), then the tensors (after four
    spaces); long lines broken after commas, all but the first indented.

    >>> caption_lines("z = W x + b    (affine);  y = relu(z)    W: 3x4, b: 3", 10)
    ['z = W x + b  (affine)', '    y = relu(z)', '    W: 3x4,', '    b: 3']
    """
    parts = [part.strip() for part in re.split(r"    (?!\()", text)]  # the tensors
    parts = [piece for part in parts for piece in part.split(";  ")]
    lines: list[str] = []
    for part in parts:
        words = part.replace("    (", "  (").strip().split(", ")
        line = words[0]
        for word in words[1:]:
            if len(line) + len(word) + 2 > width:
                lines.append(line + ",")
                line = word
            else:
                line += ", " + word
        if line:
            lines.append(line)
    return [lines[0], *("    " + line for line in lines[1:])] if lines else []
