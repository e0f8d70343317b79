"""Pre-flight resources: how much memory training a checked network needs, before anything is
allocated, so `check` can warn (W601) and `train` can refuse (E602) instead of meeting an
allocator traceback. Torch-free: the estimate reads only the IR's shapes and parameter counts
and the train plan.

The estimate, in float32 (4 bytes an element), at the peak stage of the plan:
- weights: every parameter of the network (the whole model is on the device in every stage);
- gradients: one per parameter the stage trains (frozen units have none; a greedy stage trains
  one unit at a time, so its largest);
- optimizer state: per trained parameter, as many copies as the stage's optimizer keeps
  (`STATE_COPIES`);
- activations: every node's output per sample, summed, times the stage's batch, times
  `BACKWARD_FACTOR`. Symbolic sizes (`T`) take the data's value when the plan knows it, else
  `DEFAULT_SIZE`, and the estimate says so ("at batch 32, T=128").
Not counted: the data set itself (small ones are moved to the device whole) and the framework's
own workspace, so free memory should exceed the estimate by a margin.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from math import prod
from pathlib import Path

from netspec.diagnostics.core import Diagnostic, Severity, error
from netspec.diagnostics.failure import Failure
from netspec.ir import Graph, Node, Role
from netspec.plan.plans import CallPlan, StagePlan, TrainPlan
from netspec.types import Dim

FLOAT_BYTES = 4
# Above this, `check` warns (W601): more than most laptops and many GPUs can give.
WARN_BYTES = 8 * 1024**3
# Autograd keeps roughly one more tensor per node's output for the backward pass: the input a
# dense layer saves for its weight gradient, the pre-activation of a fused `act=`, a dropout
# mask; and while the backward runs, the gradients flowing back are activation-sized too (freed
# node by node, but the saved tensors are still held). So about twice the forward outputs; on
# specs/mlp.net the tensors autograd saves are 2/3 of this (tests/test_resources.py).
BACKWARD_FACTOR = 2
# The size assumed for a symbolic dimension (such as a sequence length `T`) the plan leaves open.
DEFAULT_SIZE = 128
# Optimizer state tensors per trained parameter, by optimizer; None: depends on `momentum`.
STATE_COPIES: Mapping[str, int | None] = {"sgd": None, "adam": 2, "adamw": 2, "rmsprop": 1}
# An optimizer this table does not know (a plugin's) is assumed to keep Adam's two.
UNKNOWN_STATE_COPIES = 2

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
_SYMBOL = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class Estimate:
    """Training memory of one network at its peak stage; the byte counts are properties."""

    params: int  # all parameters (weights)
    trained: int  # parameters the peak stage updates (gradients and optimizer state)
    optimizer: str  # its optimizer; "" without a train plan
    state_copies: int  # optimizer state tensors per trained parameter
    per_sample: int  # activation elements of one sample: every node's output, summed
    batch: int  # 0 without a train plan
    stage: str = ""
    assumed: tuple[tuple[str, int], ...] = ()  # symbolic sizes given DEFAULT_SIZE

    @property
    def weights(self) -> int:
        return self.params * FLOAT_BYTES

    @property
    def gradients(self) -> int:
        return self.trained * FLOAT_BYTES

    @property
    def optimizer_state(self) -> int:
        return self.trained * self.state_copies * FLOAT_BYTES

    @property
    def activations(self) -> int:
        return self.per_sample * self.batch * FLOAT_BYTES * BACKWARD_FACTOR

    @property
    def total(self) -> int:
        return self.weights + self.gradients + self.optimizer_state + self.activations

    @property
    def training(self) -> bool:
        return bool(self.optimizer)

    def breakdown(self) -> str:
        """`weights 200 KiB, gradients 200 KiB, adam state 400 KiB, activations 400 KiB`."""
        if not self.training:
            return f"weights {format_bytes(self.weights)}"
        return (
            f"weights {format_bytes(self.weights)}, gradients {format_bytes(self.gradients)}, "
            f"{self.optimizer} state {format_bytes(self.optimizer_state)}, "
            f"activations {format_bytes(self.activations)}"
        )

    def conditions(self) -> str:
        """`at batch 32` with the stage when the plan has several, and any assumed size."""
        where = f"at batch {self.batch}"
        if self.stage and self.stage != "main":
            where += f" in stage `{self.stage}`"
        if self.assumed:
            where += ", " + ", ".join(f"{k}={v}" for k, v in self.assumed)
        return where

    def summary(self) -> str:
        """The `memory:` line `netspec check` prints for a network."""
        if not self.training:
            return f"memory: ~{format_bytes(self.weights)} of weights (no `train` section)"
        return (
            f"memory: ~{format_bytes(self.total)} to train {self.conditions()} ({self.breakdown()})"
        )


def estimate(graph: Graph, plan: TrainPlan | None = None) -> Estimate:
    """Training memory of a checked network under `plan`: the stage that needs most; without a
    plan, just the weights."""
    params = _params(graph.nodes())
    sizes, assumed = _sizes(graph, plan)
    per_sample = sum(_elements(n, sizes) for n in graph.nodes() if n.role is not Role.OUTPUT)
    found = tuple(sorted(assumed.items()))
    if plan is None or not plan.stages:
        return Estimate(params, 0, "", 0, per_sample, 0, "", found)
    each = [
        Estimate(
            params,
            _trained(graph, stage),
            stage.optimizer.name,
            state_copies(stage.optimizer),
            per_sample,
            stage.batch,
            stage.name,
            found,
        )
        for stage in plan.stages
    ]
    return max(each, key=lambda e: e.total)


def state_copies(optimizer: CallPlan) -> int:
    """Optimizer state tensors per parameter: SGD's momentum buffer (when momentum > 0), Adam's
    two running averages, RMSprop's squared average (and its momentum buffer)."""
    momentum = 1 if float(optimizer.params.get("momentum", 0.0)) > 0 else 0
    copies = STATE_COPIES.get(optimizer.name, UNKNOWN_STATE_COPIES)
    if copies is None:
        return momentum
    return copies + (momentum if optimizer.name == "rmsprop" else 0)


def _params(nodes: Iterable[Node]) -> int:
    learns = (Role.UNIT, Role.LOSS)
    return sum(int(n.meta.get("params", 0)) for n in nodes if n.role in learns)


def _trained(graph: Graph, stage: StagePlan) -> int:
    if stage.greedy:  # one unit at a time, each with a fresh optimizer
        return max(int(graph.node(s.unit).meta.get("params", 0)) for s in stage.greedy)
    frozen = set(stage.freeze)
    return _params(n for n in graph.nodes() if n.id not in frozen)


def _sizes(graph: Graph, plan: TrainPlan | None) -> tuple[dict[str, int], dict[str, int]]:
    """Symbolic sizes bound by the data's field shapes, and those left to DEFAULT_SIZE."""
    known: dict[str, int] = {}
    for binding in plan.data.bindings if plan is not None else ():
        node_id = graph.names.get(binding.input, binding.input)
        if binding.type is None or binding.part is not None or node_id not in graph:
            continue
        node = graph.node(node_id)
        if node.type is None:
            continue
        known.update((k, v) for k, v in _solve(node.type.dims, binding.type.dims) if k not in known)
    assumed: dict[str, int] = {}
    for node in graph.nodes():
        for dim in node.type.dims if node.type is not None else ():
            for name in _SYMBOL.findall(str(dim)):
                if name not in known:
                    assumed[name] = DEFAULT_SIZE
    return {**known, **assumed}, assumed


def _solve(dims: tuple[Dim, ...], field: tuple[Dim, ...]) -> list[tuple[str, int]]:
    """The symbols of an input's dims that a data field's static shape fixes: position by
    position for the same rank, else the one symbol of a reshaped field (`[40]` feeding
    `[T, 1]`: T=40)."""
    if not all(isinstance(d, int) for d in field):
        return []
    if len(dims) == len(field):
        return [(str(d), int(f)) for d, f in zip(dims, field, strict=True) if _is_symbol(d)]
    symbols = [d for d in dims if isinstance(d, str)]
    rest = prod(d for d in dims if isinstance(d, int))
    total = prod(int(f) for f in field)
    if len(symbols) == 1 and _is_symbol(symbols[0]) and rest and total % rest == 0:
        return [(str(symbols[0]), total // rest)]
    return []


def _is_symbol(dim: Dim) -> bool:
    return isinstance(dim, str) and _SYMBOL.fullmatch(dim) is not None


def _elements(node: Node, sizes: Mapping[str, int]) -> int:
    if node.type is None:
        return 0
    count = 1
    for dim in node.type.dims:
        count *= _size(dim, sizes)
    return count


def _size(dim: Dim, sizes: Mapping[str, int]) -> int:
    """A dimension's value: an int, or an expression of symbols such as `(T-4)//2+1`."""
    if isinstance(dim, int):
        return dim
    return max(0, _evaluate(ast.parse(dim, mode="eval").body, sizes))


def _evaluate(tree: ast.expr, sizes: Mapping[str, int]) -> int:
    if isinstance(tree, ast.Constant) and isinstance(tree.value, int):
        return tree.value
    if isinstance(tree, ast.Name):
        return sizes.get(tree.id, DEFAULT_SIZE)
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.op, ast.USub):
        return -_evaluate(tree.operand, sizes)
    if isinstance(tree, ast.BinOp):
        a, b = _evaluate(tree.left, sizes), _evaluate(tree.right, sizes)
        if isinstance(tree.op, ast.Add):
            return a + b
        if isinstance(tree.op, ast.Sub):
            return a - b
        if isinstance(tree.op, ast.Mult):
            return a * b
        if isinstance(tree.op, ast.FloorDiv) and b:
            return a // b
    return DEFAULT_SIZE  # a form the shape arithmetic does not write; stay near the default


def format_bytes(count: int) -> str:
    """Human units, powers of 1024: `512 B`, `1.2 MiB`, `200 KiB`, `80.0 GiB`."""
    value, unit = float(count), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return f"{count} B"
    return f"{value:.1f} {_UNITS[unit]}" if value < 100 else f"{value:.0f} {_UNITS[unit]}"


# --- check's warning and train's refusal -------------------------------------------------------


def _largest(graph: Graph) -> Node | None:
    units = [n for n in graph.nodes() if n.role in (Role.UNIT, Role.LOSS)]
    top = max(units, key=lambda n: int(n.meta.get("params", 0)), default=None)
    return top if top is not None and int(top.meta.get("params", 0)) > 0 else None


def _largest_label(graph: Graph) -> tuple[Node | None, str]:
    top = _largest(graph)
    if top is None:
        return None, ""
    return top, f"the largest unit: {int(top.meta['params']):,} parameters"


def warning(graph: Graph, found: Estimate, limit: int = WARN_BYTES) -> Diagnostic | None:
    """W601 when training (or, without a plan, holding) the network needs more than `limit`."""
    if found.total <= limit:
        return None
    top, label = _largest_label(graph)
    doing = f"training {found.conditions()}" if found.training else "its weights alone"
    diag = error(  # then made a warning
        "W601",
        f"network `{graph.name}` needs about {format_bytes(found.total)} of memory for "
        f"{doing}, more than {format_bytes(limit)}",
        top.span if top is not None else graph.span,
        label,
        help="use fewer or smaller units, or a smaller `batch`, if no device has that much",
        note=found.breakdown(),
    )
    return replace(diag, severity=Severity.WARNING)


class MemoryRefusal(Failure):
    """Training would not fit in the device's free memory (E602), found before allocating."""

    code = "E602"


def refuse_unaffordable(
    graph: Graph, plan: TrainPlan, free_bytes: int | None, device: str
) -> Estimate:
    """The estimate, or MemoryRefusal when it exceeds `free_bytes` on `device` (None: unknown,
    so no refusal)."""
    found = estimate(graph, plan)
    if free_bytes is None or found.total <= free_bytes:
        return found
    top, label = _largest_label(graph)
    largest = f"; {label}" if label else ""
    raise MemoryRefusal(
        f"training network `{graph.name}` needs about {format_bytes(found.total)} of memory "
        f"{found.conditions()}, but only {format_bytes(free_bytes)} is free on {device}",
        help="use fewer or smaller units, a smaller `batch` (--set batch=N), or another device "
        "(--device cuda, or a machine with more memory)",
        note=f"estimate: {found.breakdown()}{largest}; `netspec explain E602` says how it is made",
        span=top.span if top is not None else None,
        label=label,
    )


def host_available_bytes(meminfo: Path = Path("/proc/meminfo")) -> int | None:
    """Memory the system can give a new allocation without swapping: Linux's MemAvailable, else
    the free physical pages; None where neither is known."""
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # reported in kB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None
