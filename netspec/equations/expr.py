"""Equations as data: a small expression language in which each unit kind states its forward
and backward equations once. The text `explain` prints and the NumPy reference evaluation that
the tests compare with the lowered modules (equations/reference.py) both come from these trees,
so a printed equation cannot drift from the code that runs.

An `Expr` is an operator name, its argument expressions and attributes. Every operator has a
text form here (`OPS`) and a NumPy form in reference.py; a test checks that both tables cover
the same operators. Values are per sample (the batch axis is implicit in the text); parameters
have no batch axis; `outer` and `sum` add over the samples (and steps or positions)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Attr = tuple[str, Any]


@dataclass(frozen=True)
class Expr:
    op: str
    args: tuple[Expr, ...] = ()
    attrs: tuple[Attr, ...] = ()

    def attr(self, key: str, default: Any = None) -> Any:
        return next((v for k, v in self.attrs if k == key), default)

    # Building with Python operators: `W @ x + b`, `d * y * (1 - y)`.
    def __add__(self, other: Operand) -> Expr:
        return Expr("+", (self, lift(other)))

    def __radd__(self, other: Operand) -> Expr:
        return Expr("+", (lift(other), self))

    def __sub__(self, other: Operand) -> Expr:
        return Expr("-", (self, lift(other)))

    def __rsub__(self, other: Operand) -> Expr:
        return Expr("-", (lift(other), self))

    def __mul__(self, other: Operand) -> Expr:
        return Expr("*", (self, lift(other)))

    def __rmul__(self, other: Operand) -> Expr:
        return Expr("*", (lift(other), self))

    def __truediv__(self, other: Operand) -> Expr:
        return Expr("/", (self, lift(other)))

    def __rtruediv__(self, other: Operand) -> Expr:
        return Expr("/", (lift(other), self))

    def __neg__(self) -> Expr:
        return Expr("neg", (self,))

    def __matmul__(self, other: Expr) -> Expr:
        return Expr("matvec", (self, other))

    @property
    def T(self) -> Expr:  # the transpose, as written in equations
        return Expr("T", (self,))

    def __str__(self) -> str:
        return text(self)


Operand = Expr | float | int


def lift(value: Operand) -> Expr:
    return value if isinstance(value, Expr) else num(value)


def sym(name: str) -> Expr:
    """A named tensor: an input, a parameter, a value computed above, a gradient."""
    return Expr("sym", attrs=(("name", name),))


def num(value: float) -> Expr:
    return Expr("num", attrs=(("value", value),))


def fn(op: str, *args: Operand, **attrs: Any) -> Expr:
    assert op in OPS, f"no operator {op}"
    return Expr(op, tuple(lift(a) for a in args), tuple(attrs.items()))


def at(name: str, offset: int = 0, var: str = "t") -> Expr:
    """`h_t`, `h_(t-1)`: step t + offset of a sequence inside a `Loop` (zeros before the first)."""
    return Expr("at", attrs=(("name", name), ("offset", offset), ("var", var)))


# --- statements --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Eq:
    """`target = expr`; `when` limits it to training or evaluation (dropout, batch norm)."""

    target: str
    expr: Expr
    when: Literal["", "train", "eval"] = ""
    note: str = ""


@dataclass(frozen=True)
class Loop:
    """`for t = 1..T: body`, or from T down to 1 when `reverse`: each body line sets step t of
    its target sequence (`at(target)` reads it, `at(target, -1)` the step before). `sequence`
    names the [T, ...] value whose steps t runs over; `state` the sizes of the sequences read a
    step before they are set (`h_(t-1)` at t = 1), which start at zero."""

    var: str
    sequence: str
    body: tuple[Eq, ...]
    state: tuple[tuple[str, int], ...] = ()
    reverse: bool = False
    note: str = ""
    # > 0: a solver's iterations, `for k = 1 to count`, rather than a sequence's steps; then
    # `sequence` names a value that only gives the batch size (sparse coding's input).
    count: int = 0
    # Sequences that start from a value rather than zeros (a Gibbs chain from the data): each
    # (sequence, name of the value it reads before its first step, after its last if reverse).
    start: tuple[tuple[str, str], ...] = ()


Statement = Eq | Loop


@dataclass(frozen=True)
class Tensor:
    """A parameter (or a buffer) the equations name, with its shape and where it lives in the
    lowered module: `source` is its state_dict key, `rows` a (start, stop) slice of its first
    axis (one gate of a recurrent layer's stacked weights). `learned` tensors add up to the
    unit's parameter count; buffers (batch norm's running statistics) are listed, not counted."""

    name: str
    dims: tuple[int, ...]
    source: str
    rows: tuple[int, int] | None = None
    learned: bool = True
    doc: str = ""

    @property
    def size(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n


@dataclass(frozen=True)
class Check:
    """Another method of the unit's module stated as an equation (an RBM's p(v = 1 | h), an
    autoencoder's decoder): the test calls `method` on random values of `inputs` (names with
    their shapes, without the batch axis) and compares it with `expr`."""

    method: str
    inputs: tuple[tuple[str, tuple[int, ...]], ...]
    expr: Expr
    text: str = ""  # how explain shows it, if not `method(inputs) = expr`


@dataclass(frozen=True)
class Equations:
    """What a unit computes, as data. `output` is the statement target that is the unit's value;
    `backward` maps `delta_<output>` to `delta_<input>` for each real input and `dL/d<name>` for
    each learned tensor. `link` names the link function (`softmax`, `sigmoid`) whose input
    `logits` a loss reads; a loss fused with it starts its backward at `delta_<logits>`, and the
    unit's backward lines up to that target are skipped. `fused` maps a link to a loss's
    backward on those logits. `random`: its training forward samples noise (dropout), so only
    its evaluation is checked numerically."""

    output: str
    forward: tuple[Statement, ...]
    tensors: tuple[Tensor, ...] = ()
    backward: tuple[Statement, ...] = ()
    checks: tuple[Check, ...] = ()
    link: str = ""
    logits: str = ""
    fused: Mapping[str, tuple[Statement, ...]] = field(default_factory=dict)
    random: bool = False
    notes: tuple[str, ...] = ()  # explanations, never equations: those are statements
    # How closely the reference must match (relative), when the module only approximates its
    # equations (an argmin after finitely many solver steps); 0: to float64 rounding.
    tolerance: float = 0.0

    def learned(self) -> int:
        return sum(t.size for t in self.tensors if t.learned)


LOGITS_DELTA = "delta_logits"  # a loss's fused backward sets it: renamed to its head's logits


def delta(name: str) -> str:
    """The name of dL/d(name) for a value: `delta_h1`."""
    return f"delta_{name}"


def grad(name: str) -> str:
    """The name of dL/d(name) for a parameter: `dL/dW_h1`."""
    return f"dL/d{name}"


# --- text --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Op:
    """How an operator is written: a template over `{0}`, `{1}`, ... and its attributes, its
    precedence (higher binds tighter), and the definition `explain` prints once below a listing
    that uses it."""

    template: str
    precedence: float = 9
    definition: str = ""
    variadic: str = ""  # the separator of a variadic operator (concat's `; `)


OPS: dict[str, Op] = {
    "sym": Op("{name}"),
    "num": Op("{value}"),
    "at": Op("{name}_{index}"),
    "+": Op("{0} + {1}", 1),
    "-": Op("{0} - {1}", 1),
    "*": Op("{0} * {1}", 2),
    "/": Op("{0} / {1}", 2),
    "neg": Op("-{0}", 3),
    "matvec": Op("{0} {1}", 2),
    "T": Op("{0}^T", 8),
    "outer": Op(
        "sum_{over} {0} {1}^T",
        1.5,
        "sum_n a b^T: the outer product of each sample's a and b, added over the batch",
    ),
    "sum": Op("sum_{over} {0}", 1.5),
    "mean": Op("mean_{over} {0}", 1.5),
    "sum_k": Op("sum_k({0})", 9, "sum_k(a): a's entries added over its last axis, per sample"),
    "sigmoid": Op("sigmoid({0})", 9, "sigmoid(z) = 1 / (1 + exp(-z))"),
    "tanh": Op("tanh({0})"),
    "relu": Op("relu({0})", 9, "relu(z) = max(0, z)"),
    "leaky_relu": Op("leaky_relu({0}, {slope})", 9, "leaky_relu(z, a) = z where z > 0, else a z"),
    "gelu": Op("gelu({0})", 9, "gelu(z) = z Phi(z), Phi the standard normal distribution"),
    "softplus": Op("softplus({0})", 9, "softplus(z) = log(1 + exp(z))"),
    "softmax": Op("softmax({0})", 9, "softmax(z)_k = exp(z_k) / sum_j exp(z_j), per sample"),
    "exp": Op("exp({0})"),
    "log": Op("log({0})"),
    "sqrt": Op("sqrt({0})"),
    "abs": Op("|{0}|"),
    "sign": Op("sign({0})"),
    "square": Op("{0}^2", 7),
    "pow": Op("{0}^{1}", 7),
    "step": Op("[{0} > 0]", 9, "[z > 0] is 1 where z > 0, else 0"),
    "Phi": Op("Phi({0})", 9, "Phi(z): the standard normal distribution function"),
    "phi": Op("phi({0})", 9, "phi(z) = exp(-z^2 / 2) / sqrt(2 pi): the standard normal density"),
    "pick": Op("{0}[{1}]", 8, "y[t]: the entry of y at the target class t"),
    "onehot": Op("onehot({0})", 9, "onehot(t): the vector with 1 at class t, 0 elsewhere"),
    # --- recurrent and embedding operators
    "seq_join": Op("[{0} ; {1}]"),  # both directions' states of a step, one above the other
    "seq_part": Op("{0}[{first}..{last}]", 8, "a[i..j]: entries i to j of a (at each step)"),
    "seq_last": Op("{0}_T"),  # a sequence's last step
    "seq_first": Op("{0}_1"),  # a sequence's first step
    "seq_only": Op("[t = {step}] {0}", 2, "[t = T] a: a at step T, zero at every other step"),
    "seq_shift": Op("{0}_{index}"),  # the whole sequence a step late (or early), zero outside
    "embed_lookup": Op("{0}[{1}]", 8, "E[x]: the row of E at each token id x"),
    # --- convolution, pooling, shape and merge operators
    "conv": Op(
        "conv({0}, {1})",
        9,
        "conv(W, x)[o, i] = sum_c sum_k W[o, c, k] x[c, s i + d k - p]: W's filters slid over "
        "x, zero-padded by p, with stride s and dilation d (a cross-correlation: the filter is "
        "not flipped; in 2-D, i and k are (row, column) pairs); + b adds b[o] at every "
        "position of channel o",
    ),
    "per_channel": Op("{0}"),  # a bias [O] laid out to add at every position of its channel
    "corr": Op(
        "sum_{over} corr({0}, {1})",
        1.5,
        "corr(x, delta)[o, c, k] = sum_i delta[o, i] x[c, s i + d k - p]: each filter tap's "
        "gradient, the input it met at every position weighted by that position's delta",
    ),
    "conv_T": Op(  # its third argument, the input, only gives the size
        "conv^T({0}, {1})",
        9,
        "conv^T(W, delta)[c, j] = sum_o sum_k W[o, c, k] delta[o, i] over the (i, k) with "
        "s i + d k - p = j: the transposed convolution, each output's delta sent back along "
        "the weights it was computed with (what lands in the padding is dropped)",
    ),
    "maxpool": Op(
        "maxpool({0})",
        9,
        "maxpool(x)[c, i] = max_k x[c, s i + k - p]: the largest value in each window, "
        "stride s; padding never wins (a window wholly in the padding gives -inf)",
    ),
    "avgpool": Op(
        "avgpool({0})",
        9,
        "avgpool(x)[c, i] = sum_k x[c, s i + k - p] / K: the mean of each window of K values, "
        "stride s; zero padding counts in the mean (torch's count_include_pad)",
    ),
    "route": Op(
        "route({0}, {1})",
        9,
        "route(delta, x)[c, j] = the sum of delta[c, i] over the windows i whose largest "
        "value is x[c, j]: each window's delta goes to its maximum, the other entries get 0",
    ),
    "spread": Op(  # its second argument, the input, only gives the size
        "spread({0})",
        9,
        "spread(delta)[c, j] = the sum of delta[c, i] over the windows i that hold x[c, j] "
        "(what lands in the padding is dropped)",
    ),
    "vec": Op(
        "vec({0})",
        9,
        "vec(x): x's entries as one vector, row-major (the last axis fastest), as torch.flatten",
    ),
    "reshape": Op(
        "reshape({0})",
        9,
        "reshape(x): x's entries in row-major order (the last axis fastest), laid out in the "
        "new shape",
    ),
    "unvec": Op(  # its second argument, the input, only gives the shape
        "unvec({0})",
        9,
        "unvec(delta): delta laid back out in the input's shape, row-major (undoes vec or reshape)",
    ),
    "last": Op("{0}_T", 8, "x_T: the last step of the sequence x"),
    "at_last": Op(  # its second argument, the sequence, only gives the shape
        "(0, ..., 0, {0})",
        9,
        "(0, ..., 0, d): a sequence of zeros but for its last step T, which gets d: only the "
        "last step is read, so only it gets a gradient",
    ),
    "concat": Op(
        "[{0}]",
        9,
        "[a; b]: a and b joined end to end along one axis, a's entries first",
        variadic="; ",
    ),
    "part": Op(  # its other arguments, the joined inputs, give the sizes
        "{0}[{span}]",
        8,
        "d[i:j]: the entries i to j-1 of d along the joined axis, where that input's values went",
    ),
    # --- energy-based, autoencoder, sparse coding and normalization operators
    # What a value is, then how it is computed: `h1 = p(h1 = 1 | pixels) = sigmoid(z_h1)`.
    "means": Op("{meaning} = {0}", 0),
    "dot": Op("{0}^T {1}", 2),  # per sample: a vector's entries times another's, added
    "sum_j": Op("sum_j {0}", 2, "sum_j a: a's entries added over its units j, per sample"),
    "sqnorm": Op("|{0}|^2", 9, "|a|^2: the squares of a's entries added, per sample"),
    "bernoulli": Op(  # a second argument, if any, only gives the shape
        "bernoulli({0})",
        9,
        "bernoulli(q): a fresh random draw for every entry, 1 with probability q, else 0",
    ),
    "normal": Op(  # a second argument, if any, only gives the shape
        "normal({0})",
        9,
        "normal(m): a fresh random draw for every entry, normal with mean m and variance 1",
    ),
    "expect": Op(
        "<{0} {1}^T>_{where}",
        9,
        "<a b^T>_data, <a b^T>_model: a b^T averaged over the minibatch's samples (data) or "
        "over the Gibbs chains (model)",
    ),
    "avg": Op("<{0}>_{where}", 9, "<a>: a averaged over the samples (or the chains)"),
    "clip": Op("clip({0}, {lo}, {hi})", 9, "clip(a, lo, hi): a held between lo and hi"),
    "inside": Op("[{lo} < {0} < {hi}]", 9, "[lo < a < hi] is 1 where a is inside, else 0"),
    "spec": Op("|{0}|_2", 9, "|D|_2: the largest singular value of D (its spectral norm)"),
    "dspec": Op(
        "d|{0}|_2/d{0}",
        9,
        "d|D|_2/dD = u_1 v_1^T, u_1 and v_1 the left and right singular vectors of D's "
        "largest singular value",
    ),
    "shrink": Op(
        "shrink({0}, {1})",
        9,
        "shrink(u, a) = sign(u) max(|u| - a, 0): soft thresholding, which sets every entry "
        "within a of 0 to 0 and moves the others a closer to it",
    ),
    "iterate": Op("{0}_{k}"),  # a solver's last iterate: z_code_20
    "unit_columns": Op(
        "{0}_:j / max(|{0}_:j|, {eps})",
        9,
        "D_:j: the column j of D, one dictionary atom",
    ),
    "size": Op(
        "size_{over}({0})",
        9,
        "size_n(x), size_n,p(x): how many values of x a mean over those axes averages (n the "
        "samples, p a channel's positions, i a sample's entries)",
    ),
    # --- loss operators
    "count": Op(
        "N",
        9,
        "N: the number of values a loss averages (samples, times steps; for cross-entropy "
        "the rows of class scores)",
    ),
    "shaped": Op("{0}"),  # a target laid out as its prediction (a [1] score, a scalar label)
    # a sequence of class ids, whose padded steps hold -1 (netspec.types.NO_LABEL)
    "mean_labelled": Op(
        "mean_({over}: {1} >= 0) {0}",
        1.5,
        "mean_(n,t: t >= 0) a: the mean over the labelled steps; a step whose target is -1 "
        "(the padding after a shorter sequence) counts in neither the sum nor N",
    ),
    "labelled": Op("[{0} >= 0]", 9, "[t >= 0] is 1 at a labelled step, 0 at a padded one (-1)"),
    "count_labelled": Op(
        "N",
        9,
        "N: for a sequence target, the number of labelled steps (t >= 0) the loss averages",
    ),
}


def text(e: Expr, outer: float = 0) -> str:
    """An expression as `explain` prints it, with the parentheses its precedences need."""
    op = OPS[e.op]
    attrs = dict(e.attrs)
    if e.op == "num":
        return _number(attrs["value"])
    if e.op == "at":
        attrs["index"] = _step(attrs["var"], attrs["offset"])
    if op.variadic:
        body = op.template.format(op.variadic.join(text(a) for a in e.args), **attrs)
    else:
        args = [text(a, _inner(e, i, op.precedence)) for i, a in enumerate(e.args)]
        body = op.template.format(*args, **attrs)
    return f"({body})" if op.precedence < outer else body


def _inner(e: Expr, index: int, precedence: float) -> float:
    """The precedence an argument must reach to go unparenthesised: none inside brackets the
    template writes (`log({0})`); the right side of `-` and `/` must bind tighter, or
    `a - (b - c)` would print as `a - b - c`; a sum under a minus sign needs none
    (`-mean_n log y`)."""
    template, slot = OPS[e.op].template, f"{{{index}}}"
    at = template.find(slot)
    before, after = template[:at][-1:], template[at + len(slot) :][:1]
    if (before, after) in (("(", ")"), ("[", "]"), ("|", "|"), ("(", ","), (" ", ",")):
        return 0
    if before and before in "([" and after and after in " ,":  # `[{0} > 0]`, `leaky_relu({0}, a)`
        return 0
    if e.op in ("-", "/", "matvec") and index == 1:
        return precedence + 1
    if e.op == "neg":
        return 1.5
    return precedence


def _number(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return f"{value:g}"


def _step(var: str, offset: int) -> str:
    if offset == 0:
        return var
    return f"({var}{'+' if offset > 0 else '-'}{abs(offset)})"


def statement_lines(s: Statement, indent: str = "") -> list[str]:
    """A statement as lines of text: `h = relu(z_h)`, or a loop's header and its body."""
    if isinstance(s, Eq):
        when = f"    (when {'training' if s.when == 'train' else 'evaluating'})" if s.when else ""
        note = f"    ({s.note})" if s.note else ""
        return [f"{indent}{s.target} = {text(s.expr)}{when}{note}"]
    last = str(s.count or "T")
    span = f"{last} down to 1" if s.reverse else f"1 to {last}"
    over = "" if s.count else f", over the steps of {s.sequence}"
    before = f"({last}+1)" if s.reverse else "0"
    over += "".join(f", from {name}_{before} = {value}" for name, value in s.start)
    note = f"    ({s.note})" if s.note else ""
    head = f"{indent}for {s.var} = {span}{over}:{note}"
    body = (replace(b, target=f"{b.target}_{s.var}") for b in s.body)  # `h_t = ...`, as read
    return [head, *(line for b in body for line in statement_lines(b, indent + "  "))]


def walk(e: Expr) -> Iterator[Expr]:
    yield e
    for a in e.args:
        yield from walk(a)


def statement_exprs(s: Statement) -> Iterator[Expr]:
    if isinstance(s, Eq):
        yield from walk(s.expr)
    else:
        for b in s.body:
            yield from statement_exprs(b)


def definitions(statements: tuple[Statement, ...] | list[Statement]) -> list[str]:
    """The definitions of the operators the statements use, once each, in first-use order."""
    seen: dict[str, str] = {}
    for s in statements:
        for e in statement_exprs(s):
            d = OPS[e.op].definition
            if d and e.op not in seen:
                seen[e.op] = d
    return list(seen.values())


def tensor_list(tensors: tuple[Tensor, ...]) -> str:
    """`W_h1: 128x64, b_h1: 128`: every tensor the equations name, with its shape."""
    return ", ".join(
        f"{t.name}: {'x'.join(map(str, t.dims)) or 'scalar'}" + ("" if t.learned else " (running)")
        for t in tensors
    )


def rename(s: Statement, names: Mapping[str, str]) -> Statement:
    """The statement with symbols (and targets) renamed: a gradient contribution of one reader
    of a value that several read becomes `delta_h<-y` before they are added."""
    if isinstance(s, Eq):
        return replace(s, target=names.get(s.target, s.target), expr=rename_expr(s.expr, names))
    return replace(s, body=tuple(rename(b, names) for b in s.body))  # type: ignore[misc]


def rename_expr(e: Expr, names: Mapping[str, str]) -> Expr:
    if e.op in ("sym", "at"):
        name = e.attr("name")
        if name in names:
            return Expr(e.op, (), tuple((k, names[name] if k == "name" else v) for k, v in e.attrs))
        return e
    return Expr(e.op, tuple(rename_expr(a, names) for a in e.args), e.attrs)


def summary(eqs: Equations) -> str:
    """The forward equations on one line, then the tensors: `h = relu(W_h x + b_h)    W_h: ...`."""
    lines = [line.strip() for st in eqs.forward for line in statement_lines(st)] or list(eqs.notes)
    tensors = tensor_list(eqs.tensors)
    joined = ""
    for line in lines:  # a loop's header runs into its body: `for t = 1 to T ...: h_t = ...`
        joined += line if not joined else (" " if joined.endswith(":") else ";  ") + line
    return joined + (f"    {tensors}" if tensors else "")
