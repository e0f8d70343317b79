"""Per-head metrics: the loss of every head, accuracy for class and binary targets, mse and mae
for real ones; running means over an epoch, whole-split evaluation and confusion matrices.
Steps of a sequence target labelled NO_LABEL (padding) count in no accuracy or confusion matrix.

The objective returns losses and the network's outputs; a head's prediction need not be an
output, so `probe` copies the objective's fx graph and also returns each head's prediction and
target, found by the `netspec_id` that lowering puts on every fx node.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import fx

from netspec.backend.lower import Lowered
from netspec.ir import Graph, Role
from netspec.types import NO_LABEL

Batch = Sequence[torch.Tensor]
Forward = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class HeadSpec:
    """A loss head and how to score its prediction."""

    name: str
    kind: str  # the loss: cross_entropy | bce | mse | l1
    target: str  # class | binary | real
    threshold: float = 0.0  # binary heads: 0.5 on probabilities, 0 on logits
    classes: int | None = None

    @property
    def scores(self) -> tuple[str, ...]:
        """The metric names besides the loss."""
        return ("acc",) if self.target in ("class", "binary") else ("mse", "mae")


def head_specs(lowered: Lowered, graph: Graph) -> tuple[HeadSpec, ...]:
    specs = []
    for head in lowered.heads:
        t = graph.node(head.target).type
        dtype = t.dtype if t is not None else "real"
        threshold = 0.5 if _gives_probabilities(lowered, head.prediction) else 0.0
        classes = t.classes if t is not None else None
        specs.append(HeadSpec(head.name, head.kind, dtype, threshold, classes))
    return tuple(specs)


def _gives_probabilities(lowered: Lowered, unit: str) -> bool:
    """Whether a unit's value is a sigmoid or softmax of logits, as lowering records it (never
    the unit's name: a linear unit may well be called `score_logits`)."""
    return unit in lowered.links


def probe(lowered: Lowered, graph: Graph) -> fx.GraphModule:
    """The objective, returning also {"predictions": {head: tensor}, "targets": {head: tensor}}."""
    old = lowered.objective.graph
    new = fx.Graph()
    val_map: dict[fx.Node, fx.Node] = {}
    result = new.graph_copy(old, val_map)
    assert isinstance(result, dict)
    placeholders = [n for n in old.nodes if n.op == "placeholder"]
    by_input = dict(zip(lowered.inputs, placeholders, strict=True))
    last: dict[str, fx.Node] = {}
    for node in old.nodes:  # the last node of a unit is its value (after any activation)
        if "netspec_id" in node.meta:
            last[node.meta["netspec_id"]] = node
    outputs = _outputs_of(graph)

    def value(node_id: str) -> fx.Node | None:
        found = by_input.get(node_id) or last.get(node_id)
        if found is not None:
            return val_map[found]
        name = outputs.get(node_id)  # a unit lowered to no node: an alias of its input
        found_out = result["outputs"].get(name) if name else None
        return found_out if isinstance(found_out, fx.Node) else None

    predictions = {h.name: value(h.prediction) for h in lowered.heads}
    targets = {h.name: value(h.target) for h in lowered.heads}
    new.output(
        {
            **result,
            "predictions": {k: v for k, v in predictions.items() if v is not None},
            "targets": {k: v for k, v in targets.items() if v is not None},
        }
    )
    return fx.GraphModule(lowered.root, new, class_name=f"{lowered.objective.__class__.__name__}")


def _outputs_of(graph: Graph) -> dict[str, str]:
    return {
        graph.inputs_of(n.id)[0]: n.label.removeprefix("output:") for n in graph.nodes(Role.OUTPUT)
    }


def batch_metrics(heads: Sequence[HeadSpec], out: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Scalar tensors, detached: `loss`, and `<head>/loss`, `<head>/acc` or `<head>/mse|mae`.
    Runs every step, so it costs a few tensor ops a head: a class head over one label a sample
    (no padding) needs no mask."""
    metrics = {"loss": out["loss"].detach().float()}
    for h in heads:
        metrics[f"{h.name}/loss"] = out["losses"][h.name].detach().float()
        pred, target = out["predictions"].get(h.name), out["targets"].get(h.name)
        if pred is None or target is None:
            continue
        pred = pred.detach()
        if h.target == "class" and pred.shape[-1] > 1:
            truth = target.reshape(pred.shape[:-1])  # (B,) or (B, T)
            hits = pred.argmax(-1) == truth
            if truth.ndim == 1:
                metrics[f"{h.name}/acc"] = hits.float().mean()
                continue
            labelled = truth != NO_LABEL  # padded steps are left out
            metrics[f"{h.name}/acc"] = (hits & labelled).sum() / labelled.sum().clamp(min=1)
        elif h.target in ("class", "binary"):
            guess = (pred > h.threshold).float()  # (B, 1) or (B,)
            metrics[f"{h.name}/acc"] = (guess == target.float().reshape(pred.shape)).float().mean()
        else:
            diff = pred.float() - target.float().reshape(pred.shape)
            metrics[f"{h.name}/mse"] = diff.pow(2).mean()
            metrics[f"{h.name}/mae"] = diff.abs().mean()
    return metrics


def host_metrics(heads: Sequence[HeadSpec], out: dict[str, Any]) -> dict[str, float]:
    """`batch_metrics` as Python floats, for a step on the CPU, where reading a value costs less
    than launching a kernel: a class head with one label a sample counts its hits in one
    reduction, and a loss that is also the total (one head) is read once."""
    if not all(_one_label(h, out) for h in heads):  # sequences, binary and real-valued heads
        return {k: float(v) for k, v in batch_metrics(heads, out).items()}
    read: dict[int, float] = {}  # id(tensor) -> its value

    def value(t: torch.Tensor) -> float:
        if id(t) not in read:
            read[id(t)] = float(t.detach())
        return read[id(t)]

    metrics = {"loss": value(out["loss"])}
    for h in heads:
        metrics[f"{h.name}/loss"] = value(out["losses"][h.name])
        pred, target = out["predictions"].get(h.name), out["targets"].get(h.name)
        if pred is not None and target is not None:
            metrics[f"{h.name}/acc"] = _hits(pred.detach(), target.reshape(len(pred))) / len(pred)
    return metrics


def _hits(pred: torch.Tensor, truth: torch.Tensor) -> int:
    """How many rows of (B, K) `pred` peak at their (B,) `truth`: in NumPy, whose calls on a
    minibatch cost a few microseconds where each torch op's dispatch costs several."""
    if pred.dtype in (torch.float32, torch.float64):  # NumPy has no bfloat16
        return int(np.count_nonzero(pred.numpy().argmax(-1) == truth.numpy()))
    return int((pred.argmax(-1) == truth).sum())


def _one_label(h: HeadSpec, out: dict[str, Any]) -> bool:
    """A head without predictions, or a class head scoring one class id a sample."""
    pred, target = out["predictions"].get(h.name), out["targets"].get(h.name)
    if pred is None or target is None:
        return True
    return h.target == "class" and pred.dim() == 2 and pred.shape[-1] > 1


class Running:
    """Sample-weighted running means. On a GPU they are summed on the device so no step waits
    for it: one float64 vector of sums, two tensor ops a step however many metrics there are.
    On the CPU, `add_host` sums Python floats (exact float64 too, and no kernel at all)."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.total: torch.Tensor | None = None  # (len(keys),) float64
        self.host: list[float] | None = None  # the sums, where `add_host` keeps them
        self.count = 0
        self.aligned = False  # keys known to be in the order `add` is given them

    @property
    def sums(self) -> dict[str, torch.Tensor]:
        total = self.total if self.host is None else torch.tensor(self.host, dtype=torch.float64)
        if total is None:
            return {}
        return dict(zip(self.keys, total.unbind(), strict=True))

    def add_host(self, metrics: dict[str, float], n: int) -> None:
        """`add` for values already read: each is summed as float(value) * n in float64."""
        if self.host is None:
            if self.total is None:
                self.keys, self.host = list(metrics), [0.0] * len(metrics)
            else:  # resumed sums (`load_state_dict`), in saved order
                sums = dict(zip(self.keys, self.total.tolist(), strict=True))
                self.keys, self.total = list(metrics), None
                self.host = [sums[k] for k in self.keys]
            self.aligned = True
        host = self.host
        for i, value in enumerate(metrics.values()):
            host[i] += value * n
        self.count += n

    def add(self, metrics: dict[str, torch.Tensor], n: int) -> None:
        values = torch.stack(list(metrics.values()))
        if self.total is None:
            self.keys = list(metrics)
            self.total = torch.zeros(len(self.keys), dtype=torch.float64, device=values.device)
        elif not self.aligned and self.keys != list(metrics):  # resumed sums, in saved order
            sums = self.sums
            self.keys, self.total = list(metrics), torch.stack([sums[k] for k in metrics])
        self.aligned = True
        self.total.add_(values, alpha=n)  # in float64: each term is double(value) * n
        self.count += n

    def means(self) -> dict[str, float]:
        if self.host is not None:
            sums = self.host
        elif self.total is not None:
            sums = self.total.cpu().tolist()  # one transfer
        else:
            return {}
        if not self.count:
            return {}
        return {k: float(v) / self.count for k, v in zip(self.keys, sums, strict=True)}

    def state_dict(self) -> dict[str, Any]:
        return {"sums": {k: v.clone() for k, v in self.sums.items()}, "count": self.count}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        sums = dict(state["sums"])
        self.keys = list(sums)
        self.total = torch.stack([v.double() for v in sums.values()]) if sums else None
        self.host, self.count, self.aligned = None, int(state["count"]), False


def chunks(size: int, batch: int) -> Iterator[slice]:
    for start in range(0, size, batch):
        yield slice(start, min(size, start + batch))


@dataclass
class Evaluation:
    metrics: dict[str, float]
    confusion: dict[str, np.ndarray]  # class head -> (K, K) counts, rows true, columns predicted


@torch.no_grad()
def evaluate(
    forward: Forward,
    heads: Sequence[HeadSpec],
    tensors: Batch,
    autocast: Callable[[], contextlib.AbstractContextManager[Any]] = contextlib.nullcontext,
    batch: int = 1024,
    confusion: bool = False,
) -> Evaluation:
    """Means over a whole split, in chunks; the caller puts the model in eval mode. A head with
    a sequence of class ids averages over its labelled steps, so each chunk weighs by those."""
    size = int(tensors[0].shape[0])
    running = Running()
    by_steps: dict[str, Running] = {}  # metric -> its running mean over labelled steps
    counts: dict[str, torch.Tensor] = {}
    order: list[str] = []  # the metrics in batch_metrics' order
    for part in chunks(size, batch):
        with autocast():
            out = forward(*(t[part] for t in tensors))
        metrics = batch_metrics(heads, out)
        order = order or list(metrics)
        for key, n in _labelled_steps(heads, out).items():
            if key in metrics:
                by_steps.setdefault(key, Running()).add({key: metrics.pop(key)}, n)
        if metrics:
            running.add(metrics, part.stop - part.start)
        if confusion:
            _count_confusion(heads, out, counts)
    matrices = {k: v.cpu().numpy() for k, v in counts.items()}
    found = running.means()
    for r in by_steps.values():
        found |= r.means()
    return Evaluation({k: found[k] for k in order if k in found}, matrices)


def _labelled_steps(heads: Sequence[HeadSpec], out: dict[str, Any]) -> dict[str, int]:
    """The metrics that average over a sequence's labelled steps, with their number."""
    steps = {}
    for h in heads:
        target = out["targets"].get(h.name)
        if h.target != "class" or target is None or target.dim() < 2:  # (B, T): a sequence
            continue
        n = int((target != NO_LABEL).sum())
        steps[f"{h.name}/acc"] = steps[f"{h.name}/loss"] = n  # cross-entropy's, of class ids
        if len(heads) == 1:  # the total is this loss (weighted)
            steps["loss"] = n
    return steps


def _count_confusion(
    heads: Sequence[HeadSpec], out: dict[str, Any], counts: dict[str, torch.Tensor]
) -> None:
    for h in heads:
        pred, target = out["predictions"].get(h.name), out["targets"].get(h.name)
        if h.target == "real" or pred is None or target is None:
            continue
        k = h.classes or 2
        if pred.shape[-1] > 1:
            guess = pred.argmax(-1).reshape(-1)  # (B * T,)
        else:
            guess = (pred.float() > h.threshold).long().reshape(-1)
        truth = target.reshape(-1).long()  # (B * T,)
        labelled = truth != NO_LABEL  # padded steps are left out
        truth, guess = truth[labelled], guess[labelled]
        flat = torch.bincount(truth * k + guess, minlength=k * k)[: k * k]
        counts[h.name] = counts.get(h.name, 0) + flat.reshape(k, k)


class FiniteGuard:
    """Watches the loss for nan or inf. On the CPU each step is checked at once; on CUDA the first
    bad step stays on the device until `pending` is read (at checkpoints), so steps need not
    wait for the GPU."""

    def __init__(self, device: torch.device) -> None:
        self.lazy = device.type == "cuda"
        self.first = torch.full((), -1, dtype=torch.long, device=device)
        self.value = "not finite"

    def bad(self, loss: torch.Tensor, step: int) -> bool:
        """Whether step `step` must stop now (always False on CUDA: see `pending`)."""
        if not self.lazy:  # on the CPU reading the value costs less than a kernel
            value = float(loss.detach())
            if not math.isfinite(value):
                self.value = str(value)
                return True
            return False
        finite = torch.isfinite(loss.detach())
        mark = ~finite & (self.first < 0)
        self.first = torch.where(mark, torch.full_like(self.first, step), self.first)
        return False

    def pending(self) -> int | None:
        """The first bad step seen on the device, if any."""
        step = int(self.first) if self.lazy else -1
        return step if step >= 0 else None
