"""Sparse coding: each input is a sparse combination of learned dictionary atoms."""

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
    non_negative,
    positive,
)


def _shape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    expect_flat("sparse_code", ins[0])
    return TensorType((p["n"],))  # type: ignore[arg-type]


def _count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    return int(ins[0].dims[0]) * int(out.dims[0])  # the dictionary D


def _eq(c: EquationContext) -> str:
    d, n, x, p = c.in_types[0].dims[0], c.out_type.dims[0], c.inputs[0], c.params
    return (
        f"{c.name} = argmin_z 1/2 |{x} - D z|^2 + {p['l1']} |z|_1  "
        f"({str(p['solver']).upper()}, {p['steps']} steps)    D: {fmt_dims(d, n)}"
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
        drawing=Drawing(latent=True, neurons="row"),
        pictures="atoms",
        pretrain=("dictionary",),
    ),
)
