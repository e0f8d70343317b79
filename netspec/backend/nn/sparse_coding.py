"""Sparse coding as a leaf module: codes inferred by unrolled ISTA/FISTA over a dictionary whose
atoms (columns) have unit norm; differentiable, so it also trains end to end."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from netspec.backend.nn.base import LowerContext, Lowering


class SparseCode(nn.Module):
    """z = argmin_z |x - D z|^2 / 2 + l1 |z|_1, approximated by `steps` (F)ISTA iterations."""

    def __init__(self, inputs: int, atoms: int, l1: float, steps: int, solver: str) -> None:
        super().__init__()
        self.l1, self.steps, self.solver = l1, steps, solver
        self.D = nn.Parameter(F.normalize(torch.randn(inputs, atoms), dim=0))  # (D, N)

    def lipschitz(self) -> torch.Tensor:
        """The gradient's Lipschitz constant, |D|_2^2, which sets the step size."""
        norm: torch.Tensor = torch.linalg.matrix_norm(self.D, ord=2)
        return norm**2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        step = 1.0 / self.lipschitz().clamp_min(1e-6)
        # The soft threshold stays a tensor (no host sync, traceable, runs on "meta"), and
        # stays out of the gradient, as a Python float would.
        threshold = (self.l1 * step).detach()
        z = x.new_zeros(x.shape[0], self.D.shape[1])  # (B, N)
        y, t = z, 1.0
        for _ in range(self.steps):
            grad = (y @ self.D.t() - x) @ self.D  # (B, N)
            u = y - step * grad
            z_next = u - u.clamp(-threshold, threshold)  # softshrink(u, threshold)
            if self.solver == "fista":
                t_next = (1.0 + (1.0 + 4.0 * t * t) ** 0.5) / 2.0
                y = z_next + ((t - 1.0) / t_next) * (z_next - z)
                t = t_next
            else:
                y = z_next
            z = z_next
        return z

    def pictures(self) -> torch.Tensor:
        """The atoms report/unit_plots draws (the kind's `pictures` hook): a (pictures, input
        features) tensor, one a row; here D^T, (N, D), each row in the input's layout."""
        return self.D.t()

    def reconstruct(self, z: torch.Tensor) -> torch.Tensor:
        return z @ self.D.t()  # (B, D)

    def extra_repr(self) -> str:
        """The constructor's arguments, as Python (export rebuilds the module from them)."""
        inputs, atoms = self.D.shape
        return (
            f"inputs={inputs}, atoms={atoms}, l1={self.l1!r}, steps={self.steps}, "
            f"solver={self.solver!r}"
        )


def sparse_code(ctx: LowerContext) -> Lowering:
    p = ctx.params
    module = SparseCode(
        ctx.features, int(p["n"]), float(p["l1"]), int(p["steps"]), str(p["solver"])
    )
    return Lowering(module=module)
