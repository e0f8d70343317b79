"""An autoencoder's linear decoder (`decoder=linear`), for real-valued inputs such as whitened
patches: the module rebuilds W^T code + b with no activation, its equations say so, the
reconstruction rule's gradient equations are autograd of its objective, and export keeps it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import netspec
from netspec.backend.nn.autoencoders import Autoencoder
from netspec.equations.expr import Equations, grad
from netspec.equations.reference import evaluate, run
from netspec.plan.catalog import METHODS, OPTIMIZERS
from netspec.plan.plans import CallPlan
from netspec.training.pretrain.rules import make_rule
from netspec.types import TensorType
from netspec.units import REGISTRY
from netspec.units.base import EquationContext, Params


def _unit(**params: Any) -> Params:
    found = {p.name: p.default for p in REGISTRY["autoencoder"].signature.params if not p.required}
    return {**found, "n": 4, "decoder": "linear", **params}  # type: ignore[dict-item]


def _module(unit: Params, d: int = 7) -> Autoencoder:
    torch.manual_seed(0)
    ae = Autoencoder(d, 4, bool(unit["tied"]), str(unit["act"]), "linear").double()
    with torch.no_grad():
        for t in ae.parameters():
            t.normal_(0.0, 0.5)
    return ae


def _np(t: torch.Tensor) -> Any:
    return t.detach().numpy().copy()


def _context(unit: Params, d: int = 7) -> EquationContext:
    return EquationContext("h", ("x",), (TensorType((d,)),), TensorType((4,)), unit)


@pytest.mark.parametrize("tied", [True, False])
def test_a_linear_decoder_rebuilds_without_an_activation(tied: bool) -> None:
    unit = _unit(tied=tied, act="tanh")
    ae = _module(unit)
    code = torch.rand(5, 4, dtype=torch.float64)
    back = ae.W.t() if ae.V is None else ae.V
    with torch.no_grad():
        assert torch.allclose(ae.decode(code), F.linear(code, back, ae.b))
    eqs = REGISTRY["autoencoder"].equation(_context(unit))
    assert isinstance(eqs, Equations)
    (check,) = eqs.checks
    scope = {"h": _np(code), **{f"{p}_h": _np(t) for p, t in ae.named_parameters()}}
    assert np.allclose(evaluate(check.expr, scope), _np(ae.decode(code)))
    assert "tanh" not in check.text


@pytest.mark.parametrize("tied", [True, False])
def test_the_linear_decoder_gradient_equations_are_autograd_of_the_rule_objective(
    tied: bool,
) -> None:
    d, b = 7, 6
    unit = _unit(tied=tied, act="tanh")
    ae = _module(unit, d)
    m = CallPlan("reconstruction", {**CallPlan.default(METHODS["reconstruction"]).params})
    o = CallPlan("adam", {**CallPlan.default(OPTIMIZERS["adam"]).params})
    rule = make_rule(ae, unit, m, o, b)
    x = 3 * torch.randn(b, d, dtype=torch.float64)  # real values, far outside tanh's range
    objective = rule._objective(x, corrupt=False)  # type: ignore[attr-defined]
    named = dict(ae.named_parameters())
    grads = torch.autograd.grad(objective, list(named.values()))
    pretraining = REGISTRY["autoencoder"].pretraining
    assert pretraining is not None
    settings = {"method": m.name, **m.params, "optimizer": o.name, **o.params}
    eqs = pretraining(_context(unit, d), settings)
    scope: dict[str, Any] = {f"{p}_h": _np(t) for p, t in named.items()}
    scope["x"] = _np(x)
    run(eqs.backward, scope)
    assert np.allclose(scope["E_h"], float(objective.detach()))
    for (p, _), g in zip(named.items(), grads, strict=True):
        assert np.allclose(scope[grad(f"{p}_h")], _np(g)), f"dL/d{p}"


def test_a_linear_decoder_fits_real_values_a_tanh_one_cannot() -> None:
    """Squared error after the same training on values of sd 2: tanh's reconstruction cannot
    leave (-1, 1), so it stays at the floor that range sets; the linear one goes far below."""
    torch.manual_seed(0)
    x = 2 * torch.randn(512, 4)
    floor = float(((x.abs() - 1).clamp(min=0) ** 2).mean())  # the best any (-1, 1) output does

    def trained(decoder: str) -> float:
        torch.manual_seed(1)
        ae = Autoencoder(4, 16, True, "tanh", decoder)
        optimizer = torch.optim.Adam(ae.parameters(), lr=0.02)
        for _ in range(300):
            optimizer.zero_grad()
            loss = F.mse_loss(ae.decode(ae(x)), x)
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
        return float(loss.detach())

    assert trained("act") >= floor
    assert trained("linear") < 0.1 * floor


def test_export_keeps_the_linear_decoder_and_a_spec_asks_for_it() -> None:
    assert "decoder='linear'" in Autoencoder(4, 2, decoder="linear").extra_repr()
    assert "decoder" not in Autoencoder(4, 2).extra_repr()
    text = "network n {\n input x: [6]\n h = autoencoder(x, 3, decoder=linear)\n output h\n}\n"
    node = netspec.compile(text).network().node("h")
    assert node.params["decoder"] == "linear"
