"""The restricted Boltzmann machine as a leaf module: its forward is p(h=1 | v); it keeps its
own parameters (W, visible bias b, hidden bias c) for the pretraining rules."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from netspec.backend.nn.base import LowerContext, Lowering


class RBM(nn.Module):
    """E(v, h) = -b'v - c'h - h'Wv, Bernoulli hidden units, Bernoulli or Gaussian visible ones."""

    activation = torch.sigmoid  # what forward ends with: training/gradients.py measures it

    def __init__(self, visible: int, hidden: int, kind: str = "bernoulli") -> None:
        super().__init__()
        self.kind = kind
        self.W = nn.Parameter(torch.randn(hidden, visible) * 0.01)  # (H, V)
        self.b = nn.Parameter(torch.zeros(visible))  # (V,)
        self.c = nn.Parameter(torch.zeros(hidden))  # (H,)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.linear(v, self.W, self.c))  # p(h=1 | v): (B, H)

    @property
    def gaussian_visible(self) -> bool:
        """Real-valued visible units with unit variance, rather than Bernoulli ones."""
        return self.kind == "gaussian"

    def pictures(self) -> torch.Tensor:
        """The filters report/unit_plots draws (the kind's `pictures` hook): a (pictures, input
        features) tensor, one a row; here W, (H, V), each row in the visible units' layout."""
        return self.W

    def visible_mean(self, h: torch.Tensor) -> torch.Tensor:
        """E[v | h]: sigmoid for Bernoulli visible units, the linear mean for Gaussian ones."""
        pre = F.linear(h, self.W.t(), self.b)  # (B, V)
        return pre if self.kind == "gaussian" else torch.sigmoid(pre)

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -log sum_h exp(-E(v, h)), per sample: (B,)."""
        hidden = F.softplus(F.linear(v, self.W, self.c)).sum(-1)
        if self.kind == "gaussian":
            return 0.5 * ((v - self.b) ** 2).sum(-1) - hidden
        return -(v @ self.b) - hidden

    def extra_repr(self) -> str:
        """The constructor's arguments, as Python (export rebuilds the module from them)."""
        hidden, visible = self.W.shape
        return f"visible={visible}, hidden={hidden}, kind={self.kind!r}"


def rbm(ctx: LowerContext) -> Lowering:
    return Lowering(module=RBM(ctx.features, int(ctx.params["n"]), str(ctx.params["visible"])))
