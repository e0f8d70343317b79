"""The optimizers' update rules as equations, in the convention torch.optim runs (which the
tests check step by step): what `netspec explain sgd` prints. Each line is an assignment made
at every optimizer step, in order, for every trained tensor theta with gradient g = dL/dtheta;
t counts the steps from 1, and the running averages start at zero.

A rule takes the optimizer's parameters as numbers (a spec's values) or as symbols (`lr`), so
the same lines print a spec's update and the catalogue's general one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netspec.equations.expr import Eq, Expr, Statement, fn, lift, sym

THETA, G, T = sym("theta"), sym("g"), sym("t")
Rule = Mapping[str, Any]


def _v(p: Rule, key: str) -> Expr:
    return lift(p[key] if isinstance(p[key], Expr) else float(p[key]))


def _on(p: Rule, key: str) -> bool:
    """Whether a term is in the rule: a symbol always is, a number when it is not zero."""
    value = p.get(key, 0.0)
    return isinstance(value, Expr) or bool(value)


def _decayed(p: Rule) -> list[Statement]:
    """L2 weight decay, added to the gradient (coupled, as torch's SGD, Adam and RMSprop)."""
    if not _on(p, "weight_decay"):
        return []
    return [Eq("g", G + _v(p, "weight_decay") * THETA, note="weight decay")]


def sgd(p: Rule) -> tuple[Statement, ...]:
    lines = _decayed(p)
    step: Expr = G
    if _on(p, "momentum"):
        mu = _v(p, "momentum")
        lines.append(Eq("b", mu * sym("b") + G, note="velocity; b = g at the first step"))
        step = G + mu * sym("b") if p.get("nesterov") is True else sym("b")
    lines.append(Eq("theta", THETA - _v(p, "lr") * step))
    return tuple(lines)


def _moments(p: Rule) -> list[Statement]:
    b1, b2 = _v(p, "beta1"), _v(p, "beta2")
    return [
        Eq("m", b1 * sym("m") + (1 - b1) * G, note="average gradient"),
        Eq("v", b2 * sym("v") + (1 - b2) * fn("square", G), note="average squared gradient"),
        Eq("m^", sym("m") / (1 - fn("pow", b1, T)), note="bias-corrected"),
        Eq("v^", sym("v") / (1 - fn("pow", b2, T))),
    ]


def _adam_step(p: Rule) -> Statement:
    return Eq("theta", THETA - _v(p, "lr") * sym("m^") / (fn("sqrt", sym("v^")) + _v(p, "eps")))


def adam(p: Rule) -> tuple[Statement, ...]:
    return (*_decayed(p), *_moments(p), _adam_step(p))


def adamw(p: Rule) -> tuple[Statement, ...]:
    lines: list[Statement] = []
    if _on(p, "weight_decay"):
        shrink = 1 - _v(p, "lr") * _v(p, "weight_decay")
        lines.append(Eq("theta", THETA * shrink, note="decoupled weight decay"))
    return (*lines, *_moments(p), _adam_step(p))


def rmsprop(p: Rule) -> tuple[Statement, ...]:
    alpha = _v(p, "alpha")
    lines = _decayed(p)
    lines.append(Eq("v", alpha * sym("v") + (1 - alpha) * fn("square", G), note="average square"))
    scaled = G / (fn("sqrt", sym("v")) + _v(p, "eps"))
    if _on(p, "momentum"):
        lines.append(Eq("b", _v(p, "momentum") * sym("b") + scaled, note="velocity"))
        lines.append(Eq("theta", THETA - _v(p, "lr") * sym("b")))
    else:
        lines.append(Eq("theta", THETA - _v(p, "lr") * scaled))
    return tuple(lines)
