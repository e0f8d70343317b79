"""The losses as equations: each one's value, the gradient it sends back into its prediction,
and, for the classification losses, the gradient on the logits when the prediction is the value
of their link (`softmax` for cross-entropy, `sigmoid` for binary cross-entropy): the lowered loss
then reads those logits, and the two together give the well-known `(y - t) / N`.

A prediction that is not the value of that link is read as logits, as PyTorch does: the loss
applies the link itself. N is the number of values the mean is over (samples, times steps); for
a sequence of class ids, the number of labelled steps: padded steps (-1) count in no mean."""

from __future__ import annotations

from collections.abc import Mapping

from netspec.equations.expr import (
    LOGITS_DELTA,
    Eq,
    Equations,
    Expr,
    Statement,
    Tensor,
    delta,
    fn,
    grad,
    num,
    sym,
)
from netspec.units.base import AUTO, EquationContext


def _over(c: EquationContext) -> str:
    return "n,t" if c.in_types[0].rank == 2 else "n"


def _auto(c: EquationContext) -> bool:
    return c.params.get("weight") == AUTO


def _weighted(c: EquationContext, e: Expr) -> Expr:
    """e times the loss's weight: w, or exp(-s) for a learned one."""
    if _auto(c):
        return fn("exp", -sym(c.own("s"))) * e
    w = float(c.params.get("weight", 1.0))  # type: ignore[arg-type]
    return e if w == 1.0 else num(w) * e


def _value(c: EquationContext, value: Expr, note: str = "") -> list[Statement]:
    """The loss's value: its mean, weighted. A learned weight (Kendall, Gal & Cipolla 2018,
    with s = log sigma^2) names the mean L and adds s: gradient descent on s settles where
    exp(-s) = 1 / L, so a task whose loss stays high is weighted down, and s cannot run off to
    infinity (the + s grows), nor the weight to zero."""
    if not _auto(c):
        return [Eq(c.name, _weighted(c, value), note=note)]
    s, mean = sym(c.own("s")), c.own("L")
    return [
        Eq(mean, value, note=note),
        Eq(c.name, _weighted(c, sym(mean)) + s, note="a learned weight exp(-s)"),
    ]


def _equations(
    c: EquationContext,
    forward: list[Statement],
    backward: list[Statement],
    fused: Mapping[str, tuple[Statement, ...]] | None = None,
) -> Equations:
    """The loss's equations; a learned weight adds its log-variance s and s's gradient."""
    tensors: tuple[Tensor, ...] = ()
    fused = fused or {}
    if _auto(c):
        s = c.own("s")
        doc = "the learned log-variance of this task; its weight is exp(-s)"
        tensors = (Tensor(s, (), "log_variance", doc=doc),)
        on_s = Eq(grad(s), 1 - _weighted(c, sym(c.own("L"))))
        backward = [*backward, on_s]
        fused = {link: (*lines, on_s) for link, lines in fused.items()}
    forward_, backward_ = tuple(forward), tuple(backward)
    return Equations(c.name, forward_, tensors, backward_, fused=fused)


def _per_value(c: EquationContext, e: Expr, rows: bool = False) -> Expr:
    """w e / N: a gradient of a mean over N values, weighted."""
    return _weighted(c, e / fn("count", sym(c.inputs[0]), rows=rows))


def cross_entropy(c: EquationContext) -> Equations:
    y, t = sym(c.inputs[0]), sym(c.inputs[1])
    classes = int(c.in_types[0].dims[-1])  # type: ignore[arg-type]
    soft = c.in_types[1].dtype != "class"
    # Class ids per step: padded steps hold -1 (NO_LABEL); the mean is over the others.
    padded = not soft and c.in_types[1].rank > 0
    smoothing = float(c.params.get("smoothing", 0.0))  # type: ignore[arg-type]
    linked = c.link_of(0) == "softmax"
    p = y if linked else fn("softmax", y)
    q_name = c.own("q")
    forward: list[Statement] = []

    def mean(e: Expr) -> Expr:
        return fn("mean_labelled", e, t, over=_over(c)) if padded else fn("mean", e, over=_over(c))

    def per_value(e: Expr) -> Expr:
        if padded:  # zero at the padded steps, a mean over the labelled ones
            return _weighted(c, fn("labelled", t) * e / fn("count_labelled", t))
        return _per_value(c, e, rows=True)

    if soft or smoothing:
        q: Expr = t if soft else fn("onehot", t, classes=classes)
        if smoothing:
            q = num(1 - smoothing) * q + smoothing / classes
        forward.append(Eq(q_name, q, note="the target distribution"))
        value = -mean(fn("sum_k", sym(q_name) * fn("log", p)))
    else:
        value = -mean(fn("log", fn("pick", p, t)))
    note = "" if linked else "the prediction is read as logits"
    forward += _value(c, value, note)
    target = sym(q_name) if soft or smoothing else fn("onehot", t, classes=classes)
    # d/dz of -sum_k q_k log softmax(z)_k is softmax(z) sum_k q_k - q (sum_k q_k = 1 for labels)
    mass = fn("sum_k", target) if soft else num(1)
    on_logits = per_value(p * mass - target if soft else p - target)
    if linked:
        backward = Eq(delta(c.inputs[0]), -per_value(target / y))
    else:
        backward = Eq(delta(c.inputs[0]), on_logits, note="the loss applies softmax itself")
    fused = {"softmax": (Eq(LOGITS_DELTA, on_logits, note="softmax and cross-entropy"),)}
    return _equations(c, forward, [backward], fused)


def bce(c: EquationContext) -> Equations:
    y, t = sym(c.inputs[0]), fn("shaped", sym(c.inputs[1]), sym(c.inputs[0]))
    linked = c.link_of(0) == "sigmoid"
    p = y if linked else fn("sigmoid", y)
    value = -fn("mean", t * fn("log", p) + (1 - t) * fn("log", 1 - p), over=_over(c))
    note = "" if linked else "the prediction is read as logits"
    forward = _value(c, value, note)
    on_logits = _per_value(c, p - t)
    if linked:
        backward = Eq(delta(c.inputs[0]), -_per_value(c, t / y - (1 - t) / (1 - y)))
    else:
        backward = Eq(delta(c.inputs[0]), on_logits, note="the loss applies sigmoid itself")
    fused = {"sigmoid": (Eq(LOGITS_DELTA, on_logits, note="sigmoid and cross-entropy"),)}
    return _equations(c, forward, [backward], fused)


def mse(c: EquationContext) -> Equations:
    y, t = sym(c.inputs[0]), fn("shaped", sym(c.inputs[1]), sym(c.inputs[0]))
    forward = _value(c, fn("mean", fn("square", y - t), over=_over(c)))
    backward = Eq(delta(c.inputs[0]), _per_value(c, 2 * (y - t)))
    return _equations(c, forward, [backward])


def l1(c: EquationContext) -> Equations:
    y, t = sym(c.inputs[0]), fn("shaped", sym(c.inputs[1]), sym(c.inputs[0]))
    forward = _value(c, fn("mean", fn("abs", y - t), over=_over(c)))
    backward = Eq(delta(c.inputs[0]), _per_value(c, fn("sign", y - t)))
    return _equations(c, forward, [backward])
