"""Autoencoders: an encoder trained to reconstruct its (possibly corrupted) input."""

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
    probability,
)


def _shape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    expect_flat("autoencoder", ins[0])
    return TensorType((p["n"],))  # type: ignore[arg-type]


def _count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    d, n = int(ins[0].dims[0]), int(out.dims[0])
    decoder = 0 if p["tied"] else n * d
    return d * n + n + decoder + d


def _eq(c: EquationContext) -> str:
    d, n, x = c.in_types[0].dims[0], c.out_type.dims[0], c.inputs[0]
    act = c.params["act"]
    noisy = f"{x}~" if c.params["noise"] else x
    back = "W^T" if c.params["tied"] else "V"
    shapes = f"W: {fmt_dims(n, d)}, c: {n}, b: {d}"
    if not c.params["tied"]:
        shapes += f", V: {fmt_dims(d, n)}"
    corrupt = ""
    if c.params["noise"]:
        corrupt = f",  {x}~ = {c.params['corruption']}({x}, {c.params['noise']})"
    return (
        f"{c.name} = {act}(W {noisy} + c),  {x}^ = {act}({back} {c.name} + b){corrupt}    {shapes}"
    )


KINDS = (
    UnitKind(
        name="autoencoder",
        family="autoencoders",
        doc="An autoencoder layer: the code of its input, trained to reconstruct the input; "
        "denoising with `noise`, sparse with `sparsity`, tied weights with `tied`.",
        signature=Signature(
            params=(
                ParamSpec("n", "int", "code size", check=positive),
                ParamSpec("tied", "bool", "decode with the encoder's transpose", True),
                ParamSpec(
                    "noise",
                    "float",
                    "corruption level (masking probability or std)",
                    0.0,
                    check=non_negative,
                ),
                ParamSpec(
                    "corruption",
                    "choice",
                    "how the input is corrupted",
                    "mask",
                    ("mask", "gaussian"),
                ),
                ParamSpec(
                    "sparsity",
                    "float",
                    "weight of the KL sparsity penalty",
                    0.0,
                    check=non_negative,
                ),
                ParamSpec(
                    "target",
                    "float",
                    "target mean activation for sparsity",
                    0.05,
                    check=probability,
                ),
                ParamSpec(
                    "act",
                    "choice",
                    "code and reconstruction activation",
                    "sigmoid",
                    ("sigmoid", "tanh", "relu"),
                ),
            )
        ),
        shape=_shape,
        count=_count,
        equation=_eq,
        example="input x: [16]\nh = autoencoder(x, 8, noise=0.3)",
        drawing=Drawing(latent=True, neurons="row"),
        pictures="filters",
        pretrain=("reconstruction",),
    ),
)
