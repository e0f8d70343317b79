"""Shape units lowered to torch.flatten (torch.unsqueeze for one value per sample),
torch.reshape and torch.select (batch axis kept)."""

from __future__ import annotations

import torch

from netspec.backend.nn.base import LowerContext, Lowering


def flatten(ctx: LowerContext) -> Lowering:
    if ctx.in_types[0].rank == 0:  # one value per sample: (B,) -> (B, 1)
        return Lowering(function=torch.unsqueeze, args=(1,))
    return Lowering(function=torch.flatten, args=(1,))


def reshape(ctx: LowerContext) -> Lowering:
    return Lowering(function=torch.reshape, args=((-1, *ctx.out_type.dims),))


def last(ctx: LowerContext) -> Lowering:
    return Lowering(function=torch.select, args=(1, -1))
