"""A Pygments lexer for `.net` files, compiled from the token table that the grammar derives.

`pygmentize -l netspec spec.net` finds it through the `pygments.lexers` entry point once netspec
is installed. `ansi_line` colours one source line for diagnostics on a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, ClassVar

from pygments.lexer import RegexLexer  # type: ignore[import-untyped]
from pygments.token import (  # type: ignore[import-untyped]
    Comment,
    Keyword,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Text,
)

from netspec.editor.tokens import CLOSE_PAREN, OPEN_PAREN, TokenTable, token_table

# The Pygments token type of each category of the token table.
TOKEN_TYPES: dict[str, Any] = {
    "whitespace": Text.Whitespace,
    "comment": Comment.Single,
    "string": String.Double,
    "number": Number,
    "attribute": Name.Attribute,
    "keyword": Keyword,
    "builtin": Name.Builtin,
    "name": Name,
    "operator": Operator,
    "punctuation": Punctuation,
}


def _states(table: TokenTable) -> dict[str, list[Any]]:
    """`root` and `parens` (inside parentheses, where `name=` is a keyword argument); an open
    parenthesis enters `parens`, and a closing one leaves it."""

    def state(in_parens: bool) -> list[Any]:
        rules: list[Any] = [(r.pattern, TOKEN_TYPES[r.category]) for r in table.rules(in_parens)]
        rules.append((re.escape(OPEN_PAREN), Punctuation, "parens"))
        rules.append((re.escape(CLOSE_PAREN), Punctuation, "#pop" if in_parens else None))
        return rules

    root = state(in_parens=False)
    root[-1] = root[-1][:2]  # a `)` with no `(` is plain punctuation: nothing to leave
    return {"root": root, "parens": state(in_parens=True)}


class NetspecLexer(RegexLexer):  # type: ignore[misc]
    """Lexer for netspec `.net` model specs."""

    name = "netspec"
    aliases: ClassVar[list[str]] = ["netspec"]
    filenames: ClassVar[list[str]] = ["*.net"]
    mimetypes: ClassVar[list[str]] = ["text/x-netspec"]
    tokens: ClassVar[dict[str, list[Any]]] = _states(token_table())


# Terminal colours (SGR codes) of the categories a quoted source line shows in colour; the rest
# (names, operators, punctuation) stay plain, so the underlines below keep the eye.
_ANSI = {
    "keyword": "\033[35m",
    "builtin": "\033[36m",
    "number": "\033[33m",
    "string": "\033[32m",
    "comment": "\033[2m",
}
_CATEGORY_OF = {token_type: category for category, token_type in TOKEN_TYPES.items()}
_RESET = "\033[0m"


def categorized(text: str) -> Iterator[tuple[str, str]]:
    """(category, text) for each token of `text`; text the lexer cannot match is `error`.

    >>> list(categorized("x -> dense(8)"))[:3]
    [('name', 'x'), ('whitespace', ' '), ('operator', '->')]
    """
    for _, token_type, value in NetspecLexer().get_tokens_unprocessed(text):
        yield _CATEGORY_OF.get(token_type, "error"), value  # Error: text no rule matches


def ansi_line(line: str) -> str:
    """One source line with its keywords, builtins, numbers, strings and comments coloured.

    >>> ansi_line("let n = 4") == "\\033[35mlet\\033[0m n = \\033[33m4\\033[0m"
    True
    """
    out = []
    for category, value in categorized(line):
        style = _ANSI.get(category)
        out.append(f"{style}{value}{_RESET}" if style else value)
    return "".join(out)


__all__ = ["TOKEN_TYPES", "NetspecLexer", "ansi_line", "categorized"]
