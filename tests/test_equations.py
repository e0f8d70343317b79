"""What netspec teaches is what it computes: for every registered kind, on the calls its
`samples` rule draws, the NumPy evaluation of the kind's equations (equations/reference.py)
equals the lowered torch module's output, and the chain rule walked through the sample network
(equations/chain.py) equals torch.autograd's gradients of every parameter and real input. The
listed tensors add up to the parameter count, and other methods stated as equations (an RBM's
p(v = 1 | h), an autoencoder's decoder) equal the module's."""

from __future__ import annotations

import random
from collections import ChainMap
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from lowered_values import UnitValues, size

import netspec
from netspec.backend.lower import Lowered, lower
from netspec.diagnostics.core import NetspecError
from netspec.equations import chain
from netspec.equations.expr import OPS, Eq, Equations, Statement, Tensor, delta, grad
from netspec.equations.reference import NUMPY, evaluate, run
from netspec.ir import Graph, Role
from netspec.types import TensorType
from netspec.units import REGISTRY, UnitKind

KINDS = list(REGISTRY.values())
BATCH = 4
SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _random_input(t: TensorType, sizes: Mapping[str, int], gen: torch.Generator) -> torch.Tensor:
    shape = (BATCH, *(size(d, sizes) for d in t.dims))
    if t.dtype == "class":
        return torch.randint(0, int(t.classes or 1), shape, generator=gen)
    if t.dtype == "binary":
        return torch.randint(0, 2, shape, generator=gen).double()
    return torch.randn(shape, generator=gen, dtype=torch.float64).requires_grad_()


def _tensor(module: torch.nn.Module | None, t: Tensor) -> torch.Tensor:
    assert module is not None, f"{t.name} names a tensor of a unit with no module"
    state = dict(module.state_dict(keep_vars=True))
    assert t.source in state, f"{t.name}: no {t.source} in {sorted(state)}"
    value = state[t.source]
    return value[t.rows[0] : t.rows[1]] if t.rows else value


def _numpy(value: torch.Tensor) -> Any:
    return value.detach().double().numpy().copy()


def _targets(statements: tuple[Statement, ...]) -> list[str]:
    out = []
    for s in statements:
        out += [s.target] if isinstance(s, Eq) else [b.target for b in s.body]
    return out


def _close(ours: Any, theirs: torch.Tensor, what: str, rtol: float) -> None:
    want = _numpy(theirs)
    got = np.broadcast_to(np.asarray(ours, dtype=np.float64), want.shape)
    assert np.allclose(got, want, rtol=rtol, atol=rtol * 1e-2), (
        f"{what}: the equations give\n{got}\nbut torch computes\n{want}"
    )


def check_network(graph: Graph, lowered: Lowered, sizes: Mapping[str, int], mode: str) -> None:
    """The equations of every unit of a small network against its lowered modules."""
    gen = torch.Generator().manual_seed(0)
    inputs = {n.id: _random_input(n.type, sizes, gen) for n in graph.nodes(Role.INPUT)}  # type: ignore[arg-type]
    for node_id in _targets_only(graph):  # a loss's target is data: no gradient is taught
        inputs[node_id] = inputs[node_id].detach()
    run_ = _Comparison(graph, lowered, inputs, mode)
    run_.forward()
    run_.backward(gen)


class _Comparison:
    """One run of the network in torch and of its equations in NumPy, side by side."""

    def __init__(
        self, graph: Graph, lowered: Lowered, inputs: dict[str, torch.Tensor], mode: str
    ) -> None:
        self.graph, self.lowered, self.inputs, self.mode = graph, lowered, inputs, mode
        self.steps = chain.forward(graph)
        self.modules = {
            s.node.id: lowered.root.get_submodule(lowered.modules[s.node.id])
            if s.node.id in lowered.modules
            else None
            for s in self.steps
        }
        self.rtol = max([1e-6, *(s.equations.tolerance for s in self.steps)])
        # The reference reads the tensors before torch runs (batch norm updates its statistics).
        self.scope: dict[str, Any] = {graph.node(i).label: _numpy(v) for i, v in inputs.items()}
        self.locals: dict[str, ChainMap[str, Any]] = {}
        for step in self.steps:
            local: ChainMap[str, Any] = ChainMap({}, self.scope)
            for t in step.equations.tensors:
                local[t.name] = _numpy(_tensor(self.modules[step.node.id], t))
            self.locals[step.node.id] = local
        lowered.root.train(mode == "train")
        self.torch = UnitValues(lowered.objective)
        self.out = self.torch.run(*(inputs[i] for i in lowered.inputs))

    def forward(self) -> None:
        """Every unit's value, its listed tensors' sizes and its stated methods."""
        for step in self.steps:
            eqs, node = step.equations, step.node
            assert eqs.learned() == node.meta.get("params", 0), (
                f"{node.label}: the listed tensors hold {eqs.learned()} values, "
                f"the unit {node.meta.get('params', 0)} parameters"
            )
            local = self.locals[node.id]
            run(step.statements, local, self.mode)
            self.scope[eqs.output] = local[eqs.output]
            what = f"{node.label} ({node.kind}) forward, {self.mode}"
            _close(self.scope[eqs.output], self._value(node.id), what, eqs.tolerance or 1e-6)
            _check_methods(eqs, self.modules[node.id], node.label)

    def _value(self, node_id: str) -> torch.Tensor:
        value = self.torch.values.get(node_id)
        if value is None:  # lowered to no fx node: the value of its input
            source = self.graph.inputs_of(node_id)[0]
            return self.inputs[source] if source in self.inputs else self._value(source)
        return value  # type: ignore[no-any-return]

    def backward(self, gen: torch.Generator) -> None:
        """torch.autograd on the loss, or on a random projection of each output, against the
        backward walk: every learned tensor's gradient and every real input's."""
        total = self.out["loss"]
        walk = chain.backward(self.graph)
        for step in walk:
            value = self.torch.values.get(step.node.id)
            if step.given and value is not None and value.dtype.is_floating_point:
                g = torch.randn(value.shape, generator=gen, dtype=torch.float64)
                self.scope[delta(step.node.label)] = g.numpy()
                total = (value * g).sum() if total is None else total + (value * g).sum()
        if total is None or not total.requires_grad:
            return
        params = list(self.lowered.root.parameters())
        leaves = [v for v in self.inputs.values() if v.requires_grad]
        grads = torch.autograd.grad(total, params + leaves, allow_unused=True)
        self.grads = {id(p): g for p, g in zip(params + leaves, grads, strict=True)}
        for step in walk:
            local = self.locals[step.node.id]
            if step.fused:  # the loss's gradient on the logits reads the loss's own values
                local = ChainMap(local.maps[0], self.locals[step.fused].maps[0], self.scope)
            run(step.statements, local, self.mode)
            for target in _targets(step.statements):
                self.scope[target] = local[target]
        self._tensor_gradients()
        self._input_gradients()

    def _tensor_gradients(self) -> None:
        for step in self.steps:
            module = self.modules[step.node.id]
            for t in step.equations.tensors:
                if not t.learned:
                    continue
                assert module is not None and grad(t.name) in self.scope, (
                    f"the backward of {step.node.label} sets no {grad(t.name)}"
                )
                base = dict(module.named_parameters())[t.source]
                g = self.grads.get(id(base))
                want = torch.zeros_like(base) if g is None else g
                want = want[t.rows[0] : t.rows[1]] if t.rows else want
                what = f"{grad(t.name)} ({step.node.kind})"
                _close(self.scope[grad(t.name)], want, what, self.rtol)

    def _input_gradients(self) -> None:
        for node_id, value in self.inputs.items():
            if not value.requires_grad:
                continue
            name = delta(self.graph.node(node_id).label)
            parts = [v for k, v in self.scope.items() if k == name or k.startswith(name + "<-")]
            g = self.grads.get(id(value))
            if not parts:
                assert g is None or not g.any(), f"no equation gives {name}"
                continue
            _close(sum(parts), g if g is not None else torch.zeros_like(value), name, self.rtol)


def _targets_only(graph: Graph) -> list[str]:
    """The inputs read only as a loss's target (its second input)."""
    out = []
    for node in graph.nodes(Role.INPUT):
        uses = [(u, graph.inputs_of(u).index(node.id)) for u in graph.users_of(node.id)]
        if uses and all(graph.node(u).role is Role.LOSS and port > 0 for u, port in uses):
            out.append(node.id)
    return out


def _check_methods(eqs: Equations, module: torch.nn.Module | None, label: str) -> None:
    gen = torch.Generator().manual_seed(1)
    for check in eqs.checks:
        assert module is not None
        args = {
            n: torch.rand((BATCH, *dims), generator=gen, dtype=torch.float64)
            for n, dims in check.inputs
        }
        scope: dict[str, Any] = {n: a.numpy() for n, a in args.items()}
        for t in eqs.tensors:
            scope[t.name] = _numpy(_tensor(module, t))
        with torch.no_grad():
            want = getattr(module, check.method)(*args.values())
        _close(evaluate(check.expr, scope), want, f"{label}.{check.method}", eqs.tolerance or 1e-6)


def _compile(body: str) -> netspec.Compiled:
    return netspec.compile("network example {\n" + body + "\n}", file="example.net")


def _check_body(body: str, sizes: Mapping[str, int]) -> None:
    try:
        compiled = _compile(body)
    except NetspecError:
        return  # check refuses it: nothing to compare
    graph = compiled.network()
    lowered = lower(graph, compiled.sources)
    lowered.root.double()
    random_forward = any(s.equations.random for s in chain.forward(graph))
    for mode in ("eval",) if random_forward else ("eval", "train"):
        check_network(graph, lowered, sizes, mode)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_registry_example_equations_are_what_runs(kind: UnitKind) -> None:
    _check_body(kind.example, {"T": 5})


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@SETTINGS
@given(rng=st.randoms(use_true_random=False))
def test_equations_are_what_runs(kind: UnitKind, rng: random.Random) -> None:
    sample = kind.sample(rng)
    body = sample.body(kind)
    note(body)
    _check_body(body, sample.sizes or {"T": 3})


def test_every_operator_has_a_text_and_a_reference() -> None:
    assert set(OPS) == set(NUMPY) | {"sym", "num", "at"}


@pytest.mark.parametrize("spec", ["mlp", "dbn"])
def test_the_zoo_backward_walk_is_autograd(spec: str) -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    compiled = netspec.compile_file(root / "specs" / f"{spec}.net")
    graph = compiled.network()
    lowered = lower(graph, compiled.sources)
    lowered.root.double()
    check_network(graph, lowered, {}, "eval")


# --- convolution, pooling, shape and merge units chained: the walk through fan-outs ------------
CONV_NET = """input image: [2, 8, 8]
input seq: [T, 3]
input digit: class(3)
c = image -> conv2d(3, 3, pad=1)
p = c -> maxpool(2)
q = c -> avgpool(2)
m = mul(add(p, q), p)
f = concat(m -> flatten, image -> flatten, seq -> last -> dense(4))
y = f -> reshape([4, 45]) -> conv1d(2, 3, dilation=2) -> flatten -> softmax(3)
loss cross_entropy(y, digit)"""


def test_convolutions_pools_shapes_and_merges_chain_as_autograd() -> None:
    """c feeds two pools and p two merges: their deltas add up; concat splits its delta among
    a pooled map, the raw image and a sequence's last step."""
    from netspec.equations.expr import statement_lines

    compiled = _compile(CONV_NET)
    graph = compiled.network()
    lowered = lower(graph, compiled.sources)
    lowered.root.double()
    check_network(graph, lowered, {"T": 5}, "train")
    walk = [
        line
        for step in chain.backward(graph)
        for s in step.statements
        for line in statement_lines(s)
    ]
    assert "delta_c = delta_c<-p + delta_c<-q    (it feeds several units)" in walk
    assert "delta_f.flatten_2 = delta_f[48:176]" in walk


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize(
    "params",
    [
        "layers=2, bidirectional=true, steps=last",
        "layers=3, bidirectional=true, dropout=0.5",
        "layers=2, steps=last, dropout=0.3",
        "layers=2",
    ],
)
def test_every_layer_and_direction_of_a_recurrent_unit_is_what_runs(kind: str, params: str) -> None:
    """Stacked and bidirectional layers, the final states of both directions and dropout
    between layers, forward and through time, whatever the hypothesis draws."""
    _check_body(f"input x: [T, 3]\nh = x -> {kind}(2, {params})", {"T": 4})


def test_recurrent_equations_teach_the_convention_that_runs() -> None:
    """The GRU's update gate keeps the old state (torch's), each bias is listed, and a
    bidirectional `steps=last` says which step the backward direction ends on."""
    from netspec.equations.expr import statement_lines

    body = "input x: [T, 3]\nenc = x -> gru(4, layers=2, bidirectional=true, steps=last)"
    graph = _compile(body).network()
    (step,) = chain.forward(graph)
    lines = [line.strip() for s in step.statements for line in statement_lines(s)]
    assert "h2_enc_t = (1 - z2_enc_t) * n2_enc_t + z2_enc_t * h2_enc_(t-1)" in lines
    assert (
        "n1'_enc_t = tanh(W1'_enc_n x_t + b1'_enc_n + r1'_enc_t * (U1'_enc_n h1'_enc_(t+1) "
        "+ d1'_enc_n))" in lines
    )
    assert any(line.startswith("enc = [h2_enc_T ; h2'_enc_1]    (") for line in lines)
    names = {t.name for t in step.equations.tensors}
    assert {"b2'_enc_n", "d2'_enc_n", "W1_enc_r", "U2_enc_z"} <= names
    assert step.equations.learned() == step.node.meta["params"]


# --- energy-based, autoencoder, sparse coding and normalization units ---------------------------
def _one_unit(body: str) -> tuple[Graph, Lowered, chain.Step, torch.nn.Module]:
    """A network of one unit, lowered in float64, with its forward step and its module."""
    compiled = _compile(body)
    graph = compiled.network()
    lowered = lower(graph, compiled.sources)
    lowered.root.double()
    (step,) = chain.forward(graph)
    return graph, lowered, step, lowered.root.get_submodule(lowered.modules[step.node.id])


@pytest.mark.parametrize("dims", ["[3]", "[2, 5]", "[3, 2, 2]"])
def test_batchnorm_moves_its_running_statistics_as_its_equations_say(dims: str) -> None:
    """check_network compares the value; this compares the running statistics the training
    forward leaves behind (torch's momentum and unbiased variance)."""
    _, _, step, module = _one_unit(f"input x: {dims}\ny = x -> batchnorm")
    with torch.no_grad():
        module.running_mean.normal_()  # type: ignore[operator]
        module.running_var.uniform_(0.5, 2.0)  # type: ignore[operator]
    x = torch.randn(BATCH, *_dims(dims), dtype=torch.float64)
    scope: dict[str, Any] = {"x": _numpy(x)}
    scope.update({t.name: _numpy(_tensor(module, t)) for t in step.equations.tensors})
    run(step.statements, scope, "train")
    module.train()
    module(x)
    for name in ("running_mean", "running_var"):
        got = np.ravel(scope[f"{name}_y"])
        _close(got, getattr(module, name), name, 1e-9)


def _dims(dims: str) -> list[int]:
    return [int(d) for d in dims.strip("[]").split(",")]


@pytest.mark.parametrize("p", [0.3, 0.7])
def test_dropout_training_equations_hold_for_the_mask_torch_drew(
    p: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The training forward and backward with the mask torch drew (random, so check_network
    compares only the evaluation): read back from which values survived."""
    from netspec.equations import reference

    _, _, step, module = _one_unit(f"input x: [6, 3]\ny = x -> dropout({p})")
    module.train()
    x = torch.randn(BATCH, 6, 3, dtype=torch.float64, requires_grad=True)
    y = module(x)
    mask = _numpy(y != 0).astype(np.float64)
    assert 0 < mask.mean() < 1, "the draw should drop some values and keep others"
    monkeypatch.setitem(reference.NUMPY, "bernoulli", lambda q, like=None: mask)
    dy = torch.randn(y.shape, dtype=torch.float64)
    (want,) = torch.autograd.grad((y * dy).sum(), [x])
    scope: dict[str, Any] = {"x": _numpy(x), "delta_y": _numpy(dy)}
    run(step.statements, scope, "train")
    run(step.equations.backward, scope, "train")
    _close(scope["y"], y, "y while training", 1e-12)
    _close(scope["delta_x"], want, "delta_x while training", 1e-12)


def test_a_bce_loss_on_a_sigmoid_unit_starts_from_the_sigmoid_s_input() -> None:
    """The sigmoid unit is a link: bce's fused gradient `y - t` lands on its input."""
    body = "input x: [4]\ninput t: binary[3]\ny = x -> dense(3) -> sigmoid\nloss bce(y, t)"
    _check_body(body, {})
    graph = _compile(body).network()
    fused = [s for s in chain.backward(graph) if s.fused]
    assert [s.node.kind for s in fused] == ["sigmoid"]
    logits = graph.node(graph.inputs_of(fused[0].node.id)[0]).label
    assert _targets(fused[0].statements)[:1] == [delta(logits)]


def test_the_rbm_teaches_both_directions_with_the_layers_own_names() -> None:
    """p(h1 = 1 | pixels) up, p(pixels = 1 | h1) down: never `h` for a layer, never p(x | h)
    for p(x = 1 | h)."""
    from netspec.equations.expr import statement_lines

    graph = _compile("input pixels: [6]\nh1 = rbm(pixels, 3)\nh2 = rbm(h1, 2)").network()
    steps = chain.forward(graph)
    lines = [line.strip() for s in steps for st in s.statements for line in statement_lines(st)]
    assert "h1 = p(h1 = 1 | pixels) = sigmoid(z_h1)" in lines
    assert "h2 = p(h2 = 1 | h1) = sigmoid(z_h2)" in lines
    downs = [c.text for s in steps for c in s.equations.checks if c.method == "visible_mean"]
    assert downs == [
        "p(pixels = 1 | h1) = sigmoid(W_h1^T h1 + b_h1)",
        "p(h1 = 1 | h2) = sigmoid(W_h2^T h2 + b_h2)",
    ]


def test_the_autoencoder_code_is_of_the_clean_input_and_sparsity_needs_sigmoid() -> None:
    from netspec.equations.expr import statement_lines

    graph = _compile("input pixels: [6]\ncode = autoencoder(pixels, 3, noise=0.3)").network()
    (step,) = chain.forward(graph)
    lines = [line.strip() for st in step.statements for line in statement_lines(st)]
    assert lines == ["z_code = W_code pixels + c_code", "code = sigmoid(z_code)"]
    assert step.equations.checks[0].text == "pixels^ = sigmoid(W_code^T code + b_code)"
    with pytest.raises(NetspecError) as caught:
        _compile("input x: [6]\nh = autoencoder(x, 3, sparsity=0.1, act=relu)")
    (diag,) = caught.value.diagnostics
    assert diag.code == "E404" and "act=sigmoid" in diag.message
