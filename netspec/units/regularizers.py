"""Regularizers and normalizers: dropout, batch normalization, layer normalization. Their
equations differ between training and evaluation (`when`): dropout's mask, batch norm's batch
statistics against its running ones."""

from __future__ import annotations

import random
from dataclasses import dataclass

from netspec.equations.expr import Eq, Equations, Expr, Statement, Tensor, delta, fn, grad, num, sym
from netspec.types import TensorType
from netspec.units.activations import elementwise, elementwise_sample
from netspec.units.base import (
    Drawing,
    EquationContext,
    Params,
    ParamSpec,
    ShapeError,
    Signature,
    UnitKind,
    is_sequence,
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


def _dropout_eq(c: EquationContext) -> Equations:
    """Training: y = m * x / (1 - p) with a fresh mask m ~ Bernoulli(1 - p); evaluation: y = x."""
    x, m = sym(c.inputs[0]), sym(c.own("m"))
    keep = 1 - num(float(c.params["p"]))  # type: ignore[arg-type]
    dy, dx = sym(delta(c.name)), delta(c.inputs[0])
    return Equations(
        output=c.name,
        forward=(
            Eq(c.own("m"), fn("bernoulli", keep, x), "train", "drawn anew at every step"),
            Eq(c.name, m * x / keep, "train"),
            Eq(c.name, x, "eval"),
        ),
        backward=(Eq(dx, m * dy / keep, "train"), Eq(dx, dy, "eval")),
        random=True,
    )


EPS = 1e-5  # torch's BatchNorm and LayerNorm eps
MOMENTUM = 0.1  # torch's BatchNorm momentum: the weight of each batch in the running statistics


@dataclass(frozen=True)
class _Norm:
    """Where a normalization takes its statistics: `axes` of the value (the batch axis is 0),
    written `over`; `keep` are the axes its scale and shift are per (`sum`'s), and `spread`
    lays a [C] tensor out along the channel axis (None: it broadcasts as it is)."""

    axes: tuple[int, ...]
    over: str
    keep: tuple[int, ...]
    spread: int | None = None

    def per(self, e: Expr) -> Expr:
        return e if self.spread is None else fn("per_channel", e, axes=self.spread)


def _batch_axes(t: TensorType) -> _Norm:
    """Per channel (the first axis of a sample), over the samples and every position."""
    if t.rank <= 1:
        return _Norm((0,), "n", (-1,) if t.rank else ())
    return _Norm((0, *range(2, t.rank + 1)), "n,p", (1,), spread=t.rank - 1)


def _normalize(c: EquationContext, norm: _Norm, mu: Expr, var: Expr) -> list[Statement]:
    """sigma, xhat and y = gamma * xhat + beta, from the statistics mu and var."""
    x, sigma, xhat = sym(c.inputs[0]), sym(c.own("sigma")), sym(c.own("xhat"))
    gamma, beta = norm.per(sym(c.own("gamma"))), norm.per(sym(c.own("beta")))
    return [
        Eq(c.own("sigma"), fn("sqrt", var + EPS)),
        Eq(c.own("xhat"), (x - mu) / sigma),
        Eq(c.name, gamma * xhat + beta),
    ]


def _scale_grads(c: EquationContext, norm: _Norm) -> list[Statement]:
    dy, xhat = sym(delta(c.name)), sym(c.own("xhat"))
    over = norm.over
    return [
        Eq(grad(c.own("gamma")), fn("sum", dy * xhat, over=over, keep=norm.keep)),
        Eq(grad(c.own("beta")), fn("sum", dy, over=over, keep=norm.keep)),
    ]


def _affine_tensors(c: EquationContext, n: int) -> list[Tensor]:
    return [
        Tensor(c.own("gamma"), (n,), "weight", doc="scale"),
        Tensor(c.own("beta"), (n,), "bias", doc="shift"),
    ]


def _batchnorm_eq(c: EquationContext) -> Equations:
    """Batch statistics per channel while training (and the running ones updated), the running
    statistics when evaluating; the backward of each."""
    t = c.in_types[0]
    n = int(t.dims[0]) if t.rank else 1  # type: ignore[call-overload]
    norm = _batch_axes(t)
    x, dy = sym(c.inputs[0]), sym(delta(c.name))
    mu, var, size = sym(c.own("mu")), sym(c.own("var")), sym(c.own("N"))
    running_mean, running_var = sym(c.own("running_mean")), sym(c.own("running_var"))
    mean = dict(over=norm.over, axes=norm.axes)
    old = 1 - MOMENTUM
    forward: list[Statement] = [
        Eq(c.own("mu"), fn("mean", x, **mean), "train", "per channel"),
        Eq(c.own("var"), fn("mean", fn("square", x - mu), **mean), "train"),
        Eq(c.own("N"), fn("size", x, over=norm.over, axes=norm.axes), "train"),
        Eq(c.own("running_mean"), old * norm.per(running_mean) + MOMENTUM * mu, "train"),
        Eq(
            c.own("running_var"),
            old * norm.per(running_var) + MOMENTUM * var * size / (size - 1),
            "train",
            "the unbiased variance",
        ),
        Eq(c.own("mu"), norm.per(running_mean), "eval"),
        Eq(c.own("var"), norm.per(running_var), "eval"),
        *_normalize(c, norm, mu, var),
    ]
    gamma, sigma, xhat = norm.per(sym(c.own("gamma"))), sym(c.own("sigma")), sym(c.own("xhat"))
    centred = dy - fn("mean", dy, **mean) - xhat * fn("mean", dy * xhat, **mean)
    backward = [
        *_scale_grads(c, norm),
        Eq(delta(c.inputs[0]), gamma / sigma * centred, "train", "mu and var depend on x"),
        Eq(delta(c.inputs[0]), gamma / sigma * dy, "eval"),
    ]
    tensors = [
        *_affine_tensors(c, n),
        Tensor(c.own("running_mean"), (n,), "running_mean", learned=False),
        Tensor(c.own("running_var"), (n,), "running_var", learned=False),
    ]
    notes = (
        f"training normalizes with the batch's statistics and moves the running ones "
        f"{MOMENTUM:g} of the way to them (torch's momentum), the variance unbiased: "
        f"N / (N - 1) times the batch's; evaluation uses the running statistics",
        "delta_x while training is gamma / (N sigma) (N delta_y - sum delta_y - xhat "
        "sum delta_y xhat), per channel, written with means",
    )
    return Equations(
        output=c.name,
        forward=tuple(forward),
        tensors=tuple(tensors),
        backward=tuple(backward),
        notes=notes,
    )


def _layernorm_eq(c: EquationContext) -> Equations:
    """Per sample (and step), over the last axis; the same while training and evaluating."""
    t = c.in_types[0]
    n = int(t.dims[-1]) if t.rank else 1  # type: ignore[call-overload]
    x, dy = sym(c.inputs[0]), sym(delta(c.name))
    over = "n" if t.rank <= 1 else ("n,t" if is_sequence(t) else "n,p")
    norm = _Norm((-1,), over, (-1,) if t.rank else ())
    sigma, xhat, dxhat = sym(c.own("sigma")), sym(c.own("xhat")), sym(delta(c.own("xhat")))
    if t.rank:
        mu, var = sym(c.own("mu")), sym(c.own("var"))
        stats: list[Statement] = [
            Eq(c.own("mu"), fn("mean", x, over="k", axes=(-1,)), note="per sample, over k"),
            Eq(c.own("var"), fn("mean", fn("square", x - mu), over="k", axes=(-1,))),
        ]
        back = dxhat - fn("mean", dxhat, over="k", axes=(-1,))
        back = back - xhat * fn("mean", dxhat * xhat, over="k", axes=(-1,))
        dx: Expr = back / sigma
    else:  # one value per sample is its own mean: y = beta
        mu, var = x, num(0)
        stats, dx = [], num(0)
    forward = [*stats, *_normalize(c, norm, mu, var)]
    backward = [
        *_scale_grads(c, norm),
        Eq(delta(c.own("xhat")), sym(c.own("gamma")) * dy),
        Eq(delta(c.inputs[0]), dx),
    ]
    return Equations(
        output=c.name,
        forward=tuple(forward),
        tensors=tuple(_affine_tensors(c, n)),
        backward=tuple(backward),
    )


KINDS = (
    UnitKind(
        name="dropout",
        family="regularizers",
        doc="Zero each value with probability p while training; scale the rest by 1/(1-p).",
        signature=Signature(
            params=(ParamSpec("p", "float", "drop probability", 0.5, check=probability),)
        ),
        shape=elementwise("dropout"),
        equation=_dropout_eq,
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
        equation=_batchnorm_eq,
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
        equation=_layernorm_eq,
        example="input x: [T, 16]\ny = x -> layernorm",
        drawing=Drawing(neurons="fold"),
        samples=elementwise_sample,
    ),
)
