"""Merges lowered to torch.cat and elementwise operators."""

from __future__ import annotations

import operator

import torch

from netspec.backend.nn.base import LowerContext, Lowering
from netspec.units.merges import concat_axis


def concat(ctx: LowerContext) -> Lowering:
    axis = concat_axis(ctx.in_types[0], ctx.params) + 1  # + 1: the batch axis comes first
    return Lowering(function=torch.cat, kwargs={"dim": axis}, listed=True)


def add(ctx: LowerContext) -> Lowering:
    return Lowering(fold=operator.add)


def mul(ctx: LowerContext) -> Lowering:
    return Lowering(fold=operator.mul)
