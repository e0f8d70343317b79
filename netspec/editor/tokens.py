"""The token table of `.net` text, derived from the grammar and the registries: one ordered list
of (category, regex) rules that the Pygments lexer and the TextMate grammar both compile.

The grammar says what it can: its keywords and punctuation are the string literals of
`netspec.lark`, and the name, number, string, comment and whitespace patterns are its terminals, so
a keyword added to the grammar reaches every highlighter. On top of the grammar, three semantic
classes: unit kinds and the train catalogue's entries (data sources, optimizers, schedules,
pretraining methods) are builtins; a keyword argument's name (`act=` inside parentheses) and a
train setting's key (`epochs =`) are attributes.

Every regex is written in the common subset of Python's `re` and Oniguruma (TextMate's engine),
and matches within one line, as TextMate matches.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lark import Lark

from netspec.lang.parser import grammar_text

# The coarse classes a highlighter colours; every rule has one.
CATEGORIES = (
    "whitespace",
    "comment",
    "string",
    "number",
    "attribute",
    "keyword",
    "builtin",
    "name",
    "operator",
    "punctuation",
)

# A string literal of the grammar made only of these is punctuation (brackets and separators);
# any other one that is not a word is an operator (`->`, `=`, `+`, `//`).
_PUNCTUATION_CHARS = frozenset("()[]{},:;.")
OPEN_PAREN, CLOSE_PAREN = "(", ")"
_TERMINALS = ("NAME", "NUMBER", "STRING", "COMMENT", "WS")
# The `=` a name is followed by, on the same line, makes it an attribute (`act=relu`).
_BEFORE_EQUALS = r"(?=[ \t]*=)"


@dataclass(frozen=True)
class Rule:
    """One token rule: text matching `pattern` at the current position is of `category`."""

    category: str
    pattern: str


@dataclass(frozen=True)
class TokenTable:
    """What the grammar and the registries say about tokens, and the rules built from it."""

    name: str
    number: str
    string: str
    comment: str
    whitespace: str
    keywords: tuple[str, ...]
    operators: tuple[str, ...]
    punctuation: tuple[str, ...]  # without the parentheses, which open and close a state
    builtins: tuple[str, ...]
    settings: tuple[str, ...]

    def rules(self, in_parens: bool) -> tuple[Rule, ...]:
        """The rules tried in order at each position, outside or inside parentheses (where a
        name before `=` is a keyword argument). The parentheses themselves are left to the
        highlighter, which opens and closes its inside state on them."""
        if in_parens:
            attribute = Rule("attribute", self.name + _BEFORE_EQUALS)
        else:
            attribute = Rule("attribute", _words(self.settings) + _BEFORE_EQUALS)
        return (
            Rule("whitespace", self.whitespace),
            Rule("comment", self.comment),
            Rule("string", self.string),
            Rule("number", self.number),  # before the operators: `-1` is one number
            attribute,
            Rule("keyword", _words(self.keywords)),
            Rule("builtin", _words(self.builtins)),
            Rule("name", self.name),
            Rule("operator", _alternatives(self.operators)),
            Rule("punctuation", _alternatives(self.punctuation)),
        )


def _words(words: tuple[str, ...]) -> str:
    return r"\b(?:" + "|".join(sorted(words, key=lambda w: (-len(w), w))) + r")\b"


def _alternatives(literals: tuple[str, ...]) -> str:
    """Literals longest first, so that `->` wins over `-`."""
    ordered = sorted(literals, key=lambda s: (-len(s), s))
    return "(?:" + "|".join(re.escape(s) for s in ordered) + ")"


@functools.lru_cache(maxsize=1)
def token_table() -> TokenTable:
    """The token table of netspec's grammar and the registries (built once per process; lark
    caches the compiled grammar, as the parser does).

    >>> table = token_table()
    >>> "network" in table.keywords and "->" in table.operators and "dense" in table.builtins
    True
    """
    return derive_table(grammar_text(), cache=True)


def derive_table(grammar: str, cache: bool = False) -> TokenTable:
    """The token table of a lark grammar in netspec's form (its NAME, NUMBER, STRING, COMMENT
    and WS terminals; its keywords and punctuation as string literals)."""
    terminals = Lark(grammar, parser="lalr", cache=cache).terminals
    patterns = {t.name: t.pattern.to_regexp() for t in terminals if t.name in _TERMINALS}
    literals = {t.pattern.value for t in terminals if t.pattern.type == "str"}
    name = patterns["NAME"]
    keywords = tuple(sorted(s for s in literals if re.fullmatch(name, s)))
    symbols = literals - set(keywords)
    punctuation = {s for s in symbols if set(s) <= _PUNCTUATION_CHARS}
    return TokenTable(
        name=name,
        number=patterns["NUMBER"],
        string=patterns["STRING"],
        comment=patterns["COMMENT"],
        whitespace=patterns["WS"],
        keywords=keywords,
        operators=tuple(sorted(symbols - punctuation)),
        punctuation=tuple(sorted(punctuation - {OPEN_PAREN, CLOSE_PAREN})),
        builtins=_builtins(),
        settings=_settings(),
    )


def _builtins() -> tuple[str, ...]:
    from netspec.plan import catalog
    from netspec.units import REGISTRY

    tables = (REGISTRY, catalog.SOURCES, catalog.OPTIMIZERS, catalog.SCHEDULES, catalog.METHODS)
    return tuple(sorted({name for table in tables for name in table}))


def _settings() -> tuple[str, ...]:
    from netspec.plan import catalog

    keys = (*catalog.SCALARS, *catalog.SECTION_KEYS, *catalog.SHARED_KEYS, *catalog.STAGE_KEYS)
    return tuple(sorted(set(keys)))


__all__ = [
    "CATEGORIES",
    "CLOSE_PAREN",
    "OPEN_PAREN",
    "Rule",
    "TokenTable",
    "derive_table",
    "token_table",
]
