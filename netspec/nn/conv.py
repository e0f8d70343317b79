"""Convolution and pooling lowered to torch's layers (channel-first, as in the spec)."""

from __future__ import annotations

from typing import Any

from torch import nn

from netspec.nn.base import LowerContext, Lowering


def _pair(value: Any, axes: int) -> Any:  # torch's stubs want a tuple of exactly `axes` ints
    return tuple(int(v) for v in value) if isinstance(value, tuple) else (int(value),) * axes


def _conv(ctx: LowerContext, axes: int) -> Lowering:
    p = ctx.params
    layer = (nn.Conv1d if axes == 1 else nn.Conv2d)(
        ctx.channels,
        int(p["out"]),
        _pair(p["k"], axes),
        stride=_pair(p["stride"], axes),
        padding=_pair(p["pad"], axes),
        dilation=_pair(p["dilation"], axes),
        bias=bool(p["bias"]),
    )
    return Lowering(module=layer)


def _pool(ctx: LowerContext, kinds: tuple[type[nn.Module], type[nn.Module]]) -> Lowering:
    axes = ctx.in_types[0].rank - 1
    p = ctx.params
    stride = p["stride"] if p["stride"] is not None else p["k"]
    layer = kinds[axes - 1](
        _pair(p["k"], axes), stride=_pair(stride, axes), padding=_pair(p["pad"], axes)
    )
    return Lowering(module=layer)


def conv1d(ctx: LowerContext) -> Lowering:
    return _conv(ctx, 1)


def conv2d(ctx: LowerContext) -> Lowering:
    return _conv(ctx, 2)


def maxpool(ctx: LowerContext) -> Lowering:
    return _pool(ctx, (nn.MaxPool1d, nn.MaxPool2d))


def avgpool(ctx: LowerContext) -> Lowering:
    return _pool(ctx, (nn.AvgPool1d, nn.AvgPool2d))
