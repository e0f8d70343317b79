"""Activations lowered to torch functions; `sigmoid` exposes its input as logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from netspec.backend.nn.base import LowerContext, Lowering


def sigmoid(ctx: LowerContext) -> Lowering:
    return Lowering(post=torch.sigmoid, logits=True, link="sigmoid")


def tanh(ctx: LowerContext) -> Lowering:
    return Lowering(function=torch.tanh)


def relu(ctx: LowerContext) -> Lowering:
    return Lowering(function=torch.relu)


def leaky_relu(ctx: LowerContext) -> Lowering:
    return Lowering(function=F.leaky_relu, kwargs={"negative_slope": float(ctx.params["slope"])})


def gelu(ctx: LowerContext) -> Lowering:
    return Lowering(function=F.gelu)


def softplus(ctx: LowerContext) -> Lowering:
    return Lowering(function=F.softplus)
