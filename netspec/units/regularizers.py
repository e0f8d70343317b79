"""Regularizers and normalizers: dropout, batch normalization, layer normalization."""

from __future__ import annotations

import random

from netspec.types import TensorType
from netspec.units.activations import elementwise, elementwise_sample
from netspec.units.base import (
    Drawing,
    EquationContext,
    EquationRule,
    Params,
    ParamSpec,
    ShapeError,
    Signature,
    UnitKind,
    probability,
)
from netspec.units.samples import Sample, declare, draw_dims


def _channels(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    c = ins[0].dims[0] if ins[0].rank else 1
    if not isinstance(c, int):
        raise ShapeError(
            "E301",
            "`batchnorm` needs a fixed channel size, not a sequence length",
            "needs [C] or [C, ...] input",
            input_index=0,
        )
    return 2 * c


def _features(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    d = ins[0].dims[-1] if ins[0].rank else 1
    if not isinstance(d, int):
        raise ShapeError(
            "E301", "`layernorm` needs a fixed last size", "needs [.., N] input", input_index=0
        )
    return 2 * d


def _batchnorm_shape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    out: TensorType = elementwise("batchnorm")(ins, p)
    _channels(ins, p, out)
    return out


def _batchnorm_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """[C] or [C, ...] up to rank 5 (beyond BatchNorm3d), or one value per sample; C fixed."""
    return Sample((declare(draw_dims(rng, rng.randint(0, 5), seq=False)),))


def _eq_norm(over: str) -> EquationRule:
    def equation(c: EquationContext) -> str:
        n = c.in_types[0].dims[0 if over == "batch" else -1] if c.in_types[0].rank else 1
        return (
            f"{c.name} = g (x - mean) / sqrt(var + eps) + b  over the {over},  "
            f"x = {c.inputs[0]}    g: {n}, b: {n}"
        )

    return equation


KINDS = (
    UnitKind(
        name="dropout",
        family="regularizers",
        doc="Zero each value with probability p while training; scale the rest by 1/(1-p).",
        signature=Signature(
            params=(ParamSpec("p", "float", "drop probability", 0.5, check=probability),)
        ),
        shape=elementwise("dropout"),
        equation=lambda c: (
            f"{c.name} = m * {c.inputs[0]} / (1 - {c.params['p']}),  "
            f"m ~ Bernoulli(1 - {c.params['p']})"
        ),
        example="input x: [16]\ny = x -> dropout(0.2)",
        drawing=Drawing(neurons="fold"),
        layout_only=True,
        samples=elementwise_sample,
    ),
    UnitKind(
        name="batchnorm",
        family="regularizers",
        doc="Batch normalization over the first (channel or feature) axis, with a learned scale "
        "and shift.",
        signature=Signature(),
        shape=_batchnorm_shape,
        count=_channels,
        equation=_eq_norm("batch"),
        example="input x: [4, 8, 8]\ny = x -> batchnorm",
        drawing=Drawing(neurons="fold"),
        samples=_batchnorm_sample,
    ),
    UnitKind(
        name="layernorm",
        family="regularizers",
        doc="Layer normalization over the last axis, with a learned scale and shift.",
        signature=Signature(),
        shape=elementwise("layernorm"),
        count=_features,
        equation=_eq_norm("features"),
        example="input x: [T, 16]\ny = x -> layernorm",
        drawing=Drawing(neurons="fold"),
        samples=elementwise_sample,
    ),
)
