"""Check a `train` stage's units against its network: `greedy`, `freeze`, and its loss.

Also what the section checker in `netspec.plan.trainspec` shares with it: the checker base class
with the diagnostics list and error helpers, `FAILED`, `Scope`, `value_of` and `known`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from netspec.diagnostics.core import Diagnostic, did_you_mean, error
from netspec.ir import Graph, Node, Role
from netspec.lang import ast
from netspec.lang.source import Span
from netspec.plan.catalog import (
    DEFAULT_EPOCHS,
    METHODS,
    OPTIMIZERS,
    SCALARS,
    SCHEDULES,
    method_kinds,
    pretrainable_kinds,
)
from netspec.plan.plans import CallPlan, GreedyStep, StagePlan
from netspec.units import REGISTRY

_T = TypeVar("_T")
FAILED: Any = object()  # a setting already reported: checks that depend on it stay quiet
Scope = dict[str, tuple[Any, ast.Setting]]  # evaluated settings with where they were written


class Checker:
    """What the section and stage checkers share: the network and the diagnostics."""

    def __init__(self, graph: Graph | None, diags: list[Diagnostic]) -> None:
        self.graph = graph
        self.diags = diags
        self.start = len(diags)  # more diagnostics than this: the section has errors

    def _distinct(
        self, named: Sequence[tuple[str, Span, _T]], what: str, verb: str, fix: str
    ) -> list[_T]:
        """The items whose names are new, reporting each repeat (E507)."""
        first: dict[str, Span] = {}
        kept = []
        for name, span, item in named:
            if name in first:
                self._error(
                    "E507",
                    f"{what}`{name}` is {verb} twice",
                    span,
                    f"{verb} again here",
                    secondary=[(first[name], f"first {verb} here")],
                    help=fix,
                )
            else:
                first[name] = span
                kept.append(item)
        return kept

    def _error(
        self,
        code: str,
        message: str,
        span: Span,
        label: str,
        *,
        help: str | None = None,
        secondary: Sequence[tuple[Span, str]] = (),
    ) -> None:
        self.diags.append(error(code, message, span, label, help=help, secondary=secondary))


class StageChecker(Checker):
    """Check a stage's units against the network: `greedy`, `freeze`, and what it learns from."""

    def __init__(
        self, graph: Graph | None, diags: list[Diagnostic], declared: set[str], broken: bool
    ) -> None:
        super().__init__(graph, diags)
        self.declared = declared
        self.broken = broken

    def plan(self, what: str, name: str, span: Span, vals: Scope, monitor: str) -> StagePlan | None:
        """The stage's plan, or None when the section has errors so far."""
        greedy: tuple[GreedyStep, ...] = ()
        frozen: tuple[str, ...] = ()
        if "greedy" in vals:
            greedy = self._greedy_stage(vals)
        else:
            frozen = self._supervised_stage(what, span, vals)
        if len(self.diags) > self.start:
            return None
        epochs, steps = value_of(vals, "epochs"), value_of(vals, "steps")
        return StagePlan(
            name,
            "pretrain" if "greedy" in vals else "supervised",
            value_of(vals, "optimizer"),
            value_of(vals, "schedule"),
            value_of(vals, "batch"),
            DEFAULT_EPOCHS if epochs is None and steps is None else epochs,
            steps,
            greedy,
            frozen,
            value_of(vals, "early_stop"),
            monitor,
            value_of(vals, "clip"),
            value_of(vals, "eval_every"),
            span,
        )

    def _greedy_stage(self, vals: Scope) -> tuple[GreedyStep, ...]:
        if "freeze" in vals:
            self._error(
                "E508",
                "`freeze` has no effect in a greedy stage",
                vals["freeze"][1].key.span,
                "not for greedy stages",
                help="a greedy stage trains only the units it lists, one at a time; "
                "remove `freeze`",
            )
        return self._greedy(vals)

    def _supervised_stage(self, what: str, span: Span, vals: Scope) -> tuple[str, ...]:
        if "method" in vals and vals["method"][0] is not FAILED:
            self._error(
                "E508",
                f"`method` is set, but {what} pretrains no units",
                vals["method"][1].key.span,
                "only for greedy stages",
                help="list the units to pretrain with `greedy = [...]`, or remove `method`",
            )
        frozen = self._freeze(vals)
        self._supervised(what, span, frozen, vals)
        return frozen

    def _greedy(self, vals: Scope) -> tuple[GreedyStep, ...]:
        refs, setting = vals["greedy"]
        method = vals["method"][0] if "method" in vals else None
        if refs is FAILED or method is FAILED or self.graph is None:
            return ()
        if not refs:
            self._error(
                "E508",
                "`greedy` lists no units",
                setting.value.span,
                "empty list",
                help="list the units to pretrain, bottom-up, such as `greedy = [h1, h2]`",
            )
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
            self._error(
                "E505",
                f"block call `{ref.name.text}` holds no unit that can be pretrained",
                ref.span,
                "nothing to pretrain",
                help=f"greedy stages pretrain {_kinds(pretrainable_kinds())} units",
            )
        return units

    def _pretrain_step(
        self, ref: ast.Ref, node: Node, method: CallPlan | None, reported: set[str]
    ) -> GreedyStep | None:
        kind, label = REGISTRY[node.kind], ref.name.text
        named = self.graph is not None and self.graph.names.get(label) == node.id
        if not kind.pretrain:
            self._error(
                "E505",
                f"`{label}` is a unit of kind `{node.kind}`, which has no "
                "unsupervised training rule",
                ref.span,
                "cannot be pretrained",
                help=self._not_pretrainable_help(node, label),
            )
            return None
        if method is None:  # each unit's own default: the first method its kind lists
            method = CallPlan.default(METHODS[kind.pretrain[0]])
        elif method.name not in kind.pretrain:
            if node.kind not in reported:  # one error per kind: the fix is the same
                reported.add(node.kind)
                self._wrong_method(ref, node, method)
            return None
        return GreedyStep(node.id, label if named else node.id, node.kind, method)

    def _wrong_method(self, ref: ast.Ref, node: Node, method: CallPlan) -> None:
        pretrains = f"`{method.name}` pretrains {_kinds(method_kinds(method.name))} units"
        self._error(
            "E505",
            f"`{method.name}` cannot pretrain `{ref.name.text}`, a unit of kind `{node.kind}`",
            ref.span,
            f"kind `{node.kind}`",
            secondary=[(method.span, pretrains)],
            help=f"`{node.kind}` units pretrain with {_kinds(REGISTRY[node.kind].pretrain, 'or')}; "
            "remove `method` to give each unit its own default",
        )

    def _not_pretrainable_help(self, node: Node, label: str) -> str:
        assert self.graph is not None
        inner = [
            n
            for n in self.graph.nodes(Role.UNIT)
            if n.id.startswith(node.id + ".") and REGISTRY[n.kind].pretrain
        ]
        if inner:
            return (
                f"`{label}` names the `{node.kind}` at the end of its chain; give the "
                f"`{inner[-1].kind}` before it a name of its own and list that"
            )
        kinds = _kinds(pretrainable_kinds())
        return f"greedy stages pretrain {kinds} units; `{label}` learns in a supervised stage"

    def _bottom_up(self, steps: list[tuple[GreedyStep, ast.Ref]]) -> None:
        """Report the first listed unit that feeds one listed before it (E504)."""
        assert self.graph is not None
        order = {n: i for i, n in enumerate(self.graph.topo_order())}
        for j, (later, ref) in enumerate(steps):
            above = next(((s, r) for s, r in steps[:j] if later.unit in self._below(s.unit)), None)
            if above is None:
                continue
            fixed = sorted(
                dict.fromkeys(r.name.text for _, r in steps),
                key=lambda n: min(order[s.unit] for s, r in steps if r.name.text == n),
            )
            name, above_name = ref.name.text, above[1].name.text
            self._error(
                "E504",
                f"`{name}` feeds `{above_name}`, so it must come first: `greedy` lists units "
                "bottom-up",
                ref.span,
                "listed after a unit it feeds",
                secondary=[(above[1].span, f"`{above_name}` listed here")],
                help=f"reorder: `greedy = [{', '.join(fixed)}]`",
            )
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
        if refs is FAILED or self.graph is None:
            return ()
        chosen = {n.id for ref in self._unique(refs) for n in self._resolve(ref) or []}
        # A name stands for its whole statement: `h = x -> dense(64) -> dropout(0.1)` freezes
        # the dense layer too, whose id is `h.dense`.
        members = tuple(f"{node_id}." for node_id in chosen)
        units = self.graph.nodes(Role.UNIT)
        return tuple(
            n.id
            for n in units
            if (n.id in chosen or n.id.startswith(members)) and n.meta.get("params", 0) > 0
        )

    def _supervised(self, what: str, span: Span, frozen: tuple[str, ...], vals: Scope) -> None:
        """Report a supervised stage with no loss or no unfrozen weighted unit to train (E506)."""
        if self.broken or self.graph is None:
            return
        graph = self.graph
        if not any(True for _ in graph.nodes(Role.LOSS)):
            self._no_loss(what, span, graph)
            return
        weighted = [n for n in graph.nodes(Role.UNIT) if n.meta.get("params", 0) > 0]
        if not weighted:
            self._error(
                "E506",
                f"network `{graph.name}` has no unit with weights to train",
                span,
                "nothing to train",
                help="add a unit with weights, such as `dense` or `softmax`, between the "
                "inputs and the loss",
            )
        elif len(frozen) == len(weighted):
            self._error(
                "E506",
                f"{what} leaves no unit with weights to train",
                vals["freeze"][1].value.span,
                "every weighted unit is frozen",
                help="units with weights: " + ", ".join(f"`{n.label}`" for n in weighted),
            )

    def _no_loss(self, what: str, span: Span, graph: Graph) -> None:
        kinds = [REGISTRY.get(graph.node(i).kind) for i in graph.names.values()]
        units = [n for n, k in zip(graph.names, kinds, strict=True) if k and k.pretrain]
        hint = f", or pretrain its units: `greedy = [{', '.join(units)}]`" if units else ""
        self._error(
            "E506",
            f"{what} trains with supervision, but network `{graph.name}` has no `loss`",
            span,
            "nothing to learn from",
            help=f"add a loss such as `loss cross_entropy(y, label)`{hint}",
        )

    def _unique(self, refs: Sequence[ast.Ref]) -> list[ast.Ref]:
        named = [(r.name.text, r.span, r) for r in refs]
        return self._distinct(named, "", "listed", "list each unit once")

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
            self._error(
                "E504",
                f"`{name}` is an input of `{graph.name}`, not a unit",
                ref.span,
                "an input",
                help="list units: the names given to unit results, such as `h1` in "
                "`h1 = rbm(pixels, 256)`",
            )
            return None
        if name in self.declared:
            return None  # its definition failed, and that was reported
        named = [n for n, i in graph.names.items() if graph.node(i).role is Role.UNIT]
        named += list(sites)
        hint = did_you_mean(name, named) or known("its named units", named)
        message = f"network `{graph.name}` has no unit named `{name}`"
        self._error("E504", message, ref.span, f"not a unit of `{graph.name}`", help=hint)
        return None


def value_of(vals: Scope, key: str) -> Any:
    """A setting's value, else its default."""
    if key in vals:
        return vals[key][0]
    if key in SCALARS:
        return SCALARS[key].default
    return CallPlan.default(OPTIMIZERS["adam"] if key == "optimizer" else SCHEDULES["constant"])


def _sites(graph: Graph | None) -> Mapping[str, Any]:
    return graph.sites if graph is not None else {}


def known(what: str, names: Sequence[str]) -> str:
    if not names:
        return f"there are no {what}"
    shown = ", ".join(f"`{n}`" for n in names[:12])
    return f"{what}: {shown}" + (", ..." if len(names) > 12 else "")


def _kinds(names: Sequence[str], last: str = "and") -> str:
    quoted = [f"`{n}`" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" {last} {quoted[-1]}"
