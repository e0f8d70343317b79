"""Convolution and pooling over channel-first signals: [C, L] in 1-D, [C, H, W] in 2-D.

Their equations follow torch's layers: a cross-correlation with stride, zero padding and
dilation; max pooling padded with -inf, average pooling counting the zero padding."""

from __future__ import annotations

import random
from math import isqrt, prod
from typing import Any

from netspec.equations.expr import Eq, Equations, Tensor, delta, fn, grad, sym
from netspec.types import Dim, TensorType, window_out
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
    non_negative,
    positive,
)
from netspec.units.samples import Sample, SampleRule, coin, declare, draw_params, sequence_sizes


def _per_axis(value: Any, axes: int, kind: str = "", name: str = "k") -> tuple[int, ...]:
    """An int applies to every spatial axis; a list gives one size per axis."""
    values = value if isinstance(value, tuple) else (value,) * axes
    if len(values) != axes:
        owner = f" of `{kind}`" if kind else ""
        raise ShapeError(
            "E404",
            f"`{name}`{owner} needs 1 or {axes} sizes, but got {len(values)}: {list(values)}",
            f"give one size, or {axes}",
            help=f"one size applies to every axis: `{name}={values[0]}`",
        )
    return tuple(int(v) for v in values)


def _spatial(kind: str, t: TensorType, axes: int) -> tuple[Dim, tuple[Dim, ...]]:
    want = "[C, L]" if axes == 1 else "[C, H, W]"
    if not t.is_real:
        raise ShapeError(
            "E305",
            f"`{kind}` expects real values, but its input is {t}",
            "needs real input",
            help="token ids need `embed` first",
            input_index=0,
        )
    if t.rank != axes + 1:
        help = input_help = None
        if t.rank == axes:
            shape = f"[1, {', '.join(map(str, t.dims))}]"
            input_help = f"add a channel axis: declare the input as `input {{input}}: {shape}`"
            help = f"add a channel axis: `{{input}} -> reshape({shape}) -> {{call}}`"
        elif (
            t.rank == 1
            and axes == 2
            and isinstance(t.dims[0], int)
            and isqrt(t.dims[0]) ** 2 == t.dims[0]
        ):
            side = isqrt(t.dims[0])
            help = (
                f"reshape it to an image first: "
                f"`{{input}} -> reshape([1, {side}, {side}]) -> {{call}}`"
            )
        elif t.rank == 1 and axes == 1 and isinstance(t.dims[0], int):
            help = (
                f"reshape it to one channel first: "
                f"`{{input}} -> reshape([1, {t.dims[0]}]) -> {{call}}`"
            )
        elif t.rank == 3 and axes == 1:
            help = "images [C, H, W] take `conv2d`"
        raise ShapeError(
            "E301",
            f"`{kind}` expects {want} input, but `{{input}}` has shape {t}",
            f"needs {want} input",
            help=help,
            input_index=0,
            input_help=input_help,
        )
    if not isinstance(t.dims[0], int):
        raise ShapeError(
            "E301",
            f"`{kind}` needs a fixed channel count C, but it gets {t}",
            f"needs {want} with C a number",
            input_index=0,
        )
    return t.dims[0], t.dims[1:]


def _windowed(kind: str, axes: int, conv: bool) -> ShapeRule:
    def rule(ins: tuple[TensorType, ...], p: Params) -> TensorType:
        channels, sizes = _spatial(kind, ins[0], axes)
        k = _per_axis(p["k"], axes, kind)
        given_stride = p.get("stride")
        stride = _per_axis(
            given_stride if given_stride is not None else p["k"],
            axes,
            kind,
            "stride" if given_stride is not None else "k",
        )
        pad = _per_axis(p["pad"], axes, kind, "pad")
        dilation = _per_axis(p.get("dilation", 1), axes, kind, "dilation")
        out = tuple(
            window_out(s, k[i], stride[i], pad[i], dilation[i]) for i, s in enumerate(sizes)
        )
        for i, (size, o) in enumerate(zip(sizes, out, strict=True)):
            if isinstance(o, int) and o <= 0 and isinstance(size, int):
                span = dilation[i] * (k[i] - 1) + 1
                need = (span - size + 1) // 2
                raise ShapeError(
                    "E303",
                    f"`{kind}` window {k[i]} (padding {pad[i]}) is larger than the input size "
                    f"{size}",
                    f"gets {ins[0]}, output size would be {o}",
                    help=f"use `k` of at most {size + 2 * pad[i]}, padding of at least "
                    f"`pad={need}`, or fewer pooling steps before it",
                    input_index=0,
                )
        return TensorType(((p["out"] if conv else channels), *out))  # type: ignore[arg-type]

    return rule


def _conv_count(axes: int) -> CountRule:
    def count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
        c_in = ins[0].dims[0]
        if not isinstance(c_in, int):  # the shape rule already refused it
            raise ShapeError("E301", "the channel count must be a number", input_index=0)
        taps = 1
        for k in _per_axis(p["k"], axes):
            taps *= k
        c_out = int(p["out"])  # type: ignore[arg-type]
        return c_out * c_in * taps + (c_out if p["bias"] else 0)

    return count


def _window(p: Params, axes: int, stride_default: Any) -> dict[str, tuple[int, ...]]:
    """k, stride, pad (and dilation) per spatial axis, as the lowered layer takes them."""
    stride = p.get("stride")
    return {
        "k": _per_axis(p["k"], axes),
        "stride": _per_axis(stride if stride is not None else stride_default, axes),
        "pad": _per_axis(p.get("pad", 0), axes),
        "dilation": _per_axis(p.get("dilation", 1), axes),
    }


def _sizes(values: tuple[int, ...]) -> str:
    """`2`, or `2x3` where the axes differ."""
    return str(values[0]) if len(set(values)) == 1 else fmt_dims(*values)


def _options(w: dict[str, tuple[int, ...]]) -> str:
    """`stride 2, pad 1`: the window settings that differ from a plain convolution's."""
    plain = {"stride": 1, "pad": 0, "dilation": 1}
    return ", ".join(f"{n} {_sizes(w[n])}" for n, d in plain.items() if set(w[n]) != {d})


def _conv_eq(axes: int) -> EquationRule:
    """y = conv(W, x) + b over [C, L] or [C, H, W]; back: dL/dW correlates the input with the
    delta, dL/db adds the delta over samples and positions, delta_x = conv^T(W, delta)."""

    def equation(c: EquationContext) -> Equations:
        w = _window(c.params, axes, 1)
        conv = {n: w[n] for n in ("stride", "pad", "dilation")}
        x, dy, weight = sym(c.inputs[0]), sym(delta(c.name)), sym(c.own("W"))
        out, channels = int(str(c.params["out"])), int(c.in_types[0].dims[0])
        value = fn("conv", weight, x, **conv)
        tensors = [Tensor(c.own("W"), (out, channels, *w["k"]), "weight")]
        backward = [Eq(grad(c.own("W")), fn("corr", x, dy, over="n", k=w["k"], **conv))]
        if c.params["bias"]:
            value = value + fn("per_channel", sym(c.own("b")), axes=axes)
            tensors.append(Tensor(c.own("b"), (out,), "bias"))
            positions = ",".join("nij"[: axes + 1])  # the samples and every output position
            backward.append(Eq(grad(c.own("b")), fn("sum", dy, over=positions, keep=(1,))))
        backward.append(Eq(delta(c.inputs[0]), fn("conv_T", weight, dy, x, **conv)))
        return Equations(
            output=c.name,
            forward=(Eq(c.name, value, note=_options(w)),),
            tensors=tuple(tensors),
            backward=tuple(backward),
        )

    return equation


def _pool_eq(op: str) -> EquationRule:
    """y = maxpool(x) or avgpool(x) over windows; back: max routes each window's delta to its
    largest entry, average spreads it evenly over the window."""

    def equation(c: EquationContext) -> Equations:
        axes = c.in_types[0].rank - 1
        w = _window(c.params, axes, c.params["k"])
        x, dy = sym(c.inputs[0]), sym(delta(c.name))
        window = {n: w[n] for n in ("k", "stride", "pad")}
        if op == "max":
            value, back = fn("maxpool", x, **window), fn("route", dy, x, **window)
        else:
            value = fn("avgpool", x, **window)
            back = fn("spread", dy, x, **window) / prod(w["k"])
        return Equations(
            output=c.name,
            forward=(Eq(c.name, value, note=_pool_note(w, axes)),),
            backward=(Eq(delta(c.inputs[0]), back),),
        )

    return equation


def _pool_note(w: dict[str, tuple[int, ...]], axes: int) -> str:
    """`2x2 windows, stride 2` (and the padding, if any)."""
    size = f"{fmt_dims(*w['k'])} windows" if axes == 2 else f"windows of {w['k'][0]}"
    note = f"{size}, stride {_sizes(w['stride'])}"
    return note + (f", pad {_sizes(w['pad'])}" if any(w["pad"]) else "")


_RANGES = {"out": (1, 4), "k": (1, 4), "stride": (1, 3), "pad": (0, 2), "dilation": (1, 2)}


def _sample(axes: int | None) -> SampleRule:
    """[C, L] (L may be T) or [C, H, W] input with sizes 3 to 9, and windows over `axes` axes
    (pooling, with None, takes either); a pool's padding may pass half its window (WidePool)."""

    def rule(rng: random.Random, kind: UnitKind) -> Sample:
        n = axes or rng.choice([1, 2])
        params = draw_params(rng, kind.signature, n, _RANGES)
        sizes = [rng.randint(3, 9) for _ in range(n)]
        length: int | str = "T" if n == 1 and coin(rng) else sizes[0]
        dims = (rng.randint(1, 4), length, *sizes[1:])
        return Sample((declare(dims),), params, sizes=sequence_sizes(rng))

    return rule


_K = ParamSpec("k", "ints", "kernel size (one per axis, or one for all)", check=positive)
_PAD = ParamSpec("pad", "ints", "zero padding on each side", 0, check=non_negative)
_DIL = ParamSpec("dilation", "ints", "spacing between kernel taps", 1, check=positive)


def _conv(name: str, axes: int, example: str) -> UnitKind:
    return UnitKind(
        name=name,
        family="convolutional",
        doc=f"{axes}-D convolution: `out` learned filters slid over the input.",
        signature=Signature(
            params=(
                ParamSpec("out", "int", "output channels", check=positive),
                _K,
                ParamSpec("stride", "ints", "step between windows", 1, check=positive),
                _PAD,
                _DIL,
                ParamSpec("bias", "bool", "learn a bias per channel", True),
            )
        ),
        shape=_windowed(name, axes, conv=True),
        count=_conv_count(axes),
        equation=_conv_eq(axes),
        example=example,
        pictures="kernels",
        samples=_sample(axes),
    )


def _pool(name: str, op: str) -> UnitKind:
    return UnitKind(
        name=name,
        family="convolutional",
        doc=f"{op.capitalize()} pooling over windows of [C, L] or [C, H, W] input; "
        "stride defaults to k.",
        signature=Signature(
            params=(
                _K,
                ParamSpec(
                    "stride", "ints", "step between windows (default: k)", None, check=positive
                ),
                _PAD,
            )
        ),
        shape=_pooled(name),
        equation=_pool_eq(op),
        example=f"input x: [3, 8, 8]\ny = x -> {name}(2)",
        drawing=Drawing(neurons="fold_after_box"),
        samples=_sample(None),
    )


def _pooled(name: str) -> ShapeRule:
    def rule(ins: tuple[TensorType, ...], p: Params) -> TensorType:
        axes = ins[0].rank - 1 if ins[0].rank in (2, 3) else 2
        return _windowed(name, axes, conv=False)(ins, p)  # type: ignore[no-any-return]

    return rule


KINDS = (
    _conv("conv1d", 1, "input x: [2, 32]\ny = x -> conv1d(8, 5, pad=2)"),
    _conv("conv2d", 2, "input x: [1, 8, 8]\ny = x -> conv2d(4, 3, pad=1)"),
    _pool("maxpool", "max"),
    _pool("avgpool", "average"),
)
