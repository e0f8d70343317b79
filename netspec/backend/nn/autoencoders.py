"""The autoencoder layer as a leaf module: forward is the code; decode maps it back."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from netspec.backend.nn.base import LowerContext, Lowering


class Autoencoder(nn.Module):
    """code = act(W x + c); reconstruction = act(W' code + b), W' = W^T when tied, else V, or
    W' code + b with `decoder="linear"` (real-valued inputs).

    `act` is sigmoid, tanh or relu, looked up on torch: the class names only torch, so
    `netspec export` can copy its source."""

    def __init__(
        self,
        inputs: int,
        code: int,
        tied: bool = True,
        act: str = "sigmoid",
        decoder: str = "act",
    ) -> None:
        super().__init__()
        self.act = act
        self.decoder = decoder
        bound = 1.0 / inputs**0.5
        self.W = nn.Parameter(torch.empty(code, inputs).uniform_(-bound, bound))  # (N, D)
        self.c = nn.Parameter(torch.zeros(code))  # (N,)
        self.b = nn.Parameter(torch.zeros(inputs))  # (D,)
        self.V = None if tied else nn.Parameter(self.W.detach().t().clone())  # (D, N)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act: Callable[[torch.Tensor], torch.Tensor] = getattr(torch, self.act)
        return act(F.linear(x, self.W, self.c))  # (B, N)

    @property
    def activation(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """What forward ends with: training/gradients.py measures the code's saturation."""
        act: Callable[[torch.Tensor], torch.Tensor] = getattr(torch, self.act)
        return act

    def pictures(self) -> torch.Tensor:
        """The filters report/unit_plots draws (the kind's `pictures` hook): a (pictures, input
        features) tensor, one a row; here W, (N, D), each row in the input's layout."""
        return self.W

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        back = self.W.t() if self.V is None else self.V  # (D, N)
        rebuilt = F.linear(code, back, self.b)  # (B, D)
        if self.decoder == "linear":
            return rebuilt
        act: Callable[[torch.Tensor], torch.Tensor] = getattr(torch, self.act)
        return act(rebuilt)

    def extra_repr(self) -> str:
        """The constructor's arguments, as Python (export rebuilds the module from them)."""
        code, inputs = self.W.shape
        linear = ", decoder='linear'" if self.decoder == "linear" else ""
        return f"inputs={inputs}, code={code}, tied={self.V is None}, act={self.act!r}{linear}"


def autoencoder(ctx: LowerContext) -> Lowering:
    p = ctx.params
    decoder = str(p.get("decoder", "act"))
    module = Autoencoder(ctx.features, int(p["n"]), bool(p["tied"]), str(p["act"]), decoder)
    return Lowering(module=module)
