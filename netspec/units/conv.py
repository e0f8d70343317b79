"""Convolution and pooling over channel-first signals: [C, L] in 1-D, [C, H, W] in 2-D."""

from __future__ import annotations

from typing import Any

from netspec.types import Dim, TensorType, window_out
from netspec.units.base import (
    EquationContext,
    Params,
    ParamSpec,
    ShapeError,
    Signature,
    UnitKind,
    fmt_dims,
    non_negative,
    positive,
)


def _per_axis(value: Any, axes: int) -> tuple[int, ...]:
    """An int applies to every spatial axis; a list gives one size per axis."""
    values = value if isinstance(value, tuple) else (value,) * axes
    if len(values) != axes:
        raise ShapeError("E404", f"expected 1 or {axes} sizes, got {len(values)}: {list(values)}",
                         f"give one size, or {axes}")
    return tuple(int(v) for v in values)


def _spatial(kind: str, t: TensorType, axes: int) -> tuple[Dim, tuple[Dim, ...]]:
    want = "[C, L]" if axes == 1 else "[C, H, W]"
    if not t.is_real or t.rank != axes + 1:
        extra = ""
        if t.is_real and t.rank == axes:
            extra = f"add a channel axis: declare the input as [1, {', '.join(map(str, t.dims))}]"
        elif t.is_real and t.rank == 1 and axes == 2:
            extra = "reshape it first, as in `x -> reshape([1, 8, 8])`"
        raise ShapeError("E301", f"`{kind}` expects {want} input, but it gets {t}",
                         f"needs {want} input", help=extra or None, input_index=0)
    return t.dims[0], t.dims[1:]


def _windowed(kind: str, axes: int, conv: bool):  # type: ignore[no-untyped-def]
    def rule(ins: tuple[TensorType, ...], p: Params) -> TensorType:
        channels, sizes = _spatial(kind, ins[0], axes)
        k = _per_axis(p["k"], axes)
        stride = _per_axis(p["stride"] if p.get("stride") is not None else p["k"], axes)
        pad = _per_axis(p["pad"], axes)
        dilation = _per_axis(p.get("dilation", 1), axes)
        out = tuple(window_out(s, k[i], stride[i], pad[i], dilation[i]) for i, s in enumerate(sizes))
        for i, (size, o) in enumerate(zip(sizes, out)):
            if isinstance(o, int) and o <= 0:
                raise ShapeError(
                    "E303",
                    f"`{kind}` window {k[i]} (padding {pad[i]}) is larger than the input size {size}",
                    f"gets {ins[0]}, output size would be {o}",
                    help="use a smaller kernel, more padding, or fewer pooling steps before it",
                    input_index=0,
                )
        return TensorType(((p["out"] if conv else channels), *out))  # type: ignore[arg-type]

    return rule


def _conv_count(axes: int):  # type: ignore[no-untyped-def]
    def count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
        c_in = ins[0].dims[0]
        if not isinstance(c_in, int):
            raise ShapeError("E301", "the channel count must be a number", input_index=0)
        taps = 1
        for k in _per_axis(p["k"], axes):
            taps *= k
        c_out = int(p["out"])  # type: ignore[call-overload]
        return c_out * c_in * taps + (c_out if p["bias"] else 0)

    return count


def _conv_eq(axes: int):  # type: ignore[no-untyped-def]
    def equation(c: EquationContext) -> str:
        p = c.params
        w = fmt_dims(p["out"], c.in_types[0].dims[0], *_per_axis(p["k"], axes))
        defaults = {"stride": 1, "pad": 0, "dilation": 1}
        opts = ", ".join(f"{n} {p[n]}" for n, d in defaults.items() if p[n] != d)
        body = f"W * {c.inputs[0]}" + (" + b" if p["bias"] else "") + (f"  ({opts})" if opts else "")
        shapes = f"W: {w}" + (f", b: {p['out']}" if p["bias"] else "")
        return f"{c.name} = {body}    {shapes}"

    return equation


def _pool_eq(op: str):  # type: ignore[no-untyped-def]
    def equation(c: EquationContext) -> str:
        stride = c.params["stride"] if c.params["stride"] is not None else c.params["k"]
        return (f"{c.name} = {op} of {c.inputs[0]} over {c.params['k']}-wide windows, "
                f"stride {stride}    {c.in_types[0]} -> {c.out_type}")

    return equation


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
    )


def _pool(name: str, op: str) -> UnitKind:
    return UnitKind(
        name=name,
        family="convolutional",
        doc=f"{op.capitalize()} pooling over windows of [C, L] or [C, H, W] input; stride defaults to k.",
        signature=Signature(
            params=(_K, ParamSpec("stride", "ints", "step between windows (default: k)", None,
                                  check=positive), _PAD)
        ),
        shape=_pooled(name),
        equation=_pool_eq(op),
        example=f"input x: [3, 8, 8]\ny = x -> {name}(2)",
    )


def _pooled(name: str):  # type: ignore[no-untyped-def]
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
