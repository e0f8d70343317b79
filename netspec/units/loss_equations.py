"""The losses as equations: each one's value, the gradient it sends back into its prediction,
and, for the classification losses, the gradient on the logits when the prediction is the value
of their link (`softmax` for cross-entropy, `sigmoid` for binary cross-entropy): the lowered loss
then reads those logits, and the two together give the well-known `(y - t) / N`.

A prediction that is not the value of that link is read as logits, as PyTorch does: the loss
applies the link itself. N is the number of values the mean is over (samples, times steps)."""

from __future__ import annotations

from netspec.equations.expr import LOGITS_DELTA, Eq, Equations, Expr, Statement, delta, fn, num, sym
from netspec.units.base import EquationContext


def _over(c: EquationContext) -> str:
    return "n,t" if c.in_types[0].rank == 2 else "n"


def _weighted(c: EquationContext, e: Expr) -> Expr:
    w = float(c.params.get("weight", 1.0))  # type: ignore[arg-type]
    return e if w == 1.0 else num(w) * e


def _per_value(c: EquationContext, e: Expr, rows: bool = False) -> Expr:
    """w e / N: a gradient of a mean over N values, weighted."""
    return _weighted(c, e / fn("count", sym(c.inputs[0]), rows=rows))


def cross_entropy(c: EquationContext) -> Equations:
    y, t = sym(c.inputs[0]), sym(c.inputs[1])
    classes = int(c.in_types[0].dims[-1])  # type: ignore[arg-type]
    soft = c.in_types[1].dtype != "class"
    smoothing = float(c.params.get("smoothing", 0.0))  # type: ignore[arg-type]
    linked = c.link_of(0) == "softmax"
    p = y if linked else fn("softmax", y)
    q_name = c.own("q")
    forward: list[Statement] = []
    if soft or smoothing:
        q: Expr = t if soft else fn("onehot", t, classes=classes)
        if smoothing:
            q = num(1 - smoothing) * q + smoothing / classes
        forward.append(Eq(q_name, q, note="the target distribution"))
        value = -fn("mean", fn("sum_k", sym(q_name) * fn("log", p)), over=_over(c))
    else:
        value = -fn("mean", fn("log", fn("pick", p, t)), over=_over(c))
    note = "" if linked else "the prediction is read as logits"
    forward.append(Eq(c.name, _weighted(c, value), note=note))
    target = sym(q_name) if soft or smoothing else fn("onehot", t, classes=classes)
    # d/dz of -sum_k q_k log softmax(z)_k is softmax(z) sum_k q_k - q (sum_k q_k = 1 for labels)
    mass = fn("sum_k", target) if soft else num(1)
    on_logits = _per_value(c, p * mass - target if soft else p - target, rows=True)
    if linked:
        backward = Eq(delta(c.inputs[0]), -_per_value(c, target / y, rows=True))
    else:
        backward = Eq(delta(c.inputs[0]), on_logits, note="the loss applies softmax itself")
    return Equations(
        output=c.name,
        forward=tuple(forward),
        backward=(backward,),
        fused={"softmax": (Eq(LOGITS_DELTA, on_logits, note="softmax and cross-entropy"),)},
    )


def bce(c: EquationContext) -> Equations:
    y, t = sym(c.inputs[0]), fn("shaped", sym(c.inputs[1]), sym(c.inputs[0]))
    linked = c.link_of(0) == "sigmoid"
    p = y if linked else fn("sigmoid", y)
    value = -fn("mean", t * fn("log", p) + (1 - t) * fn("log", 1 - p), over=_over(c))
    note = "" if linked else "the prediction is read as logits"
    forward = Eq(c.name, _weighted(c, value), note=note)
    on_logits = _per_value(c, p - t)
    if linked:
        backward = Eq(delta(c.inputs[0]), -_per_value(c, t / y - (1 - t) / (1 - y)))
    else:
        backward = Eq(delta(c.inputs[0]), on_logits, note="the loss applies sigmoid itself")
    return Equations(
        output=c.name,
        forward=(forward,),
        backward=(backward,),
        fused={"sigmoid": (Eq(LOGITS_DELTA, on_logits, note="sigmoid and cross-entropy"),)},
    )


def mse(c: EquationContext) -> Equations:
    y, t = sym(c.inputs[0]), fn("shaped", sym(c.inputs[1]), sym(c.inputs[0]))
    forward = Eq(c.name, _weighted(c, fn("mean", fn("square", y - t), over=_over(c))))
    backward = Eq(delta(c.inputs[0]), _per_value(c, 2 * (y - t)))
    return Equations(output=c.name, forward=(forward,), backward=(backward,))


def l1(c: EquationContext) -> Equations:
    y, t = sym(c.inputs[0]), fn("shaped", sym(c.inputs[1]), sym(c.inputs[0]))
    forward = Eq(c.name, _weighted(c, fn("mean", fn("abs", y - t), over=_over(c))))
    backward = Eq(delta(c.inputs[0]), _per_value(c, fn("sign", y - t)))
    return Equations(output=c.name, forward=(forward,), backward=(backward,))
