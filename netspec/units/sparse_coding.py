"""Sparse coding: each input is a sparse combination of learned dictionary atoms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netspec.equations.expr import (
    Eq,
    Equations,
    Loop,
    Statement,
    Tensor,
    at,
    delta,
    fn,
    grad,
    sym,
)
from netspec.types import TensorType
from netspec.units.base import (
    Drawing,
    EquationContext,
    Generative,
    Params,
    ParamSpec,
    Signature,
    UnitKind,
    expect_flat,
    non_negative,
    positive,
)


def _shape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    expect_flat("sparse_code", ins[0])
    return TensorType((p["n"],))  # type: ignore[arg-type]


def _count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    return int(ins[0].dims[0]) * int(out.dims[0])  # the dictionary D


def _sizes(c: EquationContext) -> tuple[int, int]:
    """The input size and the number of atoms."""
    return int(c.in_types[0].dims[0]), int(c.out_type.dims[0])  # type: ignore[call-overload]


def _fista(c: EquationContext) -> bool:
    return c.params.get("solver", "fista") == "fista"


def _eq(c: EquationContext) -> Equations:
    """The code is the argmin, approximated by `steps` (F)ISTA iterations: those iterations
    are the forward; the backward runs back through them exactly (`_backward`)."""
    x, steps = c.inputs[0], int(c.params["steps"])  # type: ignore[arg-type]
    d, n = _sizes(c)
    D, L, s = sym(c.own("D")), sym(c.own("L")), sym(c.own("s"))
    l1 = float(c.params["l1"])  # type: ignore[arg-type]
    forward = (
        Eq(c.own("L"), fn("square", fn("spec", D)), note="the gradient's Lipschitz constant"),
        Eq(c.own("s"), 1 / L, note="the step size"),
        Eq(c.own("tau"), l1 * s, note="the threshold, held out of the gradient"),
        Loop("k", x, _iteration(c), _state(c, n), count=steps, note=_start(c)),
        Eq(c.name, fn("iterate", sym(c.own("z")), k=steps), note="the last iterate"),
    )
    solver = "FISTA" if _fista(c) else "ISTA"
    return Equations(
        output=c.name,
        forward=forward,
        tensors=(Tensor(c.own("D"), (d, n), "D", doc="dictionary, one atom a column"),),
        backward=_backward(c, n),
        notes=(
            f"{c.name} = argmin_z 1/2 |{x} - D_{c.name} z|^2 + {l1:g} |z|_1, approximated by "
            f"{steps} {solver} steps (the module floors L at 1e-6)",
            "the backward runs back through the steps exactly, as autograd does; the argmin's "
            "implicit gradient (on z's support) would match only once the steps converge, and "
            "would miss the path through the step size s",
        ),
    )


def _state(c: EquationContext, n: int) -> tuple[tuple[str, int], ...]:
    """The sequences read before they are set: the iterates z, and FISTA's t."""
    return ((c.own("z"), n), (c.own("t"), 1)) if _fista(c) else ((c.own("z"), n),)


def _start(c: EquationContext) -> str:
    if _fista(c):
        return f"{_z(c, 0)} = {_z(c, -1)} = 0, t_{c.name}_0 = 0: t_1 = 1, Beck and Teboulle's FISTA"
    return f"{_z(c, 0)} = 0"


def _z(c: EquationContext, k: int) -> str:
    return f"z_{c.name}_{k}" if k >= 0 else f"z_{c.name}_({k})"


def _iteration(c: EquationContext) -> tuple[Eq, ...]:
    """Step k: y_k, the point the gradient is taken at (FISTA: the last iterate pushed on by
    the momentum m_k; ISTA: the last iterate); the residual r_k; the gradient step u_k; the
    soft threshold."""
    x, D = sym(c.inputs[0]), sym(c.own("D"))
    z1 = at(c.own("z"), -1, "k")
    y, r, u = (at(c.own(name), 0, "k") for name in ("y", "r", "u"))
    lines = []
    if _fista(c):
        t0, t1 = at(c.own("t"), -1, "k"), at(c.own("t"), 0, "k")
        momentum = at(c.own("m"), 0, "k")
        lines += [
            Eq(c.own("t"), (1 + fn("sqrt", 1 + 4 * fn("square", t0))) / 2),
            Eq(c.own("m"), (t0 - 1) / t1, note="the momentum"),
            Eq(c.own("y"), z1 + momentum * (z1 - at(c.own("z"), -2, "k"))),
        ]
    else:
        lines.append(Eq(c.own("y"), z1))
    return (
        *lines,
        Eq(c.own("r"), D @ y - x, note="the residual"),
        Eq(c.own("u"), y - sym(c.own("s")) * (D.T @ r), note="a gradient step on 1/2 |r|^2"),
        Eq(c.own("z"), fn("shrink", u, sym(c.own("tau")))),
    )


def _backward(c: EquationContext, n: int) -> tuple[Statement, ...]:
    """Back through the steps, k = K down to 1: delta_z_k from the points y it moved (and the
    code, at K), delta_u_k through the threshold, delta_y_k through the gradient step; then
    D's gradient, direct and through the step size s = 1 / |D|_2^2."""
    x, D, s = c.inputs[0], sym(c.own("D")), sym(c.own("s"))
    steps = int(c.params["steps"])  # type: ignore[arg-type]
    dy, du = delta(c.own("y")), delta(c.own("u"))
    moved = at(dy, 1, "k")
    if _fista(c):
        m1, m2 = at(c.own("m"), 1, "k"), at(c.own("m"), 2, "k")
        moved = (1 + m1) * moved - m2 * at(dy, 2, "k")
    kept = fn("step", fn("abs", at(c.own("u"), 0, "k")) - sym(c.own("tau")))
    body = (
        Eq(delta(c.own("z")), at(c.own("e"), 0, "k") + moved),
        Eq(du, at(delta(c.own("z")), 0, "k") * kept, note="0 where the threshold zeroed u"),
        Eq(dy, at(du, 0, "k") - s * (D.T @ (D @ at(du, 0, "k")))),
    )
    r, y, dus = sym(c.own("r")), sym(c.own("y")), sym(du)
    direct = fn("outer", r, dus, over="n,k") + fn("outer", D @ dus, y, over="n,k")
    ds = sym(delta(c.own("s")))
    through_s = 2 * ds * fn("square", s) * fn("spec", D) * fn("dspec", D)
    return (
        Eq(c.own("e"), fn("at_last", sym(delta(c.name)), sym(c.own("z"))), note="the code is z_K"),
        Loop("k", x, body, ((dy, n),), reverse=True, count=steps),
        Eq(delta(c.own("s")), -fn("sum", fn("dot", r, D @ dus), over="n,k", keep=())),
        Eq(grad(c.own("D")), -(s * direct) - through_s, note="s = 1 / |D|_2^2 depends on D"),
        Eq(delta(x), s * (D @ fn("sum", dus, over="k", keep=(0, -1)))),
    )


def _dictionary_rule(c: EquationContext, s: Mapping[str, Any]) -> Equations:
    """Dictionary learning as pretrain/rules.py does it for one minibatch: the codes inferred
    with D held fixed, a gradient step on the reconstruction error, each atom put back on the
    unit sphere."""
    x, code, D = sym(c.inputs[0]), sym(c.name), sym(c.own("D"))
    residual = x - D @ code
    lines: list[Statement] = [
        Eq(c.own("E"), fn("mean", 0.5 * fn("sqnorm", residual), over="n"), note="the error"),
        Eq(grad(c.own("D")), -fn("expect", residual, code, where="data")),
    ]
    optimizer = str(s.get("optimizer", "sgd"))
    plain = optimizer == "sgd" and not s.get("momentum") and not s.get("weight_decay")
    if plain:
        step = D - float(s.get("lr", 0.1)) * sym(grad(c.own("D")))
        lines.append(Eq(c.own("D"), step, note="the stage's sgd step"))
    lines.append(
        Eq(c.own("D"), fn("unit_columns", D, eps=1e-8), note="every atom back to length 1")
    )
    notes = [
        f"{c.name}: the unit's forward on the minibatch (its steps above), D held fixed; the "
        f"L1 cost of {c.name} does not depend on D",
    ]
    if not plain:
        notes.append(f"the stage's {optimizer} steps D with dL/dD before the atoms are rescaled")
    return Equations(output=c.name, forward=(), backward=tuple(lines), notes=tuple(notes))


def _generative(z: str, x: str, p: Params) -> Generative:
    """The model is generative, x = D z + noise; what the network computes is z's inference."""
    solver = f"{str(p['solver']).upper()}, {p['steps']} steps"
    return Generative(
        arrow=f"D {z}",
        tooltip=f"generative: {z} generates {x} = D {z} + noise through the dictionary D; "
        f"the network infers {z} from {x} by {solver} (the dashed edge)",
        inference=f"infer ({solver})",
    )


KINDS = (
    UnitKind(
        name="sparse_code",
        family="sparse coding",
        doc="Sparse coding: the code z minimising |x - D z|^2 / 2 + l1 |z|_1, inferred by "
        "ISTA or FISTA; the dictionary D is learned with normalized atoms.",
        signature=Signature(
            params=(
                ParamSpec("n", "int", "number of dictionary atoms", check=positive),
                ParamSpec("l1", "float", "weight of the L1 penalty", 0.1, check=non_negative),
                ParamSpec("steps", "int", "inference iterations", 20, check=positive),
                ParamSpec("solver", "choice", "inference algorithm", "fista", ("ista", "fista")),
            )
        ),
        shape=_shape,
        count=_count,
        equation=_eq,
        example="input x: [16]\nz = sparse_code(x, 32, l1=0.2)",
        drawing=Drawing(latent=True, neurons="row", generative=_generative),
        pictures="atoms",
        pretrain=("dictionary",),
        pretraining=_dictionary_rule,
    ),
)
