"""Contrastive divergence for an RBM: CD-k from the data or PCD-k from persistent chains, with
momentum, weight decay and a sparsity target; and the monitors that tell whether it learns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from netspec.backend.nn.energy import RBM


@dataclass(frozen=True)
class CDSettings:
    """One RBM's training rule: `k` Gibbs steps, from the data (CD) or persistent chains (PCD)."""

    lr: float
    k: int = 1
    persistent: bool = False
    momentum: float = 0.0
    weight_decay: float = 0.0
    sparsity: float = 0.0  # weight of the pull of mean hidden activity toward `target`
    target: float = 0.05
    average: float = 0.0  # decay of a moving average of W, b and c (0: none)


class ContrastiveDivergence:
    """Updates an RBM's W, b and c in place, under no_grad, one minibatch at a time.

    Positive statistics are averaged over the minibatch and negative ones over the chains, so a
    short last minibatch is not weighed against a full-size persistent chain (scikit-learn's
    BernoulliRBM divides both by the minibatch size, which costs it pseudo-likelihood).

    With `average`, an exponential moving average of the parameters follows the updates; the
    chains keep running on the live parameters, and `finish` hands the average to the RBM. The
    average smooths out the noise of the last few minibatches, which small batches have most of.
    """

    PARAMS = ("W", "b", "c")  # the RBM's parameters, in the order of `velocity` and `mean`

    def __init__(
        self, rbm: RBM, settings: CDSettings, chains: int, generator: torch.Generator | None = None
    ) -> None:
        self.rbm = rbm
        # The parameters' tensors, looked up once: an nn.Module attribute lookup of a parameter
        # goes through __getattr__, and a step makes a dozen (a quarter of a small step's time).
        # Updated in place, so they stay the RBM's own (loading a state copies into them).
        self.W, self.b, self.c = rbm.W.data, rbm.b.data, rbm.c.data
        self._live = [self.W, self.b, self.c]
        self._b_row, self._c_row = self.b.view(1, -1), self.c.view(1, -1)  # (1, V), (1, H)
        self.s = settings
        self.generator = generator
        self.velocity = [torch.zeros_like(p) for p in (rbm.W, rbm.b, rbm.c)]
        hidden = rbm.W.shape[0]
        # (C, H) hidden probabilities, in the RBM's own dtype (a float64 RBM gets float64 chains)
        self.chain = rbm.W.new_zeros(chains, hidden)
        self.updates = 0
        self._ones_by_size: dict[int, torch.Tensor] = {}
        self.mean = [p.detach().clone() for p in self._params()] if settings.average else []

    def _ones(self, n: int) -> torch.Tensor:
        """A (1, n) row of ones (kept: the minibatch and chain sizes repeat)."""
        ones = self._ones_by_size.get(n)
        if ones is None:
            ones = self._ones_by_size[n] = self.W.new_ones(1, n)
        return ones

    def _params(self) -> list[torch.Tensor]:
        return self._live

    def _sample(self, p: torch.Tensor) -> torch.Tensor:
        # Uniform noise below p, compared in place (1.0 or 0.0 in the noise's own buffer): one
        # kernel and no temporary, four times faster than torch.bernoulli on the CPU.
        noise = torch.rand(p.shape, generator=self.generator, device=p.device, dtype=p.dtype)
        return noise.lt_(p)

    def _visible_sample(self, h: torch.Tensor) -> torch.Tensor:
        if self.rbm.kind == "gaussian":  # x = v / sigma given h: N(W^T h + b, 1)
            mean = torch.addmm(self.b, h, self.W)  # (N, V)
            noise = torch.randn(mean.shape, generator=self.generator, device=mean.device)
            return mean + noise
        return self._sample(torch.addmm(self.b, h, self.W).sigmoid_())  # E[v | h], in place

    def _negative(self, v0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """p(h | v0), and the chains' visible states and hidden probabilities after k steps;
        visible values as the weights see them, x = v / sigma (Gaussian units)."""
        s, W, c = self.s, self.W, self.c
        ph0 = F.linear(v0, W, c).sigmoid_()  # (B, H)
        ph = self.chain if s.persistent else ph0
        vk = v0
        for _ in range(s.k):
            vk = self._visible_sample(self._sample(ph))  # (C, V)
            ph = F.linear(vk, W, c).sigmoid_()  # (C, H)
        if s.persistent:
            self.chain = ph
        return ph0, vk, ph

    @torch.no_grad()
    def gradients(self, v0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Estimates of the log-likelihood gradient for W, b and c (ascent directions), with
        the sparsity pull but without weight decay (the optimizer adds that)."""
        v0 = self.rbm.scaled(v0)  # (B, V) x = v / sigma: the statistics are of x
        ph0, vk, ph = self._negative(v0)
        pos, neg = 1.0 / v0.shape[0], 1.0 / vk.shape[0]
        dc = ph0.sum(0) * pos - ph.sum(0) * neg  # (H,)
        if self.s.sparsity:
            dc.add_(self.s.target - ph0.mean(0), alpha=self.s.sparsity)
        return (
            torch.addmm(ph0.t() @ v0, ph.t(), vk, beta=pos, alpha=-neg),  # (H, V)
            v0.sum(0) * pos - vk.sum(0) * neg,  # (V,)
            dc,
        )

    @torch.no_grad()
    def step(self, v0: torch.Tensor, lr: float | None = None) -> None:
        """One update from the minibatch v0: (B, V), at the settings' rate or `lr`."""
        self._update(v0, lr)
        self.updated()

    def updated(self) -> None:
        """Fold the parameters just updated (here or by an optimizer) into the average."""
        self.updates += 1
        if self.mean:
            # Warm-up as in TensorFlow's ExponentialMovingAverage: early on the average follows
            # the parameters closely instead of dragging the random initial weights along.
            decay = min(self.s.average, (1 + self.updates) / (10 + self.updates))
            torch._foreach_lerp_(self.mean, self._params(), 1.0 - decay)

    def _update(self, v0: torch.Tensor, lr: float | None) -> None:
        rbm, s = self.rbm, self.s
        rate = s.lr if lr is None else lr
        if s.momentum or s.weight_decay or s.sparsity:
            grads = self.gradients(v0)
            if s.weight_decay:
                grads[0].add_(rbm.W, alpha=-s.weight_decay)
            for param, grad, velocity in zip(
                (rbm.W, rbm.b, rbm.c), grads, self.velocity, strict=True
            ):
                velocity.mul_(s.momentum).add_(grad, alpha=rate)
                param.add_(velocity)
            return
        # The common case, fused in place: no temporaries for the (H, V) gradient.
        v0 = rbm.scaled(v0)  # (B, V) x = v / sigma
        ph0, vk, ph = self._negative(v0)
        batch, chains = v0.shape[0], vk.shape[0]
        pos, neg = rate / batch, rate / chains
        self.W.addmm_(ph0.t(), v0, alpha=pos).addmm_(ph.t(), vk, alpha=-neg)
        # column sums as (1, n) ones times the matrix, into the biases seen as rows: one kernel
        # each, no temporary, no transpose
        ones, chain_ones = self._ones(batch), self._ones(chains)
        self._b_row.addmm_(ones, v0, alpha=pos).addmm_(chain_ones, vk, alpha=-neg)
        self._c_row.addmm_(ones, ph0, alpha=pos).addmm_(chain_ones, ph, alpha=-neg)

    @contextmanager
    def averaged(self) -> Iterator[None]:
        """The RBM holds the averaged parameters inside the block (for monitors)."""
        if not self.mean:
            yield
            return
        live = [p.clone() for p in self._params()]
        torch._foreach_copy_(self._params(), self.mean)
        try:
            yield
        finally:
            torch._foreach_copy_(self._params(), live)

    def finish(self) -> None:
        """Leave the RBM with the parameters training ends on: the average, if kept."""
        if self.mean:
            torch._foreach_copy_(self._params(), self.mean)

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to continue the same chains, momentum and average."""
        return {
            "chain": self.chain,
            "updates": self.updates,
            "velocity": dict(zip(self.PARAMS, self.velocity, strict=True)),
            "average": dict(zip(self.PARAMS, self.mean, strict=True)) if self.mean else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.chain = state["chain"].to(self.chain)
        self.updates = int(state["updates"])
        for name, velocity in zip(self.PARAMS, self.velocity, strict=True):
            velocity.copy_(state["velocity"][name])
        if self.mean:  # an average is kept
            for name, mean in zip(self.PARAMS, self.mean, strict=True):
                mean.copy_(state["average"][name])


@torch.no_grad()
def reconstruction_error(rbm: RBM, v: torch.Tensor) -> float:
    """Mean squared error of v against E[v | h] for h = p(h | v): a rough progress signal."""
    return float(F.mse_loss(rbm.visible_mean(rbm(v)), v))


@torch.no_grad()
def pseudo_likelihood(rbm: RBM, v: torch.Tensor, generator: torch.Generator | None = None) -> float:
    """Mean stochastic pseudo-log-likelihood per sample (Bernoulli visible units), estimated as
    scikit-learn does: V * log sigmoid(F(v with one random bit flipped) - F(v))."""
    visible = v.shape[1]
    bits = torch.randint(visible, (v.shape[0],), generator=generator, device=v.device)
    flipped = v.clone()
    rows = torch.arange(v.shape[0], device=v.device)
    flipped[rows, bits] = 1.0 - flipped[rows, bits]
    gap = rbm.free_energy(flipped) - rbm.free_energy(v)  # (B,)
    return float((visible * F.logsigmoid(gap)).mean())


@torch.no_grad()
def free_energy_gap(rbm: RBM, train: torch.Tensor, held_out: torch.Tensor) -> float:
    """Mean free energy of held-out minus training data: it grows when the RBM overfits."""
    return float(rbm.free_energy(held_out).mean() - rbm.free_energy(train).mean())
