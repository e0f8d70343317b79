"""Parse `.net` text into an AST (netspec.lang.ast); lark types never leave this module."""

from __future__ import annotations

import dataclasses
import functools
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import lark
from lark import Lark, Token

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
        self.file = "<string>"
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
    builder = _Builder()
    parser = Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        keep_all_tokens=True,
        maybe_placeholders=True,
        transformer=builder,
        cache=True,
        lexer_callbacks={
            "COMMENT": _on_comment,
            "LPAR": _on_open,
            "LSQB": _on_open,
            "RPAR": _on_close,
            "RSQB": _on_close,
        },
    )
    # The tokens that lark would filter out: keywords and punctuation, written as strings in
    # the grammar (every named terminal is a pattern).
    builder.dropped = frozenset(t.name for t in parser.terminals if t.pattern.type == "str")
    return parser


def parse(text: str, file: str = "<string>") -> ast.Module:
    """Parse one `.net` source into a Module; raise NetspecError for its first syntax error.

    >>> parse("network n { input x: [4] }").items[0].name.text
    'n'
    >>> parse('let s = "a\\\\tb"  # a comment').comments[0].text
    '# a comment'
    """
    parser = _parser()
    _STATE.comments, _STATE.depth, _STATE.active, _STATE.file = [], 0, True, file
    # Parsing allocates many objects and frees none; the cycle collector would only walk them
    # again and again (a third of the time on large specs), so it waits until the AST is built.
    try:
        with collector_paused():
            items: list[Any] = parser.parse(text, on_error=None)  # type: ignore[assignment]
            comments = [ast.Comment(str(t).rstrip(), _token_span(t, file)) for t in _STATE.comments]
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
    """Build AST nodes as the LALR parser reduces each rule: one method per grammar rule or alias.

    Lark calls these during the parse (an inline transformer), so no parse tree is built and
    walked afterwards. Lark keeps every token (`keep_all_tokens`) so that a node's span runs from
    its first token to its last, keywords and brackets included, as lark's own position
    propagation would give; `_split` then drops the punctuation and keywords.
    Rules named with a leading `_` have no method here: lark inlines them.
    """

    def __init__(self) -> None:
        self.dropped: frozenset[str] = frozenset()  # set from the grammar in `_parser`

    def _split(self, c: _Children) -> tuple[Span, _Children]:
        """The span from the first to the last token of a rule, and its children that matter.

        A rule's first child is always there (only `start` may be empty, and it has no span);
        its last may be the placeholder of an absent `[...]`.
        """
        first = c[0]
        last = c[-1]
        i = len(c) - 1
        while last is None:
            i -= 1
            last = c[i]
        if type(first) is Token:
            start, line, col = first.start_pos, first.line, first.column
        else:
            start, _, line, col = first.span[1:5]
        if type(last) is Token:
            end, end_line, end_col = last.end_pos, last.end_line, last.end_column
        else:
            end, end_line, end_col = last.span[2], last.span[5], last.span[6]
        # A lexer's tokens always have positions (lark types them as optional).
        span = Span(_STATE.file, start, end, line, col, end_line, end_col)  # type: ignore[arg-type]
        dropped = self.dropped
        return span, [x for x in c if type(x) is not Token or x.type not in dropped]

    def _ident(self, tok: Token) -> ast.Ident:
        return ast.Ident(str(tok), _token_span(tok, _STATE.file))

    def start(self, c: _Children) -> _Children:
        return c  # items only: `_item` is inlined and has no tokens of its own

    def use(self, c: _Children) -> ast.Use:
        span, c = self._split(c)
        return ast.Use(self._string(c[0]), span)

    def let(self, c: _Children) -> ast.Let:
        span, c = self._split(c)
        return ast.Let(self._ident(c[0]), self._value(c[1]), span)

    def network(self, c: _Children) -> ast.Network:
        span, c = self._split(c)
        return ast.Network(self._ident(c[0]), tuple(c[1:]), span)

    def block(self, c: _Children) -> ast.Block:
        span, c = self._split(c)
        params = tuple(p for p in c[1:] if isinstance(p, ast.Param))
        body = tuple(s for s in c[1:] if s is not None and not isinstance(s, ast.Param))
        return ast.Block(self._ident(c[0]), params, body, span)

    def param(self, c: _Children) -> ast.Param:
        span, c = self._split(c)
        default = None if c[1] is None else self._value(c[1])
        return ast.Param(self._ident(c[0]), default, span)

    def input(self, c: _Children) -> ast.Input:
        span, c = self._split(c)
        return ast.Input(self._ident(c[0]), c[1], span)

    def shape_type(self, c: _Children) -> ast.InputType:
        span, c = self._split(c)
        shape: ast.ListExpr = c[0]
        kind = ast.Ident("real", shape.span)
        return ast.InputType(kind, (), shape, span)

    def label_type(self, c: _Children) -> ast.InputType:
        span, c = self._split(c)
        args = tuple(self._arg(a) for a in c[1:-1] if a is not None)
        return ast.InputType(self._ident(c[0]), args, c[-1], span)

    def assign(self, c: _Children) -> ast.Assign:
        span, c = self._split(c)
        targets = tuple(self._ident(t) for t in c[:-1])
        return ast.Assign(targets, c[-1], span)

    def output(self, c: _Children) -> ast.Output:
        span, c = self._split(c)
        return ast.Output(tuple(self._ident(t) for t in c), span)

    def loss(self, c: _Children) -> ast.Loss:
        span, c = self._split(c)
        name = None if c[0] is None else self._ident(c[0])
        return ast.Loss(name, c[-1], span)  # an absent `NAME =` leaves a placeholder per token

    def train(self, c: _Children) -> ast.Train:
        span, c = self._split(c)
        return ast.Train(self._ident(c[0]), tuple(c[1:]), span)

    def stage(self, c: _Children) -> ast.Stage:
        span, c = self._split(c)
        return ast.Stage(self._ident(c[0]), tuple(c[1:]), span)

    def sweep(self, c: _Children) -> ast.Sweep:
        span, c = self._split(c)
        return ast.Sweep(tuple(c), span)

    def dotted_setting(self, c: _Children) -> ast.Setting:
        """`pretrain.epochs = ...` in a sweep: one setting whose key is `pretrain.epochs`."""
        span, c = self._split(c)
        return ast.Setting(self._ident(c[0]), self._value(c[1]), span)

    def objective(self, c: _Children) -> ast.Objective:
        span, c = self._split(c)
        parts = [x for x in c if x is not None]
        if len(parts) == 1 and isinstance(parts[0], Token) and parts[0].type == "STRING":
            text = " ".join(self._string(parts[0]).value.split())
        else:
            text = " ".join(str(x) for x in parts)
        return ast.Objective(text, span)

    def setting(self, c: _Children) -> ast.Setting:
        span, c = self._split(c)
        return ast.Setting(self._ident(c[0]), self._value(c[1]), span)

    def list(self, c: _Children) -> ast.ListExpr:
        span, c = self._split(c)
        return ast.ListExpr(tuple(self._value(v) for v in c if v is not None), span)

    def chain(self, c: _Children) -> ast.Expr:
        if len(c) == 1:
            return self._value(c[0])
        span, c = self._split(c)
        return ast.Chain(c[0], tuple(c[1:]), span)

    def call(self, c: _Children) -> ast.Call:
        span, c = self._split(c)
        args = tuple([self._arg(a) for a in c[1:] if a is not None])
        return ast.Call(self._ident(c[0]), args, span)

    def ref(self, c: _Children) -> ast.Ref:
        span = _token_span(c[0], _STATE.file)
        return ast.Ref(ast.Ident(str(c[0]), span), span)

    def kwarg(self, c: _Children) -> ast.Arg:
        span, c = self._split(c)
        return ast.Arg(self._ident(c[0]), self._value(c[1]), span)

    def repeat(self, c: _Children) -> ast.Repeat:
        span, c = self._split(c)
        return ast.Repeat((c[0],), self._count(c[1]), False, span)

    def segment(self, c: _Children) -> ast.Repeat:
        span, c = self._split(c)
        return ast.Repeat(tuple(c[:-1]), self._count(c[-1]), True, span)

    def add(self, c: _Children) -> ast.BinOp:
        return self._binop("+", c)

    def sub(self, c: _Children) -> ast.BinOp:
        return self._binop("-", c)

    def mul(self, c: _Children) -> ast.BinOp:
        return self._binop("*", c)

    def floordiv(self, c: _Children) -> ast.BinOp:
        return self._binop("//", c)

    def _binop(self, op: str, c: _Children) -> ast.BinOp:
        span, c = self._split(c)
        return ast.BinOp(op, self._value(c[0]), self._value(c[1]), span)

    def atom(self, c: _Children) -> ast.Expr:
        """`( value )`: the value, its span widened to the brackets (an excerpt shows them)."""
        span, c = self._split(c)
        return dataclasses.replace(self._value(c[0]), span=span)

    count = atom  # `dense(8) * (n + 1)`

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

    def _count(self, v: Any) -> ast.Number | ast.Ref | ast.BinOp:
        return self._number(v) if isinstance(v, Token) else v  # type: ignore[no-any-return]

    def _number(self, tok: Token) -> ast.Number:
        text = str(tok)
        value: int | float
        if "." in text or "e" in text or "E" in text:
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
        return ast.Number(value, text, _token_span(tok, _STATE.file))

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
        return ast.String(value, _token_span(tok, _STATE.file))


__all__ = ["MAX_NESTING", "grammar_text", "parse", "unescape"]
