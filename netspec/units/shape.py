"""Shape units: flatten, reshape and `last` (the final step of a sequence)."""

from __future__ import annotations

import random
from math import prod

from netspec.types import TensorType
from netspec.units.base import Params, ParamSpec, ShapeError, Signature, UnitKind
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
        equation=lambda c: f"{c.name} = vec({c.inputs[0]})    {c.in_types[0]} -> {c.out_type}",
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
        equation=lambda c: f"{c.name} = reshape({c.inputs[0]})    {c.in_types[0]} -> {c.out_type}",
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
        equation=lambda c: f"{c.name} = {c.inputs[0]}[T]",
        example="input x: [T, 4]\ny = x -> last",
        samples=_last_sample,
    ),
)
