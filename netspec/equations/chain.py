"""Backpropagation through the user's own network: every unit's forward equations in
dependency order, then the chain rule walked in reverse, each unit turning the gradient of its
output into gradients of its inputs and parameters. `explain --backward` prints the walk and
the tests evaluate it (equations/reference.py) against torch.autograd.

A value read by several units gets one gradient contribution from each (`delta_h<-a`), added
before its own unit's backward; a loss whose prediction is the value of its link (softmax for
cross-entropy, sigmoid for binary cross-entropy) starts the walk at the logits, as the lowered
loss does, with the well-known `y - onehot(t)`."""

from __future__ import annotations

from dataclasses import dataclass

from netspec.check import equations
from netspec.equations.expr import LOGITS_DELTA, Eq, Equations, Statement, delta, rename, sym
from netspec.ir import Graph, Node, Role


@dataclass(frozen=True)
class Step:
    """One unit in the walk: its node, equations, and the statements of this pass."""

    node: Node
    equations: Equations
    statements: tuple[Statement, ...]
    given: bool = False  # backward: its output's gradient comes from outside (an output)
    fused: str = ""  # backward: the id of the loss whose gradient on the logits it starts from


def forward(graph: Graph) -> list[Step]:
    """Every unit and loss in dependency order, with its forward statements."""
    steps = []
    for node in _units(graph):
        eqs = equations(graph, node)
        assert eqs is not None, node.id
        steps.append(Step(node, eqs, eqs.forward))
    return steps


def backward(graph: Graph, steps: list[Step] | None = None) -> list[Step]:
    """Every unit and loss in reverse dependency order, with the statements that turn the
    gradient of its output into gradients of its inputs and tensors; `steps`: the forward
    ones, when the caller has them."""
    found = {s.node.id: s.equations for s in (steps or forward(graph))}
    fused = _fusions(graph, found)
    steps = []
    for node in reversed(_units(graph)):
        eqs = found[node.id]
        readers = _readers(graph, node.id)
        statements: list[Statement] = []
        if node.id in fused:
            continue  # its gradient starts at its head's logits, below
        loss = next((lid for lid, head in fused.items() if head == node.id), None)
        own = list(eqs.backward)
        if loss is not None:
            head_delta = delta(eqs.logits)
            cut = next(i for i, s in enumerate(own) if _target(s) == head_delta)
            loss_eqs = found[loss]
            start = loss_eqs.fused[eqs.link]
            own = [rename(s, {LOGITS_DELTA: head_delta}) for s in start] + own[cut + 1 :]
        elif len(readers) > 1:
            parts = [sym(_contribution(node.label, graph.node(r).label)) for r in readers]
            total = parts[0]
            for p in parts[1:]:
                total = total + p
            statements.append(Eq(delta(node.label), total, note="it feeds several units"))
        statements += [rename(s, _renames(graph, node)) for s in own]
        given = not readers and loss is None and node.role is Role.UNIT
        steps.append(Step(node, eqs, tuple(statements), given, loss or ""))
    return steps


def _units(graph: Graph) -> list[Node]:
    nodes = (graph.node(i) for i in graph.topo_order())
    return [n for n in nodes if n.role in (Role.UNIT, Role.LOSS) and n.type is not None]


def _readers(graph: Graph, node_id: str) -> list[str]:
    """The units and losses that read a node (outputs take no gradient back)."""
    return [u for u in graph.users_of(node_id) if graph.node(u).role in (Role.UNIT, Role.LOSS)]


def _contribution(value: str, reader: str) -> str:
    return f"{delta(value)}<-{reader}"


def _renames(graph: Graph, node: Node) -> dict[str, str]:
    """The gradient of each input that several units read, as this unit's contribution."""
    names = {}
    for i in graph.inputs_of(node.id):
        if len(_readers(graph, i)) > 1:
            label = graph.node(i).label
            names[delta(label)] = _contribution(label, node.label)
    return names


def _fusions(graph: Graph, found: dict[str, Equations]) -> dict[str, str]:
    """Loss id -> the head whose logits its backward starts from: the loss reads the value of a
    link it has a fused gradient for, and is that value's only reader."""
    out = {}
    for node in graph.nodes(Role.LOSS):
        head = graph.inputs_of(node.id)[0]
        eqs = found.get(head)
        loss = found.get(node.id)
        if eqs is None or loss is None or not eqs.link or eqs.link not in loss.fused:
            continue
        if _readers(graph, head) == [node.id]:
            out[node.id] = head
    return out


def _target(s: Statement) -> str:
    return s.target if isinstance(s, Eq) else ""
