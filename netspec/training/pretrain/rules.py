"""One unit's unsupervised training rule, behind one small interface the greedy stage drives:
CD/PCD for RBMs, (denoising, sparse) reconstruction for autoencoders, and dictionary learning
for sparse coding."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from netspec.backend.nn.autoencoders import Autoencoder
from netspec.backend.nn.energy import RBM
from netspec.backend.nn.sparse_coding import SparseCode
from netspec.plan.catalog import METHODS
from netspec.plan.plans import CallPlan
from netspec.training.optim import make_optimizer, set_lr
from netspec.training.pretrain.rbm import (
    CDSettings,
    ContrastiveDivergence,
    free_energy_gap,
    pseudo_likelihood,
    reconstruction_error,
)
from netspec.training.runs import load_optimizer_state, optimizer_state


class Rule(Protocol):
    """`monitors` always holds `loss`, the unit's own objective on (a sample of) the data, which
    `objective` names for people (evaluation tables); `finish` runs once the unit's last
    epoch is done. `state_dict` holds named fields (tensors and JSON values) that
    `load_state_dict` takes back, so a resumed run continues exactly."""

    objective: str

    def step(self, x: torch.Tensor, lr: float) -> None: ...
    def finish(self) -> None: ...
    def monitors(self, train: torch.Tensor, held: torch.Tensor | None) -> dict[str, float]: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


MONITOR_ROWS = 2048  # samples the per-epoch monitors look at: enough, and cheap


def make_rule(
    module: nn.Module,
    unit: Mapping[str, Any],
    method: CallPlan,
    optimizer: CallPlan,
    batch: int,
) -> Rule:
    """The rule `method`'s catalogue entry names, for a unit's module (`unit`: its spec
    parameters), stepping with the stage's optimizer over minibatches of `batch` samples. Every
    rule takes these five arguments; the unit kind lists the methods that apply to it."""
    rule: Rule = METHODS[method.name].resolve()(module, unit, method, optimizer, batch)
    return rule


_M = TypeVar("_M", bound=nn.Module)


def _module_of(module: nn.Module, cls: type[_M], method: CallPlan) -> _M:
    """`module` as the class a rule trains; a TypeError when a unit kind lists a wrong method."""
    if not isinstance(module, cls):
        raise TypeError(f"`{method.name}` trains {cls.__name__}s, not {type(module).__name__}")
    return module


class RBMRule:
    """CD-k or PCD-k. With plain SGD (and momentum/weight decay) the classic in-place update;
    with another optimizer the CD estimate is handed to it as a gradient."""

    objective = "reconstruction_mse"  # of v against E[v | h], h = p(h | v): a rough signal

    def __init__(
        self,
        module: nn.Module,
        unit: Mapping[str, Any],
        method: CallPlan,
        optimizer: CallPlan,
        batch: int,
    ) -> None:
        rbm = _module_of(module, RBM, method)
        p = optimizer.params
        classic = optimizer.name == "sgd" and not p.get("nesterov")
        self.settings = CDSettings(
            lr=float(p["lr"]),
            k=int(method.params.get("k", 1)),
            persistent=method.name == "pcd",
            momentum=float(p.get("momentum", 0.0)) if classic else 0.0,
            weight_decay=float(p.get("weight_decay", 0.0)) if classic else 0.0,
            sparsity=float(method.params.get("sparsity", 0.0)),
            target=float(method.params.get("target", 0.05)),
            average=float(method.params.get("average", 0.0)),
        )
        self.rbm = rbm
        self.cd = ContrastiveDivergence(rbm, self.settings, chains=batch)
        self.optimizer = None if classic else make_optimizer(optimizer, rbm.parameters())

    def step(self, x: torch.Tensor, lr: float) -> None:
        if self.optimizer is None:
            self.cd.step(x, lr)
            return
        grads = self.cd.gradients(x)
        for param, grad in zip((self.rbm.W, self.rbm.b, self.rbm.c), grads, strict=True):
            param.grad = -grad  # the optimizer descends; CD estimates the ascent direction
        set_lr(self.optimizer, lr)
        self.optimizer.step()
        self.cd.updated()

    def finish(self) -> None:
        self.cd.finish()

    def monitors(self, train: torch.Tensor, held: torch.Tensor | None) -> dict[str, float]:
        sample = train[:MONITOR_ROWS]
        with self.cd.averaged():  # what the stage will end with
            out = {"loss": reconstruction_error(self.rbm, sample)}
            if self.rbm.kind == "bernoulli":
                out["pseudo_ll"] = pseudo_likelihood(self.rbm, sample)
            if held is not None:
                out["free_energy_gap"] = free_energy_gap(self.rbm, sample, held[:MONITOR_ROWS])
        return out

    def state_dict(self) -> dict[str, Any]:
        optimizer = None if self.optimizer is None else optimizer_state(self.optimizer)
        return {"cd": self.cd.state_dict(), "optimizer": optimizer}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.cd.load_state_dict(state["cd"])
        if self.optimizer is not None:
            load_optimizer_state(self.optimizer, state["optimizer"])


def corrupt(
    x: torch.Tensor, noise: float, corruption: str, generator: torch.Generator | None = None
) -> torch.Tensor:
    """What a denoising autoencoder rebuilds `x` from: a `noise` share of its values masked to
    zero, or, with `corruption="gaussian"`, Gaussian noise of sd `noise` added (the concept
    plots show the same corruption)."""
    if not noise:
        return x
    if corruption == "gaussian":
        return x + noise * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    keep = torch.full_like(x, 1.0 - noise)
    return x * torch.bernoulli(keep, generator=generator)  # drop a `noise` share


class AutoencoderRule:
    """Rebuild the clean input from the code of a corrupted one (masking or Gaussian noise),
    with an optional KL pull of the mean code activation toward `target`."""

    def __init__(
        self,
        module: nn.Module,
        unit: Mapping[str, Any],
        method: CallPlan,
        optimizer: CallPlan,
        batch: int,
    ) -> None:
        self.ae = _module_of(module, Autoencoder, method)
        self.loss = str(method.params.get("loss", "mse"))
        self.objective = f"reconstruction_{self.loss}"  # of the clean input
        self.noise = float(unit.get("noise", 0.0))
        self.corruption = str(unit.get("corruption", "mask"))
        self.sparsity = float(unit.get("sparsity", 0.0))
        self.target = float(unit.get("target", 0.05))
        self.optimizer = make_optimizer(optimizer, self.ae.parameters())

    def _corrupt(self, x: torch.Tensor) -> torch.Tensor:
        return corrupt(x, self.noise, self.corruption)

    def _objective(self, x: torch.Tensor, corrupt: bool) -> torch.Tensor:
        code = self.ae(self._corrupt(x) if corrupt else x)  # (B, N)
        rebuilt = self.ae.decode(code)  # (B, D)
        if self.loss == "bce":
            loss = F.binary_cross_entropy(rebuilt.clamp(1e-6, 1 - 1e-6), x.clamp(0, 1))
        else:
            loss = F.mse_loss(rebuilt, x)
        if self.sparsity:  # check allows it only with act=sigmoid (E404)
            rho = code.mean(0).clamp(1e-6, 1 - 1e-6)  # (N,)
            t = self.target
            kl = t * torch.log(t / rho) + (1 - t) * torch.log((1 - t) / (1 - rho))
            loss = loss + self.sparsity * kl.sum()
        return loss

    def step(self, x: torch.Tensor, lr: float) -> None:
        set_lr(self.optimizer, lr)
        self.optimizer.zero_grad(set_to_none=True)
        self._objective(x, corrupt=True).backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()

    def finish(self) -> None:
        pass

    @torch.no_grad()
    def monitors(self, train: torch.Tensor, held: torch.Tensor | None) -> dict[str, float]:
        out = {"loss": float(self._objective(train[:MONITOR_ROWS], corrupt=False))}
        if held is not None:
            out["held_loss"] = float(self._objective(held[:MONITOR_ROWS], corrupt=False))
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": optimizer_state(self.optimizer)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_optimizer_state(self.optimizer, state["optimizer"])


class DictionaryRule:
    """Alternate sparse inference (the unit's own solver, weights fixed) with a gradient step on
    the dictionary, then put every atom back on the unit sphere."""

    objective = "energy"  # 1/2 |x - D z|^2 + l1 |z|_1, what sparse coding minimises

    def __init__(
        self,
        module: nn.Module,
        unit: Mapping[str, Any],
        method: CallPlan,
        optimizer: CallPlan,
        batch: int,
    ) -> None:
        self.unit = _module_of(module, SparseCode, method)
        self.optimizer = make_optimizer(optimizer, [self.unit.D])

    def _error(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((x - self.unit.reconstruct(z)) ** 2).sum(1).mean()

    def _energy(self, x: torch.Tensor, z: torch.Tensor) -> float:
        """What sparse coding minimises: the squared error plus the L1 cost of the code."""
        return float(self._error(x, z) + self.unit.l1 * z.abs().sum(1).mean())

    def step(self, x: torch.Tensor, lr: float) -> None:
        with torch.no_grad():
            z = self.unit(x)  # (B, N) codes under the current dictionary
        set_lr(self.optimizer, lr)
        self.optimizer.zero_grad(set_to_none=True)
        self._error(x, z).backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        with torch.no_grad():
            self.unit.D.div_(self.unit.D.norm(dim=0, keepdim=True).clamp_min(1e-8))

    def finish(self) -> None:
        pass

    @torch.no_grad()
    def monitors(self, train: torch.Tensor, held: torch.Tensor | None) -> dict[str, float]:
        x = train[:MONITOR_ROWS]
        z = self.unit(x)
        out = {"loss": self._energy(x, z), "recon": float(self._error(x, z))}
        out["active"] = float((z != 0).float().mean())
        if held is not None:
            h = held[:MONITOR_ROWS]
            out["held_loss"] = self._energy(h, self.unit(h))
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": optimizer_state(self.optimizer)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        load_optimizer_state(self.optimizer, state["optimizer"])
