"""The activation functions as expressions: each one's value and its derivative, written with
the value itself where that is how it is taught (sigmoid' = y (1 - y)). Shared by the dense
units, the activation units and every kind that applies one."""

from __future__ import annotations

from netspec.equations.expr import Expr, fn

ACTS = ("none", "sigmoid", "tanh", "relu", "leaky_relu", "gelu", "softplus", "softmax")


def apply(act: str, z: Expr, slope: float = 0.01) -> Expr:
    """act(z)."""
    if act == "none":
        return z
    if act == "leaky_relu":
        return fn("leaky_relu", z, slope=slope)
    return fn(act, z)


def backward(act: str, z: Expr, y: Expr, dy: Expr, slope: float = 0.01) -> Expr:
    """dL/dz given dL/dy for y = act(z): dy times act'(z), elementwise (softmax: its Jacobian,
    which mixes the entries of each sample)."""
    if act == "none":
        return dy
    if act == "sigmoid":
        return dy * y * (1 - y)
    if act == "tanh":
        return dy * (1 - fn("square", y))
    if act == "relu":
        return dy * fn("step", z)
    if act == "leaky_relu":
        return dy * (fn("step", z) + slope * (1 - fn("step", z)))
    if act == "gelu":
        return dy * (fn("Phi", z) + z * fn("phi", z))
    if act == "softplus":
        return dy * fn("sigmoid", z)
    if act == "softmax":
        return y * (dy - fn("sum_k", dy * y))
    raise ValueError(f"no activation {act}")
