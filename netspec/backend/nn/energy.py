"""The restricted Boltzmann machine as a leaf module: its forward is p(h=1 | v); it keeps its
own parameters (W, visible bias b, hidden bias c) for the pretraining rules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from netspec.backend.nn.base import LowerContext, Lowering


class RBM(nn.Module):
    """E(v, h) = -b'v - c'h - h'Wv, Bernoulli hidden units, Bernoulli or Gaussian visible ones.

    Gaussian visible units have noise of sd `sigma`: the RBM is a unit-variance one on
    x = v / sigma, E = |x - b|^2 / 2 - c'h - h'Wx, so E[v | h] = sigma (W^T h + b). Whitened data
    need sigma below 1: a unit-variance model cannot add any hidden cause to data whose every
    direction already has variance 1 (it would predict more variance than there is)."""

    activation = torch.sigmoid  # what forward ends with: training/gradients.py measures it

    def __init__(
        self, visible: int, hidden: int, kind: str = "bernoulli", sigma: float = 1.0
    ) -> None:
        super().__init__()
        self.kind = kind
        self.sigma = float(sigma)
        self.W = nn.Parameter(torch.randn(hidden, visible) * 0.01)  # (H, V)
        self.b = nn.Parameter(torch.zeros(visible))  # (V,)
        self.c = nn.Parameter(torch.zeros(hidden))  # (H,)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.linear(self.scaled(v), self.W, self.c))  # p(h=1 | v): (B, H)

    def scaled(self, v: torch.Tensor) -> torch.Tensor:
        """x = v / sigma, what W and b see (v itself when sigma is 1)."""
        return v if self.sigma == 1.0 else v / self.sigma

    @property
    def gaussian_visible(self) -> bool:
        """Real-valued visible units (noise of sd `sigma`), rather than Bernoulli ones."""
        return self.kind == "gaussian"

    def pictures(self) -> torch.Tensor:
        """The filters report/unit_plots draws (the kind's `pictures` hook): a (pictures, input
        features) tensor, one a row; here W, (H, V), each row in the visible units' layout."""
        return self.W

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """E[v | h]: sigmoid for Bernoulli visible units, sigma (W^T h + b) for Gaussian ones."""
        pre = F.linear(h, self.W.t(), self.b)  # (B, V)
        if self.kind != "gaussian":
            return torch.sigmoid(pre)
        return pre if self.sigma == 1.0 else pre * self.sigma

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -log sum_h exp(-E(v, h)), per sample: (B,)."""
        x = self.scaled(v)
        hidden = F.softplus(F.linear(x, self.W, self.c)).sum(-1)
        if self.kind == "gaussian":
            return 0.5 * ((x - self.b) ** 2).sum(-1) - hidden
        return -(x @ self.b) - hidden

    def extra_repr(self) -> str:
        """The constructor's arguments, as Python (export rebuilds the module from them)."""
        hidden, visible = self.W.shape
        sigma = "" if self.sigma == 1.0 else f", sigma={self.sigma!r}"
        return f"visible={visible}, hidden={hidden}, kind={self.kind!r}{sigma}"


def rbm(ctx: LowerContext) -> Lowering:
    p = ctx.params
    sigma = float(p.get("sigma", 1.0))
    return Lowering(module=RBM(ctx.features, int(p["n"]), str(p["visible"]), sigma))
