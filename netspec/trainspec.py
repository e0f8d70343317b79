"""Check `train` sections against their networks and turn them into typed, defaulted plans."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from math import isqrt, prod
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from netspec import ast
from netspec.catalog import (
    DEFAULT_EPOCHS,
    FEATURES,
    METHODS,
    OPTIMIZERS,
    SCALARS,
    SCHEDULES,
    SECTION_KEYS,
    SHARED_KEYS,
    SOURCES,
    STAGE_KEYS,
    TARGET,
    Entry,
    Field,
    method_kinds,
    pretrainable_kinds,
)
from netspec.diagnostics import Diagnostic, did_you_mean, error
from netspec.ir import Graph, Node, Role
from netspec.printer import format_expr
from netspec.program import Program
from netspec.source import NOWHERE, Span
from netspec.types import TensorType
from netspec.units import REGISTRY
from netspec.units.base import ParamSpec
from netspec.values import Env, Symbol, bind, convert, describe, evaluate

StageKind = Literal["supervised", "pretrain"]


def _frozen_dict() -> Any:
    return field(default_factory=lambda: MappingProxyType({}), hash=False)


@dataclass(frozen=True)
class CallPlan:
    """A catalogue call with every parameter bound and defaulted, such as `sgd(lr=0.1)`."""

    name: str
    params: Mapping[str, Any] = _frozen_dict()
    span: Span = field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Binding:
    """A data field feeding a network input; `part` is the [start, stop) slice of the flattened
    field when several inputs share it, else None."""

    field: str
    input: str
    role: str  # features | target
    type: TensorType | None  # the field's type; None for files, known once loaded
    part: tuple[int, int] | None = None


@dataclass(frozen=True)
class DataPlan:
    """The data source with its parameters (file paths resolved against the spec's folder)."""

    source: str
    params: Mapping[str, Any] = field(hash=False)
    test: float
    val: float
    seed: int  # the split's seed: the source's own, else the section's
    fields: tuple[Field, ...]
    bindings: tuple[Binding, ...]  # empty when the network has errors of its own
    span: Span = field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class GreedyStep:
    """One unit of a greedy stage, pretrained with `method` after the steps before it."""

    unit: str  # node id
    name: str  # as listed
    kind: str
    method: CallPlan


@dataclass(frozen=True)
class StagePlan:
    """One training phase; exactly one of `epochs` and `steps` is set."""

    name: str
    kind: StageKind
    optimizer: CallPlan
    schedule: CallPlan
    batch: int
    epochs: int | None
    steps: int | None
    greedy: tuple[GreedyStep, ...] = ()  # pretrain stages: the units, bottom-up
    freeze: tuple[str, ...] = ()  # supervised stages: ids of the units whose weights stay fixed
    early_stop: int | None = None  # patience in epochs
    monitor: str = "train"  # the loss early stopping and `plateau` watch: val or train
    clip: float | None = None  # largest gradient norm
    span: Span = field(default=NOWHERE, compare=False, repr=False)

    @property
    def weight_decay(self) -> float:
        return float(self.optimizer.params.get("weight_decay", 0.0))


@dataclass(frozen=True)
class TrainPlan:
    """A checked `train` section: section-wide settings and the stages, in order."""

    network: str
    data: DataPlan
    batch: int
    seed: int
    device: str
    precision: str
    stages: tuple[StagePlan, ...]
    span: Span = field(default=NOWHERE, compare=False, repr=False)


_FAILED: Any = object()  # a setting already reported: checks that depend on it stay quiet
Scope = dict[str, tuple[Any, ast.Setting]]  # evaluated settings with where they were written


def plan_training(program: Program, networks: Mapping[str, Graph], env: Env,
                  diags: list[Diagnostic]) -> dict[str, TrainPlan]:
    """Check every `train` section; a plan per network whose section has no errors."""
    plans: dict[str, TrainPlan] = {}
    first: dict[str, Span] = {}
    for train in program.trains:
        name = train.network.text
        if name in first:
            diags.append(error("E507", f"network `{name}` has a second `train` section",
                               train.network.span, "trained again here",
                               secondary=[(first[name], "first trained here")],
                               help="merge the sections; use `stage`s for several phases"))
            continue
        first[name] = train.network.span
        graph = networks.get(name)
        if graph is None:
            diags.append(error("E207", f"unknown network `{name}`", train.network.span,
                               "not a network", help=did_you_mean(name, networks)
                               or _known("networks", list(networks))))
        plan = _Planner(program, graph, env, diags).section(train)
        if plan is not None and graph is not None:
            plans[name] = plan
    return plans


class _Planner:
    def __init__(self, program: Program, graph: Graph | None, env: Env,
                 diags: list[Diagnostic]) -> None:
        self.graph = graph
        self.env = env
        self.diags = diags
        self.start = len(diags)
        net = program.networks.get(graph.name) if graph is not None else None
        self.declared = _declared(net)
        self.broken = graph is None or _broken(graph, self.declared)

    def section(self, train: ast.Train) -> TrainPlan | None:
        net = train.network.text
        stages = self._stages(train)
        allowed = SECTION_KEYS + SHARED_KEYS + (() if stages else STAGE_KEYS)
        settings = [s for s in train.body if isinstance(s, ast.Setting)]
        own = self._settings(settings, allowed, f"`train {net}`")
        vals = {k: (self._value(s), s) for k, s in own.items() if k != "data"}
        seed = _get(vals, "seed")
        misplaced = any(s.key.text == "data" for stage in stages for s in stage.settings)
        data = self._data(train, own.get("data"), 0 if seed is _FAILED else seed, misplaced)
        monitor = "val" if data is not None and data.val > 0 else "train"
        plans = [self._stage(f"stage `{s.name.text}`", s.name.text, s.name.span,
                             _inherit(vals, self._scope(s.settings, f"stage `{s.name.text}`")),
                             monitor) for s in stages]
        if not stages:
            plans = [self._stage(f"`train {net}`", "main", train.network.span, vals, monitor)]
        if len(self.diags) > self.start or data is None:
            return None
        return TrainPlan(net, data, _get(vals, "batch"), seed, _get(vals, "device"),
                         _get(vals, "precision"), tuple(p for p in plans if p), train.span)

    # --- settings ---------------------------------------------------------------------------
    def _stages(self, train: ast.Train) -> list[ast.Stage]:
        stages: list[ast.Stage] = []
        first: dict[str, Span] = {}
        for item in train.body:
            if not isinstance(item, ast.Stage):
                continue
            name = item.name.text
            if name in first:
                self._error("E507", f"stage `{name}` is defined twice", item.name.span,
                            "defined again here", secondary=[(first[name], "first defined here")],
                            help="give each stage its own name")
                continue
            first[name] = item.name.span
            stages.append(item)
        return stages

    def _scope(self, settings: Sequence[ast.Setting], where: str) -> Scope:
        own = self._settings(settings, SHARED_KEYS + STAGE_KEYS, where)
        return {k: (self._value(s), s) for k, s in own.items()}

    def _settings(self, settings: Sequence[ast.Setting], allowed: tuple[str, ...],
                  where: str) -> dict[str, ast.Setting]:
        """The settings by key, reporting repeated (E507) and unknown or misplaced (E501) ones."""
        own: dict[str, ast.Setting] = {}
        for s in settings:
            key = s.key.text
            if key in own:
                self._error("E507", f"`{key}` is set twice in {where}", s.key.span,
                            "set again here", secondary=[(own[key].key.span, "first set here")],
                            help="keep one of them")
            elif key not in allowed:
                self._unknown_setting(s, allowed, where)
            else:
                own[key] = s
        if "epochs" in own and "steps" in own:
            later, first = sorted((own["epochs"], own["steps"]), key=lambda s: s.span.start,
                                  reverse=True)
            self._error("E508", f"{where} sets both `epochs` and `steps`", later.key.span,
                        "choose one", secondary=[(first.key.span, "also set here")],
                        help="a stage runs for a number of epochs or of optimizer steps, "
                        "not both")
            del own[later.key.text]
        return own

    def _unknown_setting(self, s: ast.Setting, allowed: tuple[str, ...], where: str) -> None:
        key = s.key.text
        optimizer_params = {p.name for e in OPTIMIZERS.values() for p in e.params}
        if key in SECTION_KEYS:
            message, hint = (f"`{key}` cannot be set in a stage",
                             f"set `{key}` once, in the `train` section outside the stages")
        elif key in STAGE_KEYS:
            message, hint = (f"`{key}` belongs in a stage",
                             f"this section has stages: move `{key} = ...` into the stage it "
                             "is for")
        else:
            message = f"unknown setting `{key}` in {where}"
            hint = did_you_mean(key, allowed) or _known("settings here", list(allowed))
            if key in optimizer_params:
                hint = f"`{key}` is a parameter of the optimizer: `optimizer = adam({key}=...)`"
        self._error("E501", message, s.key.span, "not a setting here", help=hint)

    def _value(self, s: ast.Setting) -> Any:
        """The checked value of one setting, or _FAILED once reported."""
        key = s.key.text
        if key in SCALARS:
            return self._scalar(s, SCALARS[key])
        if key == "optimizer":
            return self._optimizer(self._call(s.value, OPTIMIZERS, "optimizer", "adam(lr=1e-3)"))
        if key == "schedule":
            return self._call(s.value, SCHEDULES, "schedule", "cosine()")
        if key == "method":
            return self._call(s.value, METHODS, "pretraining method", "cd(k=1)")
        return self._names(s)

    def _scalar(self, s: ast.Setting, spec: ParamSpec) -> Any:
        expr = s.value
        if isinstance(expr, (ast.Call, ast.Chain)):
            raw: Any = Symbol(format_expr(expr))
        else:
            raw = evaluate(expr, self.env, self.diags)
            if raw is None:
                return _FAILED
        value, complaint = convert(spec, raw)
        label = "not one of the choices" if spec.type == "choice" else "wrong type"
        if complaint is None and spec.check is not None and value is not None:
            complaint, label = spec.check(value), "out of range"
        if complaint is None:
            return value
        self._error("E508", f"`{spec.name}` {complaint.split(';')[0]}, but got {describe(raw)}",
                    expr.span, label, help=f"`{spec.name}` is {spec.doc}")
        return _FAILED

    def _names(self, s: ast.Setting) -> Any:
        items = s.value.items if isinstance(s.value, ast.ListExpr) else (s.value,)
        for item in items:
            if not isinstance(item, ast.Ref):
                self._error("E508", f"`{s.key.text}` lists unit names, but got "
                            f"`{format_expr(item)}`", item.span, "not a unit name",
                            help=f"write the names the network gives its units, such as "
                            f"`{s.key.text} = [h1, h2]`")
                return _FAILED
        return items

    def _call(self, expr: ast.Expr, table: Mapping[str, Entry], what: str, example: str) -> Any:
        """A catalogue call (`name(args)` or a bare `name`) bound to its entry's signature."""
        a = "an" if what[0] in "aeiou" else "a"
        if not isinstance(expr, (ast.Ref, ast.Call)):
            self._error("E508", f"expected {a} {what} such as `{example}`, but got "
                        f"`{format_expr(expr)}`", expr.span, f"not {a} {what}",
                        help=_known(f"{what}s", list(table)))
            return _FAILED
        callee, args = (expr.name, ()) if isinstance(expr, ast.Ref) else (expr.callee, expr.args)
        entry = table.get(callee.text)
        if entry is None:
            self._error("E502", f"unknown {what} `{callee.text}`", callee.span, f"not {a} {what}",
                        help=did_you_mean(callee.text, table) or _known(f"{what}s", list(table)))
            return _FAILED
        params = self._bind(entry, args, expr.span)
        return _FAILED if params is None else CallPlan(entry.name, MappingProxyType(params),
                                                       expr.span)

    def _optimizer(self, call: Any) -> Any:
        if call is not _FAILED and call.params.get("nesterov") and not call.params["momentum"]:
            self._error("E508", f"`{call.name}(nesterov=true)` needs momentum", call.span,
                        "nesterov without momentum", help="add a momentum such as `momentum=0.9`")
            return _FAILED
        return call

    def _bind(self, entry: Entry, args: Sequence[ast.Arg], span: Span) -> dict[str, Any] | None:
        positional = [a for a in args if a.name is None]
        keyword = [a for a in args if a.name is not None]
        if not any(p.type == "str" for p in entry.params):
            return bind(entry.name, entry.params, positional, keyword, self.env, self.diags, span)
        return self._bind_strings(entry, positional, keyword, span)

    def _bind_strings(self, entry: Entry, positional: list[ast.Arg], keyword: list[ast.Arg],
                      span: Span) -> dict[str, Any] | None:
        """`bind` knows no `str` type: bind the string parameters (they come first) here."""
        names = [p.name for p in entry.params]
        strings = [p for p in entry.params if p.type == "str"]
        if len(positional) > len(names):
            self._error("E405", f"`{entry.name}` takes {len(names)} parameters ("
                        + ", ".join(f"`{n}`" for n in names) + "), but got more",
                        positional[len(names)].span, "one argument too many")
            return None
        given = {p.name: a for p, a in zip(strings, positional, strict=False)}
        rest, ok = [], True
        for arg in keyword:
            key = arg.name.text if arg.name else ""
            if key not in names:
                self._error("E401", f"`{entry.name}` has no parameter `{key}`", arg.span,
                            "unknown parameter", help=did_you_mean(key, names)
                            or _known("its parameters", names))
            elif key in given:
                self._error("E406", f"parameter `{key}` of `{entry.name}` is given twice",
                            arg.span, "given again here",
                            secondary=[(given[key].span, "first given here")])
            elif any(p.name == key for p in strings):
                given[key] = arg
                continue
            else:
                rest.append(arg)
                continue
            ok = False
        others = tuple(p for p in entry.params if p.type != "str")
        bound = bind(entry.name, others, positional[len(strings):], rest, self.env, self.diags,
                     span)
        texts = {p.name: self._string(entry, p, given.get(p.name), span) for p in strings}
        if bound is None or not ok or _FAILED in texts.values():
            return None
        return {n: texts[n] if n in texts else bound[n] for n in names}

    def _string(self, entry: Entry, spec: ParamSpec, arg: ast.Arg | None, span: Span) -> Any:
        if arg is None:
            if spec.required:
                self._error("E402", f"`{entry.name}` needs `{spec.name}` ({spec.doc})", span,
                            f"`{spec.name}` is missing", help=f'add `{spec.name}="..."`')
                return _FAILED
            return spec.default
        raw = evaluate(arg.value, self.env, self.diags)
        if isinstance(raw, str) and not isinstance(raw, Symbol):
            return raw
        if raw == "none" and spec.default is None:
            return None
        if raw is not None:
            self._error("E403", f"`{spec.name}` (={describe(raw)}) of `{entry.name}` expects a "
                        "string", arg.value.span, "expects a string",
                        help=f'write it in double quotes: `{spec.name}="{raw}"`'
                        if isinstance(raw, Symbol) else None)
        return _FAILED

    # --- data -------------------------------------------------------------------------------
    def _data(self, train: ast.Train, s: ast.Setting | None, seed: int,
              misplaced: bool) -> DataPlan | None:
        if s is None and misplaced:  # E501 points at it in its stage
            return None
        if s is None:
            self._error("E508", f"`train {train.network.text}` has no `data` setting",
                        train.network.span, "needs `data = ...`",
                        help="add a data source such as `data = digits(test=0.2)`; "
                        + _known("sources", list(SOURCES)))
            return None
        call = self._call(s.value, SOURCES, "data source", "digits(test=0.2)")
        if call is _FAILED:
            return None
        source, params = SOURCES[call.name], dict(call.params)
        params["seed"] = seed if params["seed"] is None else params["seed"]
        if params["test"] + params["val"] >= 1:
            self._error("E508", f"`test` ({params['test']:g}) and `val` ({params['val']:g}) of "
                        f"`{call.name}` leave no samples for training", s.value.span,
                        "no training samples", help="keep `test + val` below 1, e.g. "
                        "`test=0.2, val=0.1`")
        for name in source.files:
            params[name] = _relative_to(params[name], s.value.span)
        fields = source.fields(params)
        bindings = () if self.broken or self.graph is None else \
            _DataBinder(self.graph, call.name, s.value.span, self.diags).bind(fields)
        return DataPlan(call.name, MappingProxyType(params), params["test"], params["val"],
                        params["seed"], fields, bindings, s.value.span)

    # --- stages -----------------------------------------------------------------------------
    def _stage(self, what: str, name: str, span: Span, vals: Scope,
               monitor: str) -> StagePlan | None:
        greedy: tuple[GreedyStep, ...] = ()
        frozen: tuple[str, ...] = ()
        if "greedy" in vals:
            if "freeze" in vals:
                self._error("E508", "`freeze` has no effect in a greedy stage",
                            vals["freeze"][1].key.span, "not for greedy stages",
                            help="a greedy stage trains only the units it lists, one at a time; "
                            "remove `freeze`")
            greedy = self._greedy(vals)
        else:
            if "method" in vals and vals["method"][0] is not _FAILED:
                self._error("E508", f"`method` is set, but {what} pretrains no units",
                            vals["method"][1].key.span, "only for greedy stages",
                            help="list the units to pretrain with `greedy = [...]`, or remove "
                            "`method`")
            frozen = self._freeze(vals)
            self._supervised(what, span, frozen, vals)
        if len(self.diags) > self.start:
            return None
        epochs, steps = _get(vals, "epochs"), _get(vals, "steps")
        return StagePlan(name, "pretrain" if "greedy" in vals else "supervised",
                         _get(vals, "optimizer"), _get(vals, "schedule"), _get(vals, "batch"),
                         DEFAULT_EPOCHS if epochs is None and steps is None else epochs, steps,
                         greedy, frozen, _get(vals, "early_stop"), monitor, _get(vals, "clip"),
                         span)

    def _greedy(self, vals: Scope) -> tuple[GreedyStep, ...]:
        refs, setting = vals["greedy"]
        method = vals["method"][0] if "method" in vals else None
        if refs is _FAILED or method is _FAILED or self.graph is None:
            return ()
        if not refs:
            self._error("E508", "`greedy` lists no units", setting.value.span, "empty list",
                        help="list the units to pretrain, bottom-up, such as `greedy = [h1, h2]`")
            return ()
        steps: list[tuple[GreedyStep, ast.Ref]] = []
        reported: set[str] = set()
        for ref in self._unique(refs):
            for node in self._greedy_units(ref):
                step = self._pretrain_step(ref, node, method, reported)
                if step is not None:
                    steps.append((step, ref))
        self._bottom_up(steps)
        return tuple(step for step, _ in steps)

    def _greedy_units(self, ref: ast.Ref) -> list[Node]:
        found = self._resolve(ref)
        if found is None or ref.name.text not in _sites(self.graph):
            return found or []
        units = [n for n in found if REGISTRY[n.kind].pretrain]
        if not units:
            self._error("E505", f"block call `{ref.name.text}` holds no unit that can be "
                        "pretrained", ref.span, "nothing to pretrain",
                        help=f"greedy stages pretrain {_kinds(pretrainable_kinds())} units")
        return units

    def _pretrain_step(self, ref: ast.Ref, node: Node, method: CallPlan | None,
                       reported: set[str]) -> GreedyStep | None:
        kind, label = REGISTRY[node.kind], ref.name.text
        name = label if self.graph is not None and self.graph.names.get(label) == node.id \
            else node.id
        if not kind.pretrain:
            self._error("E505", f"`{label}` is a unit of kind `{node.kind}`, which has no "
                        "unsupervised training rule", ref.span, "cannot be pretrained",
                        help=self._not_pretrainable_help(node, label))
            return None
        if method is None:  # each unit's own default: the first method its kind lists
            entry = METHODS[kind.pretrain[0]]
            method = CallPlan(entry.name, MappingProxyType({p.name: p.default
                                                            for p in entry.params}))
        elif method.name not in kind.pretrain:
            if node.kind in reported:  # one error per kind: the fix is the same
                return None
            reported.add(node.kind)
            self._error("E505", f"`{method.name}` cannot pretrain `{label}`, a unit of kind "
                        f"`{node.kind}`", ref.span, f"kind `{node.kind}`",
                        secondary=[(method.span, f"`{method.name}` pretrains "
                                    f"{_kinds(method_kinds(method.name))} units")],
                        help=f"`{node.kind}` units pretrain with {_kinds(kind.pretrain, 'or')}; "
                        "remove `method` to give each unit its own default")
            return None
        return GreedyStep(node.id, name, node.kind, method)

    def _not_pretrainable_help(self, node: Node, label: str) -> str:
        assert self.graph is not None
        inner = [n for n in self.graph.nodes(Role.UNIT)
                 if n.id.startswith(node.id + ".") and REGISTRY[n.kind].pretrain]
        if inner:
            return (f"`{label}` names the `{node.kind}` at the end of its chain; give the "
                    f"`{inner[-1].kind}` before it a name of its own and list that")
        return (f"greedy stages pretrain {_kinds(pretrainable_kinds())} units; `{label}` "
                "learns in a supervised stage")

    def _bottom_up(self, steps: list[tuple[GreedyStep, ast.Ref]]) -> None:
        assert self.graph is not None
        order = {n: i for i, n in enumerate(self.graph.topo_order())}
        for j, (later, ref) in enumerate(steps):
            above = next(((s, r) for s, r in steps[:j] if later.unit in self._below(s.unit)),
                         None)
            if above is None:
                continue
            fixed = sorted(dict.fromkeys(r.name.text for _, r in steps),
                           key=lambda n: min(order[s.unit] for s, r in steps if r.name.text == n))
            self._error("E504", f"`{ref.name.text}` feeds `{above[1].name.text}`, so it must "
                        "come first: `greedy` lists units bottom-up", ref.span,
                        "listed after a unit it feeds",
                        secondary=[(above[1].span, f"`{above[1].name.text}` listed here")],
                        help=f"reorder: `greedy = [{', '.join(fixed)}]`")
            return

    def _below(self, node_id: str) -> set[str]:
        """Every node that `node_id` depends on."""
        assert self.graph is not None
        seen: set[str] = set()
        todo = list(self.graph.inputs_of(node_id))
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.add(current)
                todo += self.graph.inputs_of(current)
        return seen

    def _freeze(self, vals: Scope) -> tuple[str, ...]:
        """Ids of the weighted units that `freeze` names, itself or through a block call."""
        refs = vals["freeze"][0] if "freeze" in vals else ()
        if refs is _FAILED or self.graph is None:
            return ()
        chosen = {n.id for ref in self._unique(refs) for n in self._resolve(ref) or []}
        return tuple(n.id for n in self.graph.nodes(Role.UNIT)
                     if n.id in chosen and n.meta.get("params", 0) > 0)

    def _supervised(self, what: str, span: Span, frozen: tuple[str, ...], vals: Scope) -> None:
        if self.broken or self.graph is None:
            return
        graph = self.graph
        if not any(True for _ in graph.nodes(Role.LOSS)):
            units = [n for n, i in graph.names.items() if REGISTRY.get(graph.node(i).kind)
                     and REGISTRY[graph.node(i).kind].pretrain]
            hint = f", or pretrain its units: `greedy = [{', '.join(units)}]`" if units else ""
            self._error("E506", f"{what} trains with supervision, but network `{graph.name}` "
                        "has no `loss`", span, "nothing to learn from",
                        help=f"add a loss such as `loss cross_entropy(y, label)`{hint}")
            return
        weighted = [n for n in graph.nodes(Role.UNIT) if n.meta.get("params", 0) > 0]
        if not weighted:
            self._error("E506", f"network `{graph.name}` has no unit with weights to train",
                        span, "nothing to train", help="add a unit with weights, such as "
                        "`dense` or `softmax`, between the inputs and the loss")
        elif len(frozen) == len(weighted):
            self._error("E506", f"{what} leaves no unit with weights to train",
                        vals["freeze"][1].value.span, "every weighted unit is frozen",
                        help="units with weights: " + ", ".join(f"`{n.label}`" for n in weighted))

    # --- references -------------------------------------------------------------------------
    def _unique(self, refs: Sequence[ast.Ref]) -> list[ast.Ref]:
        first: dict[str, Span] = {}
        unique = []
        for ref in refs:
            name = ref.name.text
            if name in first:
                self._error("E507", f"`{name}` is listed twice", ref.span, "listed again here",
                            secondary=[(first[name], "first listed here")],
                            help="list each unit once")
            else:
                first[name] = ref.span
                unique.append(ref)
        return unique

    def _resolve(self, ref: ast.Ref) -> list[Node] | None:
        """The units a name in `greedy` or `freeze` stands for: a block call's, or one."""
        graph, name = self.graph, ref.name.text
        if graph is None:
            return None
        sites = _sites(graph)
        if name in sites:
            return [n for n in graph.nodes(Role.UNIT) if any(s.id == name for s in n.scope)]
        if name in graph.names:
            node = graph.node(graph.names[name])
            if node.role is Role.UNIT:
                return [node]
            self._error("E504", f"`{name}` is an input of `{graph.name}`, not a unit", ref.span,
                        "an input", help="list units: the names given to unit results, such "
                        "as `h1` in `h1 = rbm(pixels, 256)`")
            return None
        if name in self.declared:
            return None  # its definition failed, and that was reported
        units = [n for n, i in graph.names.items() if graph.node(i).role is Role.UNIT]
        self._error("E504", f"network `{graph.name}` has no unit named `{name}`", ref.span,
                    f"not a unit of `{graph.name}`",
                    help=did_you_mean(name, units + list(sites))
                    or _known("its named units", units + list(sites)))
        return None

    def _error(self, code: str, message: str, span: Span, label: str, *,
               help: str | None = None, secondary: Sequence[tuple[Span, str]] = ()) -> None:
        self.diags.append(error(code, message, span, label, help=help, secondary=secondary))


class _DataBinder:
    """Feed a data source's fields to a network's inputs: by name first, then by role (E503)."""

    def __init__(self, graph: Graph, source: str, span: Span, diags: list[Diagnostic]) -> None:
        self.graph, self.source, self.span, self.diags = graph, source, span, diags

    def bind(self, fields: tuple[Field, ...]) -> tuple[Binding, ...]:
        inputs = list(self.graph.nodes(Role.INPUT))
        free = [n for n in inputs if n.label not in {f.name for f in fields}]
        bindings: list[Binding] = []
        for f in fields:
            takers = [n for n in inputs if n.label == f.name] or [
                n for n in free if _role(self.graph, n) == f.role]
            free = [n for n in free if n not in takers]
            bindings += self._fit(f, takers)
        for node in free:
            self._unfed(node, fields)
        return tuple(bindings)

    def _fit(self, f: Field, takers: list[Node]) -> list[Binding]:
        if len(takers) == 1:
            self._check(f, takers[0])
            return [Binding(f.name, takers[0].label, f.role, f.type)]
        if not takers:
            if f.role == FEATURES:
                self._error(f"no input of `{self.graph.name}` takes the features `{f.name}` of "
                            f"`{self.source}`", "unused features", [],
                            f"declare an input for them, such as `input {f.name}: "
                            f"{f.type or '[64]'}`")
            return []  # an unused target: the network learns without labels
        return self._split(f, takers)

    def _check(self, f: Field, node: Node) -> None:
        if f.type is None or node.type is None:
            return
        hint = _misfit(f, f.type, node.type, node.label)
        if hint is not None:
            self._error(f"`{self.source}` gives {f.role} `{f.name}` as {_show(f.type)}, but "
                        f"input `{node.label}` takes {_show(node.type)}",
                        f"gives {_typename(f.type)}",
                        [(node.span, f"`{node.label}` declared here")], hint)

    def _split(self, f: Field, takers: list[Node]) -> list[Binding]:
        """Several real inputs whose sizes add up to the features' take consecutive slices."""
        sizes = [n.type.numel() if n.type is not None and n.type.is_real else None
                 for n in takers]
        total = f.type.numel() if f.type is not None else None
        if f.role == FEATURES and all(isinstance(s, int) for s in sizes) \
                and total in (None, sum(int(s) for s in sizes if s is not None)):
            bindings, start = [], 0
            for node, size in zip(takers, sizes, strict=True):
                stop = start + int(size or 0)
                bindings.append(Binding(f.name, node.label, f.role, f.type, (start, stop)))
                start = stop
            return bindings
        names = ", ".join(f"`{n.label}`" for n in takers)
        hint = f"name the input that takes it `{f.name}`"
        if f.role == FEATURES:
            hint += f", or give the inputs sizes that add up to {total} to split it between them"
        self._error(f"{len(takers)} inputs could take the {f.role} `{f.name}` of "
                    f"`{self.source}`: {names}", "which input takes it?",
                    [(n.span, "could take it") for n in takers], hint)
        return []

    def _unfed(self, node: Node, fields: tuple[Field, ...]) -> None:
        given = " and ".join(f"{f.role} `{f.name}`" for f in fields)
        no_target = not any(f.role == TARGET for f in fields)
        if _role(self.graph, node) == TARGET and no_target and SOURCES[self.source].files:
            hint = f"`{self.source}` gives no target: name one with `target=\"...\"`"
        else:
            hint = f"`{self.source}` gives {given}; remove the input or pick another source"
        self._error(f"input `{node.label}` of `{self.graph.name}` gets no data from "
                    f"`{self.source}`", f"nothing for `{node.label}`",
                    [(node.span, f"`{node.label}` declared here")], hint)

    def _error(self, message: str, label: str, secondary: list[tuple[Span, str]],
               hint: str) -> None:
        self.diags.append(error("E503", message, self.span, label, help=hint,
                                secondary=secondary))


def _role(graph: Graph, node: Node) -> str:
    """An input read only by losses is a target; one read by units, or a real one, features."""
    users = [graph.node(u) for u in graph.users_of(node.id)]
    if users:
        return TARGET if all(u.role is Role.LOSS for u in users) else FEATURES
    return FEATURES if node.type is None or node.type.is_real else TARGET


def _misfit(f: Field, ft: TensorType, t: TensorType, name: str) -> str | None:
    """How to declare input `name` so that it takes field `f`, or None when it does."""
    if ft.dtype == "class":
        k = ft.classes
        single = t.numel() == 1
        if single and ((t.dtype == "class" and t.classes == k) or (t.dtype == "binary" and k == 2)):
            return None
        return f"declare `input {name}: class({k})`" + (" (or `binary`)" if k == 2 else "")
    n = ft.numel()
    if t.is_real and isinstance(n, int) and _holds(n, t):
        return None
    if not isinstance(n, int):
        return f"declare `input {name}: {ft}`"
    if f.role == TARGET and n == 1:
        return f"the target is one real number: declare `input {name}: real`"
    return f"declare `input {name}` with {n} values: " + " or ".join(
        f"`{s}`" for s in _shapes(ft, t))


def _holds(n: int, t: TensorType) -> bool:
    """Whether an input of type `t` takes `n` values: exactly, or in steps when it has a T."""
    fixed = prod(d for d in t.dims if isinstance(d, int))
    return fixed == n if t.is_static else n % fixed == 0


def _shapes(ft: TensorType, t: TensorType) -> list[str]:
    n = int(ft.numel())
    shapes = dict.fromkeys([str(ft), f"[{n}]"])
    side = isqrt(n)
    if side >= 4 and side * side == n:
        shapes[f"[1, {side}, {side}]"] = None
    if not t.is_static:
        shapes["[T, 1]"] = None
    return list(shapes)


def _typename(t: TensorType) -> str:
    return "real" if t.is_real and not t.dims else str(t)


def _show(t: TensorType) -> str:
    """A type with its number of values: `[1, 8, 8] (64 values)`."""
    text = f"`{_typename(t)}`"
    if not t.is_real:
        return text
    n = t.numel()
    if isinstance(n, int):
        return f"{text} ({n} value{'s' * (n != 1)})"
    fixed = prod(d for d in t.dims if isinstance(d, int))
    return f"{text} (a multiple of {fixed} values)" if fixed > 1 else text


def _get(vals: Scope, key: str) -> Any:
    if key in vals:
        return vals[key][0]
    if key in SCALARS:
        return SCALARS[key].default
    entry = OPTIMIZERS["adam"] if key == "optimizer" else SCHEDULES["constant"]
    return CallPlan(entry.name, MappingProxyType({p.name: p.default for p in entry.params}))


def _inherit(section: Scope, stage: Scope) -> Scope:
    """A stage's settings over the section's; a stage's length replaces the section's whole."""
    merged = {k: v for k, v in section.items() if k in SHARED_KEYS}
    if "epochs" in stage or "steps" in stage:
        merged.pop("epochs", None)
        merged.pop("steps", None)
    return {**merged, **stage}


def _declared(net: ast.Network | None) -> set[str]:
    """The names a network's source defines, built or not."""
    names: set[str] = set()
    for stmt in net.body if net is not None else ():
        if isinstance(stmt, ast.Input):
            names.add(stmt.name.text)
        elif isinstance(stmt, ast.Assign):
            names.update(t.text for t in stmt.targets)
    return names


def _broken(graph: Graph, declared: set[str]) -> bool:
    """Whether building or checking the network failed, so its checks would only repeat that."""
    return any(n not in graph.names for n in declared) or any(
        n.type is None for n in graph.nodes())


def _sites(graph: Graph | None) -> Mapping[str, Any]:
    return getattr(graph, "sites", {}) if graph is not None else {}


def _relative_to(path: Any, span: Span) -> Any:
    if not isinstance(path, str) or span.file in ("<string>", "<stdin>"):
        return path
    return str(Path(span.file).parent / path)


def _known(what: str, names: Sequence[str]) -> str:
    if not names:
        return f"there are no {what}"
    shown = ", ".join(f"`{n}`" for n in names[:12])
    return f"{what}: {shown}" + (", ..." if len(names) > 12 else "")


def _kinds(names: Sequence[str], last: str = "and") -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" {last} {quoted[-1]}"
