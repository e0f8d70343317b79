"""Energy-based units: the restricted Boltzmann machine; a stack of them is a deep belief net."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netspec.equations import links
from netspec.equations.expr import (
    Check,
    Eq,
    Equations,
    Expr,
    Loop,
    Statement,
    Tensor,
    at,
    delta,
    fn,
    grad,
    num,
    sym,
    text,
)
from netspec.types import TensorType
from netspec.units.base import (
    Drawing,
    EquationContext,
    Params,
    ParamSpec,
    ShapeError,
    Signature,
    UnitKind,
    expect_flat,
    positive,
)
from netspec.units.samples import flat_sample_where


def _rbm_shape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    expect_flat("rbm", ins[0])
    if p.get("sigma", 1.0) != 1.0 and p["visible"] != "gaussian":
        # Binary visible units have no noise level: only Gaussian ones take a sigma.
        raise ShapeError(
            "E404",
            f"`sigma` (={p['sigma']}) is the noise of Gaussian visible units, but this rbm has "
            f"visible={p['visible']}",
            "sigma needs visible=gaussian",
            help="write `visible=gaussian`, or leave out `sigma`",
        )
    return TensorType((p["n"],))  # type: ignore[arg-type]


def _rbm_count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    v, h = int(ins[0].dims[0]), int(out.dims[0])
    return v * h + v + h  # W, visible bias b, hidden bias c


def _sizes(c: EquationContext) -> tuple[int, int]:
    """The visible and hidden sizes."""
    return int(c.in_types[0].dims[0]), int(c.out_type.dims[0])  # type: ignore[call-overload]


def _rbm_eq(c: EquationContext) -> Equations:
    """Up, what the unit outputs: h = p(h = 1 | v) = sigmoid(W v + c), back-propagated as a
    logistic unit. Down, and the free energy: the module's other methods, as checks."""
    v, h = c.inputs[0], c.name
    visible, hidden = _sizes(c)
    w, z = sym(c.own("W")), sym(c.own("z"))
    dz = sym(delta(c.own("z")))
    x = _seen(c, sym(v))
    forward = (
        Eq(c.own("z"), w @ x + sym(c.own("c"))),
        Eq(h, fn("means", fn("sigmoid", z), meaning=f"p({h} = 1 | {v})")),
    )
    backward = (
        Eq(delta(c.own("z")), links.backward("sigmoid", z, sym(h), sym(delta(h)))),
        Eq(grad(c.own("W")), _seen(c, fn("outer", dz, sym(v), over="n"))),
        Eq(grad(c.own("c")), fn("sum", dz, over="n")),
        Eq(grad(c.own("b")), num(0), note=f"b acts only on the way down, to {v}"),
        Eq(delta(v), _seen(c, w.T @ dz)),
    )
    tensors = (
        Tensor(c.own("W"), (hidden, visible), "W", doc="couplings"),
        Tensor(c.own("b"), (visible,), "b", doc="visible bias"),
        Tensor(c.own("c"), (hidden,), "c", doc="hidden bias"),
    )
    return Equations(
        output=h,
        forward=forward,
        tensors=tensors,
        backward=backward,
        checks=(_down(c), _free_energy(c)),
        notes=(f"energy E({v}, {h}) = {_energy(c)}: {v} and {h} an undirected pair",),
    )


def _gaussian(c: EquationContext) -> bool:
    return c.params.get("visible") == "gaussian"


def _sigma(c: EquationContext) -> float:
    """The Gaussian visible units' noise sd (1 for Bernoulli ones)."""
    return float(c.params.get("sigma", 1.0)) if _gaussian(c) else 1.0  # type: ignore[arg-type]


def _seen(c: EquationContext, e: Expr) -> Expr:
    """`e` / sigma: the visible values as W and b see them (`e` itself when sigma is 1)."""
    sigma = _sigma(c)
    return e if sigma == 1.0 else e / sigma


def _energy(c: EquationContext) -> str:
    v, h, w, b, hb = c.inputs[0], c.name, c.own("W"), c.own("b"), c.own("c")
    sigma = _sigma(c)
    x = v if sigma == 1.0 else f"{v} / {sigma:g}"
    visible = f"|{x} - {b}|^2 / 2" if _gaussian(c) else f"-{b}^T {v}"
    return f"{visible} - {hb}^T {h} - {h}^T {w} {x}"


def _down(c: EquationContext) -> Check:
    """The generative direction: p(v = 1 | h), or for Gaussian visible units their mean."""
    v, h = c.inputs[0], c.name
    mean = sym(c.own("W")).T @ sym(h) + sym(c.own("b"))
    if _gaussian(c):
        sigma = _sigma(c)
        scaled = mean if sigma == 1.0 else sigma * mean
        expr = fn("means", scaled, meaning=f"E[{v} | {h}]")
        var, what = ("1", "unit variance") if sigma == 1.0 else (f"{sigma**2:g}", f"sd {sigma:g}")
        shown = f"{text(expr)}    ({v} ~ N(that mean, {var}): {what})"
    else:
        expr = fn("means", fn("sigmoid", mean), meaning=f"p({v} = 1 | {h})")
        shown = text(expr)
    return Check("visible_mean", ((h, (_sizes(c)[1],)),), expr, shown)


def _free_energy(c: EquationContext) -> Check:
    """F(v) = -log sum_h exp(-E(v, h)): the hidden units summed out."""
    v = c.inputs[0]
    x, b = _seen(c, sym(v)), sym(c.own("b"))
    hidden = fn("sum_j", fn("softplus", sym(c.own("W")) @ x + sym(c.own("c"))))
    value = 0.5 * fn("sqnorm", x - b) - hidden if _gaussian(c) else -(fn("dot", b, x) + hidden)
    expr = fn("means", value, meaning=f"F({v})")
    return Check("free_energy", ((v, (_sizes(c)[0],)),), expr, text(expr))


def _cd_rule(c: EquationContext, s: Mapping[str, Any]) -> Equations:
    """CD-k or PCD-k, as training/pretrain/rbm.py applies it to one minibatch: the data's
    hidden probabilities, k Gibbs steps, the estimate <h v^T>_data - <h v^T>_model of the
    log-likelihood's gradient, and the classic update with momentum and weight decay."""
    v, h = c.inputs[0], c.name
    persistent, k = s.get("method") == "pcd", int(s.get("k", 1))
    data, model, chain = f"{h}_data", f"{h}_model", c.own("chain")
    w, hb = sym(c.own("W")), sym(c.own("c"))
    start = chain if persistent else data
    x = _seen(c, sym(v))
    lines: list[Statement] = [
        Eq(data, fn("means", fn("sigmoid", w @ x + hb), meaning=f"p({h} = 1 | {v})")),
        Loop("j", start, _gibbs(c), count=k, start=((model, start),), note="Gibbs sampling"),
    ]
    if persistent:
        lines.append(Eq(chain, fn("iterate", sym(model), k=k), note="carried to the next batch"))
    vk = _seen(c, fn("iterate", sym(f"{v}_model"), k=k))
    hk = fn("iterate", sym(model), k=k)
    pull = fn("avg", sym(data), where="data")
    dc = pull - fn("avg", hk, where="model")
    sparsity = float(s.get("sparsity", 0.0))
    if sparsity:
        dc = dc + sparsity * (float(s.get("target", 0.05)) - pull)
    estimates = {
        "W": fn("expect", sym(data), x, where="data") - fn("expect", hk, vk, where="model"),
        "b": fn("avg", x, where="data") - fn("avg", vk, where="model"),
        "c": dc,
    }
    lines += [Eq(f"d{p}_{h}", e) for p, e in estimates.items()]
    lines += _cd_update(c, s)
    return Equations(output=h, forward=(), backward=tuple(lines), notes=_cd_notes(c, s))


def _gibbs(c: EquationContext) -> tuple[Eq, ...]:
    """One Gibbs step: sample h from its probabilities, v given h, then p(h = 1 | v) again."""
    v, h = c.inputs[0], c.name
    w, b, hb = sym(c.own("W")), sym(c.own("b")), sym(c.own("c"))
    hs, vs = at(f"{h}_sample", 0, "j"), at(f"{v}_model", 0, "j")
    mean, sigma = w.T @ hs + b, _sigma(c)
    if not _gaussian(c):
        visible = fn("bernoulli", fn("sigmoid", mean))
    else:
        visible = fn("normal", mean) if sigma == 1.0 else sigma * fn("normal", mean)
    return (
        Eq(f"{h}_sample", fn("bernoulli", at(f"{h}_model", -1, "j")), note="sampled"),
        Eq(f"{v}_model", visible, note="sampled"),
        Eq(f"{h}_model", fn("sigmoid", w @ _seen(c, vs) + hb)),
    )


def _classic(s: Mapping[str, Any]) -> bool:
    """The rule's own update (plain or heavy-ball SGD); any other optimizer gets the estimate."""
    return s.get("optimizer", "sgd") == "sgd" and not s.get("nesterov", False)


def _cd_update(c: EquationContext, s: Mapping[str, Any]) -> list[Statement]:
    """theta = theta + velocity, velocity = momentum velocity + lr (estimate - decay W)."""
    h = c.name
    if not _classic(s):
        note = f"the stage's {s.get('optimizer')} descends minus the estimate: see its update"
        return [Eq(grad(c.own(p)), -sym(f"d{p}_{h}"), note=note) for p in ("W", "b", "c")]
    lr, momentum = float(s.get("lr", 0.1)), float(s.get("momentum", 0.0))
    decay = float(s.get("weight_decay", 0.0))
    out: list[Statement] = []
    for p in ("W", "b", "c"):
        param, step = sym(c.own(p)), sym(f"d{p}_{h}")
        if p == "W" and decay:
            step = step - decay * param
        if momentum:
            velocity = c.own(f"vel_{p}")
            out.append(Eq(velocity, momentum * sym(velocity) + lr * step, note="velocity"))
            out.append(Eq(c.own(p), param + sym(velocity)))
        else:
            out.append(Eq(c.own(p), param + lr * step))
    return out


def _cd_notes(c: EquationContext, s: Mapping[str, Any]) -> tuple[str, ...]:
    v, h = c.inputs[0], c.name
    persistent = s.get("method") == "pcd"
    begin = (
        f"the Gibbs chains persist across minibatches (PCD): {c.own('chain')} starts at 0"
        if persistent
        else f"the Gibbs chains start at the data, {h}_data (CD)"
    )
    sigma = _sigma(c)
    noise = "1" if sigma == 1.0 else f"{sigma * sigma:g}"
    mean = f"W^T {h}_sample + b" if sigma == 1.0 else f"{sigma:g} (W^T {h}_sample + b)"
    notes = [
        f"sampled: {h}_sample ~ Bernoulli({h}_model), and {v}_model "
        + (f"~ N({mean}, {noise})" if _gaussian(c) else f"~ Bernoulli(p({v} = 1 | {h}_sample))"),
        begin,
        "<.>_data averages over the minibatch, <.>_model over the chains (as many as the "
        "stage's batch)",
    ]
    if _classic(s):
        notes.append("lr follows the stage's schedule")
    average = float(s.get("average", 0.0))
    if average:
        notes.append(
            f"the stage ends with a moving average of W, b and c, each update folded in with "
            f"weight 1 - min({average:g}, (1 + t) / (10 + t)) at update t"
        )
    return tuple(notes)


KINDS = (
    UnitKind(
        name="rbm",
        family="energy-based",
        doc="Restricted Boltzmann machine: an undirected bipartite pair of visible and hidden "
        "units, E(v, h) = -b'v - c'h - h'Wv; its output is p(h = 1 | v).",
        signature=Signature(
            params=(
                ParamSpec("n", "int", "number of hidden units", check=positive),
                ParamSpec(
                    "visible", "choice", "visible unit type", "bernoulli", ("bernoulli", "gaussian")
                ),
                ParamSpec(
                    "sigma",
                    "float",
                    "noise sd of Gaussian visible units: W sees v / sigma, E[v | h] = "
                    "sigma (W^T h + b); below 1 for whitened data, whose every direction has "
                    "variance 1 already",
                    1.0,
                    check=positive,
                ),
            )
        ),
        shape=_rbm_shape,
        count=_rbm_count,
        equation=_rbm_eq,
        example="input x: [16]\nh = rbm(x, 8)",
        pretrain=("cd", "pcd"),
        pretraining=_cd_rule,
        drawing=Drawing(latent=True, undirected=True, neurons="row"),
        pictures="filters",
        sampling="layer",
        samples=flat_sample_where("sigma", "visible", "gaussian", "bernoulli"),
    ),
)
