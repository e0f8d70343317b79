"""Parse `.net` text into an AST (netspec.ast); lark types never leave this module."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Lark, Token, Transformer, v_args
from lark.tree import Meta

from netspec import ast
from netspec.diagnostics import NetspecError
from netspec.parse_errors import syntax_diagnostic
from netspec.source import Sources, Span


def grammar_text() -> str:
    """The grammar, from the installed package, or from the source tree when run in place."""
    packaged = resources.files("netspec").joinpath("grammar/netspec.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parent.parent / "grammar" / "netspec.lark").read_text("utf-8")


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,
    )


def parse(text: str, file: str = "<string>") -> ast.Module:
    """Parse one `.net` source into a Module; raise NetspecError with every syntax error found.

    >>> parse("network n { input x: [4] }").items[0].name.text
    'n'
    """
    comments: list[ast.Comment] = []
    try:
        tree = _parser().parse(text, on_error=None)
    except lark.exceptions.UnexpectedInput as exc:
        sources = Sources()
        sources.add(file, text)
        raise NetspecError([syntax_diagnostic(exc, text, file, _parser())], sources) from None
    builder = _Builder(file)
    items = builder.transform(tree)
    comments = _comments(text, file)
    return ast.Module(tuple(items), tuple(comments), file)


def _comments(text: str, file: str) -> list[ast.Comment]:
    """Comments with their spans, found by lexing (so a `#` inside a string is no comment)."""
    found: list[ast.Comment] = []
    for token in _parser().lex(text, dont_ignore=True):
        if token.type == "COMMENT":
            found.append(ast.Comment(str(token).rstrip(), _token_span(token, file)))
    return found


def _token_span(tok: Token, file: str) -> Span:
    return Span(
        file,
        tok.start_pos or 0,
        tok.end_pos or 0,
        tok.line or 1,
        tok.column or 1,
        tok.end_line or 1,
        tok.end_column or 1,
    )


@v_args(meta=True)
class _Builder(Transformer[Token, list[ast.Item]]):
    """Turn lark's parse tree into AST nodes; one method per grammar rule or alias."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _span(self, meta: Meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 0, 0, 1, 1, 1, 1)
        return Span(
            self.file, meta.start_pos, meta.end_pos, meta.line, meta.column, meta.end_line, meta.end_column
        )

    def _ident(self, tok: Token) -> ast.Ident:
        return ast.Ident(str(tok), _token_span(tok, self.file))

    def start(self, meta: Meta, items: list[Any]) -> list[ast.Item]:
        return items

    def use(self, meta: Meta, c: list[Any]) -> ast.Use:
        return ast.Use(self._string(c[0]), self._span(meta))

    def let(self, meta: Meta, c: list[Any]) -> ast.Let:
        return ast.Let(self._ident(c[0]), self._value(c[1]), self._span(meta))

    def network(self, meta: Meta, c: list[Any]) -> ast.Network:
        return ast.Network(self._ident(c[0]), tuple(c[1:]), self._span(meta))

    def block(self, meta: Meta, c: list[Any]) -> ast.Block:
        params = tuple(p for p in c[1:] if isinstance(p, ast.Param))
        body = tuple(s for s in c[1:] if s is not None and not isinstance(s, ast.Param))
        return ast.Block(self._ident(c[0]), params, body, self._span(meta))

    def param(self, meta: Meta, c: list[Any]) -> ast.Param:
        default = None if c[1] is None else self._value(c[1])
        return ast.Param(self._ident(c[0]), default, self._span(meta))

    def input(self, meta: Meta, c: list[Any]) -> ast.Input:
        return ast.Input(self._ident(c[0]), c[1], self._span(meta))

    def shape_type(self, meta: Meta, c: list[Any]) -> ast.InputType:
        shape: ast.ListExpr = c[0]
        kind = ast.Ident("real", shape.span)
        return ast.InputType(kind, (), shape, self._span(meta))

    def label_type(self, meta: Meta, c: list[Any]) -> ast.InputType:
        args = tuple(self._arg(a) for a in c[1:-1] if a is not None)
        return ast.InputType(self._ident(c[0]), args, c[-1], self._span(meta))

    def assign(self, meta: Meta, c: list[Any]) -> ast.Assign:
        targets = tuple(self._ident(t) for t in c[:-1])
        return ast.Assign(targets, c[-1], self._span(meta))

    def output(self, meta: Meta, c: list[Any]) -> ast.Output:
        return ast.Output(tuple(self._ident(t) for t in c), self._span(meta))

    def loss(self, meta: Meta, c: list[Any]) -> ast.Loss:
        name = None if c[0] is None else self._ident(c[0])
        return ast.Loss(name, c[1], self._span(meta))

    def train(self, meta: Meta, c: list[Any]) -> ast.Train:
        return ast.Train(self._ident(c[0]), tuple(c[1:]), self._span(meta))

    def stage(self, meta: Meta, c: list[Any]) -> ast.Stage:
        return ast.Stage(self._ident(c[0]), tuple(c[1:]), self._span(meta))

    def setting(self, meta: Meta, c: list[Any]) -> ast.Setting:
        return ast.Setting(self._ident(c[0]), self._value(c[1]), self._span(meta))

    def list(self, meta: Meta, c: list[Any]) -> ast.ListExpr:
        return ast.ListExpr(tuple(self._value(v) for v in c if v is not None), self._span(meta))

    def chain(self, meta: Meta, c: list[Any]) -> ast.Expr:
        if len(c) == 1:
            return self._value(c[0])
        return ast.Chain(c[0], tuple(c[1:]), self._span(meta))

    def call(self, meta: Meta, c: list[Any]) -> ast.Call:
        args = tuple(self._arg(a) for a in c[1:] if a is not None)
        return ast.Call(self._ident(c[0]), args, self._span(meta))

    def ref(self, meta: Meta, c: list[Any]) -> ast.Ref:
        return ast.Ref(self._ident(c[0]), self._span(meta))

    def kwarg(self, meta: Meta, c: list[Any]) -> ast.Arg:
        return ast.Arg(self._ident(c[0]), self._value(c[1]), self._span(meta))

    def repeat(self, meta: Meta, c: list[Any]) -> ast.Repeat:
        return ast.Repeat((c[0],), self._count(c[1]), False, self._span(meta))

    def segment(self, meta: Meta, c: list[Any]) -> ast.Repeat:
        return ast.Repeat(tuple(c[:-1]), self._count(c[-1]), True, self._span(meta))

    # Terminals arrive as tokens; these turn them into AST values.
    def _value(self, v: Any) -> ast.Expr:
        if isinstance(v, Token):
            if v.type == "NUMBER":
                return self._number(v)
            if v.type == "STRING":
                return self._string(v)
            raise AssertionError(f"unexpected token {v.type}")
        return v  # type: ignore[no-any-return]

    def _arg(self, a: Any) -> ast.Arg:
        if isinstance(a, ast.Arg):
            return a
        value = self._value(a)
        return ast.Arg(None, value, value.span)

    def _count(self, v: Any) -> ast.Number | ast.Ref:
        return self._number(v) if isinstance(v, Token) else v  # type: ignore[no-any-return]

    def _number(self, tok: Token) -> ast.Number:
        text = str(tok)
        is_int = not any(ch in text for ch in ".eE")
        return ast.Number(int(text) if is_int else float(text), text, _token_span(tok, self.file))

    def _string(self, tok: Token) -> ast.String:
        body = str(tok)[1:-1]
        value = body.encode("utf-8").decode("unicode_escape") if "\\" in body else body
        return ast.String(value, _token_span(tok, self.file))


__all__ = ["parse", "grammar_text"]
