"""Parse `.net` text into an AST (netspec.lang.ast); lark types never leave this module."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Lark, Token, Tree
from lark.tree import Meta

from netspec.diagnostics.core import Diagnostic, NetspecError, error
from netspec.lang import ast
from netspec.lang.collector import collector_paused
from netspec.lang.parse_errors import syntax_diagnostic
from netspec.lang.source import Sources, Span


def grammar_text() -> str:
    """The grammar, from the installed package, or from the source tree when run in place."""
    packaged = resources.files("netspec").joinpath("grammar/netspec.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "grammar" / "netspec.lark").read_text("utf-8")


# Brackets nested deeper than this are refused (E101) before anything recurses over them.
MAX_NESTING = 64
ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r"}


class _State(threading.local):
    """What the lexer callbacks collect during one parse (per thread: the parser is shared)."""

    def __init__(self) -> None:
        self.comments: list[Token] = []
        self.depth = 0
        self.active = False  # off while parse_errors re-parses its examples


_STATE = _State()


class _Refused(Exception):
    """A token the grammar accepts but the language does not: turned into one diagnostic."""

    def __init__(self, code: str, message: str, tok: Token, label: str, help: str) -> None:
        super().__init__(message)
        self.code, self.message, self.tok, self.label, self.help = code, message, tok, label, help


def _on_comment(tok: Token) -> Token:
    _STATE.comments.append(tok)
    return tok


def _on_open(tok: Token) -> Token:
    _STATE.depth += 1
    if _STATE.depth > MAX_NESTING and _STATE.active:
        raise _Refused(
            "E101",
            f"brackets are nested more than {MAX_NESTING} deep",
            tok,
            "too deep",
            "name the inner values with `let` or assignments",
        )
    return tok


def _on_close(tok: Token) -> Token:
    _STATE.depth -= 1
    return tok


@functools.lru_cache(maxsize=1)
def _parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,
        lexer_callbacks={
            "COMMENT": _on_comment,
            "LPAR": _on_open,
            "LSQB": _on_open,
            "RPAR": _on_close,
            "RSQB": _on_close,
        },
    )


def parse(text: str, file: str = "<string>") -> ast.Module:
    """Parse one `.net` source into a Module; raise NetspecError for its first syntax error.

    >>> parse("network n { input x: [4] }").items[0].name.text
    'n'
    >>> parse('let s = "a\\\\tb"  # a comment').comments[0].text
    '# a comment'
    """
    parser = _parser()
    _STATE.comments, _STATE.depth, _STATE.active = [], 0, True
    # Parsing allocates many objects and frees none; the cycle collector would only walk them
    # again and again (a third of the time on large specs), so it waits until the tree is built.
    try:
        with collector_paused():
            tree = parser.parse(text, on_error=None)
            comments = [ast.Comment(str(t).rstrip(), _token_span(t, file)) for t in _STATE.comments]
            items = _Builder(file).build(tree)
    except lark.exceptions.UnexpectedInput as exc:
        _STATE.active = False
        raise _error(syntax_diagnostic(exc, text, file, parser), file, text) from None
    except _Refused as exc:
        raise _error(_refusal(exc, file), file, text) from None
    finally:
        _STATE.comments, _STATE.active = [], False
    return ast.Module(tuple(items), tuple(comments), file)


def _error(diagnostic: Diagnostic, file: str, text: str) -> NetspecError:
    sources = Sources()
    sources.add(file, text)
    return NetspecError([diagnostic], sources)


def _refusal(exc: _Refused, file: str) -> Diagnostic:
    return error(exc.code, exc.message, _token_span(exc.tok, file), exc.label, help=exc.help)


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


def unescape(body: str) -> str | None:
    """The value of a string literal's body (between the quotes), or None for a bad escape.

    >>> unescape(r'a\\"b\\\\c\\td\\né')
    'a"b\\\\c\\td\\né'
    >>> unescape(r"\\q") is None
    True
    """
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            decoded = ESCAPES.get(body[i + 1 : i + 2])
            if decoded is None:
                return None
            out.append(decoded)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_Children = list[Any]  # a rule's children (a method named `list` shadows the builtin below)


class _Builder:
    """Turn lark's parse tree into AST nodes, bottom up; one method per grammar rule or alias.

    A plain walk rather than a lark Transformer: it is twice as fast, and the recursion is
    bounded because brackets nest at most MAX_NESTING deep and chains and bodies are flat.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.rules: dict[str, Callable[[Meta, _Children], Any]] = {}

    def build(self, tree: Tree[Token]) -> Any:
        children = [self.build(c) if isinstance(c, Tree) else c for c in tree.children]
        rule = self.rules.get(tree.data)
        if rule is None:
            rule = self.rules[tree.data] = getattr(self, str(tree.data))
        return rule(tree.meta, children)

    def _span(self, meta: Meta) -> Span:
        if getattr(meta, "empty", True):
            return Span(self.file, 0, 0, 1, 1, 1, 1)
        return Span(
            self.file,
            meta.start_pos,
            meta.end_pos,
            meta.line,
            meta.column,
            meta.end_line,
            meta.end_column,
        )

    def _ident(self, tok: Token) -> ast.Ident:
        return ast.Ident(str(tok), _token_span(tok, self.file))

    def start(self, meta: Meta, items: list[Any]) -> _Children:
        return items

    def use(self, meta: Meta, c: _Children) -> ast.Use:
        return ast.Use(self._string(c[0]), self._span(meta))

    def let(self, meta: Meta, c: _Children) -> ast.Let:
        return ast.Let(self._ident(c[0]), self._value(c[1]), self._span(meta))

    def network(self, meta: Meta, c: _Children) -> ast.Network:
        return ast.Network(self._ident(c[0]), tuple(c[1:]), self._span(meta))

    def block(self, meta: Meta, c: _Children) -> ast.Block:
        params = tuple(p for p in c[1:] if isinstance(p, ast.Param))
        body = tuple(s for s in c[1:] if s is not None and not isinstance(s, ast.Param))
        return ast.Block(self._ident(c[0]), params, body, self._span(meta))

    def param(self, meta: Meta, c: _Children) -> ast.Param:
        default = None if c[1] is None else self._value(c[1])
        return ast.Param(self._ident(c[0]), default, self._span(meta))

    def input(self, meta: Meta, c: _Children) -> ast.Input:
        return ast.Input(self._ident(c[0]), c[1], self._span(meta))

    def shape_type(self, meta: Meta, c: _Children) -> ast.InputType:
        shape: ast.ListExpr = c[0]
        kind = ast.Ident("real", shape.span)
        return ast.InputType(kind, (), shape, self._span(meta))

    def label_type(self, meta: Meta, c: _Children) -> ast.InputType:
        args = tuple(self._arg(a) for a in c[1:-1] if a is not None)
        return ast.InputType(self._ident(c[0]), args, c[-1], self._span(meta))

    def assign(self, meta: Meta, c: _Children) -> ast.Assign:
        targets = tuple(self._ident(t) for t in c[:-1])
        return ast.Assign(targets, c[-1], self._span(meta))

    def output(self, meta: Meta, c: _Children) -> ast.Output:
        return ast.Output(tuple(self._ident(t) for t in c), self._span(meta))

    def loss(self, meta: Meta, c: _Children) -> ast.Loss:
        name = None if c[0] is None else self._ident(c[0])
        return ast.Loss(name, c[1], self._span(meta))

    def train(self, meta: Meta, c: _Children) -> ast.Train:
        return ast.Train(self._ident(c[0]), tuple(c[1:]), self._span(meta))

    def stage(self, meta: Meta, c: _Children) -> ast.Stage:
        return ast.Stage(self._ident(c[0]), tuple(c[1:]), self._span(meta))

    def setting(self, meta: Meta, c: _Children) -> ast.Setting:
        return ast.Setting(self._ident(c[0]), self._value(c[1]), self._span(meta))

    def list(self, meta: Meta, c: _Children) -> ast.ListExpr:
        return ast.ListExpr(tuple(self._value(v) for v in c if v is not None), self._span(meta))

    def chain(self, meta: Meta, c: _Children) -> ast.Expr:
        if len(c) == 1:
            return self._value(c[0])
        return ast.Chain(c[0], tuple(c[1:]), self._span(meta))

    def call(self, meta: Meta, c: _Children) -> ast.Call:
        args = tuple(self._arg(a) for a in c[1:] if a is not None)
        return ast.Call(self._ident(c[0]), args, self._span(meta))

    def ref(self, meta: Meta, c: _Children) -> ast.Ref:
        return ast.Ref(self._ident(c[0]), self._span(meta))

    def kwarg(self, meta: Meta, c: _Children) -> ast.Arg:
        return ast.Arg(self._ident(c[0]), self._value(c[1]), self._span(meta))

    def repeat(self, meta: Meta, c: _Children) -> ast.Repeat:
        return ast.Repeat((c[0],), self._count(c[1]), False, self._span(meta))

    def segment(self, meta: Meta, c: _Children) -> ast.Repeat:
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
        value: int | float
        if any(ch in text for ch in ".eE"):
            value = float(text)
        else:
            try:
                value = int(text)
            except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
                raise _Refused(
                    "E404",
                    f"the number `{text[:12]}...` has too many digits",
                    tok,
                    "too large",
                    "write large values with an exponent, as in 1e9",
                ) from None
        return ast.Number(value, text, _token_span(tok, self.file))

    def _string(self, tok: Token) -> ast.String:
        value = unescape(str(tok)[1:-1])
        if value is None:
            raise _Refused(
                "E102",
                "unknown escape sequence in string",
                tok,
                "bad escape",
                'a string may hold \\\\, \\", \\n, \\t and \\r; write \\\\ for a backslash',
            )
        return ast.String(value, _token_span(tok, self.file))


__all__ = ["MAX_NESTING", "grammar_text", "parse", "unescape"]
