"""Compare two checked specs: one network of each, its nodes matched by their stable IR ids (and
an unambiguous rename), and its train plan, setting by setting and stage by stage; pure data,
which netspec.views.diff_render prints, tabulates, serialises and draws. Never imports torch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from netspec.ir import Graph, Node, Role
from netspec.lang.source import Sources, Span
from netspec.plan.plans import CallPlan, StagePlan, TrainPlan
from netspec.views.statements import call_text, source_of

if TYPE_CHECKING:
    from netspec.api import Compiled

Status = Literal["added", "removed", "changed", "renamed"]
# What a node's own statement decides; a node that differs only in its output shape or its
# parameter count changed because of what flows into it.
OWN = ("kind", "argument", "inputs")


@dataclass(frozen=True)
class Delta:
    """One property of a node that differs. `what` is kind, argument (`name` says which),
    inputs, output (its shape) or parameters (its count); values are as the diff shows them."""

    what: str
    name: str
    before: str
    after: str


@dataclass(frozen=True)
class NodeSide:
    """A node as one side of a change shows it."""

    id: str
    label: str
    kind: str
    call: str  # as written, `dense(128, act=relu)`
    type: str
    params: int
    inputs: tuple[str, ...]  # the ids of its inputs, on its side
    span: Span


@dataclass(frozen=True)
class NodeChange:
    """A node added (only `b`), removed (only `a`), changed or renamed (both)."""

    status: Status
    role: str  # input, unit, output or loss
    a: NodeSide | None
    b: NodeSide | None
    deltas: tuple[Delta, ...] = ()

    @property
    def label(self) -> str:
        side = self.b or self.a
        assert side is not None
        return side.label

    @property
    def param_delta(self) -> int:
        return (self.b.params if self.b else 0) - (self.a.params if self.a else 0)

    @property
    def is_own(self) -> bool:
        """Whether the change is the node's own, not only what flows into it (its shape)."""
        return self.status != "changed" or any(d.what in OWN for d in self.deltas)


@dataclass(frozen=True)
class SettingChange:
    """A train setting that differs; `scope` is `train` (the section) or the stage's name."""

    scope: str
    key: str
    before: str | None
    after: str | None
    span_a: Span | None
    span_b: Span | None


@dataclass(frozen=True)
class StageChange:
    """A stage added, removed or changed; `summary` is how the stage reads (B's, else A's)."""

    status: Status
    name: str
    summary: str
    span_a: Span | None
    span_b: Span | None
    settings: tuple[SettingChange, ...] = ()


@dataclass(frozen=True)
class SpecDiff:
    """What changed from network `network_a` of `file_a` to `network_b` of `file_b`."""

    file_a: str
    file_b: str
    network_a: str
    network_b: str
    params_a: int
    params_b: int
    nodes: tuple[NodeChange, ...]
    train: tuple[SettingChange, ...]
    stages: tuple[StageChange, ...]

    def of(self, role: str) -> list[NodeChange]:
        """The node changes of one role (input, unit, output or loss), in B's order."""
        return [c for c in self.nodes if c.role == role]

    def count(self, status: Status, role: str = "unit") -> int:
        return sum(1 for c in self.of(role) if c.status == status)

    @property
    def is_empty(self) -> bool:
        return not (self.nodes or self.train or self.stages)


def diff(a: Compiled, b: Compiled, network: str | None = None) -> SpecDiff:
    """The changes from spec `a` to spec `b`: `network` in each (by default each one's main
    network, as `Compiled.network` picks it). KeyError when a spec has no such network.

    >>> from netspec.api import compile
    >>> a = compile("network n { input x: [4]  h = x -> dense(3) }")
    >>> b = compile("network n { input x: [4]  h = x -> dense(5) }")
    >>> [(c.label, [(d.name, d.before, d.after) for d in c.deltas]) for c in diff(a, b).of("unit")]
    [('h', [('n', '3', '5'), ('output', '[3]', '[5]'), ('parameters', '15', '25')])]
    """
    ga, gb = a.network(network), b.network(network)
    nodes = node_changes(ga, gb, a.sources, b.sources)
    plan_a, plan_b = a.trains.get(ga.name), b.trains.get(gb.name)
    train, stages = train_changes(plan_a, plan_b, a.sources, b.sources)
    return SpecDiff(
        a.sources.files()[0] if a.sources.files() else "<a>",
        b.sources.files()[0] if b.sources.files() else "<b>",
        ga.name,
        gb.name,
        _total(ga),
        _total(gb),
        tuple(nodes),
        tuple(train),
        tuple(stages),
    )


def _total(graph: Graph) -> int:
    return sum(_params(n) for n in graph.nodes())


def _params(node: Node) -> int:
    return int(node.meta.get("params", 0)) if node.role in (Role.UNIT, Role.LOSS) else 0


# --- matching ------------------------------------------------------------------------------------


def match(a: Graph, b: Graph) -> dict[str, str]:
    """A's node ids mapped to B's: the same id, else the one node of B that has the same role,
    kind, arguments and (matched) inputs, when no other node of either side shares them: a
    renamed unit. Renames are found from the inputs up, so a renamed chain matches whole."""
    pairs = {n.id: n.id for n in a.nodes() if n.id in b}
    while True:
        taken = set(pairs.values())
        left_a = _by_signature((n, _signature(a, n, pairs)) for n in a.nodes() if n.id not in pairs)
        same = {n.id: n.id for n in b.nodes()}
        left_b = _by_signature((n, _signature(b, n, same)) for n in b.nodes() if n.id not in taken)
        found = {
            ones[0].id: left_b[key][0].id
            for key, ones in left_a.items()
            if len(ones) == 1 and len(left_b.get(key, ())) == 1
        }
        if not found:
            return pairs
        pairs.update(found)


def _signature(graph: Graph, node: Node, ids: Mapping[str, str]) -> tuple[Any, ...]:
    """What a node is, but its name: inputs not matched yet stay unequal to any of the other."""
    inputs = tuple(ids.get(i, "\0" + i) for i in graph.inputs_of(node.id))
    return (node.role, node.kind, _shown_args(node), inputs, str(node.type))


def _by_signature(items: Iterable[tuple[Node, tuple[Any, ...]]]) -> dict[Any, list[Node]]:
    found: dict[Any, list[Node]] = {}
    for node, key in items:
        found.setdefault(key, []).append(node)
    return found


def _shown_args(node: Node) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((k, shown(v)) for k, v in node.params.items()))


# --- nodes ---------------------------------------------------------------------------------------


def node_changes(a: Graph, b: Graph, sources_a: Sources, sources_b: Sources) -> list[NodeChange]:
    """Every node added, changed or renamed (in B's order), then every node removed (in A's)."""
    pairs = match(a, b)
    from_b = {dst: src for src, dst in pairs.items()}
    changes = []
    for node in b.nodes():
        old = from_b.get(node.id)
        if old is None:
            changes.append(NodeChange("added", node.role.value, None, _side(b, node, sources_b)))
            continue
        before = a.node(old)
        deltas = _deltas(a, b, before, node, pairs)
        status: Status = "renamed" if old != node.id else "changed"
        if deltas or status == "renamed":
            side_a, side_b = _side(a, before, sources_a), _side(b, node, sources_b)
            changes.append(NodeChange(status, node.role.value, side_a, side_b, tuple(deltas)))
    for node in a.nodes():
        if node.id not in pairs:
            changes.append(NodeChange("removed", node.role.value, _side(a, node, sources_a), None))
    return changes


def _side(graph: Graph, node: Node, sources: Sources) -> NodeSide:
    call = call_text(node, sources) if node.role in (Role.UNIT, Role.LOSS) else node.kind
    inputs = tuple(graph.inputs_of(node.id))
    return NodeSide(
        node.id, node.label, node.kind, call, str(node.type), _params(node), inputs, node.span
    )


def _deltas(a: Graph, b: Graph, old: Node, new: Node, pairs: Mapping[str, str]) -> list[Delta]:
    deltas = []
    if old.kind != new.kind:
        deltas.append(Delta("kind", "kind", old.kind, new.kind))
    for key in dict.fromkeys([*old.params, *new.params]):
        before, after = _arg(old, key), _arg(new, key)
        if before != after:
            deltas.append(Delta("argument", key, before, after))
    wired = [pairs.get(i) for i in a.inputs_of(old.id)]
    if wired != b.inputs_of(new.id):
        before = ", ".join(a.node(i).label for i in a.inputs_of(old.id))
        after = ", ".join(b.node(i).label for i in b.inputs_of(new.id))
        deltas.append(Delta("inputs", "inputs", before, after))
    if str(old.type) != str(new.type):
        deltas.append(Delta("output", "output", str(old.type), str(new.type)))
    if _params(old) != _params(new):
        deltas.append(Delta("parameters", "parameters", f"{_params(old)}", f"{_params(new)}"))
    return deltas


def _arg(node: Node, key: str) -> str:
    return shown(node.params[key]) if key in node.params else "(unset)"


def shown(value: Any) -> str:
    """A parameter value as a spec writes it.

    >>> shown(True), shown(0.001), shown((1, 8, 8)), shown(None)
    ('true', '0.001', '[1, 8, 8]', 'none')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(shown(v) for v in value) + "]"
    return str(value)


# --- training ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Setting:
    """A setting's value, how it is shown (a call as written), and where it is written: its
    call, else its stage, else its section."""

    value: str
    shown: str
    span: Span | None


Settings = dict[str, _Setting]


def _setting(value: str, span: Span | None, written: str | None = None) -> _Setting:
    return _Setting(value, written or value, span)


def train_changes(
    a: TrainPlan | None, b: TrainPlan | None, sources_a: Sources, sources_b: Sources
) -> tuple[tuple[SettingChange, ...], list[StageChange]]:
    """The section settings that differ, then each stage added, removed or changed (by name)."""
    if a is None and b is None:
        return (), []
    section = _compare("train", _section(a, sources_a), _section(b, sources_b))
    stages_a = {s.name: s for s in a.stages} if a else {}
    stages_b = {s.name: s for s in b.stages} if b else {}
    stages = []
    for name, stage in stages_b.items():
        old = stages_a.get(name)
        summary = _summary(stage, sources_b)
        if old is None:
            stages.append(StageChange("added", name, summary, None, stage.span))
            continue
        settings = _compare(name, _stage(old, sources_a), _stage(stage, sources_b))
        if settings:
            stages.append(StageChange("changed", name, summary, old.span, stage.span, settings))
    for name, stage in stages_a.items():
        if name not in stages_b:
            stages.append(
                StageChange("removed", name, _summary(stage, sources_a), stage.span, None)
            )
    return section, stages


def _compare(scope: str, a: Settings, b: Settings) -> tuple[SettingChange, ...]:
    """The settings that differ; a call to another entry is one change, shown as written
    (`adam(lr=0.001)` -> `sgd(lr=0.1)`), not one per parameter."""
    renamed = {k for k in a.keys() & b.keys() if "." not in k and a[k].value != b[k].value}
    changes = []
    for key in dict.fromkeys([*a, *b]):
        if key.partition(".")[0] in renamed and "." in key:
            continue
        old, new = a.get(key), b.get(key)
        if (old and old.value) != (new and new.value):
            changes.append(
                SettingChange(
                    scope,
                    key,
                    old.shown if old else None,
                    new.shown if new else None,
                    old.span if old else None,
                    new.span if new else None,
                )
            )
    return tuple(changes)


def _section(plan: TrainPlan | None, sources: Sources) -> Settings:
    """The section's own settings; batch and length are the stages' (they inherit them)."""
    if plan is None:
        return {}
    data = plan.data
    out = _call("data", CallPlan(data.source, data.params, data.span), sources)
    # how the data are scaled, where the plan says (a setting newer than the rest)
    out["data.normalize"] = _setting(shown(getattr(data, "normalize", "none")), data.span)
    for key in ("seed", "device", "precision", "grad_stats_every"):
        out[key] = _setting(shown(getattr(plan, key)), plan.span)
    return out


def _stage(stage: StagePlan, sources: Sources) -> Settings:
    span = stage.span
    out = {"kind": _setting(stage.kind, span)}
    out.update(_call("optimizer", stage.optimizer, sources))
    out.update(_call("schedule", stage.schedule, sources))
    values = {
        "batch": stage.batch,
        "epochs": stage.epochs,
        "steps": stage.steps,
        "early_stop": stage.early_stop,
        "eval_every": stage.eval_every,
        "monitor": stage.monitor,
        "clip": stage.clip,
    }
    out.update({k: _setting(shown(v), span) for k, v in values.items()})
    if stage.greedy:
        steps = ", ".join(f"{g.name}: {_full(g.method)}" for g in stage.greedy)
        out["greedy"] = _setting(steps, span)
    if stage.freeze:
        out["freeze"] = _setting(", ".join(stage.freeze), span)
    return out


def _call(key: str, call: CallPlan, sources: Sources) -> Settings:
    """A catalogue call as settings: `optimizer` (its entry) and `optimizer.lr`, ..."""
    out = {key: _setting(call.name, call.span, _written(call, sources))}
    out.update({f"{key}.{k}": _setting(shown(v), call.span) for k, v in call.params.items()})
    return out


def _written(call: CallPlan, sources: Sources) -> str:
    """A call as the spec writes it (`adam(lr=0.001)`), else with every parameter."""
    return source_of(sources, call.span) or _full(call)


def _full(call: CallPlan) -> str:
    return f"{call.name}(" + ", ".join(f"{k}={shown(v)}" for k, v in call.params.items()) + ")"


def _summary(stage: StagePlan, sources: Sources) -> str:
    """How a stage reads in one line: `supervised, adam(lr=0.01), 5 epochs, batch 32`."""
    length = f"{stage.epochs} epochs" if stage.epochs is not None else f"{stage.steps} steps"
    parts = [stage.kind, _written(stage.optimizer, sources), length, f"batch {stage.batch}"]
    if stage.greedy:
        parts.append("greedy " + ", ".join(g.name for g in stage.greedy))
    if stage.freeze:
        parts.append("freeze " + ", ".join(stage.freeze))
    return ", ".join(parts)
