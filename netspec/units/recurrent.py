"""Recurrent units over sequences [T, N] (T symbolic or fixed), and embeddings of token ids."""

from __future__ import annotations

import random

from netspec.types import Dim, TensorType
from netspec.units.base import (
    CountRule,
    Drawing,
    Params,
    ParamSpec,
    SelfLoop,
    ShapeError,
    ShapeRule,
    Signature,
    UnitKind,
    positive,
    probability,
)
from netspec.units.recurrent_equations import GATES, embed_equations, recurrent_equations
from netspec.units.samples import Sample, declare, draw_dims, draw_params, sequence_sizes


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
        g, n = len(GATES[kind]), int(p["n"])  # type: ignore[arg-type]
        dirs = 2 if p["bidirectional"] else 1
        total, d = 0, _sequence(kind, ins[0])
        for _ in range(int(p["layers"])):  # type: ignore[arg-type]
            total += dirs * (g * n * (d + n) + 2 * g * n)  # W, U and torch's two biases
            d = n * dirs
        return total

    return count


def _recurrent_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """Steps [T, d] or a fixed number of them, in 1 to 3 layers."""
    steps: list[Dim] = ["T", 1, 2, 4]
    dims = (rng.choice(steps), rng.randint(1, 5))
    params = draw_params(rng, kind.signature, ranges={"layers": (1, 3), "dropout": (0.0, 0.9)})
    return Sample((declare(dims),), params, sizes=sequence_sizes(rng))


def _loops(unit: str, x: str, p: Params) -> tuple[SelfLoop, ...]:
    """One self-loop per direction; with `steps=last`, the step each direction ends on (the
    backward direction runs from x_T to x_1, so its last step is the one at the first token)."""
    last = p["steps"] == "last"
    forward = f"{unit}, forward: h_t from h_(t-1), reading {x} from x_1 to x_T"
    if not p["bidirectional"]:
        kept = "; steps=last keeps h_T, the state after the last token x_T" if last else ""
        return (SelfLoop("t-1", forward + kept),)
    backward = f"{unit}, backward: h_t from h_(t+1), reading {x} from x_T back to x_1"
    if not last:
        return SelfLoop("t-1", forward), SelfLoop("t+1", backward)
    return (
        SelfLoop(
            "t-1", forward + "; steps=last keeps its h_T (the first half)", "forward: ends at T"
        ),
        SelfLoop(
            "t+1",
            backward + "; steps=last keeps its last step, h_1 (the second half): it read the "
            "first token x_1 last, after the whole sequence",
            "backward: ends at 1, the first token",
        ),
    )


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
        equation=recurrent_equations(kind),
        example=f"input x: [T, 4]\nh = x -> {kind}(8, steps=last)",
        drawing=Drawing(recurrent=True, loops=_loops),
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
    _recurrent("rnn", "Elman recurrent layer: h_t = tanh(W x_t + b + U h_(t-1) + d)."),
    _recurrent("lstm", "Long short-term memory layer, with input, forget and output gates."),
    _recurrent("gru", "Gated recurrent unit layer, with reset and update gates."),
    UnitKind(
        name="embed",
        family="recurrent",
        doc="A learned vector for each token id: class(V) ids become [n] vectors.",
        signature=Signature(params=(ParamSpec("n", "int", "vector size", check=positive),)),
        shape=_embed_shape,
        count=_embed_count,
        equation=embed_equations,
        example="input x: class(100)[T]\ne = x -> embed(8)",
        samples=_embed_sample,
    ),
)
