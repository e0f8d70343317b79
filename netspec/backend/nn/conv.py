"""Convolution and pooling lowered to torch's layers (channel-first, as in the spec)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from netspec.backend.nn.base import LowerContext, Lowering


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


class WidePool(nn.Module):
    """Pooling with more padding than half the window, which torch's pooling layers refuse: pad
    explicitly (with -inf for max, so padding never wins where a window reaches the input; with
    zeros for average, as torch's padding counts), then pool without padding. A max window that
    lies wholly in the padding gives -inf."""

    def __init__(self, op: str, k: tuple[int, ...], stride: tuple[int, ...], pad: tuple[int, ...]):
        super().__init__()
        self.op, self.k, self.stride, self.pad = op, k, stride, pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = tuple(p for size in reversed(self.pad) for p in (size, size))  # last axis first
        value = float("-inf") if self.op == "max" else 0.0
        pool = getattr(F, f"{self.op}_pool{len(self.k)}d")
        return pool(F.pad(x, pads, value=value), self.k, self.stride)  # type: ignore[no-any-return]

    def extra_repr(self) -> str:
        """The constructor's arguments, as Python (export rebuilds the module from them)."""
        return f"op={self.op!r}, k={self.k}, stride={self.stride}, pad={self.pad}"


def _pool(ctx: LowerContext, op: str, kinds: tuple[type[nn.Module], type[nn.Module]]) -> Lowering:
    axes = ctx.in_types[0].rank - 1
    p = ctx.params
    k = _pair(p["k"], axes)
    stride = _pair(p["stride"] if p["stride"] is not None else p["k"], axes)
    pad = _pair(p["pad"], axes)
    if any(2 * s > w for s, w in zip(pad, k, strict=True)):
        return Lowering(module=WidePool(op, k, stride, pad))
    return Lowering(module=kinds[axes - 1](k, stride=stride, padding=pad))


def conv1d(ctx: LowerContext) -> Lowering:
    return _conv(ctx, 1)


def conv2d(ctx: LowerContext) -> Lowering:
    return _conv(ctx, 2)


def maxpool(ctx: LowerContext) -> Lowering:
    return _pool(ctx, "max", (nn.MaxPool1d, nn.MaxPool2d))


def avgpool(ctx: LowerContext) -> Lowering:
    return _pool(ctx, "avg", (nn.AvgPool1d, nn.AvgPool2d))
