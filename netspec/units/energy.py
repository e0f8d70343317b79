"""Energy-based units: the restricted Boltzmann machine; a stack of them is a deep belief net."""

from __future__ import annotations

from netspec.types import TensorType
from netspec.units.base import (
    Drawing,
    EquationContext,
    Params,
    ParamSpec,
    Signature,
    UnitKind,
    expect_flat,
    fmt_dims,
    positive,
)


def _rbm_shape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    expect_flat("rbm", ins[0])
    return TensorType((p["n"],))  # type: ignore[arg-type]


def _rbm_count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    v, h = int(ins[0].dims[0]), int(out.dims[0])
    return v * h + v + h  # W, visible bias b, hidden bias c


def _rbm_eq(c: EquationContext) -> str:
    v, h, x = c.in_types[0].dims[0], c.out_type.dims[0], c.inputs[0]
    down = "N(W^T h + b, 1)" if c.params["visible"] == "gaussian" else "sigmoid(W^T h + b)"
    return (
        f"{c.name} = p(h=1 | {x}) = sigmoid(W {x} + c),  p({x} | h) = {down}    "
        f"W: {fmt_dims(h, v)}, b: {v}, c: {h}"
    )


KINDS = (
    UnitKind(
        name="rbm",
        family="energy-based",
        doc="Restricted Boltzmann machine: an undirected bipartite pair of visible and hidden "
        "units, E(v, h) = -b'v - c'h - h'Wv; its output is p(h=1 | v).",
        signature=Signature(
            params=(
                ParamSpec("n", "int", "number of hidden units", check=positive),
                ParamSpec(
                    "visible", "choice", "visible unit type", "bernoulli", ("bernoulli", "gaussian")
                ),
            )
        ),
        shape=_rbm_shape,
        count=_rbm_count,
        equation=_rbm_eq,
        example="input x: [16]\nh = rbm(x, 8)",
        pretrain=("cd", "pcd"),
        drawing=Drawing(latent=True, undirected=True, neurons="row"),
        pictures="filters",
        sampling="layer",
    ),
)
