"""Test inputs of unit kinds, as OpInfo's `sample_inputs_func`: a `Sample` is one call of a kind
on inputs it should accept, written as a spec writes it; the helpers below draw them for the
families' `samples` rules. The shape oracle (tests/test_lower.py) draws from a `random.Random`
that hypothesis drives, so draws shrink and replay."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from netspec.types import Dim
from netspec.units.base import AUTO, ParamSpec, Signature, UnitKind, Value


@dataclass(frozen=True)
class Sample:
    """A call of a kind on inputs it should accept, written as a spec writes it.

    `inputs` declares each tensor input (`[3, T]`, `class(7)[T]`, `real`); `heads` is an optional
    chain per input, applied between the input and the call (`softmax(3)`: a loss reading a
    head's logits); `params` are the call's parameters; `sizes` gives each symbol a size (T).
    """

    inputs: tuple[str, ...]
    params: Mapping[str, Value] = field(default_factory=dict)
    heads: tuple[str, ...] = ()
    sizes: Mapping[str, int] = field(default_factory=dict)

    def body(self, kind: UnitKind) -> str:
        """A network body that calls `kind` once on these inputs, named x0, x1, ...

        >>> from netspec.units import REGISTRY
        >>> sample = Sample(("[T, 3]", "class(3)[T]"), {"weight": 0.5}, ("softmax(3)",))
        >>> print(sample.body(REGISTRY["cross_entropy"]))
        input x0: [T, 3]
        input x1: class(3)[T]
        loss cross_entropy(x0 -> softmax(3), x1, weight=0.5)
        """
        names = [f"x{i}" for i in range(len(self.inputs))]
        heads = (*self.heads, *[""] * (len(names) - len(self.heads)))
        args = [n + (f" -> {h}" if h else "") for n, h in zip(names, heads, strict=True)]
        args += [f"{k}={_written(v)}" for k, v in self.params.items()]
        call = f"{kind.name}({', '.join(args)})"
        lines = [f"input {n}: {d}" for n, d in zip(names, self.inputs, strict=True)]
        return "\n".join([*lines, f"loss {call}" if kind.role == "loss" else f"y = {call}"])


def _written(v: Value) -> str:
    """A parameter's value as a spec writes it: `true`, `[2, 3]`, `0.25`, `relu`."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return "[" + ", ".join(_written(x) for x in v) + "]"
    return str(v)


SampleRule = Callable[[random.Random, UnitKind], Sample]  # a kind's `samples` hook
Ranges = Mapping[str, tuple[float, float]]


def coin(rng: random.Random) -> bool:
    """Heads or tails, drawn from `rng` (the oracle's is hypothesis's: it shrinks draws)."""
    return rng.random() < 0.5


def declare(dims: tuple[Dim, ...], dtype: str = "real", classes: int = 0) -> str:
    """An input's type as a spec declares it: `[3, T]`, `class(7)[T]`, `binary`, `real`."""
    shape = "[" + ", ".join(map(str, dims)) + "]" if dims else ""
    if dtype == "class":
        return f"class({classes})" + shape
    if dtype == "binary":
        return "binary" + shape
    return shape or "real"


def draw_dims(rng: random.Random, rank: int, seq: bool | None = None) -> tuple[Dim, ...]:
    """Sizes of one sample, 1 to 5; the first is the symbolic T if `seq` (by chance if None)."""
    dims: list[Dim] = [rng.randint(1, 5) for _ in range(rank)]
    if rank and (seq if seq is not None else coin(rng)):
        dims[0] = "T"
    return tuple(dims)


def draw_params(
    rng: random.Random, signature: Signature, axes: int = 1, ranges: Ranges | None = None
) -> dict[str, Value]:
    """Values for some of the parameters (every required one) that pass their checks: an int
    from 1 to 6, `ints` from 1 to 3 (one size, or `axes` sizes), a float from 0 to 1, unless
    `ranges` bounds the parameter. Shapes are left to the kind's rule."""
    bounds = ranges or {}
    out: dict[str, Value] = {}
    for p in signature.params:
        if (not p.required and not coin(rng)) or p.type == "shape":
            continue
        value = _draw_value(rng, p, axes, bounds.get(p.name))
        if p.check is None or p.check(value) is None:
            out[p.name] = value
    return out


def _draw_value(
    rng: random.Random, p: ParamSpec, axes: int, bounds: tuple[float, float] | None
) -> Value:
    if p.type == "weight" and coin(rng):
        return AUTO
    if p.type in ("float", "weight"):
        lo_f, hi_f = bounds or (0.0, 1.0)
        return round(rng.uniform(lo_f, hi_f), 3)  # the value as the spec will write it
    if p.type == "bool":
        return coin(rng)
    if p.type == "choice":
        return rng.choice(p.choices)
    default = (1, 6) if p.type == "int" else (1, 3)
    lo, hi = (int(b) for b in bounds or default)
    if p.type == "int" or coin(rng):
        return rng.randint(lo, hi)
    return tuple(rng.randint(lo, hi) for _ in range(axes))  # `ints`: one size per axis


def sequence_sizes(rng: random.Random, low: int = 9, high: int = 16) -> dict[str, int]:
    """A length for T; by default long enough for any window a sample rule draws."""
    return {"T": rng.randint(low, high)}


def flat_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """The default rule: a flat real input [d] (each input the same) and drawn parameters."""
    d = rng.randint(1, 8)
    count = max(len(kind.signature.inputs), 2 if kind.signature.variadic else 1)
    return Sample((declare((d,)),) * count, draw_params(rng, kind.signature))


def flat_sample_where(param: str, needs: str, value: str, default: str) -> SampleRule:
    """`flat_sample`, keeping `param` only where `needs` (whose default is `default`) is
    `value`, as check wants (`sigma` only with `visible=gaussian`)."""

    def rule(rng: random.Random, kind: UnitKind) -> Sample:
        sample = flat_sample(rng, kind)
        params = dict(sample.params)
        if params.get(needs, default) != value:
            params.pop(param, None)
        return Sample(sample.inputs, params)

    return rule
