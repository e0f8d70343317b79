"""Regression nodes lowered to nn.Linear plus their link function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from netspec.backend.nn.base import LowerContext, Lowering

ACTIVATIONS: dict[str, Callable[..., Any]] = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": F.leaky_relu,
    "gelu": F.gelu,
    "softplus": F.softplus,
    "softmax": torch.softmax,
}
LINKS = ("sigmoid", "softmax")  # activations whose input a loss reads as logits


def _linear(ctx: LowerContext) -> nn.Linear:
    return nn.Linear(ctx.features, int(ctx.out_type.dims[-1]), bias=bool(ctx.params["bias"]))


def _with(ctx: LowerContext, act: str) -> Lowering:
    if act == "none":
        return Lowering(module=_linear(ctx))
    kwargs = {"dim": -1} if act == "softmax" else {}
    link = act if act in LINKS else ""
    return Lowering(
        module=_linear(ctx), post=ACTIVATIONS[act], post_kwargs=kwargs, logits=bool(link), link=link
    )


def linear(ctx: LowerContext) -> Lowering:
    return _with(ctx, "none")


def logistic(ctx: LowerContext) -> Lowering:
    return _with(ctx, "sigmoid")


def softmax(ctx: LowerContext) -> Lowering:
    return _with(ctx, "softmax")


def dense(ctx: LowerContext) -> Lowering:
    return _with(ctx, str(ctx.params["act"]))
