"""Recurrent units over sequences [T, N] (T symbolic or fixed), and embeddings of token ids."""

from __future__ import annotations

import random

from netspec.types import Dim, TensorType
from netspec.units.base import (
    CountRule,
    Drawing,
    EquationContext,
    EquationRule,
    Params,
    ParamSpec,
    ShapeError,
    ShapeRule,
    Signature,
    UnitKind,
    fmt_dims,
    positive,
    probability,
)
from netspec.units.samples import Sample, declare, draw_dims, draw_params, sequence_sizes

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_STEP = {
    "rnn": "h_t = tanh(W x_t + U h_(t-1) + b)",
    "lstm": "i, f, o, g = gates(W x_t + U h_(t-1) + b);  c_t = f c_(t-1) + i g;  h_t = o tanh(c_t)",
    "gru": "r, z = sigmoid(W x_t + U h_(t-1) + b);  "
    "h_t = (1 - z) h_(t-1) + z tanh(W' x_t + r U' h_(t-1))",
}


def _sequence(kind: str, t: TensorType) -> int:
    if not t.is_real:
        raise ShapeError(
            "E305",
            f"`{kind}` expects real-valued steps, but its input is {t}",
            "needs [T, N] real input",
            help="token ids need `embed` first: `{input} -> embed(32) -> {call}`",
            input_index=0,
        )
    if t.rank != 2:
        help = "a sequence has a length and a step size, e.g. `input x: [T, 1]`"
        input_help = None
        if t.rank == 1 and isinstance(t.dims[0], int):
            n = t.dims[0]
            help = (
                f"to read the {n} values as {n} steps of 1, reshape it first: "
                f"`{{input}} -> reshape([{n}, 1]) -> {{call}}`"
            )
            input_help = (
                f"declare it as a sequence of {n} steps, `input {{input}}: [{n}, 1]`, "
                "or of any length, `[T, 1]`"
            )
        raise ShapeError(
            "E307",
            f"`{kind}` expects a sequence [T, N], but `{{input}}` has shape {t}",
            "needs [T, N] input",
            help=help,
            input_index=0,
            input_help=input_help,
        )
    if not isinstance(t.dims[1], int):
        raise ShapeError(
            "E307",
            f"`{kind}` needs a fixed step size N in [T, N], but it gets {t}",
            "N must be a number",
            input_index=0,
        )
    return t.dims[1]


def _recurrent_shape(kind: str) -> ShapeRule:
    def rule(ins: tuple[TensorType, ...], p: Params) -> TensorType:
        _sequence(kind, ins[0])
        width = int(p["n"]) * (2 if p["bidirectional"] else 1)  # type: ignore[arg-type]
        return TensorType((width,) if p["steps"] == "last" else (ins[0].dims[0], width))

    return rule


def _recurrent_count(kind: str) -> CountRule:
    def count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
        g, n = _GATES[kind], int(p["n"])  # type: ignore[arg-type]
        dirs = 2 if p["bidirectional"] else 1
        total, d = 0, _sequence(kind, ins[0])
        for _ in range(int(p["layers"])):  # type: ignore[arg-type]
            total += dirs * (g * n * (d + n) + 2 * g * n)  # W, U and torch's two biases
            d = n * dirs
        return total

    return count


def _recurrent_eq(kind: str) -> EquationRule:
    def equation(c: EquationContext) -> str:
        p, g = c.params, _GATES[kind]
        n, d = p["n"], c.in_types[0].dims[1]
        which = "h_T" if p["steps"] == "last" else "h_1..h_T"
        extras = []
        if p["layers"] != 1:
            extras.append(f"{p['layers']} layers")
        if p["bidirectional"]:
            extras.append("both directions")
        note = f"  ({', '.join(extras)})" if extras else ""
        return (
            f"{c.name} = {which} of {_STEP[kind]} over x = {c.inputs[0]}{note}    "
            f"W: {fmt_dims(g * n, d)}, U: {fmt_dims(g * n, n)}"
        )

    return equation


def _recurrent_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """Steps [T, d] or a fixed number of them, in 1 to 3 layers."""
    steps: list[Dim] = ["T", 1, 2, 4]
    dims = (rng.choice(steps), rng.randint(1, 5))
    params = draw_params(rng, kind.signature, ranges={"layers": (1, 3), "dropout": (0.0, 0.9)})
    return Sample((declare(dims),), params, sizes=sequence_sizes(rng))


def _recurrent(kind: str, doc: str) -> UnitKind:
    return UnitKind(
        name=kind,
        family="recurrent",
        doc=doc,
        signature=Signature(
            params=(
                ParamSpec("n", "int", "hidden size", check=positive),
                ParamSpec("layers", "int", "stacked layers", 1, check=positive),
                ParamSpec("bidirectional", "bool", "also run the sequence backwards", False),
                ParamSpec(
                    "steps", "choice", "output every step or only the last", "all", ("all", "last")
                ),
                ParamSpec("dropout", "float", "dropout between layers", 0.0, check=probability),
            )
        ),
        shape=_recurrent_shape(kind),
        count=_recurrent_count(kind),
        equation=_recurrent_eq(kind),
        example=f"input x: [T, 4]\nh = x -> {kind}(8, steps=last)",
        drawing=Drawing(recurrent=True),
        eager=True,
        samples=_recurrent_sample,
    )


def _embed_shape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    t = ins[0]
    if t.dtype != "class" or t.classes is None:
        raise ShapeError(
            "E305",
            f"`embed` expects token ids such as class(1000)[T], but it gets {t}",
            "needs class(V) input",
            help="`embed` maps token ids to vectors; real values need no embedding",
            input_help="declare the input as token ids with their vocabulary size, "
            "e.g. `input {input}: class(10000)[T]`",
            input_index=0,
        )
    return TensorType((*t.dims, p["n"]))  # type: ignore[arg-type]


def _embed_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """Token ids from 2 to 20 classes: one per sample, a sequence [T] or a grid [T, k]."""
    dims = draw_dims(rng, rng.randint(0, 2), seq=True)
    ids = declare(dims, "class", rng.randint(2, 20))
    return Sample((ids,), draw_params(rng, kind.signature), sizes=sequence_sizes(rng))


def _embed_count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    return int(ins[0].classes or 0) * int(p["n"])  # type: ignore[arg-type]


KINDS = (
    _recurrent("rnn", "Elman recurrent layer: h_t = tanh(W x_t + U h_(t-1) + b)."),
    _recurrent("lstm", "Long short-term memory layer, with input, forget and output gates."),
    _recurrent("gru", "Gated recurrent unit layer, with reset and update gates."),
    UnitKind(
        name="embed",
        family="recurrent",
        doc="A learned vector for each token id: class(V) ids become [n] vectors.",
        signature=Signature(params=(ParamSpec("n", "int", "vector size", check=positive),)),
        shape=_embed_shape,
        count=_embed_count,
        equation=lambda c: (
            f"{c.name} = E[{c.inputs[0]}]    E: {fmt_dims(c.in_types[0].classes, c.params['n'])}"
        ),
        example="input x: class(100)[T]\ne = x -> embed(8)",
        samples=_embed_sample,
    ),
)
