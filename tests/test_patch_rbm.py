"""A Gaussian RBM's visible noise `sigma` (what specs/patch_rbm.net needs): the module is a
unit-variance RBM on v / sigma, its equations and CD equations are what runs, check refuses a
sigma on Bernoulli units, export keeps it, and on whitened patches only sigma < 1 learns."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch

import netspec
from netspec.backend.nn.energy import RBM
from netspec.data.patches import patches
from netspec.diagnostics.core import NetspecError
from netspec.equations import reference
from netspec.equations.expr import Equations, delta, grad
from netspec.equations.reference import evaluate, run
from netspec.plan.catalog import METHODS, OPTIMIZERS
from netspec.plan.plans import CallPlan
from netspec.training.pretrain.rbm import CDSettings, ContrastiveDivergence
from netspec.training.pretrain.rules import make_rule
from netspec.types import TensorType
from netspec.units import REGISTRY
from netspec.units.base import EquationContext, Params

SIGMA = 0.5


def _rbm(sigma: float = SIGMA, visible: int = 6, hidden: int = 4) -> RBM:
    torch.manual_seed(0)
    rbm = RBM(visible, hidden, "gaussian", sigma).double()
    with torch.no_grad():
        for p in rbm.parameters():
            p.normal_()
    return rbm


def _context(sigma: float = SIGMA, visible: int = 6, hidden: int = 4) -> EquationContext:
    params: Params = {"n": hidden, "visible": "gaussian", "sigma": sigma}
    return EquationContext("h", ("x",), (TensorType((visible,)),), TensorType((hidden,)), params)


def _np(t: torch.Tensor) -> Any:
    return t.detach().numpy().copy()


def test_a_sigma_rbm_is_a_unit_variance_rbm_on_v_over_sigma() -> None:
    ours, unit = _rbm(), _rbm(1.0)
    v = torch.randn(5, 6, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(ours(v), unit(v / SIGMA))
        h = ours(v)
        assert torch.allclose(ours.visible_mean(h), SIGMA * unit.visible_mean(h))
        assert torch.allclose(ours.free_energy(v), unit.free_energy(v / SIGMA))


def test_the_equations_with_sigma_are_what_the_module_computes() -> None:
    rbm, eqs = _rbm(), REGISTRY["rbm"].equation(_context())
    assert isinstance(eqs, Equations)
    v = torch.randn(5, 6, dtype=torch.float64)
    scope: dict[str, Any] = {"x": _np(v), "W_h": _np(rbm.W), "b_h": _np(rbm.b), "c_h": _np(rbm.c)}
    run(eqs.forward, scope)
    with torch.no_grad():
        assert np.allclose(scope["h"], _np(rbm(v)))
        h = rbm(v)
    down, free = eqs.checks
    assert down.method == "visible_mean" and free.method == "free_energy"
    assert np.allclose(evaluate(down.expr, {**scope, "h": _np(h)}), _np(rbm.visible_mean(h)))
    assert np.allclose(evaluate(free.expr, scope), _np(rbm.free_energy(v)))
    assert "x / 0.5" in eqs.notes[0] and "N(that mean, 0.25): sd 0.5" in down.text
    v.requires_grad_(True)
    out = rbm(v)
    upstream = torch.randn_like(out)
    out.backward(upstream)  # type: ignore[no-untyped-call]
    scope[delta("h")] = _np(upstream)
    run(eqs.backward, scope)
    assert rbm.W.grad is not None and v.grad is not None
    assert np.allclose(scope[grad("W_h")], _np(rbm.W.grad))
    assert np.allclose(scope[delta("x")], _np(v.grad))


class Noise:
    """The reference's uniform noise: a copy of the rule's NumPy generator, taken before a step."""

    generator: np.random.Generator | None = None


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Noise]:
    """The reference's draws as the CD rule takes its own: uniform noise from a copy of its NumPy
    generator, Gaussian noise from torch's global generator."""
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


@pytest.mark.parametrize(
    ("method", "optimizer", "op"),
    [("cd", "sgd", {"lr": 0.05, "momentum": 0.9}), ("pcd", "adam", {"lr": 0.01})],
)
def test_the_cd_equations_with_sigma_are_the_update_the_rule_applies(
    draws: Noise, method: str, optimizer: str, op: dict[str, Any]
) -> None:
    rows = 5
    rbm = _rbm()
    m = CallPlan(method, {**CallPlan.default(METHODS[method]).params, "k": 2})
    o = CallPlan(optimizer, {**CallPlan.default(OPTIMIZERS[optimizer]).params, **op})
    unit = {"n": 4, "visible": "gaussian", "sigma": SIGMA}
    rule = make_rule(rbm, unit, m, o, rows)
    settings = {"method": m.name, **m.params, "optimizer": o.name, **o.params}
    pretraining = REGISTRY["rbm"].pretraining
    assert pretraining is not None
    eqs = pretraining(_context(), settings)
    scope: dict[str, Any] = {f"{p}_h": _np(getattr(rbm, p)) for p in ("W", "b", "c")}
    scope.update({"chain_h": np.zeros((rows, 4)), **{f"vel_{p}_h": 0.0 for p in "Wbc"}})
    rule.cd.noise()  # type: ignore[attr-defined]  # seeded now, not from the draws below
    for step in range(2):
        data = torch.randn(rows, 6, dtype=torch.float64)
        torch.manual_seed(10 + step)
        draws.generator = copy.deepcopy(rule.cd.noise())  # type: ignore[attr-defined]
        rule.step(data, float(op["lr"]))
        torch.manual_seed(10 + step)
        scope["x"] = _np(data)
        run(eqs.backward, scope)
        for p in ("W", "b", "c"):
            theirs = getattr(rbm, p) if optimizer == "sgd" else getattr(rbm, p).grad
            ours = scope[f"{p}_h"] if optimizer == "sgd" else scope[grad(f"{p}_h")]
            assert np.allclose(ours, _np(theirs), rtol=1e-9, atol=1e-12), f"{p}, step {step}"
            scope[f"{p}_h"] = _np(getattr(rbm, p))


def test_sigma_needs_gaussian_visible_units() -> None:
    with pytest.raises(NetspecError) as caught:
        netspec.compile("network n {\n input x: [6]\n h = rbm(x, 3, sigma=0.5)\n output h\n}\n")
    (diag,) = caught.value.diagnostics
    assert diag.code == "E404" and "visible=bernoulli" in diag.message
    assert diag.help is not None and "visible=gaussian" in diag.help


def test_export_rebuilds_the_noise_level_and_leaves_unit_noise_unsaid() -> None:
    assert "sigma=0.25" in RBM(4, 2, "gaussian", 0.25).extra_repr()
    assert "sigma" not in RBM(4, 2, "gaussian").extra_repr()
    rebuilt = eval(f"RBM({RBM(4, 2, 'gaussian', 0.25).extra_repr()})", {"RBM": RBM})
    assert rebuilt.sigma == 0.25 and rebuilt.kind == "gaussian"


def _filter_norm(sigma: float) -> float:
    """Mean filter norm after 3 epochs of CD-1 on whitened 4x4 patches (as patch_rbm trains)."""
    x = torch.tensor(patches(size=4, n=3000, whiten=True, eps=3.0, seed=0).x)
    torch.manual_seed(0)
    rbm = RBM(16, 16, "gaussian", sigma).double()
    cd = ContrastiveDivergence(rbm, CDSettings(lr=0.01, k=1), chains=50)
    optimizer = torch.optim.Adam(rbm.parameters(), lr=0.01)
    for _ in range(3):
        for batch in torch.split(x[torch.randperm(len(x))], 50):
            for param, g in zip((rbm.W, rbm.b, rbm.c), cd.gradients(batch), strict=True):
                param.grad = -g
            optimizer.step()
    return float(rbm.W.detach().norm(dim=1).mean())


def test_on_whitened_patches_only_noise_below_one_leaves_room_for_hidden_causes() -> None:
    unit, small = _filter_norm(1.0), _filter_norm(0.2)
    assert small > 5 * unit, (unit, small)
