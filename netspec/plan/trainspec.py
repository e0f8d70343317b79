"""Check `train` sections against their networks and turn them into typed, defaulted plans."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from netspec.build.paths import Confinement
from netspec.build.program import Program
from netspec.build.values import Env, Symbol, bind, convert, describe, evaluate
from netspec.diagnostics.core import Diagnostic, did_you_mean, error
from netspec.ir import Graph
from netspec.lang import ast
from netspec.lang.printer import format_expr
from netspec.lang.source import Span
from netspec.plan.catalog import (
    METHODS,
    OPTIMIZERS,
    SCALARS,
    SCHEDULES,
    SECTION_KEYS,
    SHARED_KEYS,
    SOURCES,
    STAGE_KEYS,
    Entry,
)
from netspec.plan.databind import Binding, bind_data
from netspec.plan.plans import CallPlan, DataPlan, GreedyStep, StageKind, StagePlan, TrainPlan
from netspec.plan.stages import FAILED, Checker, Scope, StageChecker, known, value_of
from netspec.plan.sweep import plan_sweep
from netspec.units.base import ParamSpec

# The plans live in netspec.plan.plans; callers keep importing them from here.
__all__ = [
    "Binding",
    "CallPlan",
    "DataPlan",
    "GreedyStep",
    "StageKind",
    "StagePlan",
    "TrainPlan",
    "plan_training",
]


def plan_training(
    program: Program,
    networks: Mapping[str, Graph],
    env: Env,
    diags: list[Diagnostic],
    allow_paths: Sequence[str | Path] = (),
) -> dict[str, TrainPlan]:
    """Check every `train` section; a plan per network whose section has no errors. Data files
    are read only under the root spec's folder and `allow_paths` (netspec.build.paths)."""
    confinement = Confinement.of(program.root.file, allow_paths)
    plans: dict[str, TrainPlan] = {}
    first: dict[str, Span] = {}
    for train in program.trains:
        name, span = train.network.text, train.network.span
        if name in first:
            diags.append(
                error(
                    "E507",
                    f"network `{name}` has a second `train` section",
                    span,
                    "trained again here",
                    secondary=[(first[name], "first trained here")],
                    help="merge the sections; use `stage`s for several phases",
                )
            )
            continue
        first[name] = span
        graph = networks.get(name)
        if graph is None:
            hint = did_you_mean(name, networks) or known("networks", list(networks))
            diags.append(
                error("E207", f"unknown network `{name}`", span, "not a network", help=hint)
            )
        plan = _SectionChecker(program, graph, env, diags, confinement).plan(train)
        plan_sweep(program, train, plan, diags)
        if plan is not None and graph is not None:
            plans[name] = plan
    return plans


class _SectionChecker(Checker):
    """Check a `train` section's own settings, its catalogue calls and its data."""

    def __init__(
        self,
        program: Program,
        graph: Graph | None,
        env: Env,
        diags: list[Diagnostic],
        confinement: Confinement,
    ) -> None:
        super().__init__(graph, diags)
        self.env = env
        self.confinement = confinement
        net = program.networks.get(graph.name) if graph is not None else None
        declared = _declared(net)
        self.broken = graph is None or _broken(graph, declared)
        self.stages = StageChecker(graph, diags, declared, self.broken)

    def plan(self, train: ast.Train) -> TrainPlan | None:
        """The section's plan, or None when it has errors."""
        net = train.network.text
        stages = self._stages(train)
        allowed = SECTION_KEYS + SHARED_KEYS + (() if stages else STAGE_KEYS)
        settings = [s for s in train.body if isinstance(s, ast.Setting)]
        own = self._settings(settings, allowed, f"`train {net}`")
        vals = {k: (self._value(s), s) for k, s in own.items() if k != "data"}
        seed = value_of(vals, "seed")
        misplaced = any(s.key.text == "data" for stage in stages for s in stage.settings)
        data = self._data(train, own.get("data"), 0 if seed is FAILED else seed, misplaced)
        normalize = value_of(vals, "normalize")
        if data is not None and normalize is not FAILED:
            data = replace(data, normalize=normalize)
        monitor = "val" if data is not None and data.val > 0 else "train"
        plans: list[StagePlan | None] = []
        for s in stages:
            what = f"stage `{s.name.text}`"
            scope = _inherit(vals, self._scope(s.settings, what))
            plans.append(self.stages.plan(what, s.name.text, s.name.span, scope, monitor))
        if not stages:
            main = self.stages.plan(f"`train {net}`", "main", train.network.span, vals, monitor)
            plans = [main]
        if len(self.diags) > self.start or data is None:
            return None
        batch, device, precision = (value_of(vals, k) for k in ("batch", "device", "precision"))
        stage_plans = tuple(p for p in plans if p)
        every = value_of(vals, "grad_stats_every")
        return TrainPlan(net, data, batch, seed, device, precision, stage_plans, train.span, every)

    # --- settings ---------------------------------------------------------------------------
    def _stages(self, train: ast.Train) -> list[ast.Stage]:
        stages = [(s.name.text, s.name.span, s) for s in train.body if isinstance(s, ast.Stage)]
        return self._distinct(stages, "stage ", "defined", "give each stage its own name")

    def _scope(self, settings: Sequence[ast.Setting], where: str) -> Scope:
        own = self._settings(settings, SHARED_KEYS + STAGE_KEYS, where)
        return {k: (self._value(s), s) for k, s in own.items()}

    def _settings(
        self, settings: Sequence[ast.Setting], allowed: tuple[str, ...], where: str
    ) -> dict[str, ast.Setting]:
        """The settings by key, reporting repeated (E507) and unknown or misplaced (E501) ones."""
        own: dict[str, ast.Setting] = {}
        for s in settings:
            key = s.key.text
            if key in own:
                first = [(own[key].key.span, "first set here")]
                self._error(
                    "E507",
                    f"`{key}` is set twice in {where}",
                    s.key.span,
                    "set again here",
                    secondary=first,
                    help="keep one of them",
                )
            elif key not in allowed:
                self._unknown_setting(s, allowed, where)
            else:
                own[key] = s
        if "epochs" in own and "steps" in own:
            del own[self._both_lengths(own["epochs"], own["steps"], where)]
        return own

    def _both_lengths(self, epochs: ast.Setting, steps: ast.Setting, where: str) -> str:
        """Report `epochs` and `steps` set together (E508); the key of the later one, to drop."""
        later, first = sorted((epochs, steps), key=lambda s: s.span.start, reverse=True)
        self._error(
            "E508",
            f"{where} sets both `epochs` and `steps`",
            later.key.span,
            "choose one",
            secondary=[(first.key.span, "also set here")],
            help="a stage runs for a number of epochs or of optimizer steps, not both",
        )
        return later.key.text

    def _unknown_setting(self, s: ast.Setting, allowed: tuple[str, ...], where: str) -> None:
        key = s.key.text
        optimizer_params = {p.name for e in OPTIMIZERS.values() for p in e.params}
        if key in SECTION_KEYS:
            message = f"`{key}` cannot be set in a stage"
            hint = f"set `{key}` once, in the `train` section outside the stages"
        elif key in STAGE_KEYS:
            message = f"`{key}` belongs in a stage"
            hint = f"this section has stages: move `{key} = ...` into the stage it is for"
        else:
            message = f"unknown setting `{key}` in {where}"
            hint = did_you_mean(key, allowed) or known("settings here", list(allowed))
            if key in optimizer_params:
                hint = f"`{key}` is a parameter of the optimizer: `optimizer = adam({key}=...)`"
        self._error("E501", message, s.key.span, "not a setting here", help=hint)

    def _value(self, s: ast.Setting) -> Any:
        """The checked value of one setting, or FAILED once reported."""
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
                return FAILED
        value, complaint = convert(spec, raw)
        label = "not one of the choices" if spec.type == "choice" else "wrong type"
        if complaint is None and spec.check is not None and value is not None:
            complaint, label = spec.check(value), "out of range"
        if complaint is None:
            return value
        message = f"`{spec.name}` {complaint.split(';')[0]}, but got {describe(raw)}"
        self._error("E508", message, expr.span, label, help=f"`{spec.name}` is {spec.doc}")
        return FAILED

    def _names(self, s: ast.Setting) -> Any:
        items = s.value.items if isinstance(s.value, ast.ListExpr) else (s.value,)
        for item in items:
            if not isinstance(item, ast.Ref):
                self._error(
                    "E508",
                    f"`{s.key.text}` lists unit names, but got `{format_expr(item)}`",
                    item.span,
                    "not a unit name",
                    help="write the names the network gives its units, such as "
                    f"`{s.key.text} = [h1, h2]`",
                )
                return FAILED
        return items

    # --- catalogue calls --------------------------------------------------------------------
    def _call(self, expr: ast.Expr, table: Mapping[str, Entry], what: str, example: str) -> Any:
        """A catalogue call (`name(args)` or a bare `name`) bound to its entry's signature."""
        a = "an" if what[0] in "aeiou" else "a"
        if not isinstance(expr, (ast.Ref, ast.Call)):
            message = f"expected {a} {what} such as `{example}`, but got `{format_expr(expr)}`"
            hint = known(f"{what}s", list(table))
            self._error("E508", message, expr.span, f"not {a} {what}", help=hint)
            return FAILED
        callee, args = (expr.name, ()) if isinstance(expr, ast.Ref) else (expr.callee, expr.args)
        entry = table.get(callee.text)
        if entry is None:
            hint = did_you_mean(callee.text, table) or known(f"{what}s", list(table))
            message = f"unknown {what} `{callee.text}`"
            self._error("E502", message, callee.span, f"not {a} {what}", help=hint)
            return FAILED
        params = self._bind(entry, args, expr.span)
        if params is None:
            return FAILED
        return CallPlan(entry.name, MappingProxyType(params), expr.span)

    def _optimizer(self, call: Any) -> Any:
        if call is not FAILED and call.params.get("nesterov") and not call.params["momentum"]:
            self._error(
                "E508",
                f"`{call.name}(nesterov=true)` needs momentum",
                call.span,
                "nesterov without momentum",
                help="add a momentum such as `momentum=0.9`",
            )
            return FAILED
        return call

    def _bind(self, entry: Entry, args: Sequence[ast.Arg], span: Span) -> dict[str, Any] | None:
        positional = [a for a in args if a.name is None]
        keyword = [a for a in args if a.name is not None]
        return bind(entry.name, entry.params, positional, keyword, self.env, self.diags, span)

    # --- data -------------------------------------------------------------------------------
    def _data(
        self, train: ast.Train, s: ast.Setting | None, seed: int, misplaced: bool
    ) -> DataPlan | None:
        if s is None and misplaced:  # E501 points at it in its stage
            return None
        if s is None:
            self._error(
                "E508",
                f"`train {train.network.text}` has no `data` setting",
                train.network.span,
                "needs `data = ...`",
                help="add a data source such as `data = digits(test=0.2)`; "
                "`netspec explain train` lists them all",
            )
            return None
        call = self._call(s.value, SOURCES, "data source", "digits(test=0.2)")
        if call is FAILED:
            return None
        span = s.value.span
        params = self._source_params(call, seed, s.value)
        fields = SOURCES[call.name].fields(params)
        bindings: tuple[Binding, ...] = ()
        if not self.broken and self.graph is not None:
            bindings = bind_data(self.graph, call.name, fields, span, self.diags)
        test, val = params["test"], params["val"]
        return DataPlan(
            call.name, MappingProxyType(params), test, val, params["seed"], fields, bindings, span
        )

    def _source_params(self, call: CallPlan, seed: int, expr: ast.Expr) -> dict[str, Any]:
        """The source's parameters with the section's seed and file paths filled in."""
        span = expr.span
        params = dict(call.params)
        params["seed"] = seed if params["seed"] is None else params["seed"]
        if params["test"] + params["val"] >= 1:
            self._error(
                "E508",
                f"`test` ({params['test']:g}) and `val` ({params['val']:g}) of "
                f"`{call.name}` leave no samples for training",
                span,
                "no training samples",
                help="keep `test + val` below 1, e.g. `test=0.2, val=0.1`",
            )
        for name in SOURCES[call.name].files:
            params[name] = self._data_file(params[name], _arg_span(expr, call.name, name))
        return params

    def _data_file(self, raw: Any, span: Span) -> Any:
        """A data file's path, relative to the spec naming it; refused outside the folders."""
        if not isinstance(raw, str):  # `target=none`
            return raw
        path = self.confinement.locate(raw, span.file)
        refusal = self.confinement.refusal(raw, path, span, "data file")
        if refusal is not None:
            self.diags.append(refusal)
        return path


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
    built = all(n in graph.names for n in declared)
    return not built or any(n.type is None for n in graph.nodes())


def _arg_span(expr: ast.Expr, source: str, param: str) -> Span:
    """Where a source's parameter is written (a keyword's value or its position), else the call."""
    if isinstance(expr, ast.Call):
        names = [p.name for p in SOURCES[source].params]
        positional = [a for a in expr.args if a.name is None]
        for arg in expr.args:
            if arg.name is not None and arg.name.text == param:
                return arg.value.span
        index = names.index(param)
        if index < len(positional):
            return positional[index].value.span
    return expr.span
