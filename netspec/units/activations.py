"""Elementwise activations: the nonlinearity between affine maps; no parameters, shape kept."""

from __future__ import annotations

import random

from netspec.equations import links
from netspec.equations.expr import Eq, Equations, delta, sym
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
    non_negative,
)
from netspec.units.samples import Sample, declare, draw_dims, draw_params, sequence_sizes


def elementwise(kind: str) -> ShapeRule:
    """The shape rule of any unit that maps real tensors to real tensors of the same shape."""

    def rule(ins: tuple[TensorType, ...], p: Params) -> TensorType:
        if not ins[0].is_real:
            raise ShapeError(
                "E305",
                f"`{kind}` expects real values, but its input is {ins[0]}",
                "needs real input",
                help="labels feed losses or `embed`",
                input_index=0,
            )
        return ins[0]

    return rule


def elementwise_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """A real tensor of rank 0 to 3, a sequence or not: an elementwise unit takes any."""
    dims = draw_dims(rng, rng.randint(0, 3))
    return Sample((declare(dims),), draw_params(rng, kind.signature), sizes=sequence_sizes(rng))


def _eq(act: str) -> EquationRule:
    """y = act(x) elementwise, and delta_x = delta_y * act'(x) (equations/links.py)."""

    def equation(c: EquationContext) -> Equations:
        x, y, dy = sym(c.inputs[0]), sym(c.name), sym(delta(c.name))
        slope = float(c.params.get("slope", 0.01))  # type: ignore[arg-type]
        # A sigmoid is a link: a bce loss reading its value starts at the delta of its input.
        is_link = act == "sigmoid"
        return Equations(
            output=c.name,
            forward=(Eq(c.name, links.apply(act, x, slope)),),
            backward=(Eq(delta(c.inputs[0]), links.backward(act, x, y, dy, slope)),),
            link=act if is_link else "",
            logits=c.inputs[0] if is_link else "",
        )

    return equation


def _kind(name: str, doc: str, params: tuple[ParamSpec, ...] = ()) -> UnitKind:
    return UnitKind(
        name=name,
        family="activations",
        doc=doc,
        signature=Signature(params=params),
        shape=elementwise(name),
        equation=_eq(name),
        example=f"input x: [16]\ny = x -> {name}",
        drawing=Drawing(neurons="fold"),
        samples=elementwise_sample,
    )


KINDS = (
    _kind("sigmoid", "Logistic sigmoid, squashing to (0, 1)."),
    _kind("tanh", "Hyperbolic tangent, squashing to (-1, 1)."),
    _kind("relu", "Rectified linear unit."),
    _kind(
        "leaky_relu",
        "ReLU with a small slope for negative inputs.",
        (ParamSpec("slope", "float", "slope for negative inputs", 0.01, check=non_negative),),
    ),
    _kind("gelu", "Gaussian error linear unit."),
    _kind("softplus", "Smooth ReLU."),
)
