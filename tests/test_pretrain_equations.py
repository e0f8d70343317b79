"""The unsupervised rules as equations (each pretrainable kind's `pretraining` hook) are what
the rules of netspec/training/pretrain apply: the CD and PCD update, evaluated with the same
random draws the rule takes (the same generators in the same states), equals the
rule's change to the RBM's parameters; the autoencoder's reconstruction gradient and the
dictionary's equal torch.autograd of the rule's own objective, and the dictionary step with
its renormalised atoms equals the rule's."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pytest
import torch

from netspec.backend.nn.autoencoders import Autoencoder
from netspec.backend.nn.energy import RBM
from netspec.backend.nn.sparse_coding import SparseCode
from netspec.equations import reference
from netspec.equations.expr import Equations, grad
from netspec.equations.reference import run
from netspec.plan.catalog import METHODS, OPTIMIZERS
from netspec.plan.plans import CallPlan
from netspec.training.pretrain.rules import make_rule
from netspec.types import TensorType
from netspec.units import REGISTRY
from netspec.units.base import EquationContext, Params


def _call(table: Mapping[str, Any], name: str, params: Mapping[str, Any]) -> CallPlan:
    """A catalogue call with the given parameters, the others at their defaults."""
    return CallPlan(name, {**CallPlan.default(table[name]).params, **params})


def _settings(method: CallPlan, optimizer: CallPlan) -> dict[str, Any]:
    """The stage's settings, as the `pretraining` hook takes them."""
    return {"method": method.name, **method.params, "optimizer": optimizer.name, **optimizer.params}


def _unit(kind: str, n: int, **params: Any) -> dict[str, Any]:
    """The unit's parameters, every one bound (as check binds them)."""
    found = {p.name: p.default for p in REGISTRY[kind].signature.params if not p.required}
    return {**found, "n": n, **params}


def _rule_equations(
    kind: str, d: int, unit: Params, method: CallPlan, optimizer: CallPlan
) -> Equations:
    ctx = EquationContext("h", ("x",), (TensorType((d,)),), TensorType((unit["n"],)), unit)  # type: ignore[arg-type]
    rule = REGISTRY[kind].pretraining
    assert rule is not None, f"{kind} has no pretraining equations"
    return rule(ctx, _settings(method, optimizer))


def _np(t: torch.Tensor) -> Any:
    return t.detach().numpy().copy()


def _same(ours: Any, theirs: torch.Tensor, what: str) -> None:
    want = _np(theirs)
    got = np.broadcast_to(np.asarray(ours, dtype=np.float64), want.shape)
    assert np.allclose(got, want, rtol=1e-9, atol=1e-12), f"{what}: {got} against {want}"


class Noise:
    """The reference's uniform noise: a copy of the rule's NumPy generator, taken before a step."""

    generator: np.random.Generator | None = None


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Noise]:
    """The reference's random draws taken as the RBM rule takes its own (uniform noise below p
    from its NumPy generator, copied into the fixture's before each step; Gaussian noise in
    float32 from torch's global generator), so that both draw the same samples."""
    noise = Noise()

    def bernoulli(q: Any, like: Any = None) -> Any:
        shape = np.shape(q if like is None else like)
        assert noise.generator is not None, "copy the rule's generator before the step"
        return (noise.generator.random(shape) < q).astype(np.float64)

    def normal(m: Any, like: Any = None) -> Any:
        shape = np.shape(m if like is None else like)
        return m + torch.randn(shape).double().numpy()

    monkeypatch.setitem(reference.NUMPY, "bernoulli", bernoulli)
    monkeypatch.setitem(reference.NUMPY, "normal", normal)
    yield noise


@pytest.fixture
def masks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The draws as the autoencoder rule takes them: torch.bernoulli of a full tensor, and
    float64 Gaussian noise."""

    def bernoulli(q: Any, like: Any = None) -> Any:
        shape = np.shape(q if like is None else like)
        full = torch.full(shape, float(q), dtype=torch.float64)
        return torch.bernoulli(full).numpy()  # type: ignore[no-untyped-call]

    def normal(m: Any, like: Any = None) -> Any:
        shape = np.shape(m if like is None else like)
        return m + torch.randn(shape, dtype=torch.float64).numpy()

    monkeypatch.setitem(reference.NUMPY, "bernoulli", bernoulli)
    monkeypatch.setitem(reference.NUMPY, "normal", normal)
    yield


CD_CASES = [
    ("cd", {"k": 1}, "sgd", {"lr": 0.1}, "bernoulli"),
    (
        "pcd",
        {"k": 2, "sparsity": 0.2, "target": 0.1},
        "sgd",
        {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01},
        "bernoulli",
    ),
    ("cd", {"k": 3}, "sgd", {"lr": 0.05, "momentum": 0.9}, "gaussian"),
    ("pcd", {"k": 1}, "adam", {"lr": 0.01}, "bernoulli"),
]


@pytest.mark.parametrize(("method", "mp", "optimizer", "op", "visible"), CD_CASES)
def test_the_cd_update_equations_are_the_update_the_rule_applies(
    draws: Noise, method: str, mp: dict[str, Any], optimizer: str, op: dict[str, Any], visible: str
) -> None:
    v, h, b = 6, 4, 5
    torch.manual_seed(0)
    rbm = RBM(v, h, visible).double()
    with torch.no_grad():
        for t in rbm.parameters():
            t.normal_(0.0, 0.5)
    m, o = _call(METHODS, method, mp), _call(OPTIMIZERS, optimizer, op)
    unit = _unit("rbm", h, visible=visible)
    rule = make_rule(rbm, unit, m, o, b)
    assert rule.cd.chain.dtype == torch.float64  # type: ignore[attr-defined]  # the RBM's dtype
    eqs = _rule_equations("rbm", v, unit, m, o)
    scope: dict[str, Any] = {f"{p}_h": _np(getattr(rbm, p)) for p in ("W", "b", "c")}
    scope["chain_h"] = np.zeros((b, h))
    scope.update({f"vel_{p}_h": 0.0 for p in ("W", "b", "c")})
    rule.cd.noise()  # type: ignore[attr-defined]  # seeded now, not from the draws below
    for step, rows in enumerate((b, b - 2)):  # a short last minibatch: fewer rows than chains
        data = torch.rand(rows, v, dtype=torch.float64)
        data = data if visible == "gaussian" else (data < 0.5).double()
        torch.manual_seed(10 + step)
        draws.generator = copy.deepcopy(rule.cd.noise())  # type: ignore[attr-defined]
        rule.step(data, float(op["lr"]))
        torch.manual_seed(10 + step)
        scope["x"] = _np(data)
        run(eqs.backward, scope)
        for p in ("W", "b", "c"):
            param = getattr(rbm, p)
            if optimizer == "sgd":
                _same(scope[f"{p}_h"], param, f"{p} after update {step + 1}")
            else:  # the estimate goes to the optimizer as a gradient
                _same(scope[grad(f"{p}_h")], param.grad, f"dL/d{p} at update {step + 1}")
                scope[f"{p}_h"] = _np(param)


AE_CASES = [
    ({"noise": 0.3}, "mse"),
    ({"noise": 0.2, "corruption": "gaussian", "tied": False, "act": "tanh"}, "mse"),
    ({"noise": 0.3, "sparsity": 0.5, "target": 0.1}, "bce"),
    ({"sparsity": 0.2, "tied": False}, "bce"),
    ({"act": "relu"}, "mse"),
]


@pytest.mark.parametrize(("params", "loss"), AE_CASES)
def test_the_reconstruction_gradient_equations_are_autograd_of_the_rule_objective(
    masks: None, params: dict[str, Any], loss: str
) -> None:
    d, n, b = 7, 4, 6
    unit = _unit("autoencoder", n, **params)
    torch.manual_seed(0)
    ae = Autoencoder(d, n, bool(unit["tied"]), str(unit["act"])).double()
    with torch.no_grad():
        for t in ae.parameters():
            t.normal_(0.0, 0.5)
    m, o = _call(METHODS, "reconstruction", {"loss": loss}), _call(OPTIMIZERS, "adam", {})
    rule = make_rule(ae, unit, m, o, b)
    x = torch.rand(b, d, dtype=torch.float64)
    torch.manual_seed(3)
    objective = rule._objective(x, corrupt=True)  # type: ignore[attr-defined]
    named = dict(ae.named_parameters())
    grads = torch.autograd.grad(objective, list(named.values()))
    eqs = _rule_equations("autoencoder", d, unit, m, o)
    scope: dict[str, Any] = {f"{p}_h": _np(t) for p, t in named.items()}
    scope["x"] = _np(x)
    torch.manual_seed(3)
    run(eqs.backward, scope)
    _same(scope["E_h"], objective, "the objective")
    for (p, _), g in zip(named.items(), grads, strict=True):
        _same(scope[grad(f"{p}_h")], g, f"dL/d{p}")


@pytest.mark.parametrize("solver", ["ista", "fista"])
def test_the_dictionary_equations_are_the_rule_step(solver: str) -> None:
    d, n, b, lr = 6, 5, 8, 0.2
    torch.manual_seed(0)
    unit = _unit("sparse_code", n, l1=0.1, steps=15, solver=solver)
    sc = SparseCode(d, n, 0.1, 15, solver).double()
    m, o = _call(METHODS, "dictionary", {}), _call(OPTIMIZERS, "sgd", {"lr": lr})
    rule = make_rule(sc, unit, m, o, b)
    x = torch.randn(b, d, dtype=torch.float64)
    with torch.no_grad():
        code = sc(x)
    error = rule._error(x, code)  # type: ignore[attr-defined]
    (want,) = torch.autograd.grad(error, [sc.D])
    eqs = _rule_equations("sparse_code", d, unit, m, o)
    scope: dict[str, Any] = {"x": _np(x), "h": _np(code), "D_h": _np(sc.D)}
    run(eqs.backward, scope)
    _same(scope["E_h"], error, "the reconstruction error")
    _same(scope[grad("D_h")], want, "dL/dD")
    rule.step(x, lr)
    _same(scope["D_h"], sc.D, "D after the step and the atoms' renormalisation")
    assert np.allclose(np.linalg.norm(scope["D_h"], axis=0), 1.0)


def test_every_pretrainable_kind_states_its_rule_as_equations() -> None:
    for kind in REGISTRY.values():
        assert bool(kind.pretrain) == (kind.pretraining is not None), kind.name
