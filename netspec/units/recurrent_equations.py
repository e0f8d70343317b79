"""The recurrent units (rnn, lstm, gru) and embed as equations, in the convention of the torch
layers that run them (nn.RNN, nn.LSTM, nn.GRU, nn.Embedding), with their backward: the chain
rule through time, each direction's steps walked in the opposite order (from x_T back to x_1
for the forward direction).

Names, for a unit `enc` (every name ends in the unit's, so two units never share one):
- `W_enc_r` gate r's input weights (torch's weight_ih rows), `U_enc_r` its recurrent weights
  (weight_hh), `b_enc_r` the bias added with W x_t (bias_ih) and `d_enc_r` the one added with
  U h_(t-1) (bias_hh). torch learns both biases; only their sum matters, except in a GRU's
  candidate n, where d_n sits inside r * (...). (d, not c: c_t is the LSTM's cell.)
- gates by torch's row order: lstm i, f, g, o; gru r, z, n; an rnn has none (`W_enc`).
- the layer, when there are several, is a digit after the letter: `W2_enc_r`, `h2_enc` (torch's
  `_l1`: its layers count from 0); the direction that reads x_T back to x_1 has a prime after it:
  `W'_enc_r`, `h2'_enc` (torch's `_reverse`).
- values: `h_enc` the state, `c_enc` the LSTM's cell, `r_enc` each gate's value, `x2_enc` the
  input of layer 2 (`m2_enc` its dropout mask while training); `a_enc_r` is the argument of
  gate r's sigmoid or tanh and `u_enc_n` a GRU's U_n h_(t-1) + d_n (only their gradients
  `delta_a_enc_r`, `delta_u_enc_n` are named); `e_enc` is the gradient reaching h_t from above
  (from the unit's output, or from the layer above).
"""

from __future__ import annotations

from dataclasses import dataclass

from netspec.equations import links
from netspec.equations.expr import (
    Eq,
    Equations,
    Expr,
    Statement,
    Tensor,
    at,
    delta,
    fn,
    grad,
    sym,
)
from netspec.equations.expr import Loop as Steps
from netspec.units.base import EquationContext, EquationRule

GATES = {"rnn": ("",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
_ACT = {"": "tanh", "i": "sigmoid", "f": "sigmoid", "g": "tanh", "o": "sigmoid"}
_ACT |= {"r": "sigmoid", "z": "sigmoid", "n": "tanh"}
_OVER = "n,t"  # parameter gradients add over the samples and the steps


@dataclass(frozen=True)
class Cell:
    """One layer of a recurrent unit in one direction: its names, sizes and step order."""

    kind: str
    unit: str
    layer: int  # from 1
    layers: int
    reverse: bool  # reads x_T back to x_1
    n: int  # hidden size
    d: int  # input size
    x: str  # the input sequence's name

    def name(self, base: str, gate: str = "") -> str:
        """`W2'_enc_r`: base, layer (if several), prime (the reverse direction), unit, gate."""
        layer = str(self.layer) if self.layers > 1 else ""
        prime = "'" if self.reverse else ""
        return f"{base}{layer}{prime}_{self.unit}" + (f"_{gate}" if gate else "")

    @property
    def h(self) -> str:
        return self.name("h")

    @property
    def prev(self) -> int:
        """The offset of the step this direction read before t: t-1, or t+1 going backwards."""
        return 1 if self.reverse else -1

    def source(self, what: str) -> str:
        """The torch layer's state_dict key: `rnn.weight_ih_l0_reverse`."""
        return f"rnn.{what}_l{self.layer - 1}" + ("_reverse" if self.reverse else "")

    def gates(self) -> tuple[str, ...]:
        return GATES[self.kind]


# --- forward -----------------------------------------------------------------------------------
def _preact(cell: Cell, gate: str) -> Expr:
    """W_g x_t + b_g + U_g h_(t-1) + d_g: the argument of gate g's sigmoid or tanh."""
    w, b, u, d = (sym(cell.name(base, gate)) for base in "WbUd")
    h_prev = at(cell.h, cell.prev)
    if cell.kind == "gru" and gate == "n":  # the reset gate scales the recurrent part
        return w @ at(cell.x) + b + at(cell.name("r")) * (u @ h_prev + d)
    return w @ at(cell.x) + b + u @ h_prev + d


def _step(cell: Cell) -> tuple[Eq, ...]:
    """One step's equations, the gates in torch's order."""
    h_prev = at(cell.h, cell.prev)
    if cell.kind == "rnn":
        return (Eq(cell.h, fn("tanh", _preact(cell, ""))),)
    gates = tuple(Eq(cell.name(g), links.apply(_ACT[g], _preact(cell, g))) for g in cell.gates())
    g = {name: at(cell.name(name)) for name in cell.gates()}
    if cell.kind == "gru":
        h = (1 - g["z"]) * g["n"] + g["z"] * h_prev
        return (*gates, Eq(cell.h, h))
    c = cell.name("c")
    return (
        *gates,
        Eq(c, g["f"] * at(c, cell.prev) + g["i"] * g["g"]),
        Eq(cell.h, g["o"] * fn("tanh", at(c))),
    )


def _forward_loop(cell: Cell) -> Steps:
    state = ((cell.h, cell.n),) + (((cell.name("c"), cell.n),) if cell.kind == "lstm" else ())
    way = "the backward direction, from x_T to x_1" if cell.reverse else ""
    return Steps("t", cell.x, _step(cell), state, reverse=cell.reverse, note=way)


def _tensors(cell: Cell) -> tuple[Tensor, ...]:
    """Every gate's W, U and both biases, each a block of rows of torch's stacked tensors."""
    out = []
    for i, gate in enumerate(cell.gates()):
        rows = (i * cell.n, (i + 1) * cell.n)
        for base, what, dims in (
            ("W", "weight_ih", (cell.n, cell.d)),
            ("U", "weight_hh", (cell.n, cell.n)),
            ("b", "bias_ih", (cell.n,)),
            ("d", "bias_hh", (cell.n,)),
        ):
            out.append(Tensor(cell.name(base, gate), dims, cell.source(what), rows))
    return tuple(out)


def _layer_input(c: EquationContext, layer: int, below: list[Cell]) -> tuple[str, list[Eq]]:
    """The name of layer k's input sequence and the equations that make it from the layer
    below: both its directions joined at each step, and dropout while training."""
    if layer == 1:
        return c.inputs[0], []
    states = [sym(cell.h) for cell in below]
    joined = fn("seq_join", *states) if len(states) == 2 else states[0]
    p = _dropout(c)
    if p == 0.0 and len(states) == 1:
        return below[0].h, []
    x = c.own(f"x{layer}")
    if p == 0.0:
        return x, [Eq(x, joined, note="each step: the layer below, both directions")]
    mask = sym(c.own(f"m{layer}"))
    return x, [
        Eq(x, joined, when="eval"),
        Eq(
            x,
            mask * joined / (1 - p),
            when="train",
            note=f"{mask}: random, each entry 1 with probability {1 - p:g} and else 0",
        ),
    ]


def _int(value: object) -> int:
    assert isinstance(value, int), value  # sizes check already made numbers
    return value


def _dropout(c: EquationContext) -> float:
    """The dropout between layers (torch applies it only when there are several)."""
    p = c.params.get("dropout", 0.0)
    assert isinstance(p, int | float), p
    return float(p)


def _output(c: EquationContext, top: list[Cell]) -> Eq:
    last = c.params["steps"] == "last"
    if len(top) == 1:
        if last:
            return Eq(c.name, fn("seq_last", sym(top[0].h)), note="the state after the last step")
        return Eq(c.name, sym(top[0].h), note="every step's state")
    fwd, rev = sym(top[0].h), sym(top[1].h)
    if not last:
        return Eq(c.name, fn("seq_join", fwd, rev), note="each step: both directions' states")
    return Eq(
        c.name,
        fn("seq_join", fn("seq_last", fwd), fn("seq_first", rev)),
        note="each direction's final state: the backward one runs from x_T to x_1, so it ends "
        "at t = 1, after reading the first token last",
    )


# --- backward ----------------------------------------------------------------------------------
def _from_output(c: EquationContext, top: list[Cell]) -> tuple[list[str], list[Eq]]:
    """The gradient reaching each top-layer state from the unit's output: every step's with
    `steps=all`, else only the final step's (t = T going forward, t = 1 going backward)."""
    out = sym(delta(c.name))
    last = c.params["steps"] == "last"
    if len(top) == 1 and not last:
        return [delta(c.name)], []
    names, lines = [], []
    for i, cell in enumerate(top):
        part = out
        if len(top) == 2:
            part = fn("seq_part", out, first=i * cell.n + 1, last=(i + 1) * cell.n)
        if last:
            step = "1" if cell.reverse else "T"
            part = fn("seq_only", part, sym(cell.x), step=step)
        names.append(cell.name("e"))
        lines.append(Eq(cell.name("e"), part))
    note = "only the final state is the output" if last else "each direction's half"
    lines[0] = Eq(lines[0].target, lines[0].expr, note=note)
    return names, lines


def _recurrence(cell: Cell, above: str) -> Expr:
    """delta_h_t: the gradient from above, plus what h_t did at the next step (the chain rule
    through the recurrence: h_t fed step t+1's gates, and a GRU's h_(t+1) directly)."""
    nxt = -cell.prev
    total: Expr = at(above)
    if cell.kind == "gru":
        total = total + at(cell.name("z"), nxt) * at(delta(cell.h), nxt)
    for gate in cell.gates():
        total = total + sym(cell.name("U", gate)).T @ at(_through_u(cell, gate), nxt)
    return total


def _through_u(cell: Cell, gate: str) -> str:
    """The gradient that gate g's U h_(t-1) + d receives: delta_a_g, except in a GRU's
    candidate, where the reset gate scales that part first (delta_u_n = r * delta_a_n)."""
    if cell.kind == "gru" and gate == "n":
        return delta(cell.name("u", "n"))
    return delta(cell.name("a", gate))


def _index(offset: int) -> str:
    return f"(t{offset:+d})"


def _gate_deltas(cell: Cell) -> list[Eq]:
    """delta_a of each gate at step t, from delta_h_t (and the LSTM's delta_c_t)."""
    dh, prev = at(delta(cell.h)), cell.prev
    g = {name: at(cell.name(name)) for name in cell.gates()}

    def a(gate: str, dy: Expr) -> Eq:
        return Eq(delta(cell.name("a", gate)), links.backward(_ACT[gate], g[gate], g[gate], dy))

    if cell.kind == "rnn":
        h = at(cell.h)
        return [Eq(delta(cell.name("a")), links.backward("tanh", h, h, dh))]
    if cell.kind == "gru":
        n_part = sym(cell.name("U", "n")) @ at(cell.h, prev) + sym(cell.name("d", "n"))
        return [
            a("n", dh * (1 - g["z"])),
            Eq(
                delta(cell.name("u", "n")),
                g["r"] * at(delta(cell.name("a", "n"))),
                note=f"{cell.name('u', 'n')} = {n_part}: the part r scales",
            ),
            a("z", dh * (at(cell.h, prev) - g["n"])),
            a("r", at(delta(cell.name("a", "n"))) * n_part),
        ]
    c = cell.name("c")
    tanh_c = fn("tanh", at(c))
    dc = dh * g["o"] * (1 - fn("square", tanh_c)) + at(cell.name("f"), -prev) * at(delta(c), -prev)
    return [
        Eq(delta(c), dc, note=f"c_t also carries into c_{_index(-prev)}, through its forget gate"),
        a("i", at(delta(c)) * g["g"]),
        a("f", at(delta(c)) * at(c, prev)),
        a("g", at(delta(c)) * g["i"]),
        a("o", dh * tanh_c),
    ]


def _backward_loop(cell: Cell, above: str) -> Steps:
    """Backpropagation through time: the steps in the order opposite to the forward pass."""
    body = [
        Eq(delta(cell.h), _recurrence(cell, above), note="the chain rule through the recurrence"),
        *_gate_deltas(cell),
    ]
    # The gradients read at the step after t (in this direction), zero past the last one.
    read = [delta(cell.h), *(_through_u(cell, g) for g in cell.gates())]
    if cell.kind == "lstm":
        read.append(delta(cell.name("c")))
    state = [(name, cell.n) for name in read]
    names = ", ".join(cell.name("a", g) for g in cell.gates())
    what = (
        "argument of the tanh" if cell.kind == "rnn" else "arguments of the gates' sigmoid or tanh"
    )
    start, end = ("the first step on", "t = 1") if cell.reverse else ("the last step back", "t = T")
    note = (
        f"through time, from {start}: the {_index(-cell.prev)} terms are zero at {end}; "
        f"{names}: the {what}"
    )
    return Steps("t", cell.x, tuple(body), tuple(state), reverse=not cell.reverse, note=note)


def _grads(cell: Cell) -> list[Eq]:
    """Each gate's weights and biases: its delta_a against what it multiplied, over n and t."""
    h_prev = fn("seq_shift", sym(cell.h), offset=cell.prev, index=_index(cell.prev))
    out = []
    for gate in cell.gates():
        da = sym(delta(cell.name("a", gate)))
        recurrent = sym(_through_u(cell, gate))
        out += [
            Eq(grad(cell.name("W", gate)), fn("outer", da, sym(cell.x), over=_OVER)),
            Eq(grad(cell.name("b", gate)), fn("sum", da, over=_OVER)),
            Eq(grad(cell.name("U", gate)), fn("outer", recurrent, h_prev, over=_OVER)),
            Eq(grad(cell.name("d", gate)), fn("sum", recurrent, over=_OVER)),
        ]
    return out


def _input_delta(cells: list[Cell]) -> Expr:
    """The gradient of a layer's input at every step: each gate's W^T delta_a, both ways."""
    terms = [
        sym(cell.name("W", g)).T @ sym(delta(cell.name("a", g)))
        for cell in cells
        for g in cell.gates()
    ]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def _to_layer_below(
    c: EquationContext, layer: int, below: list[Cell]
) -> tuple[list[str], list[Eq]]:
    """The gradient reaching each state of the layer below from layer k's input sequence
    x_k (set as `delta_x<k>`): its own half when both directions were joined, through the
    dropout mask while training."""
    names, lines = [], []
    x, mask, p = sym(delta(c.own(f"x{layer}"))), sym(c.own(f"m{layer}")), _dropout(c)
    for i, cell in enumerate(below):
        part: Expr = x
        if len(below) == 2:
            part = fn("seq_part", x, first=i * cell.n + 1, last=(i + 1) * cell.n)
        e = cell.name("e")
        names.append(e)
        if p == 0.0:
            lines.append(Eq(e, part))
        else:
            lines += [Eq(e, part, when="eval"), Eq(e, mask * part / (1 - p), when="train")]
    return names, lines


# --- the unit ----------------------------------------------------------------------------------
def _layers(c: EquationContext, kind: str) -> list[tuple[list[Eq], list[Cell]]]:
    """Every layer: the forward lines that make its input, and its cells (one per direction)."""
    p = c.params
    n, layers, d = _int(p["n"]), _int(p["layers"]), _int(c.in_types[0].dims[1])
    dirs = (False, True) if p["bidirectional"] else (False,)
    out: list[tuple[list[Eq], list[Cell]]] = []
    for k in range(1, layers + 1):
        x, making = _layer_input(c, k, out[-1][1] if out else [])
        size = d if k == 1 else n * len(dirs)
        out.append((making, [Cell(kind, c.name, k, layers, r, n, size, x) for r in dirs]))
    return out


def _backward(c: EquationContext, layers: list[list[Cell]]) -> list[Statement]:
    """From the output's gradient down: each layer's loops through time (the top one first),
    its weights' gradients, then the gradient of its input, which the layer below reads."""
    above, out = _from_output(c, layers[-1])
    lines: list[Statement] = list(out)
    for k in range(len(layers), 0, -1):
        cells = layers[k - 1]
        lines += [_backward_loop(cell, e) for cell, e in zip(cells, above, strict=True)]
        lines += [g for cell in cells for g in _grads(cell)]
        x = cells[0].x
        if k == 1:
            lines.append(Eq(delta(x), _input_delta(cells)))
        elif x == layers[k - 2][0].h:  # one direction, no dropout: the state below is the input
            above = [layers[k - 2][0].name("e")]
            lines.append(Eq(above[0], _input_delta(cells), note="from the layer above"))
        else:
            lines.append(Eq(delta(x), _input_delta(cells)))
            above, split = _to_layer_below(c, k, layers[k - 2])
            lines += split
    return lines


def recurrent_equations(kind: str) -> EquationRule:
    """A recurrent kind's equations: every layer and direction's loop over the steps."""

    def equation(c: EquationContext) -> Equations:
        layers = _layers(c, kind)
        forward: list[Statement] = []
        for making, cells in layers:
            forward += making
            forward += [_forward_loop(cell) for cell in cells]
        stack = [cells for _, cells in layers]
        forward.append(_output(c, stack[-1]))
        return Equations(
            output=c.name,
            forward=tuple(forward),
            tensors=tuple(t for cells in stack for cell in cells for t in _tensors(cell)),
            backward=tuple(_backward(c, stack)),
            random=_dropout(c) > 0 and len(layers) > 1,
        )

    return equation


def embed_equations(c: EquationContext) -> Equations:
    """y = E[x], one learned row per token id; its gradient adds each step's delta into the
    row of its id (the ids, being integers, get none)."""
    ids, table = sym(c.inputs[0]), sym(c.own("E"))
    classes, n = _int(c.in_types[0].classes), _int(c.params["n"])
    over = "n" if c.in_types[0].rank == 0 else "n,t"
    onehot = fn("onehot", ids, classes=classes)
    return Equations(
        output=c.name,
        forward=(Eq(c.name, fn("embed_lookup", table, ids)),),
        tensors=(Tensor(c.own("E"), (classes, n), "weight"),),
        backward=(
            Eq(
                grad(c.own("E")),
                fn("outer", onehot, sym(delta(c.name)), over=over),
                note="token ids are integers: no gradient reaches them",
            ),
        ),
    )
