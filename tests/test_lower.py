"""Lowering to torch.fx: every kind's registry example runs and gives its inferred shapes; a shape
oracle (hypothesis) checks that check's inferred types equal what torch computes, on "meta"
tensors, for the calls each kind's `samples` rule draws, and that the registry's parameter
counts equal the lowered modules'; the fx graphs are well formed, named after the spec and
commented with its lines; losses read logits; weighted losses add up.
"""

from __future__ import annotations

import builtins
import copy
import keyword
import pickle
import random
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from lowered_values import UnitValues, size
from torch import nn

from netspec.api import Compiled, compile, compile_file
from netspec.backend.lower import Lowered, lower
from netspec.backend.nn.conv import WidePool
from netspec.backend.nn.recurrent import Recurrent
from netspec.backend.nn.sparse_coding import SparseCode
from netspec.diagnostics.core import NetspecError
from netspec.ir import Graph, Role
from netspec.types import TensorType
from netspec.units import REGISTRY, UnitKind

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.net"))
KINDS = list(REGISTRY.values())  # the built-in kinds (plugin tests register and remove theirs)
BATCH = 3

ORACLE = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# --- helpers -----------------------------------------------------------------------------------
def _compile(body: str) -> Compiled:
    return compile("network example {\n" + body + "\n}", file="example.net")


def _shape(t: TensorType, sizes: Mapping[str, int]) -> tuple[int, ...]:
    return (BATCH, *(size(d, sizes) for d in t.dims))


def _inputs(graph: Graph, sizes: Mapping[str, int], device: str = "cpu") -> dict[str, torch.Tensor]:
    """Random inputs of the declared types: class ids as int64, binary as 0./1., real floats."""
    gen = torch.Generator().manual_seed(0)
    out = {}
    for node in graph.nodes(Role.INPUT):
        t = node.type
        assert t is not None
        shape = _shape(t, sizes)
        if device == "meta":
            dtype = torch.int64 if t.dtype == "class" else torch.float32
            out[node.id] = torch.empty(shape, dtype=dtype, device="meta")
        elif t.dtype == "class":
            out[node.id] = torch.randint(0, int(t.classes or 1), shape, generator=gen)
        elif t.dtype == "binary":
            out[node.id] = torch.randint(0, 2, shape, generator=gen).float()
        else:
            out[node.id] = torch.randn(shape, generator=gen)
    return out


def _check_types(
    graph: Graph, lowered: Lowered, inputs: dict[str, torch.Tensor], sizes: Mapping[str, int]
) -> None:
    """Every unit's and loss's inferred type is the torch value's shape (with the batch axis)
    and kind (class ids stay int64); every output of `model` too."""
    run = UnitValues(lowered.objective)
    run.run(*(inputs[i] for i in lowered.inputs))
    for node in graph.nodes():
        if node.role not in (Role.UNIT, Role.LOSS):
            continue
        assert node.type is not None
        value = run.values.get(node.id)
        if value is None:  # lowered to no node: the value of its input
            source = graph.inputs_of(node.id)[0]
            value = inputs[source] if source in inputs else run.values[source]
        want = () if node.role is Role.LOSS else _shape(node.type, sizes)
        assert tuple(value.shape) == want, f"{node.id}: torch {tuple(value.shape)}, check {want}"
        assert (value.dtype == torch.int64) == (node.type.dtype == "class"), node.id
    result = lowered.model(**{i: inputs[i] for i in lowered.model_inputs})
    outs = result if isinstance(result, tuple) else (result,)
    nodes = list(graph.nodes(Role.OUTPUT))
    assert len(outs) == len(nodes) == len(lowered.outputs)
    for value, node in zip(outs, nodes, strict=True):
        source = graph.node(graph.inputs_of(node.id)[0])
        assert source.type is not None
        assert tuple(value.shape) == _shape(source.type, sizes), node.id


def _check_counts(graph: Graph, lowered: Lowered) -> None:
    """The registry's parameter count of every unit is its lowered module's."""
    for node in graph.nodes(Role.UNIT):
        name = lowered.modules.get(node.id)
        module = lowered.root.get_submodule(name) if name else None
        actual = sum(p.numel() for p in module.parameters()) if module is not None else 0
        assert node.meta["params"] == actual, f"{node.id} ({node.kind}): registry vs torch"


def _check_graphs(lowered: Lowered) -> None:
    for gm in (lowered.model, lowered.objective):
        gm.graph.lint()
        for n in gm.graph.nodes:
            assert n.name.isidentifier() and not keyword.iskeyword(n.name), n.name
            if n.op != "output":
                assert n.name not in dir(builtins), f"{n.name} shadows a builtin"


# --- every registry example --------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_registry_example_runs_with_its_inferred_shapes(kind: UnitKind) -> None:
    compiled = _compile(kind.example)
    graph = compiled.network()
    lowered = lower(graph, compiled.sources)
    sizes = {"T": 5}
    inputs = _inputs(graph, sizes)
    _check_graphs(lowered)
    _check_counts(graph, lowered)
    _check_types(graph, lowered, inputs, sizes)
    lowered.root.eval()  # no dropout: the objective's outputs are the model's
    out = lowered.objective(**inputs)
    assert set(out) == {"loss", "losses", "outputs"}
    assert list(out["outputs"]) == list(lowered.outputs)
    model_out = lowered.model(**{i: inputs[i] for i in lowered.model_inputs})
    for value, name in zip(
        model_out if isinstance(model_out, tuple) else (model_out,), lowered.outputs, strict=True
    ):
        torch.testing.assert_close(out["outputs"][name], value, rtol=0, atol=0)
    if kind.role == "loss":
        assert out["loss"].shape == () and torch.isfinite(out["loss"])
        out["loss"].backward()  # the loss reaches the parameters
        assert all(p.grad is not None for p in lowered.root.parameters())
    else:
        assert out["loss"] is None and out["losses"] == {}


# --- the shape oracle --------------------------------------------------------------------------
# Each kind's `samples` rule (units/<family>.py) draws calls on inputs it should accept; the random
# source is hypothesis's, so failures are reproducible and shrink.
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@ORACLE
@given(rng=st.randoms(use_true_random=False))
def test_inferred_types_and_counts_are_torchs(kind: UnitKind, rng: random.Random) -> None:
    sample = kind.sample(rng)
    body = sample.body(kind)
    note(body)
    try:
        compiled = _compile(body)
    except NetspecError:
        return  # check refuses it: nothing to compare
    graph = compiled.network()
    with torch.device("meta"):
        lowered = lower(graph, compiled.sources)
        _check_counts(graph, lowered)
        _check_types(graph, lowered, _inputs(graph, sample.sizes, "meta"), sample.sizes)


@pytest.mark.parametrize(
    "body",
    [
        "input x: [3, 8, 8]\ny = x -> maxpool(2, pad=2)",  # pad > k/2: torch's layers refuse it
        "input x: [2, T]\ny = x -> avgpool([3], stride=1, pad=[2])",
        "input x: [4, 2, 3, 4, 5]\ny = x -> batchnorm",  # [C, ...] beyond BatchNorm3d
        "input x: real\ny = x -> batchnorm -> layernorm -> flatten",  # one value per sample
        "input x: [4, 9, 9]\ny = x -> conv2d(3, [3, 2], stride=[2, 1], pad=[1, 0], dilation=2)",
        "input x: [T, 4]\ny = x -> lstm(5, layers=3, bidirectional=true, steps=all)",
        "input x: [T, 4]\ny = x -> gru(5, layers=2, bidirectional=true, steps=last)",
        "input x: [2, 3, 4]\ny = x -> reshape([-1, 4, 2])",
        "input x: [T, 3]\ninput z: [T, 2]\ny = concat(x, z, axis=-1)",
        "input x: class(50)[T]\ny = x -> embed(6) -> last",
    ],
)
def test_inferred_types_and_counts_are_torchs_on_chosen_cases(body: str) -> None:
    compiled = _compile(body)
    graph = compiled.network()
    sizes = {"T": 7}
    lowered = lower(graph, compiled.sources)  # on the CPU: values, not only shapes
    _check_counts(graph, lowered)
    _check_types(graph, lowered, _inputs(graph, sizes), sizes)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_zoo_types_counts_graphs_and_comments(spec: Path) -> None:
    compiled = compile_file(spec)
    graph = compiled.network()
    with torch.device("meta"):
        lowered = lower(graph, compiled.sources)
        _check_counts(graph, lowered)
        _check_types(graph, lowered, _inputs(graph, {"T": 40}, "meta"), {"T": 40})
    _check_graphs(lowered)
    source = lowered.source()
    for node in graph.nodes():
        if node.role in (Role.UNIT, Role.LOSS):
            assert f"# File: {spec}:{node.span.line} in {graph.name}" in source, node.id
    placeholders = [n.target for n in lowered.objective.graph.nodes if n.op == "placeholder"]
    assert placeholders == list(lowered.inputs)


# --- names -------------------------------------------------------------------------------------
def test_fx_names_follow_the_spec() -> None:
    compiled = _compile(
        "input image: [1, 8, 8]\n"
        "features = image -> conv2d(4, 3, pad=1) -> relu -> maxpool(2)\n"
        "y = features -> flatten -> dense(10, act=softmax)"
    )
    lowered = lower(compiled.network(), compiled.sources)
    names = [n.name for n in lowered.model.graph.nodes]
    assert names == [
        "image",
        "features_conv2d",
        "features_relu",
        "features",
        "y_flatten",
        "y_logits",
        "y",
        "output",
    ]
    assert lowered.modules == {
        "features.conv2d": "features_conv2d",
        "features": "features",
        "y": "y",
    }
    assert isinstance(lowered.root.features_conv2d, nn.Conv2d)


def test_names_avoid_keywords_builtins_and_fx_globals() -> None:
    compiled = _compile(
        "input list: [4]\n"
        "input from: [4]\n"
        "lambda = add(list, from) -> dense(4, act=relu)\n"
        "torch = lambda -> tanh\n"
        "sum = torch -> dense(3)\n"
        "output sum"
    )
    lowered = lower(compiled.network(), compiled.sources)
    _check_graphs(lowered)
    assert set(lowered.modules.values()) == {"lambda_", "sum_"}
    targets = [n.target for n in lowered.model.graph.nodes if n.op == "placeholder"]
    assert targets == ["list", "from_"]  # a builtin's name stays an argument; a keyword cannot
    x, z = torch.randn(2, 4), torch.randn(2, 4)
    by_name = lowered.model(list=x, from_=z)
    torch.testing.assert_close(by_name, lowered.model(x, z))
    assert lowered.outputs == ("sum",)


def test_models_are_called_without_fxs_wrapper_and_copy() -> None:
    compiled = compile_file(ROOT / "specs" / "mlp.net")
    lowered = lower(compiled.network(), compiled.sources)
    assert type(lowered.model).__call__ is nn.Module.__call__
    assert type(lowered.model).__name__ == "Mlp"
    x = torch.randn(2, 64)
    lowered.root.eval()
    for clone in (copy.deepcopy(lowered.model), pickle.loads(pickle.dumps(lowered.model))):
        torch.testing.assert_close(clone(x), lowered.model(x))


# --- losses ------------------------------------------------------------------------------------
def _lowered(body: str) -> Lowered:
    compiled = _compile(body)
    lowered = lower(compiled.network(), compiled.sources)
    lowered.root.eval()
    return lowered


def test_cross_entropy_reads_the_softmax_logits() -> None:
    lowered = _lowered(
        "input x: [6]\ninput t: class(4)\ny = x -> softmax(4)\nloss cross_entropy(y, t)"
    )
    x, t = torch.randn(5, 6), torch.randint(0, 4, (5,))
    out = lowered.objective(x=x, t=t)
    logits = lowered.root.y(x)
    torch.testing.assert_close(out["loss"], F.cross_entropy(logits, t), rtol=0, atol=0)
    torch.testing.assert_close(out["outputs"]["y"], torch.softmax(logits, dim=-1))


def test_cross_entropy_over_steps_and_with_smoothing() -> None:
    lowered = _lowered(
        "input x: [T, 6]\ninput t: class(4)[T]\ny = x -> softmax(4)\n"
        "loss cross_entropy(y, t, smoothing=0.1)"
    )
    x, t = torch.randn(5, 7, 6), torch.randint(0, 4, (5, 7))
    logits = lowered.root.y(x)
    want = F.cross_entropy(logits.reshape(-1, 4), t.reshape(-1), label_smoothing=0.1)
    torch.testing.assert_close(lowered.objective(x=x, t=t)["loss"], want)


def test_bce_reads_sigmoid_logits_but_not_softmax_ones() -> None:
    x, t = torch.randn(5, 6), torch.randint(0, 2, (5, 3)).float()
    logistic = _lowered("input x: [6]\ninput t: binary[3]\ny = logistic(x, 3)\nloss bce(y, t)")
    want = F.binary_cross_entropy_with_logits(logistic.root.y(x), t)
    torch.testing.assert_close(logistic.objective(x=x, t=t)["loss"], want, rtol=0, atol=0)
    sigmoid = _lowered("input x: [6]\ninput t: binary[6]\ny = x -> sigmoid\nloss bce(y, t)")
    t6 = torch.randint(0, 2, (5, 6)).float()
    want = F.binary_cross_entropy_with_logits(x, t6)
    torch.testing.assert_close(sigmoid.objective(x=x, t=t6)["loss"], want, rtol=0, atol=0)
    # a softmax's logits are no sigmoid's: bce takes the prediction as it is
    softmax = _lowered("input x: [6]\ninput t: binary[3]\ny = x -> softmax(3)\nloss bce(y, t)")
    probs = torch.softmax(softmax.root.y(x), dim=-1)
    want = F.binary_cross_entropy_with_logits(probs, t)
    torch.testing.assert_close(softmax.objective(x=x, t=t)["loss"], want, rtol=0, atol=0)


def test_regression_losses_compare_values_of_the_same_shape() -> None:
    lowered = _lowered(
        "input x: [6]\ninput t: real\ny = linear(x, 1)\nloss mse(y, t)\nloss l1(y, t, weight=0.25)"
    )
    x, t = torch.randn(5, 6), torch.randn(5)
    out = lowered.objective(x=x, t=t)
    y = lowered.root.y(x).squeeze(1)
    torch.testing.assert_close(out["losses"]["mse"], F.mse_loss(y, t))
    torch.testing.assert_close(out["losses"]["l1"], F.l1_loss(y, t))
    torch.testing.assert_close(out["loss"], F.mse_loss(y, t) + 0.25 * F.l1_loss(y, t))


WEIGHTED = """
network weighted {
    input pixels: [64]
    input digit: class(10)
    shared = pixels -> dense(64, act=relu) -> dense(32, act=relu)
    y = softmax(shared, 10)
    recon = shared -> dense(64, act=sigmoid)
    loss classify = cross_entropy(y, digit, weight=1.0)
    loss reconstruct = mse(recon, pixels, weight=0.5)
}
"""


def test_weighted_multitask_total_is_the_weighted_sum() -> None:
    compiled = compile(WEIGHTED, "weighted.net")
    lowered = lower(compiled.network(), compiled.sources)
    lowered.root.eval()
    assert [(h.name, h.weight) for h in lowered.heads] == [("classify", 1.0), ("reconstruct", 0.5)]
    pixels, digit = torch.rand(8, 64), torch.randint(0, 10, (8,))
    out = lowered.objective(pixels=pixels, digit=digit)
    r = lowered.root
    shared = torch.relu(r.shared(torch.relu(r.shared_dense(pixels))))
    classify = F.cross_entropy(r.y(shared), digit)
    reconstruct = F.mse_loss(torch.sigmoid(r.recon(shared)), pixels)
    torch.testing.assert_close(out["losses"]["classify"], classify)
    torch.testing.assert_close(out["losses"]["reconstruct"], reconstruct)
    torch.testing.assert_close(out["loss"], 1.0 * classify + 0.5 * reconstruct)
    assert "0.5" in lowered.source()  # the weight shows in the code


# --- leaf modules ------------------------------------------------------------------------------
def test_recurrent_last_joins_both_directions_final_states() -> None:
    torch.manual_seed(0)
    for cell in ("rnn", "lstm", "gru"):
        every = Recurrent(cell, 3, 4, 2, True, False, 0.0).eval()
        last = Recurrent(cell, 3, 4, 2, True, True, 0.0).eval()
        last.load_state_dict(every.state_dict())
        x = torch.randn(2, 6, 3)
        steps = every(x)  # (B, T, 2N): the backward direction ends at step 0
        want = torch.cat((steps[:, -1, :4], steps[:, 0, 4:]), dim=-1)
        torch.testing.assert_close(last(x), want)
        single = Recurrent(cell, 3, 4, 1, False, True, 0.0).eval()
        single_steps = Recurrent(cell, 3, 4, 1, False, False, 0.0).eval()
        single_steps.load_state_dict(single.state_dict())
        torch.testing.assert_close(single(x), single_steps(x)[:, -1])


def test_sparse_code_shrinks_as_softshrink_does() -> None:
    torch.manual_seed(0)
    for solver in ("ista", "fista"):
        module = SparseCode(6, 10, 0.2, 5, solver)
        x = torch.randn(4, 6)
        step = 1.0 / module.lipschitz().clamp_min(1e-6)
        z = x.new_zeros(4, 10)
        y, t = z, 1.0
        for _ in range(5):  # the reference: F.softshrink with a float threshold
            grad = (y @ module.D.t() - x) @ module.D
            z_next = F.softshrink(y - step * grad, float(module.l1 * step.detach()))
            if solver == "fista":
                t_next = (1.0 + (1.0 + 4.0 * t * t) ** 0.5) / 2.0
                y = z_next + ((t - 1.0) / t_next) * (z_next - z)
                t = t_next
            else:
                y = z_next
            z = z_next
        torch.testing.assert_close(module(x), z)


@pytest.mark.parametrize("op", ["max", "avg"])
def test_wide_pool_pads_as_torchs_pooling_does(op: str) -> None:
    x = torch.randn(2, 3, 7, 6)
    layer = nn.MaxPool2d((3, 2), (2, 1), (1, 1)) if op == "max" else nn.AvgPool2d(3, 2, 1)
    k, stride = ((3, 2), (2, 1)) if op == "max" else ((3, 3), (2, 2))
    wide = WidePool(op, k, stride, (1, 1))  # within torch's limit: must agree with its layer
    torch.testing.assert_close(wide(x), layer(x))
    beyond = WidePool(op, (2,), (2,), (2,))(torch.ones(1, 1, 4))  # [pad pad 1 1 1 1 pad pad]
    want = [float("-inf"), 1.0, 1.0, float("-inf")] if op == "max" else [0.0, 1.0, 1.0, 0.0]
    assert beyond.flatten().tolist() == want


def test_lowering_records_which_units_end_in_a_link() -> None:
    compiled = compile(
        "network links {\n  input x: [4]\n  p = x -> logistic\n  s = x -> softmax(3)\n"
        "  g = x -> linear(2) -> sigmoid\n  d = x -> dense(3, act=sigmoid)\n"
        "  r = x -> dense(3, act=relu)\n  score_logits = x -> linear(1)\n"
        "  output p, s, g, d, r, score_logits\n}"
    )
    low = lower(compiled.network())
    # Named after the spec, never read by name: `score_logits` is a plain linear map.
    assert low.links == {"p": "sigmoid", "s": "softmax", "g": "sigmoid", "d": "sigmoid"}
