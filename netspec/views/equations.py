"""What `netspec explain FILE` prints for a network: each unit's forward equations in dependency
order with every tensor it learns and its shape, then (`--backward`) the chain rule walked from
the loss down through the same units, each gradient with its shape; the operators used are
defined once at the end. Everything comes from the kinds' equations (netspec/equations), which
the tests evaluate against the code that runs."""

from __future__ import annotations

from typing import Any

from netspec.check import context, equations
from netspec.equations import chain
from netspec.equations.expr import (
    Eq,
    Equations,
    Statement,
    definitions,
    delta,
    grad,
    statement_lines,
    tensor_list,
)
from netspec.ir import Graph, Node, Role
from netspec.lang.source import Sources
from netspec.plan import catalog
from netspec.plan.plans import CallPlan
from netspec.plan.trainspec import GreedyStep, StagePlan, TrainPlan
from netspec.types import TensorType
from netspec.units import REGISTRY


def listing(
    graph: Graph, sources: Sources | None, backward: bool = False, plan: TrainPlan | None = None
) -> str:
    """The network's equations: forward, and with `backward` the gradients too, then what each
    stage of its train section (`plan`) does with them."""
    lines = [f"network {graph.name}"]
    for node in graph.nodes(Role.INPUT):
        lines.append(f"  {node.label}: {node.type}  (observed)")
    used: list[Statement] = []
    total = 0
    steps = chain.forward(graph)
    for step in steps:
        count = int(step.node.meta.get("params", 0))
        total += count
        tensors = tensor_list(step.equations.tensors)
        head = f"  {_call(step.node, sources)}"
        if count:
            head += f"    [{count:,} params: {tensors}]"
        elif tensors:
            head += f"    [{tensors}]"
        lines.append(head)
        lines += _body(step.statements, step.equations.notes)
        lines += [f"    {c.text or c.method}    ({c.method})" for c in step.equations.checks]
        used += step.statements
    lines.append(f"  total: {total:,} parameters")
    if backward:
        lines.append("")
        lines += _backward(graph, sources, used, steps)
    where = definitions(used)
    if where:
        lines.append("  where")
        lines += [f"    {d}" for d in where]
    if backward and plan is not None:
        lines += _stages(graph, plan)
    return "\n".join(lines) + "\n"


def _call(node: Node, sources: Sources | None) -> str:
    """`h.dense: dense(128, act=relu)`: the unit's name and its call as written."""
    text = sources.text(node.span.file) if sources is not None else None
    call = node.kind
    if text is not None:
        call = " ".join(text[node.span.start : node.span.end].split())
    return f"{node.label}: {call}" if node.role is Role.UNIT else call


def _body(statements: tuple[Statement, ...], notes: tuple[str, ...]) -> list[str]:
    lines = [line for s in statements for line in statement_lines(s, "    ")]
    return lines + [f"    ({note})" for note in notes]


def _backward(
    graph: Graph, sources: Sources | None, used: list[Statement], steps: list[chain.Step]
) -> list[str]:
    """The chain rule in reverse dependency order, each gradient with its shape; `steps` are
    the forward ones."""
    lines = [
        "backward: the chain rule, from the loss down (delta_v = dL/dv, per sample; "
        "dL/dW sums over the batch)"
    ]
    shapes = _shapes(graph, steps)
    for step in chain.backward(graph, steps):
        head = f"  {_call(step.node, sources)}"
        if step.fused:
            head += f"  (with {graph.node(step.fused).label}, which reads its logits)"
        if step.given:
            head += f"  ({delta(step.node.label)} comes from the loss or the caller)"
        lines.append(head)
        for s in step.statements:
            for line in statement_lines(s, "    "):
                lines.append(line + _shape(s, line, shapes))
        used += step.statements
    return lines


def _shapes(graph: Graph, steps: list[chain.Step]) -> dict[str, str]:
    """The shape of each gradient the walk names: a value's is its type's, a tensor's its own."""
    out: dict[str, str] = {}
    for step in steps:
        if isinstance(step.node.type, TensorType) and step.node.role is Role.UNIT:
            out[delta(step.node.label)] = str(step.node.type)
        for t in step.equations.tensors:
            out[grad(t.name)] = "[" + ", ".join(map(str, t.dims)) + "]"
    for node in graph.nodes(Role.INPUT):
        out[delta(node.label)] = str(node.type)
    return out


def _shape(s: Statement, line: str, shapes: dict[str, str]) -> str:
    if not isinstance(s, Eq) or not line.lstrip().startswith(s.target + " ="):
        return ""
    name = s.target.split("<-")[0]
    return f"    {shapes[name]}" if name in shapes else ""


def _stages(graph: Graph, plan: TrainPlan) -> list[str]:
    """What each stage does with the gradients: the optimizer's update with the spec's values,
    the units it freezes; a greedy stage's rule for each unit it pretrains."""
    lines = []
    for stage in plan.stages:
        lines.append("")
        lines.append(f"stage {stage.name}: {_what(graph, stage)}")
        rules = [_rule(graph, stage, greedy) for greedy in stage.greedy]
        for rule_lines, _ in rules:
            lines += rule_lines
        entry = catalog.OPTIMIZERS[stage.optimizer.name]
        rules_step = bool(rules) and all(steps for _, steps in rules)
        if entry.update is not None and not rules_step:  # else the rules above make the step
            lines += [f"  {line}" for line in _update(entry, stage)]
    return lines


def _rule(graph: Graph, stage: StagePlan, greedy: GreedyStep) -> tuple[list[str], bool]:
    """One greedy unit's pretraining rule with the stage's settings: what it samples or
    corrupts, and the update it makes to the unit's tensors at every minibatch; and whether
    the rule makes the optimizer's step itself (it sets the tensors rather than gradients)."""
    kind = REGISTRY[greedy.kind]
    node = graph.node(greedy.unit)
    args = ", ".join(f"{k}={v}" for k, v in greedy.method.params.items())
    lines = [f"  {greedy.name} by {greedy.method.name}({args}):"]
    if kind.pretraining is None:
        return [*lines, "    (no equations for this rule)"], False
    eqs = kind.pretraining(context(graph, node), rule_settings(greedy.method, stage.optimizer))
    unit = equations(graph, node)
    own = {t.name for t in unit.tensors} if unit is not None else set()
    steps_itself = any(isinstance(s, Eq) and s.target in own for s in eqs.backward)
    return lines + rule_body(eqs), steps_itself


def rule_settings(method: CallPlan, optimizer: CallPlan) -> dict[str, Any]:
    """What a kind's `pretraining` hook reads: the method's and the optimizer's parameters."""
    return {"method": method.name, **method.params, "optimizer": optimizer.name, **optimizer.params}


def rule_body(eqs: Equations) -> list[str]:
    """A pretraining rule's statements, then its notes, indented under its heading."""
    lines = [line for s in (*eqs.forward, *eqs.backward) for line in statement_lines(s, "    ")]
    return lines + [f"    ({note})" for note in eqs.notes]


def _what(graph: Graph, stage: StagePlan) -> str:
    if len(stage.greedy) == 1:
        return f"pretrains {stage.greedy[0].name} with its own rule"
    if stage.greedy:
        units = ", ".join(g.name for g in stage.greedy)
        return f"pretrains {units} one at a time, bottom-up, each with its own rule"
    if stage.freeze:
        frozen = ", ".join(graph.node(u).label for u in stage.freeze)
        return f"follows the gradients above, except for {frozen} (frozen)"
    return "follows the gradients above"


def _update(entry: catalog.Entry, stage: StagePlan) -> list[str]:
    from netspec.views.explain import show, update_lines  # explain's pages build on this one

    args = ", ".join(f"{k}={show(v)}" for k, v in stage.optimizer.params.items())
    return [f"{entry.name}({args})", *update_lines(entry, stage.optimizer.params)]
