"""Dropout and normalization layers."""

from __future__ import annotations

from torch import nn

from netspec.nn.base import LowerContext, Lowering

_BATCHNORM: dict[int, type[nn.Module]] = {
    1: nn.BatchNorm1d,
    2: nn.BatchNorm1d,
    3: nn.BatchNorm2d,
    4: nn.BatchNorm3d,
}


def dropout(ctx: LowerContext) -> Lowering:
    return Lowering(module=nn.Dropout(float(ctx.params["p"])))


def batchnorm(ctx: LowerContext) -> Lowering:
    rank = max(ctx.in_types[0].rank, 1)
    return Lowering(module=_BATCHNORM[rank](ctx.channels))


def layernorm(ctx: LowerContext) -> Lowering:
    return Lowering(module=nn.LayerNorm(ctx.features))
