"""Merges: join several branches (modalities, skip connections) into one tensor.

Their backward is each branch's share of the delta: concat splits it by where each branch's
entries went, add copies it to every branch, mul multiplies it by the other branches."""

from __future__ import annotations

import random
from collections.abc import Callable

from netspec.equations.expr import Eq, Equations, Expr, delta, fn, sym
from netspec.types import Dim, TensorType, add_dim
from netspec.units.base import (
    Drawing,
    EquationContext,
    Params,
    ParamSpec,
    ShapeError,
    ShapeRule,
    Signature,
    UnitKind,
    is_sequence,
)
from netspec.units.samples import Sample, coin, declare, draw_dims, sequence_sizes


def _real(kind: str, ins: tuple[TensorType, ...]) -> None:
    for i, t in enumerate(ins):
        if not t.is_real:
            help = None
            if t.dtype == "class" and not t.dims:
                help = (
                    f"class labels feed losses; to use them as features, embed them first: "
                    f"`{{input{i + 1}}} -> embed(16)`"
                )
            raise ShapeError(
                "E305",
                f"`{kind}` merges real tensors, but `{{input}}` is {t}",
                "needs real input",
                help=help,
                input_index=i,
            )


def concat_axis(first: TensorType, p: Params) -> int:
    """The axis joined: the given one, else features (a sequence's last axis, else the first)."""
    axis = p.get("axis")
    if axis is None:
        return first.rank - 1 if is_sequence(first) else 0
    a = int(axis)  # type: ignore[arg-type]
    return a + first.rank if a < 0 else a


def _concat(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    _real("concat", ins)
    first = ins[0]
    axis = concat_axis(first, p)
    if not 0 <= axis < first.rank:
        raise ShapeError(
            "E404",
            f"`concat` axis {p.get('axis')} is out of range for {first}",
            f"axes run from 0 to {first.rank - 1}",
            help="leave `axis` out to join the features",
            input_index=0,
        )
    total: int | str = 0
    for i, t in enumerate(ins):
        others = [d for j, d in enumerate(t.dims) if j != axis]
        want = [d for j, d in enumerate(first.dims) if j != axis]
        if t.rank != first.rank or others != want:
            flat = [j for j, u in enumerate(ins) if u.rank > 1]
            if t.rank != first.rank and any(u.rank == 1 for u in ins) and flat:
                args = ", ".join(
                    f"{{input{j + 1}}}" + (" -> flatten" if j in flat else "")
                    for j in range(len(ins))
                )
                help = f"flatten the branches first: `concat({args})`"
            else:
                help = "reshape or flatten the branches to the same layout first"
            raise ShapeError(
                "E302",
                f"`concat` inputs must match except on axis {axis}, but got {first} and {t}",
                f"{first} and {t} do not line up",
                help=help,
                input_index=i,
                related=(0,),
            )
        size = t.dims[axis]
        if isinstance(total, int) and isinstance(size, int):
            total += size
        else:
            total = f"{total}+{size}" if total != 0 else str(size)
    dims = list(first.dims)
    dims[axis] = total
    return TensorType(tuple(dims))


def _same(kind: str) -> ShapeRule:
    def rule(ins: tuple[TensorType, ...], p: Params) -> TensorType:
        _real(kind, ins)
        for i, t in enumerate(ins[1:], start=1):
            if t.dims != ins[0].dims:
                want = ins[0].dims
                if len(want) == 1 and t.rank == 1:
                    help = (
                        f"project one branch to the other's size, e.g. "
                        f"`{kind}({{input1}}, {{input{i + 1}}} -> dense({want[0]}))`"
                    )
                elif len(want) == 3 and t.rank == 3 and want[1:] == t.dims[1:]:
                    help = (
                        f"match the channels with a 1x1 convolution, e.g. "
                        f"`{kind}({{input1}}, {{input{i + 1}}} -> conv2d({want[0]}, 1))`"
                    )
                else:
                    help = "make the branches the same shape first"
                raise ShapeError(
                    "E302",
                    f"`{kind}` inputs must have the same shape, but got {ins[0]} and {t}",
                    f"{ins[0]} and {t} differ",
                    help=help,
                    input_index=i,
                    related=(0,),
                )
        return ins[0]

    return rule


# --- equations: the merge forward, each branch's share of the delta back -----------------------
def _backward(c: EquationContext, share: Callable[[int], Expr]) -> tuple[Eq, ...]:
    """delta_<input> = its share of delta_y; a branch joined twice (`add(x, x)`) gets both."""
    shares: dict[str, Expr] = {}
    for i, name in enumerate(c.inputs):
        shares[name] = shares[name] + share(i) if name in shares else share(i)
    return tuple(Eq(delta(name), e) for name, e in shares.items())


def _span(c: EquationContext, axis: int, index: int) -> str:
    """`4:10`: where input `index`'s entries lie on the joined axis (`T:T+2` for a sequence)."""
    start: Dim = 0
    for t in c.in_types[:index]:
        start = _plus(start, t.dims[axis])
    stop = _plus(start, c.in_types[index].dims[axis])
    return f"{':, ' * axis}{start}:{stop}"


def _plus(a: Dim, b: Dim) -> Dim:
    if isinstance(b, int):
        return add_dim(a, b)
    if isinstance(a, int):
        return add_dim(b, a)
    return f"{a}+{b}"


def _concat_eq(c: EquationContext) -> Equations:
    """y = [a; b] along the joined axis; back: delta_a is the part of delta_y that a filled."""
    axis = concat_axis(c.in_types[0], c.params)
    ins, dy = [sym(n) for n in c.inputs], sym(delta(c.name))
    note = f"joined on axis {axis}" if c.in_types[0].rank > 1 else ""

    def share(i: int) -> Expr:
        return fn("part", dy, *ins, index=i, axis=axis, span=_span(c, axis, i))

    return Equations(
        output=c.name,
        forward=(Eq(c.name, fn("concat", *ins, axis=axis), note=note),),
        backward=_backward(c, share),
    )


def _add_eq(c: EquationContext) -> Equations:
    """y = a + b + ...; back: every branch gets delta_y itself."""
    ins, dy = [sym(n) for n in c.inputs], sym(delta(c.name))
    return Equations(
        output=c.name,
        forward=(Eq(c.name, _fold(ins, lambda a, b: a + b)),),
        backward=_backward(c, lambda i: dy),
    )


def _mul_eq(c: EquationContext) -> Equations:
    """y = a * b * ...; back: each branch gets delta_y times the other branches."""
    ins, dy = [sym(n) for n in c.inputs], sym(delta(c.name))

    def share(i: int) -> Expr:
        return _fold([dy, *ins[:i], *ins[i + 1 :]], lambda a, b: a * b)

    return Equations(
        output=c.name,
        forward=(Eq(c.name, _fold(ins, lambda a, b: a * b)),),
        backward=_backward(c, share),
    )


def _fold(values: list[Expr], op: Callable[[Expr, Expr], Expr]) -> Expr:
    out = values[0]
    for v in values[1:]:
        out = op(out, v)
    return out


# --- samples for the shape oracle ---------------------------------------------------------------
def _concat_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """2 or 3 branches alike but on the joined axis (the default one, or a given one, maybe
    negative); joined on the first axis, a branch may be a sequence of T steps."""
    rank = rng.randint(1, 3)
    base = draw_dims(rng, rank)
    axis = rng.randint(-rank, rank - 1) if coin(rng) else None
    joined = axis % rank if axis is not None else (rank - 1 if base[0] == "T" else 0)
    steps = joined == 0 and axis is not None  # else a T would move the default axis
    sizes: list[Dim] = ["T", 1, 2, 3] if steps else [1, 2, 3, 4]
    branches = []
    for _ in range(rng.randint(2, 3)):
        dims = list(base)
        dims[joined] = rng.choice(sizes)
        branches.append(declare(tuple(dims)))
    params = {} if axis is None else {"axis": axis}
    return Sample(tuple(branches), params, sizes=sequence_sizes(rng))


def _same_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """2 to 4 branches of one shape, of rank 0 to 3, a sequence or not."""
    dims = draw_dims(rng, rng.randint(0, 3))
    return Sample((declare(dims),) * rng.randint(2, 4), sizes=sequence_sizes(rng))


KINDS = (
    UnitKind(
        name="concat",
        family="merges",
        doc="Concatenate branches along the feature axis (or `axis`).",
        signature=Signature(
            inputs=("a", "b"),
            variadic=True,
            params=(ParamSpec("axis", "int", "axis to join (default: features)", None),),
        ),
        shape=_concat,
        equation=_concat_eq,
        example="input x: [4]\ninput z: [6]\ny = concat(x, z)",
        drawing=Drawing(junction="||", neurons="side_by_side"),
        sampling="join",
        samples=_concat_sample,
    ),
    UnitKind(
        name="add",
        family="merges",
        doc="Elementwise sum of branches of the same shape (a skip connection).",
        signature=Signature(inputs=("a", "b"), variadic=True),
        shape=_same("add"),
        equation=_add_eq,
        example="input x: [4]\ninput z: [4]\ny = add(x, z)",
        drawing=Drawing(junction="+", neurons="junction"),
        samples=_same_sample,
    ),
    UnitKind(
        name="mul",
        family="merges",
        doc="Elementwise product of branches of the same shape (gating).",
        signature=Signature(inputs=("a", "b"), variadic=True),
        shape=_same("mul"),
        equation=_mul_eq,
        example="input x: [4]\ninput z: [4]\ny = mul(x, z)",
        drawing=Drawing(junction="x", neurons="junction"),
        samples=_same_sample,
    ),
)
