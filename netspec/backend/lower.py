"""Lower a checked network to torch.fx: one leaf module or function call per unit, every fx node
named after the spec and annotated with its `file:line`, so the generated forward reads like the
spec. Two GraphModules share one root: `model` (inputs -> outputs) for inference and export,
`objective` (all inputs -> weighted losses and outputs) for training."""

from __future__ import annotations

import builtins
import importlib
import keyword
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn
from torch.fx.graph import PythonCode

from netspec.backend.nn.base import LowerContext, Lowering
from netspec.backend.nn.losses import LearnedWeight
from netspec.ir import Graph, Node, Role
from netspec.lang.source import Sources
from netspec.types import TensorType
from netspec.units import REGISTRY
from netspec.units.base import AUTO


@dataclass(frozen=True)
class Head:
    """One loss: its name, kind, weight, and the prediction and target it compares."""

    name: str
    kind: str
    weight: float | None  # None: learned (`weight=auto`)
    prediction: str  # node id
    target: str  # node id (an input, usually)
    loss: str = ""  # the loss's own node id


@dataclass
class Lowered:
    network: str
    root: nn.Module  # every unit's module, as attributes named after the spec
    model: fx.GraphModule  # forward(**inputs) -> output, or a tuple of outputs
    objective: fx.GraphModule  # forward(**inputs) -> {"loss", "losses", "outputs"}
    inputs: tuple[str, ...]  # every network input, in declaration order
    model_inputs: tuple[str, ...]  # the inputs `model` takes
    outputs: tuple[str, ...]  # output names, in order
    heads: tuple[Head, ...]
    modules: dict[str, str]  # node id -> attribute name on root
    input_types: dict[str, TensorType] = field(default_factory=dict)  # input -> its type
    # Units whose value is a link function (`sigmoid`, `softmax`) of logits, by node id, with
    # the link: their values are probabilities, and losses of that link read the logits.
    links: dict[str, str] = field(default_factory=dict)

    def learned_weights(self) -> dict[str, float]:
        """`weight=auto` heads: their weight exp(-s) now, by head name."""
        found = {}
        for head in self.heads:
            if head.weight is None:
                module = self.root.get_submodule(self.modules[head.loss])
                assert isinstance(module, LearnedWeight)
                found[head.name] = float(torch.exp(-module.log_variance.detach()))
        return found

    def source(self) -> str:
        """The objective's forward with `# File: spec.net:LINE` comments, for people to read."""
        return self.objective.graph.python_code("self", verbose=True).src


class LoweredModule(fx.GraphModule):
    """An fx GraphModule called as a plain nn.Module. fx routes every call through a wrapper
    that only adds the generated line to error messages, at a few microseconds a call (1-2% of
    a small network's training step); Python's traceback shows that line anyway."""

    def recompile(self) -> PythonCode:
        code = super().recompile()
        type(self).__call__ = nn.Module.__call__  # type: ignore[method-assign]
        return code


def builder(kind: str) -> Callable[[LowerContext], Lowering]:
    """The lowering builder a unit kind names (`package.module:function`)."""
    path = REGISTRY[kind].lower
    module, _, name = path.partition(":")
    found: Callable[[LowerContext], Lowering] = getattr(importlib.import_module(module), name)
    return found


def lower(graph: Graph, sources: Sources | None = None) -> Lowered:
    """Lower a network that check has typed (every node has a type).

    >>> import netspec, torch
    >>> net = lower(netspec.compile("network n { input x: [4]  y = x -> dense(3) }").network())
    >>> net.model(torch.ones(2, 4)).shape
    torch.Size([2, 3])
    """
    untyped = [n.id for n in graph.nodes() if n.type is None]
    if untyped:
        raise ValueError(f"lower needs a checked network; untyped nodes: {untyped}")
    namer = _Namer()
    root = nn.Module()
    lowerings: dict[str, Lowering] = {}
    modules: dict[str, str] = {}
    for node in graph.nodes():
        if node.role in (Role.UNIT, Role.LOSS):
            low = builder(node.kind)(_context(graph, node))
            lowerings[node.id] = low
            module = low.module
            if node.role is Role.LOSS and node.params["weight"] == AUTO:
                module = LearnedWeight()  # the loss's own parameter: its log-variance
            if module is not None:
                modules[node.id] = namer.name(node.id)
                root.add_module(modules[node.id], module)
    emitter = _Emitter(graph, lowerings, modules, namer, sources)
    inputs = tuple(n.id for n in graph.nodes(Role.INPUT))
    outputs = list(graph.nodes(Role.OUTPUT))
    needed = _ancestors(graph, [n.id for n in outputs])
    model_inputs = tuple(i for i in inputs if i in needed)
    model = emitter.model(model_inputs, outputs, needed)
    objective = emitter.objective(inputs, outputs)
    cls = "".join(part.capitalize() for part in re.split(r"\W|_", graph.name) if part) or "Net"
    return Lowered(
        network=graph.name,
        root=root,
        model=LoweredModule(root, model, class_name=cls),
        objective=LoweredModule(root, objective, class_name=f"{cls}Objective"),
        inputs=inputs,
        model_inputs=model_inputs,
        outputs=tuple(n.label.removeprefix("output:") for n in outputs),
        heads=tuple(_head(graph, n) for n in graph.nodes(Role.LOSS)),
        modules=modules,
        input_types={n.id: n.type for n in graph.nodes(Role.INPUT) if n.type is not None},
        links=_links(lowerings),
    )


def _context(graph: Graph, node: Node) -> LowerContext:
    ins = tuple(graph.node(i).type for i in graph.inputs_of(node.id))
    return LowerContext(node.id, node.params, ins, node.type)  # type: ignore[arg-type]


def _links(lowerings: dict[str, Lowering]) -> dict[str, str]:
    """The units whose value is `post` applied to logits: what `Lowering.logits` marks."""
    return {i: low.link for i, low in lowerings.items() if low.logits and low.post is not None}


def _head(graph: Graph, node: Node) -> Head:
    prediction, target = graph.inputs_of(node.id)
    name = node.name or node.id.removeprefix("loss:")
    weight = node.params["weight"]
    learned = None if weight == AUTO else float(weight)
    return Head(name, node.kind, learned, prediction, target, node.id)


def _ancestors(graph: Graph, ids: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    stack = list(ids)
    while stack:
        node_id = stack.pop()
        if node_id not in seen:
            seen.add(node_id)
            stack += graph.inputs_of(node_id)
    return seen


class _Namer:
    """Python identifiers from spec ids: `features.conv2d` -> `features_conv2d`, unique, and
    clear of keywords and builtins."""

    # Names fx's generated code reads as globals, besides the builtins.
    RESERVED = frozenset({"self", "torch", "operator", "inf", "nan", "NoneType", "device"})
    RESERVED |= {"fx_pytree", "pytree"}
    # Attributes of a GraphModule: a module named `code` or `eval` would be shadowed by them.
    ATTRIBUTES = frozenset(dir(fx.GraphModule(nn.Module(), fx.Graph())))

    def __init__(self) -> None:
        self.taken: dict[str, str] = {}
        self.used: set[str] = set(self.RESERVED)

    def name(self, node_id: str) -> str:
        if node_id in self.taken:
            return self.taken[node_id]
        base = re.sub(r"\W", "_", node_id) or "_"
        if (
            base[0].isdigit()
            or keyword.iskeyword(base)
            or hasattr(builtins, base)
            or base in self.ATTRIBUTES
        ):
            base = f"{base}_"
        candidate, n = base, 1
        while candidate in self.used:
            n += 1
            candidate = f"{base}_{n}"
        self.used.add(candidate)
        self.taken[node_id] = candidate
        return candidate


class _Emitter:
    """Builds fx graphs node by node from the IR and the unit lowerings."""

    def __init__(
        self,
        graph: Graph,
        lowerings: dict[str, Lowering],
        modules: dict[str, str],
        namer: _Namer,
        sources: Sources | None,
    ) -> None:
        self.graph = graph
        self.lowerings = lowerings
        self.modules = modules
        self.namer = namer
        self.sources = sources

    def model(self, inputs: tuple[str, ...], outputs: list[Node], needed: set[str]) -> fx.Graph:
        fxg, values, _ = self._emit(inputs, lambda n: n.id in needed and n.role is Role.UNIT)
        results = [values[self.graph.inputs_of(n.id)[0]] for n in outputs]
        fxg.output(results[0] if len(results) == 1 else tuple(results))
        return fxg

    def objective(self, inputs: tuple[str, ...], outputs: list[Node]) -> fx.Graph:
        fxg, values, _ = self._emit(inputs, lambda n: n.role in (Role.UNIT, Role.LOSS))
        losses = {
            h.name: values[n.id]
            for n in self.graph.nodes(Role.LOSS)
            for h in [_head(self.graph, n)]
        }
        total: fx.Node | None = None
        for node in self.graph.nodes(Role.LOSS):
            term = values[node.id]
            weight = node.params["weight"]
            weighted = f"{self.namer.name(node.id)}_weighted"
            if weight == AUTO:
                module = self.modules[node.id]
                term = self._call(fxg, "call_module", module, (term,), {}, weighted, node)
            elif float(weight) != 1.0:
                args = (term, float(weight))
                term = self._call(fxg, "call_function", torch.mul, args, {}, weighted, node)
            total = (
                term
                if total is None
                else self._call(
                    fxg, "call_function", torch.add, (total, term), {}, "loss_total", node
                )
            )
        outs = {
            n.label.removeprefix("output:"): values[self.graph.inputs_of(n.id)[0]] for n in outputs
        }
        fxg.output({"loss": total, "losses": losses, "outputs": outs})
        return fxg

    def _emit(
        self, inputs: tuple[str, ...], keep: Callable[[Node], bool]
    ) -> tuple[fx.Graph, dict[str, fx.Node], dict[str, tuple[fx.Node, str]]]:
        fxg = fx.Graph()
        values: dict[str, fx.Node] = {}
        logits: dict[str, tuple[fx.Node, str]] = {}  # node id -> its logits and their link
        for node_id in inputs:
            # The argument keeps the spec's name, so forward(**inputs) works, even for a
            # builtin's name such as `list` (fx renames the node); keywords and `self` cannot.
            usable = node_id.isidentifier() and not keyword.iskeyword(node_id)
            arg = node_id if usable and node_id != "self" else self.namer.name(node_id)
            values[node_id] = fxg.create_node("placeholder", arg, name=self.namer.name(node_id))
        for node_id in self.graph.topo_order():
            node = self.graph.node(node_id)
            if keep(node):
                self._unit(fxg, node, values, logits)
        return fxg, values, logits

    def _unit(
        self,
        fxg: fx.Graph,
        node: Node,
        values: dict[str, fx.Node],
        logits: dict[str, tuple[fx.Node, str]],
    ) -> None:
        low = self.lowerings[node.id]
        srcs = self.graph.inputs_of(node.id)
        args = [values[s] for s in srcs]
        if low.reads_logits and srcs[0] in logits:
            pre, link = logits[srcs[0]]
            if not low.link or not link or low.link == link:
                args[0] = pre
        name = self.namer.name(node.id)
        pre_name = name if low.post is None else f"{name}_{'logits' if low.logits else 'pre'}"
        if low.module is not None:
            value = self._call(
                fxg, "call_module", self.modules[node.id], tuple(args), {}, pre_name, node
            )
        elif low.fold is not None:
            value = args[0]
            for i, other in enumerate(args[1:]):
                last = i == len(args) - 2
                value = self._call(
                    fxg,
                    "call_function",
                    low.fold,
                    (value, other),
                    {},
                    pre_name if last else f"{name}_{i + 1}",
                    node,
                )
        elif low.function is not None:
            call_args = ((list(args),) if low.listed else tuple(args)) + low.args
            value = self._call(
                fxg, "call_function", low.function, call_args, low.kwargs, pre_name, node
            )
        else:
            value = args[0]
        if low.post is not None:
            if low.logits:
                logits[node.id] = (value, low.link)
            value = self._call(
                fxg, "call_function", low.post, (value,), low.post_kwargs, name, node
            )
        values[node.id] = value

    def _call(
        self,
        fxg: fx.Graph,
        op: str,
        target: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        name: str,
        node: Node,
    ) -> fx.Node:
        created = fxg.create_node(op, target, args, kwargs, name=name)  # type: ignore[arg-type]
        created.meta["stack_trace"] = self._trace(node)
        created.meta["netspec_id"] = node.id
        return created

    def _trace(self, node: Node) -> str:
        span = node.span
        line = self.sources.line(span.file, span.line) if self.sources else None
        code = (line or node.kind).strip()
        return f'File "{span.file}", line {span.line}, in {self.graph.name}\n    {code}\n'
