"""Dropout and normalization layers."""

from __future__ import annotations

import torch
from torch import nn

from netspec.backend.nn.base import LowerContext, Lowering


class BatchNorm0d(nn.BatchNorm1d):
    """Batch normalization of one real value per sample, (B,): torch's layer over (B, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.unsqueeze(1)).squeeze(1)


class LayerNorm0d(nn.LayerNorm):
    """Layer normalization of one real value per sample, (B,): torch's layer over (B, 1)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.unsqueeze(-1)).squeeze(-1)


class BatchNormNd(nn.BatchNorm1d):
    """Batch normalization of [C, ...] samples of any rank (torch stops at BatchNorm3d): the
    spatial axes joined, as BatchNorm2d and BatchNorm3d do."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.flatten(2)).reshape(x.shape)


_BATCHNORM: dict[int, type[nn.Module]] = {
    0: BatchNorm0d,
    1: nn.BatchNorm1d,
    2: nn.BatchNorm1d,
    3: nn.BatchNorm2d,
    4: nn.BatchNorm3d,
}


def dropout(ctx: LowerContext) -> Lowering:
    return Lowering(module=nn.Dropout(float(ctx.params["p"])))


def batchnorm(ctx: LowerContext) -> Lowering:
    rank = ctx.in_types[0].rank
    return Lowering(module=_BATCHNORM.get(rank, BatchNormNd)(ctx.channels if rank else 1))


def layernorm(ctx: LowerContext) -> Lowering:
    if ctx.in_types[0].rank == 0:
        return Lowering(module=LayerNorm0d(1))
    return Lowering(module=nn.LayerNorm(ctx.features))
