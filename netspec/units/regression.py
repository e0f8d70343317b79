"""Regression nodes: a weight matrix W, a bias b and a link function; the neuron of the tree."""

from __future__ import annotations

import random

from netspec.types import TensorType
from netspec.units.base import (
    Drawing,
    EquationContext,
    EquationRule,
    Params,
    ParamSpec,
    ShapeError,
    ShapeRule,
    Signature,
    UnitKind,
    expect_flat,
    fmt_dims,
    is_sequence,
    positive,
)
from netspec.units.samples import Sample, coin, declare, draw_dims, draw_params, sequence_sizes

ACTIVATIONS = ("none", "sigmoid", "tanh", "relu", "leaky_relu", "gelu", "softplus", "softmax")


def _features(kind: str, t: TensorType) -> tuple[tuple[object, ...], object]:
    """Leading sizes kept (a sequence's steps) and the feature size the weights act on."""
    if t.is_real and t.rank == 2 and is_sequence(t):
        if not isinstance(t.dims[1], int):
            raise ShapeError(
                "E301",
                f"`{kind}` needs a fixed feature size N in [T, N], but it gets {t}",
                "needs [T, N] with N a number",
                input_index=0,
                help="give the steps a fixed size, e.g. `input x: [T, 16]`",
            )
        return (t.dims[0],), t.dims[1]  # applied at every step, like a time-distributed layer
    return (), expect_flat(kind, t)


def _affine_shape(kind: str, n_param: str = "n", fixed: int | None = None) -> ShapeRule:
    def rule(ins: tuple[TensorType, ...], p: Params) -> TensorType:
        lead, _ = _features(kind, ins[0])
        n = fixed if fixed is not None else p[n_param]
        return TensorType((*lead, n))  # type: ignore[arg-type]

    return rule


def _affine_count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    _, d = _features("", ins[0])
    n = out.dims[-1]
    if not isinstance(d, int) or not isinstance(n, int):
        raise ShapeError("E308", "the feature size must be a number to count parameters")
    return d * n + (n if p.get("bias", True) else 0)


def _affine_eq(link: str) -> EquationRule:
    def equation(c: EquationContext) -> str:
        _, d = _features("", c.in_types[0])
        n = c.out_type.dims[-1]
        act = c.params.get("act", link)
        bias = " + b" if c.params.get("bias", True) else ""
        inner = f"W {c.inputs[0]}{bias}"
        body = inner if act == "none" else f"{act}({inner})"
        shapes = f"W: {fmt_dims(n, d)}" + (f", b: {n}" if bias else "")
        return f"{c.name} = {body}    {shapes}"

    return equation


def _sample(rng: random.Random, kind: UnitKind) -> Sample:
    """A flat input [d], or a sequence [T, d] that the weights apply to at every step."""
    dims = draw_dims(rng, 2, seq=True) if coin(rng) else (rng.randint(1, 6),)
    return Sample((declare(dims),), draw_params(rng, kind.signature), sizes=sequence_sizes(rng))


_N = ParamSpec("n", "int", "number of outputs", check=positive)
_BIAS = ParamSpec("bias", "bool", "learn a bias b", default=True)

KINDS = (
    UnitKind(
        name="linear",
        family="regression",
        doc="Linear regression: y = W x + b.",
        signature=Signature(params=(_N, _BIAS)),
        shape=_affine_shape("linear"),
        count=_affine_count,
        equation=_affine_eq("none"),
        example="input x: [16]\ny = linear(x, 4)",
        drawing=Drawing(neurons="row"),
        samples=_sample,
    ),
    UnitKind(
        name="logistic",
        family="regression",
        doc="Logistic regression: y = sigmoid(W x + b), the probability of each of n binary "
        "events.",
        signature=Signature(
            params=(ParamSpec("n", "int", "number of outputs", 1, check=positive), _BIAS)
        ),
        shape=_affine_shape("logistic"),
        count=_affine_count,
        equation=_affine_eq("sigmoid"),
        example="input x: [16]\ny = logistic(x)",
        drawing=Drawing(neurons="row"),
        samples=_sample,
    ),
    UnitKind(
        name="softmax",
        family="regression",
        doc="Softmax (multinomial logistic) regression: y = softmax(W x + b) over n classes.",
        signature=Signature(
            params=(ParamSpec("n", "int", "number of classes", check=positive), _BIAS)
        ),
        shape=_affine_shape("softmax"),
        count=_affine_count,
        equation=_affine_eq("softmax"),
        example="input x: [16]\ny = x -> softmax(10)",
        drawing=Drawing(neurons="row"),
        samples=_sample,
    ),
    UnitKind(
        name="dense",
        family="regression",
        doc="A fully connected layer: y = act(W x + b).",
        signature=Signature(
            params=(_N, ParamSpec("act", "choice", "activation", "none", ACTIVATIONS), _BIAS)
        ),
        shape=_affine_shape("dense"),
        count=_affine_count,
        equation=_affine_eq("none"),
        example="input x: [16]\ny = x -> dense(8, act=relu)",
        drawing=Drawing(neurons="row"),
        samples=_sample,
    ),
)
