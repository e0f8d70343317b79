"""Contrastive divergence for an RBM: CD-k from the data or PCD-k from persistent chains, with
momentum, weight decay and a sparsity target; and the monitors that tell whether it learns."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
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


NUMPY_DTYPES = (torch.float32, torch.float64)  # the dtypes NumPy's Generator.random fills


def _bits_state(noise: np.random.Generator) -> dict[str, Any]:
    """A PCG64 generator's state as JSON values (its 128-bit integers as decimal strings)."""
    state = noise.bit_generator.state
    inner = state["state"]
    return {
        "state": str(inner["state"]),
        "inc": str(inner["inc"]),
        "has_uint32": int(state["has_uint32"]),
        "uinteger": int(state["uinteger"]),
    }


def _from_bits_state(saved: dict[str, Any]) -> np.random.Generator:
    bits = np.random.PCG64()
    bits.state = {
        "bit_generator": "PCG64",
        "state": {"state": int(saved["state"]), "inc": int(saved["inc"])},
        "has_uint32": int(saved["has_uint32"]),
        "uinteger": int(saved["uinteger"]),
    }
    return np.random.Generator(bits)


class _Stacked:
    """One minibatch size's buffers: the data rows and the chains' rows stacked, so that p(h | v)
    of both is one product and each parameter's update one more (rows weighed +1/B and -1/C)."""

    def __init__(self, like: torch.Tensor, batch: int, chains: int, noise_dtype: torch.dtype):
        hidden, visible = like.shape
        rows = batch + chains
        self.x = like.new_empty(rows, visible)  # [v0; vk]: x = v / sigma
        self.ph = like.new_empty(rows, hidden)  # [p(h | v0); p(h | vk)]
        self.ph_t = self.ph.t()
        # Views made once: slicing is a dispatch too, and a small step makes a dozen.
        self.v0, self.vk = self.x[:batch], self.x[batch:]
        self.ph0, self.phk = self.ph[:batch], self.ph[batch:]
        weights = torch.cat(
            [like.new_full((batch,), 1.0 / batch), like.new_full((chains,), -1.0 / chains)]
        )
        self.signs = weights.view(1, rows)  # (1, B + C): the means, positive minus negative
        self.scale = weights.view(rows, 1)  # (B + C, 1)
        self.scaled = torch.empty_like(self.x)  # rows of x times their sign
        self.hidden_noise = like.new_empty(chains, hidden)
        self.visible_noise = like.new_empty(chains, visible, dtype=noise_dtype)
        # NumPy views of the noise buffers where NumPy can fill them (see `_uniform`)
        numpy_fills = like.device.type == "cpu" and like.dtype in NUMPY_DTYPES
        self.hidden_view = self.hidden_noise.numpy() if numpy_fills else None
        fills_visible = numpy_fills and noise_dtype == like.dtype
        self.visible_view = self.visible_noise.numpy() if fills_visible else None


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
        self._W_t = self.W.t()
        self._live = [self.W, self.b, self.c]
        self._b_row, self._c_row = self.b.view(1, -1), self.c.view(1, -1)  # (1, V), (1, H)
        self.s = settings
        self.generator = generator
        self.velocity = [torch.zeros_like(p) for p in (rbm.W, rbm.b, rbm.c)]
        hidden = rbm.W.shape[0]
        # (C, H) hidden probabilities, in the RBM's own dtype (a float64 RBM gets float64 chains)
        self.chain = rbm.W.new_zeros(chains, hidden)
        self.updates = 0
        self._by_batch: dict[int, _Stacked] = {}  # the minibatch sizes repeat (full, last)
        self.mean = [p.detach().clone() for p in self._params()] if settings.average else []
        # The uniform noise of the Bernoulli samples on the CPU: NumPy's PCG64 fills a buffer
        # in 0.5-0.65 of the time torch's MT19937 takes (its draws were nearly a third of a
        # batch-64 step); on a GPU, or in half precision, torch draws it. Seeded from
        # `generator` at the first draw, not here: a resumed rule loads its state instead, and
        # so leaves torch's stream where the interrupted run had it.
        self._noise: np.random.Generator | None = None

    def _stacked(self, batch: int) -> _Stacked:
        found = self._by_batch.get(batch)
        if found is None:
            chains = self.chain.shape[0] if self.s.persistent else batch
            # Gaussian noise in the default dtype whatever the RBM's, as torch.randn draws it
            gaussian = self.rbm.kind == "gaussian"
            noise = torch.get_default_dtype() if gaussian else self.W.dtype
            found = _Stacked(self.W, batch, chains, noise)
            self._by_batch[batch] = found
        return found

    def _params(self) -> list[torch.Tensor]:
        return self._live

    def noise(self) -> np.random.Generator:
        """The generator of the uniform noise NumPy draws (seeded at the first call)."""
        if self._noise is None:
            seed = int(torch.randint(2**62, (1,), generator=self.generator))
            self._noise = np.random.Generator(np.random.PCG64(seed))
        return self._noise

    def _uniform(self, noise: torch.Tensor, view: np.ndarray[Any, Any] | None) -> torch.Tensor:
        """noise filled with U(0, 1): through its NumPy view where it has one."""
        if view is None:
            return noise.uniform_(generator=self.generator)
        self.noise().random(out=view, dtype=view.dtype)
        return noise

    def _sample(self, p: torch.Tensor, buf: _Stacked) -> torch.Tensor:
        # Uniform noise below p, compared in place (1.0 or 0.0 in the noise's own buffer): one
        # kernel and no temporary, four times faster than torch.bernoulli on the CPU.
        return self._uniform(buf.hidden_noise, buf.hidden_view).lt_(p)

    def _hidden(self, x: torch.Tensor, out: torch.Tensor) -> None:
        torch.addmm(self.c, x, self._W_t, out=out).sigmoid_()  # p(h = 1 | x), into out

    def _visible_sample(self, h: torch.Tensor, buf: _Stacked) -> None:
        mean = torch.addmm(self.b, h, self.W, out=buf.vk)  # W^T h + b: (C, V)
        if self.rbm.kind == "gaussian":  # x = v / sigma given h: N(W^T h + b, 1)
            mean.add_(buf.visible_noise.normal_(generator=self.generator))
        else:  # E[v | h] in place, then 1.0 where the noise is below it
            mean.sigmoid_().gt_(self._uniform(buf.visible_noise, buf.visible_view))

    def _negative(self, v0: torch.Tensor) -> _Stacked:
        """The minibatch's buffers, holding x0 = v0 / sigma and p(h | x0), and the chains'
        visible states and hidden probabilities after k steps."""
        s, buf = self.s, self._stacked(v0.shape[0])
        buf.v0.copy_(v0)
        if not s.persistent:
            self._hidden(buf.v0, buf.ph0)
        ph = self.chain if s.persistent else buf.ph0
        for step in range(s.k):
            self._visible_sample(self._sample(ph, buf), buf)
            if s.persistent and step == s.k - 1:
                self._hidden(buf.x, buf.ph)  # p(h | x0) with the chains' last: one product
            else:
                self._hidden(buf.vk, buf.phk)
            ph = buf.phk
        if s.persistent:
            self.chain = buf.phk  # a view: the next step samples from it before overwriting it
        return buf

    @torch.no_grad()
    def gradients(self, v0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Estimates of the log-likelihood gradient for W, b and c (ascent directions), with
        the sparsity pull but without weight decay (the optimizer adds that)."""
        buf = self._negative(self.rbm.scaled(v0))  # the statistics are of x = v / sigma
        dc = (buf.signs @ buf.ph).view(-1)  # (H,) mean over the data minus over the chains
        if self.s.sparsity:
            dc.add_(self.s.target - buf.ph0.mean(0), alpha=self.s.sparsity)
        return (
            buf.ph_t @ torch.mul(buf.x, buf.scale, out=buf.scaled),  # (H, V)
            (buf.signs @ buf.x).view(-1),  # (V,)
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
        # The common case, fused in place: one product per parameter over the stacked rows,
        # no temporaries.
        buf = self._negative(rbm.scaled(v0))
        torch.mul(buf.x, buf.scale, out=buf.scaled)
        self.W.addmm_(buf.ph_t, buf.scaled, alpha=rate)
        self._b_row.addmm_(buf.signs, buf.x, alpha=rate)
        self._c_row.addmm_(buf.signs, buf.ph, alpha=rate)

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
            "chain": self.chain.clone(),  # the chain is a view of a buffer the next step rewrites
            "updates": self.updates,
            "velocity": dict(zip(self.PARAMS, self.velocity, strict=True)),
            "average": dict(zip(self.PARAMS, self.mean, strict=True)) if self.mean else None,
            "noise": None if self._noise is None else _bits_state(self._noise),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.chain = state["chain"].to(self.chain)
        self.updates = int(state["updates"])
        saved = state.get("noise")  # absent from checkpoints written before NumPy drew it
        self._noise = None if saved is None else _from_bits_state(saved)
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
