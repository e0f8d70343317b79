"""Regression nodes: a weight matrix W, a bias b and a link function; the neuron of the tree."""

from __future__ import annotations

import random

from netspec.equations import links
from netspec.equations.expr import Eq, Equations, Statement, Tensor, delta, fn, grad, sym
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
    def equation(c: EquationContext) -> Equations:
        _, d = _features("", c.in_types[0])
        n = c.out_type.dims[-1]
        act = str(c.params.get("act", link))
        return affine(c, act, int(d), int(n), bool(c.params.get("bias", True)))  # type: ignore[call-overload]

    return equation


def affine(c: EquationContext, act: str, d: int, n: int, bias: bool) -> Equations:
    """y = act(W x + b) as equations, with its backward: the neuron of the tree."""
    x, y = sym(c.inputs[0]), sym(c.name)
    w, b = sym(c.own("W")), sym(c.own("b"))
    z = sym(c.own("z")) if act != "none" else y
    over = "n,t" if c.in_types[0].rank == 2 else "n"
    forward: list[Statement] = [Eq(z.attr("name"), w @ x + b if bias else w @ x)]
    tensors = [Tensor(c.own("W"), (n, d), "weight")]
    if bias:
        tensors.append(Tensor(c.own("b"), (n,), "bias"))
    dy, dz = sym(delta(c.name)), sym(delta(z.attr("name")))
    backward: list[Statement] = []
    if act != "none":
        forward.append(Eq(c.name, links.apply(act, z)))
        backward.append(Eq(dz.attr("name"), links.backward(act, z, y, dy)))
    backward.append(Eq(grad(c.own("W")), fn("outer", dz, x, over=over)))
    if bias:
        backward.append(Eq(grad(c.own("b")), fn("sum", dz, over=over)))
    backward.append(Eq(delta(c.inputs[0]), w.T @ dz))
    is_link = act in ("sigmoid", "softmax")
    return Equations(
        output=c.name,
        forward=tuple(forward),
        tensors=tuple(tensors),
        backward=tuple(backward),
        link=act if is_link else "",
        logits=z.attr("name") if is_link else "",
    )


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
        pictures="templates",
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
        pictures="templates",
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
        pictures="templates",
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
        pictures="templates",
        samples=_sample,
    ),
)
