"""The unit registry: every kind is complete, its example compiles, and its sample rule draws calls
that check accepts; every example draws in both views, lowers, trains a step and exports;
parameter counts match the formulas in the docs; plugins register, work from a spec, and cannot
take a used name."""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from netspec.api import Compiled, compile
from netspec.check import equation
from netspec.diagnostics.core import NetspecError
from netspec.ir import Graph, Role
from netspec.types import TensorType
from netspec.units import REGISTRY, REQUIRED, ParamSpec, Signature, UnitKind, register
from netspec.units.base import AUTO, EquationContext, Params
from netspec.units.samples import Sample
from netspec.views.draw import VIEWS, draw

KINDS = list(REGISTRY.values())
PARAM_TYPES = {"int", "float", "bool", "choice", "ints", "shape", "weight"}


def _compile(body: str) -> Compiled:
    return compile("network example {\n" + body + "\n}")


def _network(body: str) -> Graph:
    return _compile(body).network("example")


def _params(body: str, node_id: str = "y") -> int:
    count = _network(body).node(node_id).meta["params"]
    assert isinstance(count, int)
    return count


# --- every kind is complete -------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_kind_is_documented_and_complete(kind: UnitKind) -> None:
    assert kind.name.isidentifier()
    assert kind.family.strip()
    assert kind.doc.strip().endswith((".", ")")), f"{kind.name}: the doc should be a sentence"
    assert kind.role in ("unit", "loss")
    assert callable(kind.shape) and callable(kind.count) and callable(kind.equation)
    assert kind.example.strip()
    assert kind.signature.inputs, f"{kind.name} takes no input"
    names = [p.name for p in kind.signature.params]
    assert len(names) == len(set(names)), f"{kind.name}: a parameter is listed twice"
    for p in kind.signature.params:
        assert p.doc.strip(), f"{kind.name}.{p.name} has no doc"
        assert p.type in PARAM_TYPES, f"{kind.name}.{p.name} has type {p.type!r}"
        assert p.name.isidentifier()
        _check_default(kind, p)


def _ints(value: Any) -> bool:
    return isinstance(value, tuple) and all(isinstance(v, int) for v in value)


def _check_default(kind: UnitKind, p: ParamSpec) -> None:
    where = f"{kind.name}.{p.name}"
    if p.type == "choice":
        assert p.choices, f"{where} is a choice without choices"
    else:
        assert not p.choices, f"{where} has choices but is not a choice"
    if p.default is REQUIRED or p.default is None:
        return
    value: Any = p.default
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "weight": value == AUTO or isinstance(value, float),
        "bool": isinstance(value, bool),
        "choice": value in p.choices,
        "ints": isinstance(value, int) or _ints(value),
        "shape": _ints(value),
    }[p.type]
    assert ok, f"{where}: default {value!r} is not a {p.type}"
    if p.check is not None:
        assert p.check(value) is None, f"{where}: the default {value!r} fails its own check"


def test_there_is_a_kind_in_every_family() -> None:
    families = {k.family for k in KINDS}
    expected = {
        "regression",
        "activations",
        "shape",
        "regularizers",
        "energy-based",
        "autoencoders",
        "sparse coding",
        "convolutional",
        "recurrent",
        "merges",
        "losses",
    }
    assert expected <= families


# --- every example compiles -------------------------------------------------------------------
def _units(graph: Graph) -> Iterator[Any]:
    return (n for n in graph.nodes() if n.role in (Role.UNIT, Role.LOSS))


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_example_compiles_and_every_unit_is_explained(kind: UnitKind) -> None:
    compiled = compile("network example {\n" + kind.example + "\n}")
    assert not compiled.diagnostics, compiled.diagnostics  # no warnings either
    graph = compiled.network("example")
    assert any(n.kind == kind.name for n in graph.nodes()), f"the example does not use {kind.name}"
    for node in _units(graph):
        assert isinstance(node.type, TensorType), f"{node.id} has no type"
        count = node.meta.get("params")
        assert isinstance(count, int) and not isinstance(count, bool) and count >= 0, node.id
        line = equation(graph, node)
        assert isinstance(line, str) and line.strip()
        assert node.label in line, f"the equation of {node.id} does not name it: {line}"
    for node in graph.nodes(Role.INPUT):
        assert node.type is not None


# --- every kind samples calls it accepts (the shape oracle's inputs, tests/test_lower.py) -------
SAMPLES = 20


def _check_sample_fits(kind: UnitKind, sample: Sample) -> None:
    """The sample calls the kind as its signature allows."""
    sig = kind.signature
    count = len(sample.inputs)
    assert count == len(sig.inputs) or (sig.variadic and count > len(sig.inputs)), sample
    assert len(sample.heads) <= count, sample
    names = {p.name for p in sig.params}
    assert set(sample.params) <= names, f"{set(sample.params) - names} are not parameters"
    assert {p.name for p in sig.params if p.required} <= set(sample.params), sample


def _symbols(graph: Graph) -> set[str]:
    return {d for n in graph.nodes(Role.INPUT) if n.type for d in n.type.dims if isinstance(d, str)}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_samples_calls_that_check_accepts(kind: UnitKind) -> None:
    """Its own rule, or the default one (flat real inputs): either way most draws must check,
    or the oracle, which skips what check refuses, would compare nothing for the kind."""
    accepted = 0
    for seed in range(SAMPLES):
        sample = kind.sample(random.Random(seed))
        assert sample == kind.sample(random.Random(seed)), "draws only from the given random"
        _check_sample_fits(kind, sample)
        try:
            compiled = _compile(sample.body(kind))
        except NetspecError:
            continue
        assert not compiled.diagnostics, (sample.body(kind), compiled.diagnostics)
        graph = compiled.network("example")
        assert any(n.kind == kind.name for n in graph.nodes()), sample.body(kind)
        assert _symbols(graph) <= set(sample.sizes), f"no size for a symbol of {sample}"
        accepted += 1
    rule = "its sample rule" if kind.samples else "the default sample rule (flat real inputs)"
    assert accepted >= SAMPLES * 3 // 4, (
        f"check refuses {SAMPLES - accepted} of {SAMPLES} draws of {rule}"
    )


# --- every entry through every stage: both drawings, lowering, one training step, export -------
def _check_drawings(compiled: Compiled, kind: UnitKind) -> None:
    graph = compiled.network("example")
    for view in VIEWS:
        dot = draw(compiled, "example", view=view)
        assert isinstance(dot, str) and dot.startswith('digraph "example" {'), view
        shown = kind.name  # in a label, but the units view draws a merge as its symbol
        if view == "units" and kind.is_merge:
            shown = f'label="{kind.drawing.junction}"'
        assert shown in dot, f"the {view} view does not show the {kind.name}"
        if view == "units":  # one node per value; the neuron view folds and splits them
            for node in graph.nodes():
                if node.role is not Role.OUTPUT:
                    assert f'"{node.id}" [' in dot, node.id


def _example_inputs(lowered: Any) -> dict[str, Any]:
    """A batch of 4 (T = 5): class ids, 0./1. for binary inputs, reals that gradients reach."""
    import torch

    gen = torch.Generator().manual_seed(0)
    out = {}
    for name in lowered.inputs:
        t = lowered.input_types[name]
        shape = (4, *(d if isinstance(d, int) else 5 for d in t.dims))
        if t.dtype == "class":
            out[name] = torch.randint(0, int(t.classes or 1), shape, generator=gen)
        elif t.dtype == "binary":
            out[name] = torch.randint(0, 2, shape, generator=gen).float()
        else:
            out[name] = torch.randn(shape, generator=gen).requires_grad_()
    return out


def _train_one_step(lowered: Any, inputs: dict[str, Any], kind: UnitKind) -> None:
    """One SGD step: on the spec's loss for a loss kind, else on the outputs' mean square. Every
    gradient is finite and the step moves the weights (or, with none, reaches the inputs)."""
    import torch

    out = lowered.objective(**inputs)
    if kind.role == "loss":
        loss = out["loss"]
    else:
        loss = sum((value.float() ** 2).mean() for value in out["outputs"].values())
    assert loss.shape == () and torch.isfinite(loss), loss
    weights = list(lowered.root.parameters())
    before = [w.detach().clone() for w in weights]
    optimizer = torch.optim.SGD(weights, lr=0.1) if weights else None
    loss.backward()
    grads = [w.grad for w in weights if w.grad is not None]
    grads += [x.grad for x in inputs.values() if x.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads), "no gradient, or not finite"
    if optimizer is not None:
        optimizer.step()
        moved = [not torch.equal(b, w) for b, w in zip(before, weights, strict=True)]
        assert any(moved), "the step left every weight as it was"


def _check_export(lowered: Any, inputs: dict[str, Any], path: Path) -> None:
    """The standalone file, loaded with the trained weights, computes what the lowered model
    does (tests/test_export.py runs the zoo's without netspec)."""
    import torch

    from netspec.backend.export import export_python

    export_python(lowered, path, weights=lowered.root)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    net = module.load()
    lowered.root.eval()
    with torch.no_grad():
        args = [inputs[name] for name in lowered.model_inputs]
        torch.testing.assert_close(net(*args), lowered.model(*args), rtol=0, atol=0)
        objective = net.objective(**inputs)
        torch.testing.assert_close(objective, lowered.objective(**inputs), rtol=0, atol=0)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_example_draws_lowers_trains_a_step_and_exports(kind: UnitKind, tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from netspec.backend.lower import lower

    compiled = _compile(kind.example)
    _check_drawings(compiled, kind)
    torch.manual_seed(0)
    lowered = lower(compiled.network("example"), compiled.sources)
    inputs = _example_inputs(lowered)
    _train_one_step(lowered, inputs, kind)
    _check_export(lowered, inputs, tmp_path / f"{kind.name}_example.py")


# --- parameter counts: the formulas of the docs, by hand ---------------------------------------
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # dense: d*n + n
        ("input x: [20]\ny = x -> dense(7)", 20 * 7 + 7),
        ("input x: [20]\ny = x -> dense(7, bias=false)", 20 * 7),
        ("input x: [T, 20]\ny = x -> dense(7, act=relu)", 20 * 7 + 7),  # per step, same weights
        ("input x: [20]\ny = x -> softmax(10)", 20 * 10 + 10),
        # conv2d: out*in*kh*kw + out
        ("input x: [3, 32, 32]\ny = x -> conv2d(16, 5)", 16 * 3 * 5 * 5 + 16),
        ("input x: [3, 32, 32]\ny = x -> conv2d(16, [3, 5], bias=false)", 16 * 3 * 3 * 5),
        ("input x: [2, 100]\ny = x -> conv1d(8, 7, pad=3)", 8 * 2 * 7 + 8),
        # rbm: W, visible bias b, hidden bias c
        ("input x: [784]\ny = rbm(x, 100)", 784 * 100 + 784 + 100),
        ("input x: [784]\ny = rbm(x, 100, visible=gaussian)", 784 * 100 + 784 + 100),
        # lstm: per direction and layer 4n(d + n) + 2*4n (torch's two biases)
        ("input x: [T, 10]\ny = x -> lstm(20)", 4 * 20 * (10 + 20) + 2 * 4 * 20),
        (
            "input x: [T, 10]\ny = x -> lstm(20, layers=2, bidirectional=true)",
            2 * (4 * 20 * (10 + 20) + 8 * 20) + 2 * (4 * 20 * (40 + 20) + 8 * 20),
        ),
        # gru: 3n(d + n) + 2*3n; rnn: n(d + n) + 2n
        ("input x: [T, 10]\ny = x -> gru(20)", 3 * 20 * (10 + 20) + 2 * 3 * 20),
        ("input x: [T, 10]\ny = x -> rnn(20, steps=last)", 20 * (10 + 20) + 2 * 20),
        # embed: V*n
        ("input x: class(1000)[T]\ny = x -> embed(64)", 1000 * 64),
        # autoencoder: W, code bias c, reconstruction bias b; untied adds the decoder V
        ("input x: [784]\ny = autoencoder(x, 100)", 784 * 100 + 100 + 784),
        ("input x: [784]\ny = autoencoder(x, 100, tied=false)", 2 * 784 * 100 + 100 + 784),
        # batchnorm: scale and shift per channel (first axis); layernorm per feature (last axis)
        ("input x: [16, 8, 8]\ny = x -> batchnorm", 2 * 16),
        ("input x: [50]\ny = x -> batchnorm", 2 * 50),
        ("input x: [T, 12]\ny = x -> layernorm", 2 * 12),
        # sparse coding: the dictionary D
        ("input x: [64]\ny = sparse_code(x, 128)", 64 * 128),
        # no parameters
        ("input x: [3, 8, 8]\ny = x -> maxpool(2) -> flatten -> relu -> dropout(0.1)", 0),
    ],
)
def test_parameter_counts_follow_the_documented_formulas(body: str, expected: int) -> None:
    assert _params(body) == expected


def test_parameter_counts_agree_with_torch() -> None:
    """The same layers built in torch have the same number of parameters (skipped without torch)."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    def size(module: Any) -> int:
        return sum(p.numel() for p in module.parameters())

    pairs = [
        ("input x: [20]\ny = x -> dense(7)", nn.Linear(20, 7)),
        ("input x: [3, 32, 32]\ny = x -> conv2d(16, 5)", nn.Conv2d(3, 16, 5)),
        ("input x: [2, 100]\ny = x -> conv1d(8, 7, pad=3)", nn.Conv1d(2, 8, 7, padding=3)),
        (
            "input x: [T, 10]\ny = x -> lstm(20, layers=2, bidirectional=true)",
            nn.LSTM(10, 20, num_layers=2, bidirectional=True),
        ),
        ("input x: [T, 10]\ny = x -> gru(20)", nn.GRU(10, 20)),
        ("input x: [T, 10]\ny = x -> rnn(20)", nn.RNN(10, 20)),
        ("input x: class(1000)[T]\ny = x -> embed(64)", nn.Embedding(1000, 64)),
        ("input x: [16, 8, 8]\ny = x -> batchnorm", nn.BatchNorm2d(16)),
        ("input x: [T, 12]\ny = x -> layernorm", nn.LayerNorm(12)),
    ]
    for body, module in pairs:
        assert _params(body) == size(module), body


# --- register ---------------------------------------------------------------------------------
def test_register_refuses_a_duplicate_name() -> None:
    before = dict(REGISTRY)
    with pytest.raises(ValueError, match="dense"):
        register(REGISTRY["dense"])
    assert before == REGISTRY


def _scale_shape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    return ins[0]


def _scale_count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    return int(out.dims[-1]) if p["learned"] else 0  # type: ignore[call-overload]


def _scale_eq(c: EquationContext) -> str:
    return f"{c.name} = {c.params['factor']} s * {c.inputs[0]}"


PLUGIN = UnitKind(
    name="test_scale",
    family="plugins",
    doc="Multiply by a constant factor and a learned per-feature scale s.",
    signature=Signature(
        params=(
            ParamSpec("factor", "float", "constant factor", 1.0),
            ParamSpec("learned", "bool", "learn the scale s", True),
        )
    ),
    shape=_scale_shape,
    count=_scale_count,
    equation=_scale_eq,
    example="input x: [16]\ny = x -> test_scale(2.0)",
)


def test_a_plugin_kind_is_usable_from_a_spec() -> None:
    assert "test_scale" not in REGISTRY
    register(PLUGIN)
    try:
        with pytest.raises(ValueError):
            register(PLUGIN)
        graph = _network("input x: [5]\ny = x -> dense(3) -> test_scale(0.5, learned=true)")
        node = graph.node("y")
        assert node.kind == "test_scale"
        assert node.type == TensorType((3,))
        assert node.meta["params"] == 3
        assert node.params == {"factor": 0.5, "learned": True}
        assert equation(graph, node) == "y = 0.5 s * y.dense"
        graph = _network(PLUGIN.example)
        assert graph.node("y").meta["params"] == 16
        sample = PLUGIN.sample(random.Random(0))  # no rule of its own: flat real inputs
        assert _network(sample.body(PLUGIN)).node("y").type == TensorType((7,))
        assert register(PLUGIN, replace=True) is PLUGIN
    finally:
        REGISTRY.pop("test_scale", None)
    assert "test_scale" not in REGISTRY
