"""Autoencoders: an encoder trained to reconstruct its (possibly corrupted) input."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from netspec.equations import links
from netspec.equations.expr import (
    Check,
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
    text,
)
from netspec.types import TensorType
from netspec.units.base import (
    Drawing,
    EquationContext,
    Params,
    ParamSpec,
    Reconstruction,
    ShapeError,
    Signature,
    UnitKind,
    expect_flat,
    non_negative,
    positive,
    probability,
)
from netspec.units.samples import flat_sample_where


def _shape(ins: tuple[TensorType, ...], p: Params) -> TensorType:
    expect_flat("autoencoder", ins[0])
    if p["sparsity"] and p["act"] != "sigmoid":
        # The KL pull compares the mean code with a probability: only sigmoid codes are ones.
        raise ShapeError(
            "E404",
            f"`sparsity` needs `act=sigmoid`, but this autoencoder has act={p['act']}: its KL "
            f"pull compares the mean code with `target`, a probability",
            "sparsity needs act=sigmoid",
            help="write `act=sigmoid`, or leave out `sparsity`",
        )
    return TensorType((p["n"],))  # type: ignore[arg-type]


def _count(ins: tuple[TensorType, ...], p: Params, out: TensorType) -> int:
    d, n = int(ins[0].dims[0]), int(out.dims[0])
    decoder = 0 if p["tied"] else n * d
    return d * n + n + decoder + d


def _sizes(c: EquationContext) -> tuple[int, int]:
    """The input and code sizes."""
    return int(c.in_types[0].dims[0]), int(c.out_type.dims[0])  # type: ignore[call-overload]


def _eq(c: EquationContext) -> Equations:
    """code = act(W x + c) on the clean input, back-propagated as a dense layer; the decoder,
    which only pretraining uses, as a check of the module's `decode`."""
    x, h, act = c.inputs[0], c.name, str(c.params["act"])
    d, n = _sizes(c)
    w, z, dz = sym(c.own("W")), sym(c.own("z")), sym(delta(c.own("z")))
    unused = "the decoder's: only pretraining's reconstruction uses it"
    backward = [
        Eq(delta(c.own("z")), links.backward(act, z, sym(h), sym(delta(h)))),
        Eq(grad(c.own("W")), fn("outer", dz, sym(x), over="n")),
        Eq(grad(c.own("c")), fn("sum", dz, over="n")),
        Eq(grad(c.own("b")), num(0), note=unused),
    ]
    tensors = [
        Tensor(c.own("W"), (n, d), "W", doc="encoder"),
        Tensor(c.own("c"), (n,), "c", doc="code bias"),
        Tensor(c.own("b"), (d,), "b", doc="reconstruction bias"),
    ]
    if not c.params["tied"]:
        backward.append(Eq(grad(c.own("V")), num(0), note=unused))
        tensors.append(Tensor(c.own("V"), (d, n), "V", doc="decoder"))
    backward.append(Eq(delta(x), w.T @ dz))
    return Equations(
        output=h,
        forward=(Eq(c.own("z"), w @ sym(x) + sym(c.own("c"))), Eq(h, links.apply(act, z))),
        tensors=tuple(tensors),
        backward=tuple(backward),
        checks=(_decoder(c),),
        notes=(
            f"the code of the clean {x}: pretraining corrupts {x} and rebuilds it from the "
            f"code (the stage's reconstruction rule)",
        ),
    )


def _decoder_act(p: Params) -> str:
    """The reconstruction's activation: the code's, or none for a linear decoder."""
    return "none" if p.get("decoder") == "linear" else str(p["act"])


def _decoder_of(c: EquationContext, code: Expr) -> Expr:
    """x^ = act(W^T code + b) with tied weights, else act(V code + b); no act when linear."""
    back = sym(c.own("W")).T if c.params["tied"] else sym(c.own("V"))
    return links.apply(_decoder_act(c.params), back @ code + sym(c.own("b")))


CLIP = 1e-6  # the rule keeps the reconstruction (bce) and the mean code (KL) this far from 0, 1


def _reconstruction_rule(c: EquationContext, s: Mapping[str, Any]) -> Equations:
    """The denoising reconstruction objective of one minibatch, as pretrain/rules.py computes
    it (corrupt, encode, decode, the error against the clean input, the KL sparsity term), and
    its gradient, which the stage's optimizer follows."""
    x, h = c.inputs[0], c.name
    act, loss = str(c.params["act"]), str(s.get("loss", "mse"))
    clean, seen = sym(x), sym(_corrupted(c))
    lines: list[Statement] = []
    if c.params["noise"]:
        lines.append(Eq(_corrupted(c), _corruption(c), note="sampled anew at every step"))
    lines += [
        Eq(c.own("a"), sym(c.own("W")) @ seen + sym(c.own("c"))),
        Eq(f"{h}~", links.apply(act, sym(c.own("a"))), note=f"the code of {_corrupted(c)}"),
        Eq(c.own("r"), _back(c) @ sym(f"{h}~") + sym(c.own("b"))),
        Eq(
            f"{x}^",
            links.apply(_decoder_act(c.params), sym(c.own("r"))),
            note=f"the reconstruction of {x}",
        ),
    ]
    lines += _error(c, loss, clean)
    lines += _objective_gradient(c, loss, clean, seen)
    notes = (
        f"the stage's {s.get('optimizer', 'optimizer')} steps every tensor with its gradient "
        f"(see its update)",
    )
    return Equations(output=h, forward=(), backward=tuple(lines), notes=notes)


def _corrupted(c: EquationContext) -> str:
    """The name of the input the encoder sees: x~, or x itself without noise."""
    return f"{c.inputs[0]}~" if c.params["noise"] else c.inputs[0]


def _corruption(c: EquationContext) -> Expr:
    """Masking zeroes a `noise` share of the entries; Gaussian noise adds noise * N(0, 1)."""
    x, level = sym(c.inputs[0]), float(c.params["noise"])  # type: ignore[arg-type]
    if c.params["corruption"] == "gaussian":
        return x + level * fn("normal", num(0), x)
    return x * fn("bernoulli", 1 - num(level), x)


def _back(c: EquationContext) -> Expr:
    return sym(c.own("W")).T if c.params["tied"] else sym(c.own("V"))


def _error(c: EquationContext, loss: str, clean: Expr) -> list[Statement]:
    """E: the error of x^ against the clean x (mse or bce), plus the KL sparsity term."""
    h, rebuilt = c.name, sym(f"{c.inputs[0]}^")
    over = dict(over="n,i")
    if loss == "bce":
        p, t = sym(c.own("p")), sym(c.own("t"))
        lines: list[Statement] = [
            Eq(c.own("p"), fn("clip", rebuilt, lo=CLIP, hi=1 - CLIP)),
            Eq(c.own("t"), fn("clip", clean, lo=0, hi=1), note="the target"),
        ]
        error = -fn("mean", t * fn("log", p) + (1 - t) * fn("log", 1 - p), **over)
    else:
        lines, error = [], fn("mean", fn("square", rebuilt - clean), **over)
    sparsity = float(c.params["sparsity"])  # type: ignore[arg-type]
    if not sparsity:
        return [*lines, Eq(c.own("E"), error, note="the objective")]
    target, rho = float(c.params["target"]), sym(c.own("rho"))  # type: ignore[arg-type]
    kl = target * fn("log", target / rho) + (1 - target) * fn("log", (1 - target) / (1 - rho))
    return [
        *lines,
        Eq(c.own("err"), error, note="the reconstruction error"),
        Eq(c.own("q"), fn("avg", sym(f"{h}~"), where="data"), note="the mean code"),
        Eq(c.own("rho"), fn("clip", sym(c.own("q")), lo=CLIP, hi=1 - CLIP)),
        Eq(c.own("KL"), fn("sum_j", kl), note=f"KL({target:g} || rho), the sparsity penalty"),
        Eq(c.own("E"), sym(c.own("err")) + sparsity * sym(c.own("KL")), note="the objective"),
    ]


def _objective_gradient(c: EquationContext, loss: str, clean: Expr, seen: Expr) -> list[Statement]:
    """Back through the decoder, then the encoder; with tied weights W gets both paths."""
    x, h, act = c.inputs[0], c.name, str(c.params["act"])
    decoding, d_out = _decoder_act(c.params), sym(delta(f"{x}^"))
    rebuilt, code = sym(f"{x}^"), sym(f"{h}~")
    count = sym(c.own("N"))
    if loss == "bce":
        p, t = sym(c.own("p")), sym(c.own("t"))
        kept = fn("inside", rebuilt, lo=CLIP, hi=1 - CLIP)
        d_rebuilt = (p - t) / (p * (1 - p)) / count * kept
    else:
        d_rebuilt = 2 * (rebuilt - clean) / count
    dr, da, dcode = sym(delta(c.own("r"))), sym(delta(c.own("a"))), sym(delta(f"{h}~"))
    w = sym(c.own("W"))
    to_code = w @ dr if c.params["tied"] else sym(c.own("V")).T @ dr
    lines: list[Statement] = [
        Eq(c.own("N"), fn("size", clean, over="n,i", axes=(0, 1)), note="the values E averages"),
        Eq(delta(f"{x}^"), d_rebuilt),
        Eq(delta(c.own("r")), links.backward(decoding, sym(c.own("r")), rebuilt, d_out)),
        Eq(grad(c.own("b")), fn("sum", dr, over="n")),
    ]
    sparsity = float(c.params["sparsity"])  # type: ignore[arg-type]
    if sparsity:
        target, rho, q = float(c.params["target"]), sym(c.own("rho")), sym(c.own("q"))  # type: ignore[arg-type]
        pull = (-target / rho + (1 - target) / (1 - rho)) * fn("inside", q, lo=CLIP, hi=1 - CLIP)
        lines.append(Eq(c.own("B"), fn("size", clean, over="n", axes=(0,)), note="samples"))
        to_code = to_code + sparsity * pull / sym(c.own("B"))
    lines += [
        Eq(delta(f"{h}~"), to_code),
        Eq(delta(c.own("a")), links.backward(act, sym(c.own("a")), code, dcode)),
        Eq(grad(c.own("c")), fn("sum", da, over="n")),
    ]
    encoder = fn("outer", da, seen, over="n")
    if c.params["tied"]:
        both = encoder + fn("outer", code, dr, over="n")
        return [*lines, Eq(grad(c.own("W")), both, note="tied: the encoder's and the decoder's")]
    return [
        *lines,
        Eq(grad(c.own("W")), encoder),
        Eq(grad(c.own("V")), fn("outer", dr, code, over="n")),
    ]


def _decoder(c: EquationContext) -> Check:
    expr = fn("means", _decoder_of(c, sym(c.name)), meaning=f"{c.inputs[0]}^")
    return Check("decode", ((c.name, (_sizes(c)[1],)),), expr, text(expr))


def _objective(h: str, x: str, p: Params) -> Reconstruction:
    """The pretraining objective the drawing shows beside the encoder: x~, the decoder, x^."""
    act, noisy = _decoder_act(p), bool(p["noise"])
    back = f"W_{h}^T" if p["tied"] else f"V_{h}"
    penalty = f"+ {p['sparsity']} KL({p['target']} || mean {h})" if p["sparsity"] else ""
    return Reconstruction(
        corrupted=f"{x}~" if noisy else "",
        corruption=f"{p['corruption']}({x}, {p['noise']})" if noisy else "",
        reconstructed=f"{x}^",
        decoder=f"{back} {h} + b_{h}" if act == "none" else f"{act}({back} {h} + b_{h})",
        penalty=penalty,
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
                ParamSpec(
                    "decoder",
                    "choice",
                    "the reconstruction's activation: `act`'s, or `linear` (none) for real-valued "
                    "inputs such as whitened patches, with loss=mse",
                    "act",
                    ("act", "linear"),
                ),
            )
        ),
        shape=_shape,
        count=_count,
        equation=_eq,
        example="input x: [16]\nh = autoencoder(x, 8, noise=0.3)",
        samples=flat_sample_where("sparsity", "act", "sigmoid", "sigmoid"),
        drawing=Drawing(latent=True, neurons="row", reconstruction=_objective),
        pictures="filters",
        pretrain=("reconstruction",),
        pretraining=_reconstruction_rule,
    ),
)
