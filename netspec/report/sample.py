"""Dream with a deep belief net: Gibbs chains in the top RBM of a network's RBM stack, carried
down to the network's input by the lower RBMs' visible means (`netspec sample`).

The stack: RBMs feed each other directly or through layout-only units (`flatten`, `reshape`,
`dropout`) and `concat`s of flat vectors, as in `pixels -> h1 -> h2` or a multimodal net's
`concat(top_h, bottom_h) -> rbm`. Its top is the RBM whose hidden units feed no other RBM (when
several do, the one with most RBMs below it, then the last). A chain alternates h ~ p(h | v) and
v ~ p(v | h) for `steps` steps, from random visible states (fair coin flips; for Gaussian visible
units, p(v | h = 0): noise of sd sigma around sigma b) or, with `start`, from the up-pass of
training samples. The last step's visible means E[v | h] then go down the stack as a DBN
generates (Hinton, Osindero and Teh, 2006): below the top, the layers are directed, so each lower
RBM's hidden states are drawn from the probabilities above it and turned into its visible means,
a concat's share going to each branch. The network inputs show those means, concatenated in
their declared order. (Carrying means all the way down, without the draws, blurs every sample of
a deeper stack toward one average image.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netspec.backend.lower import Lowered
from netspec.backend.nn.energy import RBM
from netspec.diagnostics.failure import Failure
from netspec.ir import Graph, Node, Role
from netspec.report.unit_plots import (
    image_shape,
    is_flat_join,
    is_layout_only,
    size_of,
    unit_kind,
    write_grid,
)
from netspec.units.base import SamplingRole


class SampleError(Failure):
    """A network that cannot be sampled this way (no RBM, say): a user error, exit status 1."""

    code = "E748"


@dataclass(frozen=True)
class Stack:
    """The RBMs a sample passes through: `top`, where the chains run, and every RBM below it."""

    top: str
    units: tuple[str, ...]  # the top and the RBMs under it, bottom-up (the graph's order)

    def describe(self, graph: Graph) -> str:
        """Layer by layer, bottom-up: `h1 -> h2`, or `top_h, bottom_h -> joint`."""
        depth: dict[str, int] = {}
        for unit in self.units:  # bottom-up, so every RBM below is placed first
            under = [depth[b] for b in _below(graph, unit) if b in depth]
            depth[unit] = 1 + max(under, default=0)
        layers = [
            ", ".join(graph.node(u).label for u in self.units if depth[u] == level)
            for level in range(1, max(depth.values()) + 1)
        ]
        return " -> ".join(layers)


@dataclass(frozen=True)
class Samples:
    values: np.ndarray  # (n, D): each chain's sample at the network inputs, concatenated
    stack: Stack
    reached: tuple[str, ...]  # the nodes the samples were carried down to (network inputs)
    shape: tuple[int, int] | None  # one sample as an image (rows, columns); None: a curve
    steps: int
    start: str  # random | data


def _has_role(node: Node, role: SamplingRole) -> bool:
    """Whether the unit's kind plays `role` in sampling: `layer` (an RBM) or `join` (a concat)."""
    kind = unit_kind(node)
    return kind is not None and kind.sampling == role


def _joins(graph: Graph, node: Node) -> bool:
    """Units a stack reaches through: layout-only ones, and joins (concat) whose flat output holds
    each input's values in one piece (`is_flat_join`)."""
    return is_layout_only(node) or is_flat_join(graph, node)


def _below(graph: Graph, node_id: str) -> list[str]:
    """The RBMs whose hidden units feed `node_id`, directly or through `_joins` units."""
    found: list[str] = []
    todo = list(graph.inputs_of(node_id))
    while todo:
        node = graph.node(todo.pop())
        if node.role is not Role.UNIT:
            continue
        if _has_role(node, "layer"):
            found.append(node.id)
        elif _joins(graph, node):
            todo += graph.inputs_of(node.id)
    return found


def rbm_units(graph: Graph) -> list[str]:
    """The units that are layers of an RBM stack, in the graph's order."""
    return [n.id for n in graph.nodes(Role.UNIT) if _has_role(n, "layer")]


def find_stack(graph: Graph) -> Stack:
    """The network's RBM stack; SampleError naming its units when it has no RBM."""
    rbms = rbm_units(graph)
    if not rbms:
        units = ", ".join(f"{n.label} ({n.kind})" for n in graph.nodes(Role.UNIT)) or "none"
        raise SampleError(
            f"network `{graph.name}` has no RBM to sample from (its units: {units}); "
            "`netspec sample` runs Gibbs chains in the top RBM of a stack such as "
            "`pixels -> rbm(256) -> rbm(128)`"
        )
    below = {r: _below(graph, r) for r in rbms}
    fed = {b for bs in below.values() for b in bs}
    order = {r: i for i, r in enumerate(rbms)}

    def closure(top: str) -> set[str]:
        seen, todo = {top}, [top]
        while todo:
            for b in below[todo.pop()]:
                if b not in seen:
                    seen.add(b)
                    todo.append(b)
        return seen

    tops = [r for r in rbms if r not in fed]
    top = max(tops, key=lambda r: (len(closure(r)), order[r]))
    return Stack(top, tuple(sorted(closure(top), key=order.__getitem__)))


def _rbm(lowered: Lowered, node_id: str) -> RBM:
    module = lowered.root.get_submodule(lowered.modules[node_id])
    assert isinstance(module, RBM), f"`{node_id}` lowered to {type(module).__name__}, not an RBM"
    return module


@torch.no_grad()
def gibbs(rbm: RBM, v: torch.Tensor, steps: int, generator: torch.Generator) -> torch.Tensor:
    """`steps` rounds of h ~ p(h | v), v ~ p(v | h) from visible states v: (n, V); the last
    round's visible means E[v | h]: (n, V) (v itself when steps is 0)."""
    mean = v
    for _ in range(steps):
        h = torch.bernoulli(rbm(v), generator=generator)  # (n, H)
        mean = rbm.visible_mean(h)  # (n, V)
        if rbm.gaussian_visible:
            noise = torch.randn(
                mean.shape, generator=generator, dtype=mean.dtype, device=mean.device
            )
            v = mean + rbm.sigma * noise
        else:
            v = torch.bernoulli(mean, generator=generator)
    return mean


def _down(
    graph: Graph,
    lowered: Lowered,
    node_id: str,
    values: torch.Tensor,
    reached: dict[str, list[torch.Tensor]],
    generator: torch.Generator,
) -> None:
    """Carry `values`, the output of `node_id` (n, its size), down to the network inputs."""
    node = graph.node(node_id)
    below = graph.inputs_of(node_id)
    if _has_role(node, "layer"):
        hidden = torch.bernoulli(values.clamp(0.0, 1.0), generator=generator)
        mean = _rbm(lowered, node_id).visible_mean(hidden)
        _down(graph, lowered, below[0], mean, reached, generator)
    elif is_layout_only(node):
        _down(graph, lowered, below[0], values, reached, generator)
    elif node.role is Role.UNIT and _joins(graph, node):
        sizes = [size_of(graph.node(b)) for b in below]
        for b, part in zip(below, torch.split(values, sizes, dim=1), strict=True):
            _down(graph, lowered, b, part, reached, generator)
    else:  # a network input, or a unit the samples cannot be carried through: shown as it is
        reached.setdefault(node_id, []).append(values)


def _up(
    graph: Graph, lowered: Lowered, node_id: str, inputs: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """The output of `node_id` (n, its size) for the network inputs' values, through the stack."""
    node = graph.node(node_id)
    below = graph.inputs_of(node_id)
    if node.role is Role.INPUT:
        if node_id not in inputs:
            raise SampleError(f"the data give no values for input `{node.label}`")
        return inputs[node_id].reshape(len(inputs[node_id]), -1).float()
    if _has_role(node, "layer"):
        hidden: torch.Tensor = _rbm(lowered, node_id)(_up(graph, lowered, below[0], inputs))
        return hidden
    if is_layout_only(node):
        return _up(graph, lowered, below[0], inputs)
    if _joins(graph, node):
        return torch.cat([_up(graph, lowered, b, inputs) for b in below], dim=1)
    raise SampleError(
        f"cannot start the chains from the data: `{node.label}` ({node.kind}) lies between "
        "the network inputs and the RBM stack; use random starts"
    )


@torch.no_grad()
def sample(
    graph: Graph,
    lowered: Lowered,
    n: int = 64,
    steps: int = 1000,
    seed: int = 0,
    data: Mapping[str, torch.Tensor] | None = None,
) -> Samples:
    """n samples of the network's RBM stack (`find_stack`), as values of its inputs.

    `data`: network input id -> training values (samples first); when given, the chains start
    from the up-pass of n of them drawn at random, else from random visible states.
    """
    stack = find_stack(graph)
    top = _rbm(lowered, stack.top)
    lowered.root.eval()
    device, dtype = top.W.device, top.W.dtype  # the chains run where the model is
    generator = torch.Generator(device=device).manual_seed(seed)
    visible = top.W.shape[1]
    if data is not None:
        count = len(next(iter(data.values())))
        if count == 0:
            raise SampleError("the training split is empty: no samples to start from")
        pick = (
            torch.randperm(count, generator=generator, device=device)[:n]
            if n <= count
            else torch.randint(count, (n,), generator=generator, device=device)
        )
        chosen = {k: v.to(device)[pick] for k, v in data.items()}
        below = graph.inputs_of(stack.top)[0]
        v0 = _up(graph, lowered, below, chosen).to(dtype)  # (n, V)
        if not top.gaussian_visible:
            v0 = torch.bernoulli(v0.clamp(0.0, 1.0), generator=generator)
    elif top.gaussian_visible:
        noise = torch.randn(n, visible, generator=generator, dtype=dtype, device=device)
        v0 = top.sigma * (top.b.detach() + noise)  # p(v | h = 0)
    else:
        half = torch.full((n, visible), 0.5, dtype=dtype, device=device)
        v0 = torch.bernoulli(half, generator=generator)
    means = gibbs(top, v0, steps, generator)  # (n, V)
    reached: dict[str, list[torch.Tensor]] = {}
    _down(graph, lowered, graph.inputs_of(stack.top)[0], means, reached, generator)
    order = {node.id: i for i, node in enumerate(graph.nodes())}
    names = tuple(sorted(reached, key=order.__getitem__))
    # An input reached along two paths (two RBMs on one input) gets the mean of both.
    parts = [torch.stack(reached[k]).mean(0) for k in names]
    values = torch.cat(parts, dim=1).float().cpu().numpy()
    t = graph.node(names[0]).type if len(names) == 1 else None
    return Samples(
        values,
        stack,
        names,
        image_shape(t, values.shape[1], loose=True),
        steps,
        "data" if data is not None else "random",
    )


def write_samples(samples: Samples, graph: Graph, path: Path) -> Path:
    """The samples as a PNG grid: images when their shape allows, else curves."""
    unit_range = bool(samples.values.min() >= 0.0 and samples.values.max() <= 1.0)
    title = (
        f"{len(samples.values)} samples of {samples.stack.describe(graph)}, "
        f"{samples.steps} Gibbs steps from {samples.start} starts"
    )
    return write_grid(samples.values, samples.shape, path, title, unit_range)


def training_inputs(compiled: Any, network: str) -> dict[str, torch.Tensor]:
    """The training split of the network's `train` section, as tensors by input id."""
    from netspec.data.loading import DataError, load

    plan = compiled.trains.get(network)
    if plan is None:
        raise SampleError(
            f"network `{network}` has no `train` section, so no data to start the chains from; "
            "use random starts"
        )
    try:
        dataset = load(plan.data, compiled.networks[network])
    except DataError as exc:
        raise SampleError(exc.message) from None
    return {k: torch.from_numpy(np.asarray(v)) for k, v in dataset.train.arrays.items()}
