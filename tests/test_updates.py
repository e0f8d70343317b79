"""The optimizers' update rules that `explain` prints (netspec/equations/updates.py) are the
steps torch.optim takes: run side by side for a few steps on the same gradients, with drawn
settings (momentum or not, Nesterov, weight decay), the NumPy evaluation of the printed
equations lands on the same tensor."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
import torch

from netspec.equations.reference import run
from netspec.plan import catalog

OPTIMIZERS = [e for e in catalog.OPTIMIZERS.values() if e.update is not None]


def _draw(entry: catalog.Entry, rng: random.Random) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for p in entry.params:
        if p.type == "bool":
            params[p.name] = rng.random() < 0.5
        elif p.name in ("momentum", "weight_decay"):
            params[p.name] = rng.choice([0.0, round(rng.uniform(0.05, 0.9), 3)])
        elif p.name in ("beta1", "beta2", "alpha"):
            params[p.name] = round(rng.uniform(0.5, 0.99), 3)
        else:
            params[p.name] = p.default if p.name != "lr" else round(rng.uniform(0.01, 0.5), 3)
    if params.get("nesterov") and not params.get("momentum"):
        params["momentum"] = 0.5  # the checker refuses Nesterov without momentum
    return params


@pytest.mark.parametrize("entry", OPTIMIZERS, ids=lambda e: e.name)
@pytest.mark.parametrize("seed", range(6))
def test_the_printed_update_is_torchs_step(entry: catalog.Entry, seed: int) -> None:
    rng = random.Random(seed)
    params = _draw(entry, rng)
    gen = torch.Generator().manual_seed(seed)
    theta = torch.randn(3, 4, generator=gen, dtype=torch.float64, requires_grad=True)
    optimizer = entry.resolve()([theta], **params)
    assert entry.update is not None
    statements = entry.update(params)
    scope: dict[str, Any] = {"theta": theta.detach().numpy().copy(), "m": 0.0, "v": 0.0, "b": 0.0}
    for t in range(1, 4):
        g = torch.randn(3, 4, generator=gen, dtype=torch.float64)
        theta.grad = g.clone()
        optimizer.step()
        scope.update(g=g.numpy().copy(), t=float(t))
        run(statements, scope)
        assert np.allclose(scope["theta"], theta.detach().numpy(), rtol=1e-10, atol=1e-12), (
            f"{entry.name}({params}) step {t}"
        )


def test_a_wrong_rule_would_fail() -> None:
    """The comparison has teeth: SGD printed without its momentum differs from torch's."""
    entry = catalog.OPTIMIZERS["sgd"]
    params = {"lr": 0.1, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0}
    theta = torch.ones(2, dtype=torch.float64, requires_grad=True)
    optimizer = entry.resolve()([theta], **params)
    assert entry.update is not None
    plain = entry.update({**params, "momentum": 0.0})
    scope: dict[str, Any] = {"theta": np.ones(2)}
    for _ in range(2):
        theta.grad = torch.ones(2, dtype=torch.float64)
        optimizer.step()
        scope["g"] = np.ones(2)
        run(plain, scope)
    assert not np.allclose(scope["theta"], theta.detach().numpy())
