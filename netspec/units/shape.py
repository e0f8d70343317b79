"""Shape units: flatten, reshape and `last` (the final step of a sequence).

Their equations move entries without changing them: `vec` and `reshape` keep the row-major
order (torch's), so their backward lays the delta back out; `last` sends its delta to step T."""

from __future__ import annotations

import random
from math import prod

from netspec.equations.expr import Eq, Equations, Expr, delta, fn, sym
from netspec.types import TensorType
from netspec.units.base import EquationContext, Params, ParamSpec, ShapeError, Signature, UnitKind
from netspec.units.samples import Sample, coin, declare, draw_dims, sequence_sizes


def _flatten(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    return TensorType((ins[0].numel(),), ins[0].dtype, ins[0].classes)


def _reshape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    t = ins[0]
    target: tuple[int, ...] = p["shape"]  # type: ignore[assignment]
    if not t.is_static:
        raise ShapeError(
            "E306",
            f"`reshape` needs a fixed input shape, but it gets {t}",
            "needs a shape without symbolic sizes",
            input_index=0,
            help="a sequence of any length cannot be reshaped; take its last step "
            "with `last`, or use `steps=last` on the recurrent unit",
        )
    total = int(t.numel())
    free = [i for i, d in enumerate(target) if d == -1]
    known = prod(d for d in target if d != -1)
    if len(free) > 1 or any(d == 0 or d < -1 for d in target):
        raise ShapeError(
            "E404",
            f"`reshape` target {list(target)} is not a shape",
            "sizes must be positive, with at most one -1",
        )
    if free:
        if total % known:
            raise ShapeError(
                "E306",
                f"cannot reshape {t} ({total} values) to {list(target)}",
                f"{total} is not a multiple of {known}",
                input_index=0,
                help=f"the other sizes must divide {total}",
            )
        target = tuple(total // known if d == -1 else d for d in target)
    if prod(target) != total:
        lead = list(target[:-1])
        help = f"the new shape must hold {total} values"
        if lead and total % prod(lead) == 0:
            fixed = [*lead, total // prod(lead)]
            help += f", e.g. `reshape({fixed})`, or let one size be found: `reshape({[*lead, -1]})`"
        raise ShapeError(
            "E306",
            f"cannot reshape {t} ({total} values) to {list(target)} ({prod(target)} values)",
            "the number of values must stay the same",
            input_index=0,
            help=help,
        )
    return TensorType(target, t.dtype, t.classes)


def _last(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    t = ins[0]
    if t.rank < 2:
        raise ShapeError(
            "E307",
            f"`last` expects a sequence [T, N], but `{{input}}` has shape {t}",
            "needs a sequence",
            input_index=0,
            help="`{input}` has no steps to take the last of; remove `last`",
        )
    return TensorType(t.dims[1:], t.dtype, t.classes)


# --- equations: a new layout forward, the old layout back --------------------------------------
def _relaid(c: EquationContext, value: Expr) -> Equations:
    """y = value (the input's entries laid out anew); delta_x = delta_y laid back out. An input
    of class ids or binary values gets no gradient."""
    back = Eq(delta(c.inputs[0]), fn("unvec", sym(delta(c.name)), sym(c.inputs[0])))
    note = f"{c.in_types[0]} -> {c.out_type}"
    return Equations(
        output=c.name,
        forward=(Eq(c.name, value, note=note),),
        backward=(back,) if c.in_types[0].is_real else (),
    )


def _flatten_eq(c: EquationContext) -> Equations:
    return _relaid(c, fn("vec", sym(c.inputs[0])))


def _reshape_eq(c: EquationContext) -> Equations:
    dims = tuple(int(d) for d in c.out_type.dims)
    return _relaid(c, fn("reshape", sym(c.inputs[0]), dims=dims))


def _last_eq(c: EquationContext) -> Equations:
    """y = x_T; only the last step gets a gradient: delta_x = (0, ..., 0, delta_y)."""
    x = sym(c.inputs[0])
    back = Eq(delta(c.inputs[0]), fn("at_last", sym(delta(c.name)), x))
    return Equations(
        output=c.name,
        forward=(Eq(c.name, fn("last", x)),),
        backward=(back,) if c.in_types[0].is_real else (),
    )


# --- samples for the shape oracle: layouts of every dtype, reshapes that keep the values -----
def _flatten_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """Any tensor of rank 0 to 3, of reals, class ids or binary values: the dtype is kept."""
    dims = draw_dims(rng, rng.randint(0, 3))
    dtype = rng.choice(["real", "class", "binary"])
    return Sample((declare(dims, dtype, 7),), sizes=sequence_sizes(rng))


def _reshape_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """A fixed shape and a target holding as many values, in 1 to 3 sizes, one maybe -1."""
    dims = draw_dims(rng, rng.randint(1, 3), seq=False)
    total = prod(int(d) for d in dims)
    divisors = [d for d in range(1, total + 1) if total % d == 0]
    lead = [rng.choice(divisors) for _ in range(rng.randint(0, 2))]
    if total % prod(lead):
        lead = []
    shape = [*lead, total // prod(lead)]
    if coin(rng):
        shape[rng.randint(0, len(shape) - 1)] = -1
    return Sample((declare(dims),), {"shape": tuple(shape)})


def _last_sample(rng: random.Random, kind: UnitKind) -> Sample:
    """A sequence (or fixed steps) of vectors or grids, of reals or token ids."""
    dims = draw_dims(rng, rng.randint(2, 3))
    return Sample((declare(dims, rng.choice(["real", "class"]), 5),), sizes=sequence_sizes(rng))


KINDS = (
    UnitKind(
        name="flatten",
        family="shape",
        doc="Flatten each sample to one vector: [C, H, W] becomes [C*H*W].",
        signature=Signature(),
        shape=_flatten,
        equation=_flatten_eq,
        example="input x: [2, 4, 4]\ny = x -> flatten",
        layout_only=True,
        samples=_flatten_sample,
    ),
    UnitKind(
        name="reshape",
        family="shape",
        doc="Reshape each sample; one size may be -1 and is then inferred.",
        signature=Signature(params=(ParamSpec("shape", "shape", "the new shape, without batch"),)),
        shape=_reshape,
        equation=_reshape_eq,
        example="input x: [64]\ny = x -> reshape([1, 8, 8])",
        layout_only=True,
        samples=_reshape_sample,
    ),
    UnitKind(
        name="last",
        family="shape",
        doc="The last step of a sequence: [T, N] becomes [N].",
        signature=Signature(),
        shape=_last,
        equation=_last_eq,
        example="input x: [T, 4]\ny = x -> last",
        samples=_last_sample,
    ),
)
