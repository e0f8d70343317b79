"""What the build's diagnostics quote: how expressions read, what they end in, and name hints."""

from __future__ import annotations

from typing import Any

from netspec.build.values import Symbol
from netspec.diagnostics.core import Diagnostic, did_you_mean, error
from netspec.lang import ast
from netspec.lang.printer import format_expr
from netspec.lang.source import Span


def source_text(expr: ast.Expr | ast.Link) -> str:
    return format_expr(expr)


def with_first_arg(call: ast.Call, first: str) -> str:
    """The call as written with `first` passed as its first argument."""
    arg = ast.Arg(None, ast.Ref(ast.Ident(first)))
    return source_text(ast.Call(call.callee, (arg, *call.args)))


def as_call(link: ast.Call | ast.Ref) -> ast.Call:
    """A bare name in a chain (`x -> relu`) is a call without arguments."""
    return link if isinstance(link, ast.Call) else ast.Call(link.name, (), link.span)


def last_link(link: ast.Link) -> ast.Call | ast.Ref:
    while isinstance(link, ast.Repeat):
        link = link.links[-1]
    return link


def last_call(expr: ast.Expr) -> ast.Call | None:
    """The call that gives an expression its value, if it ends in one."""
    if isinstance(expr, ast.Call):
        return expr
    if isinstance(expr, ast.Chain):
        return as_call(last_link(expr.links[-1]))
    return None


def split_args(args: tuple[ast.Arg, ...]) -> tuple[list[ast.Arg], list[ast.Arg]]:
    """Positional then keyword arguments, each in the order written."""
    return [a for a in args if a.name is None], [a for a in args if a.name is not None]


def is_literal(expr: ast.Expr) -> bool:
    return isinstance(expr, (ast.Number, ast.String, ast.ListExpr))


def literal(expr: ast.Expr) -> Any:
    if isinstance(expr, (ast.Number, ast.String)):
        return expr.value
    if isinstance(expr, ast.ListExpr):
        return tuple(literal(i) for i in expr.items)
    return Symbol("?")


def misplaced_loss(name: str, span: Span, label: str, statement: str) -> Diagnostic:
    """A loss kind used where a tensor is built; `statement` is the loss statement to write."""
    return error(
        "E206",
        f"`{name}` is a loss and can only end a `loss` statement",
        span,
        label,
        help=f"write a loss statement: `{statement}`",
    )


def listing(names: set[str]) -> str | None:
    if not names:
        return None
    shown = sorted(names)[:8]
    return "names here: " + ", ".join(f"`{n}`" for n in shown) + (", ..." if len(names) > 8 else "")


def closest(name: str, candidates: set[str]) -> str | None:
    hint = did_you_mean(name, candidates)
    return hint.split("`")[1] if hint else None


def example_names(names: list[str], n: int) -> list[str]:
    """`n` names for the values of a multi-output block, keeping the ones already written."""
    return (names + [f"out{i + 1}" for i in range(len(names), n)])[:n]


def inside(span: Span, outer: Span) -> bool:
    return span.file == outer.file and outer.start <= span.start and span.end <= outer.end
