"""Losses: scalar objectives of a prediction and a target; several make a multi-task model."""

from __future__ import annotations

import random

from netspec.types import Dim, TensorType
from netspec.units import loss_equations
from netspec.units.base import (
    AUTO,
    EquationRule,
    Params,
    ParamSpec,
    ShapeError,
    ShapeRule,
    Signature,
    UnitKind,
    Value,
    non_negative,
    probability,
)
from netspec.units.samples import Sample, SampleRule, coin, declare, draw_params, sequence_sizes


def _weight_check(value: Value) -> str | None:
    return None if value == AUTO else non_negative(value)


_WEIGHT = ParamSpec(
    "weight",
    "weight",
    "weight of this loss in the total; `auto`: learned, exp(-s) with a learned log-variance s "
    "(uncertainty weighting, Kendall, Gal & Cipolla 2018)",
    1.0,
    check=_weight_check,
)
SCALAR = TensorType(())


def _prediction(kind: str, t: TensorType) -> None:
    if not t.is_real:
        raise ShapeError(
            "E305",
            f"`{kind}` takes a prediction first, but its first input is {t}",
            "needs a real prediction",
            help="write the prediction first, the label second",
            input_index=0,
        )


def _cross_entropy(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    pred, target = ins
    _prediction("cross_entropy", pred)
    if pred.rank == 0:
        raise ShapeError(
            "E301",
            f"`cross_entropy` needs class scores [K], but the prediction is {pred}",
            "needs [K] scores",
            input_index=0,
        )
    k = pred.dims[-1]
    if target.dtype == "class":
        if target.dims != pred.dims[:-1]:
            raise ShapeError(
                "E304",
                f"`cross_entropy` prediction {pred} does not fit target {target}",
                f"target is {target}",
                help="a prediction [K] goes with a label class(K); [T, K] with class(K)[T]",
                input_index=1,
            )
        if isinstance(k, int) and target.classes != k:
            raise ShapeError(
                "E304",
                f"`cross_entropy` prediction has {k} classes, but the target has {target.classes}",
                f"{k} scores for {target.classes} classes",
                help=f"make the last unit give {target.classes} scores, e.g. "
                f"`dense({target.classes})`, or declare the target as class({k})",
                input_index=0,
                related=(1,),
            )
    elif target.is_real:
        if target.dims != pred.dims:
            raise ShapeError(
                "E304",
                f"`cross_entropy` prediction {pred} and soft target {target} differ",
                f"target is {target}",
                input_index=1,
            )
    else:
        raise ShapeError(
            "E304",
            f"`cross_entropy` needs a class(K) target, but got {target}",
            f"target is {target}",
            help="binary targets go with `bce`: `bce({input1}, {input2})`",
            input_index=1,
        )
    return SCALAR


def _matching(kind: str, allowed: tuple[str, ...]) -> ShapeRule:
    def rule(ins: tuple[TensorType, ...], p: Params) -> TensorType:
        pred, target = ins
        _prediction(kind, pred)
        if target.dtype not in allowed:
            help = None
            if target.dtype == "class":
                help = "class labels go with `cross_entropy`: `cross_entropy({input1}, {input2})`"
                if kind == "bce" and target.classes is not None:
                    help += (
                        f"; for {target.classes} independent yes/no labels declare the "
                        f"target as binary[{target.classes}]"
                    )
            raise ShapeError(
                "E304",
                f"`{kind}` needs a {' or '.join(allowed)} target, but got {target}",
                f"target is {target}",
                help=help,
                input_index=1,
            )
        target_dims = target.dims if target.dims or target.dtype == "real" else ()
        if pred.dims != target_dims and not (pred.dims == (1,) and target_dims == ()):
            want = list(target_dims) or [1]
            help = None
            if len(want) == 1 and pred.rank == 1:
                help = (
                    f"make the prediction give {want[0]} value{'s' * (want[0] != 1)}, "
                    f"e.g. with `linear({want[0]})`"
                )
            raise ShapeError(
                "E304",
                f"`{kind}` prediction {pred} and target {target} differ in shape",
                f"{pred} against {target}",
                help=help,
                input_index=0,
                related=(1,),
            )
        return SCALAR

    return rule


# --- samples for the shape oracle: predictions [K] or [T, K], read as they are or through a head
_RANGES = {"weight": (0.0, 2.0), "smoothing": (0.0, 0.5)}


def _prediction_dims(rng: random.Random, low: int) -> tuple[Dim, ...]:
    k = rng.randint(low, 5)
    return ("T", k) if coin(rng) else (k,)


def _cross_entropy_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """Scores for 2 to 5 classes against class ids or a soft target, from a softmax's logits,
    another head, or the input itself."""
    pred = _prediction_dims(rng, 2)
    k = pred[-1]
    target = declare(pred) if coin(rng) else declare(pred[:-1], "class", int(k))
    head = rng.choice(["", f"softmax({k})", f"dense({k}, act=relu)"])
    params = draw_params(rng, kind.signature, ranges=_RANGES)
    return Sample((declare(pred), target), params, (head,), sequence_sizes(rng, 2, 9))


def _matching_sample(targets: tuple[str, ...], heads: tuple[str, ...] = ("",)) -> SampleRule:
    """A prediction and a target of the same shape (of a `targets` dtype; one value against a
    scalar target), the prediction maybe through one of `heads` (`{k}`: its size)."""

    def rule(rng: random.Random, kind: UnitKind) -> Sample:
        pred = _prediction_dims(rng, 1)
        k = pred[-1]
        dtype = rng.choice(targets)
        scalar = pred == (1,) and coin(rng)
        target = declare(() if scalar else pred, dtype)
        head = rng.choice(heads).format(k=k)
        params = draw_params(rng, kind.signature, ranges=_RANGES)
        return Sample((declare(pred), target), params, (head,), sequence_sizes(rng, 2, 9))

    return rule


def _loss(
    name: str,
    doc: str,
    rule: ShapeRule,
    equation: EquationRule,
    example: str,
    samples: SampleRule,
    extra: tuple[ParamSpec, ...] = (),
) -> UnitKind:
    return UnitKind(
        name=name,
        family="losses",
        doc=doc,
        signature=Signature(inputs=("prediction", "target"), params=(_WEIGHT, *extra)),
        shape=rule,
        equation=equation,
        example=example,
        role="loss",
        samples=samples,
        count=_learned_weight,
    )


def _learned_weight(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    """An `auto` weight learns one number, its log-variance."""
    return 1 if p.get("weight") == AUTO else 0


KINDS = (
    _loss(
        "cross_entropy",
        "Negative log-likelihood of the target class under the predicted distribution.",
        _cross_entropy,
        loss_equations.cross_entropy,
        "input x: [16]\ninput t: class(3)\nloss cross_entropy(x -> softmax(3), t)",
        _cross_entropy_sample,
        (ParamSpec("smoothing", "float", "label smoothing", 0.0, check=probability),),
    ),
    _loss(
        "bce",
        "Binary cross-entropy of independent binary targets.",
        _matching("bce", ("binary", "real")),
        loss_equations.bce,
        "input x: [16]\ninput t: binary[2]\nloss bce(x -> logistic(2), t)",
        _matching_sample(("binary", "real"), ("", "logistic({k})", "softmax({k})")),
    ),
    _loss(
        "mse",
        "Mean squared error.",
        _matching("mse", ("real",)),
        loss_equations.mse,
        "input x: [16]\ninput t: real[2]\nloss mse(x -> linear(2), t)",
        _matching_sample(("real",)),
    ),
    _loss(
        "l1",
        "Mean absolute error.",
        _matching("l1", ("real",)),
        loss_equations.l1,
        "input x: [16]\ninput t: real[2]\nloss l1(x -> linear(2), t)",
        _matching_sample(("real",)),
    ),
)
