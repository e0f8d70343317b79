"""The abstract syntax tree: frozen dataclasses, each with the Span it came from.

Spans never take part in equality, so a printed-then-parsed tree equals the original.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netspec.lang.source import NOWHERE, Span


def _span() -> Span:
    return field(default=NOWHERE, compare=False, repr=False)


@dataclass(frozen=True)
class Ident:
    text: str
    span: Span = _span()


@dataclass(frozen=True)
class Number:
    value: int | float
    text: str  # as written, so `fmt` keeps `1e-3` as `1e-3`
    span: Span = _span()


@dataclass(frozen=True)
class String:
    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Ref:
    name: Ident
    span: Span = _span()


@dataclass(frozen=True)
class Arg:
    name: Ident | None  # None for a positional argument
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Call:
    callee: Ident
    args: tuple[Arg, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class BinOp:
    """`a + b`, `a - b`, `a * b` or `a // b`: integer arithmetic, folded when the spec is built."""

    op: str  # one of OPERATORS
    left: Expr
    right: Expr
    span: Span = _span()


# Each operator's precedence: `*` and `//` bind tighter than `+` and `-`; all are left-associative.
OPERATORS = {"+": 1, "-": 1, "*": 2, "//": 2}


@dataclass(frozen=True)
class Repeat:
    """`link * count` or `(a -> b) * count`: the links applied `count` times in a chain."""

    links: tuple[Link, ...]
    count: Number | Ref | BinOp
    grouped: bool  # written with parentheses
    span: Span = _span()


@dataclass(frozen=True)
class Chain:
    """`head -> link -> link`: each link takes the previous value as its first input."""

    head: Call | Ref
    links: tuple[Link, ...]
    span: Span = _span()


Link = Call | Ref | Repeat
Expr = Number | String | Ref | Call | ListExpr | Chain | BinOp


@dataclass(frozen=True)
class InputType:
    """`[1, 8, 8]`, `class(10)`, `class(1000)[T]`, `binary`, `real[3]`."""

    kind: Ident  # `real` when written as a bare shape
    args: tuple[Arg, ...]
    shape: ListExpr | None
    span: Span = _span()


@dataclass(frozen=True)
class Input:
    name: Ident
    type: InputType | None  # None only inside blocks: the call site gives the shape
    span: Span = _span()


@dataclass(frozen=True)
class Let:
    name: Ident
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Assign:
    targets: tuple[Ident, ...]
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Output:
    names: tuple[Ident, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Loss:
    name: Ident | None
    value: Expr
    span: Span = _span()


Statement = Input | Let | Assign | Output | Loss


@dataclass(frozen=True)
class Network:
    name: Ident
    body: tuple[Statement, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Param:
    name: Ident
    default: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class Block:
    name: Ident
    params: tuple[Param, ...]
    body: tuple[Statement, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Setting:
    key: Ident
    value: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Stage:
    name: Ident
    settings: tuple[Setting, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Objective:
    """`objective = min val/loss`: what a sweep minimises or maximises, as written (`fmt` prints
    the quoted form `objective = "min val/loss"` bare)."""

    text: str  # direction and metric, one space between: `min val/loss`
    span: Span = _span()


@dataclass(frozen=True)
class Sweep:
    """`sweep { ... }` in a train section: its dimensions and settings (netspec.plan.sweep)."""

    body: tuple[Setting | Objective, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Train:
    network: Ident
    body: tuple[Setting | Stage | Sweep, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Use:
    path: String
    span: Span = _span()


Item = Use | Let | Network | Block | Train


@dataclass(frozen=True)
class Comment:
    text: str  # with its leading `#`
    span: Span = _span()


@dataclass(frozen=True)
class Module:
    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    file: str = field(default="<string>", compare=False)
