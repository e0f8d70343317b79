"""Gradients you can see: for every weighted unit and every epoch of the supervised stages, the
gradient norm ||dL/dtheta|| (all the unit's parameters together), the update/weight ratio
||theta_after - theta_before|| / ||theta_before|| of an optimizer step, and the fraction of its
units saturated (sigmoid, tanh) or dead (relu).

They are measured on the first step of each epoch and every `grad_stats_every` steps, from the
gradients backward has just computed: no extra backward. A measured step's values stay on the
device; an epoch's means move to the CPU in one transfer at its end, into the run's
gradients.json (views/gradient_colors.py reads it without torch)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from netspec.backend.lower import Lowered
from netspec.ir import Graph, Role
from netspec.views.gradient_colors import FILE, FORMAT, MEASURES

__all__ = ["FILE", "GradientRecorder", "Probe", "saturation", "tracked_units"]

NEAR = 0.01  # a sigmoid or tanh output this close to a bound counts as saturated

# The activations whose saturation is measured, by the torch function that computes them (on
# the module's output: a unit's own `post` as in dense(act=sigmoid), or an activation unit that
# reads it; or what a module's forward ends with, its `activation`), with the bounds its
# outputs saturate at; None for a rectifier, which is dead where it outputs 0 on every sample.
Bounds = tuple[float, float] | None
SATURATING: dict[Callable[..., Any], Bounds] = {
    torch.sigmoid: (0.0, 1.0),
    torch.tanh: (-1.0, 1.0),
    torch.relu: None,
    F.relu: None,
}


def saturation(values: torch.Tensor, bounds: Bounds) -> torch.Tensor:
    """The saturated fraction of a batch of activations (B, ...): with bounds, of the outputs
    within NEAR of one; without (a rectifier), of the units that are 0 on every sample (dead).

    >>> saturation(torch.tensor([[0.001, 0.5], [0.999, 0.5]]), (0.0, 1.0)).item()
    0.5
    >>> saturation(torch.tensor([[0.0, 2.0], [0.0, 0.0]]), None).item()
    0.5
    """
    flat = values.detach().float().flatten(1)  # (B, F): one column per unit
    if bounds is None:
        return (flat == 0).all(dim=0).float().mean()
    low, high = bounds
    return ((flat < low + NEAR) | (flat > high - NEAR)).float().mean()


# --- the units ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tracked:
    """A weighted unit whose gradients are recorded, and how to read its activation."""

    id: str
    label: str
    module: nn.Module
    params: tuple[nn.Parameter, ...]
    activation: str  # the activation's name (sigmoid, tanh, relu), or "" when not known
    bounds: Bounds
    # applied to the module's output to give the activation; None: the output is the activation
    post: Callable[..., Any] | None


def tracked_units(lowered: Lowered, graph: Graph) -> list[Tracked]:
    """The units with parameters, inputs first (topological order)."""
    units = []
    for node_id in graph.topo_order():
        node = graph.node(node_id)
        if node.role is not Role.UNIT or node_id not in lowered.modules:
            continue
        module = lowered.root.get_submodule(lowered.modules[node_id])
        params = tuple(module.parameters())
        if params:
            function, post = _activation(lowered, node_id, module)
            name = function.__name__ if function is not None else ""
            bounds = SATURATING[function] if function is not None else None
            units.append(Tracked(node_id, node.label, module, params, name, bounds, post))
    return units


def _activation(
    lowered: Lowered, node_id: str, module: nn.Module
) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    """The unit's saturating activation and what to apply to its module's output to get it:
    the one its forward ends with (`activation`, as the RBM's sigmoid; nothing to apply), or
    the one function of SATURATING the objective applies to the module's output."""
    own = getattr(module, "activation", None)
    if callable(own) and own in SATURATING:
        return own, None
    target = lowered.modules[node_id]
    calls = [
        n for n in lowered.objective.graph.nodes if n.op == "call_module" and n.target == target
    ]
    found = {
        user.target
        for call in calls
        for user in call.users
        if user.op == "call_function" and callable(user.target) and user.target in SATURATING
    }
    if len(calls) == 1 and len(found) == 1:
        (post,) = found
        assert callable(post)
        return post, post
    return None, None


# --- one measured step ----------------------------------------------------------------------------


class Probe:
    """One measured step. Made before the forward (it hooks the units' outputs), then
    `gradients()` after backward and `update()` after the optimizer step."""

    def __init__(self, recorder: GradientRecorder) -> None:
        self.recorder = recorder
        self.saturated: dict[int, torch.Tensor] = {}  # unit index -> () fraction
        units = recorder.units if recorder.hooks else []
        self.handles = [
            u.module.register_forward_hook(self._hook(i, u))
            for i, u in enumerate(units)
            if u.activation
        ]
        self.norms: list[torch.Tensor] = []  # the gradients' norms, then the weights'
        self.before: list[torch.Tensor] = []
        self.measured: list[torch.Tensor] = []  # the parameters with a gradient

    def _hook(self, index: int, unit: Tracked) -> Callable[..., None]:
        def hook(_: nn.Module, args: Any, output: Any) -> None:
            if isinstance(output, torch.Tensor):
                value = output if unit.post is None else unit.post(output)
                self.saturated[index] = saturation(value, unit.bounds)

        return hook

    @torch.no_grad()
    def gradients(self) -> None:
        """After backward: the units' gradient and weight norms, and the weights before the
        step (to measure the update). Frozen parameters are left out: the gradient they hold
        is one an earlier stage left."""
        for handle in self.handles:
            handle.remove()
        self.measured = [p for p in self.recorder.flat if p.requires_grad and p.grad is not None]
        if not self.measured:
            return
        grads = [p.grad for p in self.measured if p.grad is not None]
        self.norms = [*torch._foreach_norm(grads), *torch._foreach_norm(self.measured)]
        self.before = list(torch._foreach_mul(self.measured, 1.0))  # a copy of each, one call

    @torch.no_grad()
    def update(self) -> None:
        """After the optimizer step: hand the step's measures (MEASURES, units) to the
        recorder, on the device."""
        recorder = self.recorder
        if not self.measured:
            return
        deltas = torch._foreach_sub(self.measured, self.before)
        norms = torch.stack([*self.norms, *torch._foreach_norm(deltas)])  # (3 P,)
        owner, missing = recorder.owners(self.measured)  # (P,) each one's unit; (U,) none
        per_unit = recorder.zeros.index_add(1, owner, norms.view(3, -1).square()).sqrt()
        grad, weight, step = per_unit  # (U,) each
        nan = recorder.nan
        sat = torch.stack([self.saturated.get(i, nan) for i in range(len(recorder.units))])
        values = torch.stack([grad, step / weight, sat])  # (3, U)
        recorder.add(values.masked_fill(missing, math.nan))


# --- the recorder ---------------------------------------------------------------------------------


class GradientRecorder:
    """The run's gradient statistics: measured every `every` steps of the supervised stages (0:
    never), averaged per epoch in `epochs`, the rows of gradients.json."""

    def __init__(self, lowered: Lowered, graph: Graph, every: int, hooks: bool = True) -> None:
        self.network = graph.name
        self.every = every
        self.units = tracked_units(lowered, graph) if every else []
        self.flat: list[torch.Tensor] = [p for u in self.units for p in u.params]
        # Under torch.compile a hook added for one step would make dynamo recompile the forward;
        # there saturation is not measured.
        self.hooks = hooks
        self.epochs: list[dict[str, Any]] = []
        self.measures: list[torch.Tensor] = []  # the epoch's measured steps', (3, U) each
        device = self.flat[0].device if self.flat else None
        self.zeros = torch.zeros(len(MEASURES), len(self.units), device=device)
        self.nan = torch.tensor(math.nan, device=device)
        self._owners: dict[tuple[int, ...], tuple[torch.Tensor, torch.Tensor]] = {}
        self._unit_of = {id(p): i for i, u in enumerate(self.units) for p in u.params}

    @property
    def steps(self) -> int:
        """The steps measured in the epoch so far."""
        return len(self.measures)

    def probe(self, step: int) -> Probe | None:
        """A probe if stage step `step` is measured: the epoch's first (after a resume too) and
        every `every`th; None otherwise, and always when recording is off."""
        if not self.units or (self.measures and step % self.every):
            return None
        return Probe(self)

    def owners(self, params: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Each parameter's unit index, and which units have none of them, on the device
        (cached: a host-to-device copy each step would wait for the device)."""
        key = tuple(id(p) for p in params)
        if key not in self._owners:
            index = [self._unit_of[id(p)] for p in params]
            missing = [i not in index for i in range(len(self.units))]
            device = params[0].device
            self._owners[key] = (
                torch.tensor(index, device=device),
                torch.tensor(missing, device=device),
            )
        return self._owners[key]

    def add(self, values: torch.Tensor) -> None:
        """One measured step's values (MEASURES, units), NaN where a unit has none."""
        self.measures.append(values)

    def epoch_end(self, stage: str, epoch: int, step: int, row: int) -> bool:
        """Close the epoch (`row` is its row in metrics.jsonl): its means into `epochs`, moved
        to the CPU in one transfer. False when it measured nothing."""
        if not self.measures:
            return False
        means = torch.stack(self.measures).nanmean(dim=0).cpu().tolist()  # (3, U); NaN: none
        entry: dict[str, Any] = {"stage": stage, "epoch": epoch, "step": step, "row": row}
        entry["measured_steps"] = self.steps
        for name, values in zip(MEASURES, means, strict=True):
            entry[name] = {u.id: _number(v) for u, v in zip(self.units, values, strict=True)}
        self.epochs.append(entry)
        self.measures = []
        return True

    def document(self) -> dict[str, Any]:
        """gradients.json: the format, the units (inputs first) and the epochs."""
        units = [{"id": u.id, "label": u.label, "activation": u.activation} for u in self.units]
        return {
            "format": FORMAT,
            "network": self.network,
            "every": self.every,
            "measures": list(MEASURES),
            "units": units,
            "epochs": self.epochs,
        }

    def resume(self, data: Mapping[str, Any], rows: int) -> None:
        """Continue a run's record: its epochs up to metrics row `rows` (the checkpoint's)."""
        self.epochs = [e for e in data.get("epochs", []) if e["row"] <= rows]


def _number(value: float) -> float | None:
    """A mean for JSON: None where there was none, or no ratio (weights all zero)."""
    return value if math.isfinite(value) else None


def read_document(run: Path) -> dict[str, Any] | None:
    """A run's gradients.json as written, or None (for a resume, which keeps its epochs)."""
    try:
        data = json.loads((run / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None
