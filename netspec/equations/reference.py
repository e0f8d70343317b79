"""The reference evaluation of equations (equations/expr.py) in NumPy, float64: what the tests
compare with the lowered torch modules, forward and backward. It shares nothing with the
torch lowering but the equations' text, so an equation that says something the code does not
do fails a test. Imported by tests (and tools), never by check, explain or draw."""

from __future__ import annotations

import math
from collections.abc import Callable, MutableMapping
from typing import Any

import numpy as np

from netspec.equations.expr import Expr, Loop, Statement

Array = Any  # np.ndarray; Any keeps the operator table simple to type
Scope = MutableMapping[str, Array]


def run(statements: tuple[Statement, ...], scope: Scope, mode: str = "eval") -> Scope:
    """Evaluate statements in order, setting each target in `scope`; `mode` is `train` or
    `eval` and selects the statements marked `when`."""
    for s in statements:
        if isinstance(s, Loop):
            _loop(s, scope, mode)
        elif not s.when or s.when == mode:
            scope[s.target] = evaluate(s.expr, scope)
    return scope


def evaluate(e: Expr, scope: Scope) -> Array:
    if e.op == "sym":
        return scope[e.attr("name")]
    if e.op == "num":
        return float(e.attr("value"))
    if e.op == "at":
        return _at(e, scope)
    args = [evaluate(a, scope) for a in e.args]
    return NUMPY[e.op](*args, **dict(e.attrs))


# --- loops -------------------------------------------------------------------------------------
_STEPS = "__steps__"  # scope key: the current step of each loop variable, and the sequences set


def _loop(s: Loop, scope: Scope, mode: str) -> None:
    seq = scope[s.sequence]
    batch, steps = seq.shape[0], s.count or seq.shape[1]
    state: dict[Any, Any] = scope.setdefault(_STEPS, {})  # step numbers, sequences, starts
    sequences: dict[str, list[Any]] = {b.target: [None] * steps for b in s.body}
    for name, size in s.state:
        state[(name, "zero")] = np.zeros((batch, size))
    for name, value in s.start:
        state[(name, "zero")] = scope[value]
    state.update({(name, "seq"): values for name, values in sequences.items()})
    order = range(steps - 1, -1, -1) if s.reverse else range(steps)
    for t in order:
        state[s.var] = t
        for b in s.body:
            sequences[b.target][t] = evaluate(b.expr, scope)
    for name, values in sequences.items():
        scope[name] = np.stack(values, axis=1)
        del state[(name, "seq")]


def _at(e: Expr, scope: Scope) -> Array:
    state = scope[_STEPS]
    name = e.attr("name")
    t = state[e.attr("var")] + e.attr("offset")
    values = state.get((name, "seq"))
    if values is None:  # a [B, T, ...] value computed before the loop, or an input
        whole = scope[name]
        if 0 <= t < whole.shape[1]:
            return whole[:, t]
        return np.zeros_like(whole[:, 0])
    if 0 <= t < len(values) and values[t] is not None:
        return values[t]
    return state[(name, "zero")]


# --- operators ---------------------------------------------------------------------------------
def _matvec(a: Array, x: Array) -> Array:
    """A parameter matrix times each sample's vector (the last axis)."""
    return np.einsum("ij,...j->...i", a, x)


def _outer(a: Array, b: Array, over: str = "") -> Array:
    """sum over samples (and steps) of a b^T."""
    return a.reshape(-1, a.shape[-1]).T @ b.reshape(-1, b.shape[-1])


def _sum(a: Array, over: str = "", keep: tuple[int, ...] = (-1,)) -> Array:
    """a added over every axis but `keep` (the batch axis is 0)."""
    axes = {k % a.ndim for k in keep}
    return a.sum(axis=tuple(i for i in range(a.ndim) if i not in axes))


def _mean(a: Array, over: str = "", axes: tuple[int, ...] | None = None) -> Array:
    """a averaged over `axes`, or over everything (a loss's mean)."""
    return a.mean() if axes is None else a.mean(axis=axes, keepdims=True)


def _softmax(z: Array) -> Array:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z: Array) -> Array:
    return 1.0 / (1.0 + np.exp(-z))


_erf = np.vectorize(math.erf)


def _phi_cdf(z: Array) -> Array:
    return 0.5 * (1.0 + _erf(np.asarray(z) / math.sqrt(2.0)))


def _phi_pdf(z: Array) -> Array:
    return np.exp(-np.square(z) / 2.0) / math.sqrt(2.0 * math.pi)


def _pick(y: Array, t: Array) -> Array:
    """y[t]: each sample's (and step's) entry at its target class."""
    return np.take_along_axis(y, t.astype(np.int64)[..., None], axis=-1)[..., 0]


def _onehot(t: Array, classes: int) -> Array:
    return np.eye(classes)[t.astype(np.int64)]


def _leaky_relu(z: Array, slope: float) -> Array:
    return np.where(z > 0, z, slope * z)


# --- helpers of the recurrent and embedding operators
def _seq_only(a: Array, seq: Array, step: str) -> Array:
    """[t = T] a: a [B, ...] value placed at the last (`T`) or first (`1`) of seq's steps."""
    out = np.zeros((a.shape[0], seq.shape[1], *a.shape[1:]))
    out[:, -1 if step == "T" else 0] = a
    return out


def _seq_shift(a: Array, offset: int, index: str = "") -> Array:
    """Step t of the result is step t + offset of a [B, T, ...] sequence, zero past its ends."""
    out = np.zeros_like(a)
    steps = a.shape[1]
    if abs(offset) < steps:
        src = slice(max(offset, 0), steps + min(offset, 0))
        dst = slice(max(-offset, 0), steps + min(-offset, 0))
        out[:, dst] = a[:, src]
    return out


# --- helpers of the convolution, pooling, shape and merge operators
# Channel-first values with the batch axis: x [B, C, *S], S one or two spatial sizes. A window
# view of x is [B, C, *O, *k]: for every output position, the k entries its window reads.
Ints = tuple[int, ...]


def _pad(x: Array, pad: Ints, value: float = 0.0) -> Array:
    widths = [(0, 0), (0, 0), *((p, p) for p in pad)]
    return np.pad(x, widths, constant_values=value)


def _windows(padded: Array, k: Ints, stride: Ints, dilation: Ints) -> Array:
    """[B, C, *O, *k]: the entries each window reads, taps `dilation` apart, windows `stride`
    apart (the output size floor((S + 2p - d (k - 1) - 1) / s) + 1, as torch's)."""
    n = len(k)
    span = tuple(d * (w - 1) + 1 for w, d in zip(k, dilation, strict=True))
    view = np.lib.stride_tricks.sliding_window_view(padded, span, axis=tuple(range(2, 2 + n)))
    windows = tuple(slice(None, None, s) for s in stride)
    taps = tuple(slice(None, None, d) for d in dilation)
    return view[(slice(None), slice(None), *windows, *taps)]


def _unwindow(cols: Array, size: Ints, stride: Ints, pad: Ints, dilation: Ints) -> Array:
    """The adjoint of `_windows`: [B, C, *O, *k] entries added back at the input positions
    they were read from, [B, C, *size]; what lands in the padding is dropped."""
    n = len(size)
    out, k = cols.shape[2 : 2 + n], cols.shape[2 + n :]
    padded = np.zeros((*cols.shape[:2], *(s + 2 * p for s, p in zip(size, pad, strict=True))))
    every = (slice(None), slice(None))
    for tap in np.ndindex(*k):
        rows = tuple(
            slice(d * t, d * t + s * (m - 1) + 1, s)
            for t, d, s, m in zip(tap, dilation, stride, out, strict=True)
        )
        padded[(*every, *rows)] += cols[(*every, *(slice(None),) * n, *tap)]
    return padded[(*every, *(slice(p, p + s) for p, s in zip(pad, size, strict=True)))]


def _spatial_letters(n: int) -> tuple[str, str]:
    """einsum letters of the output positions and of the filter taps, for n spatial axes."""
    return "ij"[:n], "uv"[:n]


def _conv(w: Array, x: Array, stride: Ints, pad: Ints, dilation: Ints) -> Array:
    cols = _windows(_pad(x, pad), w.shape[2:], stride, dilation)
    pos, taps = _spatial_letters(len(pad))
    return np.einsum(f"oc{taps},bc{pos}{taps}->bo{pos}", w, cols)


def _corr(
    x: Array, dy: Array, over: str, stride: Ints, pad: Ints, dilation: Ints, k: Ints
) -> Array:
    """dL/dW [O, C, *k]: each tap's input times the delta of its position, over positions and
    samples."""
    cols = _windows(_pad(x, pad), k, stride, dilation)
    pos, taps = _spatial_letters(len(pad))
    return np.einsum(f"bo{pos},bc{pos}{taps}->oc{taps}", dy, cols)


def _conv_t(w: Array, dy: Array, x: Array, stride: Ints, pad: Ints, dilation: Ints) -> Array:
    pos, taps = _spatial_letters(len(pad))
    cols = np.einsum(f"oc{taps},bo{pos}->bc{pos}{taps}", w, dy)
    return _unwindow(cols, x.shape[2:], stride, pad, dilation)


def _maxpool(x: Array, k: Ints, stride: Ints, pad: Ints) -> Array:
    cols = _windows(_pad(x, pad, -np.inf), k, stride, (1,) * len(k))
    return cols.max(axis=tuple(range(-len(k), 0)))


def _avgpool(x: Array, k: Ints, stride: Ints, pad: Ints) -> Array:
    cols = _windows(_pad(x, pad), k, stride, (1,) * len(k))
    return cols.mean(axis=tuple(range(-len(k), 0)))


def _route(dy: Array, x: Array, k: Ints, stride: Ints, pad: Ints) -> Array:
    """Each window's delta at the tap of its largest entry (the first, on a tie)."""
    cols = _windows(_pad(x, pad, -np.inf), k, stride, (1,) * len(k))
    flat = cols.reshape(*cols.shape[: -len(k)], -1)
    hit = np.arange(flat.shape[-1]) == flat.argmax(axis=-1)[..., None]
    taps = hit.reshape(cols.shape) * dy.reshape(*dy.shape, *(1,) * len(k))
    return _unwindow(taps, x.shape[2:], stride, pad, (1,) * len(k))


def _spread(dy: Array, x: Array, k: Ints, stride: Ints, pad: Ints) -> Array:
    taps = np.broadcast_to(dy.reshape(*dy.shape, *(1,) * len(k)), (*dy.shape, *k))
    return _unwindow(taps, x.shape[2:], stride, pad, (1,) * len(k))


def _at_last(d: Array, seq: Array) -> Array:
    out = np.zeros(seq.shape)
    out[:, -1] = d
    return out


def _part(d: Array, *inputs: Array, index: int, axis: int, span: str) -> Array:
    """The entries of a concat's delta that input `index` filled (axis without the batch)."""
    start = sum(a.shape[axis + 1] for a in inputs[:index])
    rows = slice(start, start + inputs[index].shape[axis + 1])
    return d[(slice(None),) * (axis + 1) + (rows,)]


# --- helpers of the energy-based, autoencoder, sparse coding and normalization operators
# The random draws of training statements (dropout's mask, Gibbs sampling, corruption). Tests
# that compare a random statement with the code replace these two entries of NUMPY with
# replays of the code's own draws.
_RNG = np.random.default_rng()


def _bernoulli(q: Array, like: Array | None = None) -> Array:
    shape = np.shape(q if like is None else like)
    return (_RNG.random(shape) < q).astype(np.float64)


def _normal(m: Array, like: Array | None = None) -> Array:
    shape = np.shape(m if like is None else like)
    return m + _RNG.standard_normal(shape)


def _dot(a: Array, b: Array) -> Array:
    return np.sum(np.multiply(a, b), axis=-1)


def _expect(a: Array, b: Array, where: str) -> Array:
    """<a b^T>: the outer products of the rows of a and b, averaged over the rows."""
    return np.asarray(a).T @ np.asarray(b) / np.shape(a)[0]


def _dspec(d: Array) -> Array:
    """d|D|_2/dD = u_1 v_1^T (the sign of the singular vectors cancels)."""
    u, _, vt = np.linalg.svd(d)
    return np.outer(u[:, 0], vt[0])


def _shrink(u: Array, a: Array) -> Array:
    """u - clip(u, -a, a), as the module computes the soft threshold."""
    return u - np.clip(u, -a, a)


def _unit_columns(d: Array, eps: float) -> Array:
    return d / np.maximum(np.linalg.norm(d, axis=0, keepdims=True), eps)


def _size(x: Array, over: str, axes: tuple[int, ...]) -> Array:
    return float(np.prod([np.shape(x)[a] for a in axes]))


# --- helpers of the loss operators
def _mean_labelled(a: Array, t: Array, over: str = "") -> Array:
    """a's mean over the steps whose class id t is not -1 (padding); 0 when there is none."""
    labelled = np.asarray(t) >= 0
    return np.reshape(a, labelled.shape)[labelled].sum() / max(int(labelled.sum()), 1)


NUMPY: dict[str, Callable[..., Array]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "neg": np.negative,
    "matvec": _matvec,
    "T": np.transpose,
    "outer": _outer,
    "sum": _sum,
    "mean": _mean,
    "sum_k": lambda a: a.sum(axis=-1, keepdims=True),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": _leaky_relu,
    "gelu": lambda z: z * _phi_cdf(z),
    "softplus": lambda z: np.logaddexp(0.0, z),
    "softmax": _softmax,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sign": np.sign,
    "square": np.square,
    "pow": np.power,
    "step": lambda z: (np.asarray(z) > 0).astype(np.float64),
    "Phi": _phi_cdf,
    "phi": _phi_pdf,
    "pick": _pick,
    "onehot": _onehot,
    # --- recurrent and embedding operators
    "seq_join": lambda a, b: np.concatenate((a, b), axis=-1),
    "seq_part": lambda a, first, last: a[..., first - 1 : last],
    "seq_last": lambda a: a[:, -1],
    "seq_first": lambda a: a[:, 0],
    "seq_only": _seq_only,
    "seq_shift": _seq_shift,
    "embed_lookup": lambda table, ids: table[ids.astype(np.int64)],
    # --- convolution, pooling, shape and merge operators
    "conv": _conv,
    "per_channel": lambda b, axes: np.reshape(b, (-1, *(1,) * axes)),
    "corr": _corr,
    "conv_T": _conv_t,
    "maxpool": _maxpool,
    "avgpool": _avgpool,
    "route": _route,
    "spread": _spread,
    "vec": lambda x: np.reshape(x, (np.shape(x)[0], -1)),
    "reshape": lambda x, dims: np.reshape(x, (np.shape(x)[0], *dims)),
    "unvec": lambda d, x: np.reshape(d, np.shape(x)),
    "last": lambda x: x[:, -1],
    "at_last": _at_last,
    "concat": lambda *xs, axis: np.concatenate(xs, axis=axis + 1),
    "part": _part,
    # --- energy-based, autoencoder, sparse coding and normalization operators
    "means": lambda a, meaning: a,
    "dot": _dot,
    "sum_j": lambda a: np.sum(a, axis=-1),
    "sqnorm": lambda a: np.sum(np.square(a), axis=-1),
    "bernoulli": _bernoulli,
    "normal": _normal,
    "expect": _expect,
    "avg": lambda a, where: np.mean(a, axis=0),
    "clip": lambda a, lo, hi: np.clip(a, lo, hi),
    "inside": lambda a, lo, hi: ((lo < a) & (a < hi)).astype(np.float64),
    "spec": lambda d: np.linalg.norm(d, 2),
    "dspec": _dspec,
    "shrink": _shrink,
    "iterate": lambda a, k: a[:, -1],
    "unit_columns": _unit_columns,
    "size": _size,
    # --- loss operators
    "count": lambda a, rows: a.size / a.shape[-1] if rows else a.size,
    "shaped": lambda t, y: np.reshape(t, np.shape(y)),
    "mean_labelled": _mean_labelled,
    "labelled": lambda t: (np.asarray(t) >= 0).astype(np.float64)[..., None],
    "count_labelled": lambda t: max(int(np.count_nonzero(np.asarray(t) >= 0)), 1),
}
