"""Turn lark's syntax errors into diagnostics, with friendly messages for common mistakes."""

from __future__ import annotations

from dataclasses import dataclass

import lark
from lark import Lark

from netspec.diagnostics import Diagnostic, did_you_mean, error
from netspec.source import Span

KEYWORDS = ("use", "let", "network", "block", "train", "stage", "input", "output", "loss")
_TOP_LEVEL = ("network", "block", "train", "let", "use")


@dataclass(frozen=True)
class _Mistake:
    message: str
    help: str
    examples: tuple[str, ...]


# LALR matches an example only when it fails in the same parser state, so each mistake is shown
# at the top of a body and after a preceding statement.
_MISTAKES: dict[str, _Mistake] = {
    "kwarg_colon": _Mistake(
        "keyword arguments use `=`, not `:`",
        "write `name=value`, as in `dense(64, act=relu)`",
        (
            "network n { y = f(a: 1) }",
            "network n { y = f(x, a: 1) }",
            "network n { input x: [1] y = f(x, a: 1) }",
        ),
    ),
    "missing_comma": _Mistake(
        "arguments must be separated by `,`",
        "put a comma between the arguments, as in `dense(x, 64)`",
        (
            "network n { y = f(x 1) }",
            "network n { y = f(x, 1 2) }",
            "network n { y = f(1 x) }",
            "network n { y = f(a=1 b) }",
            "network n { y = f(x y) }",
            'network n { y = f("a" 1) }',
        ),
    ),
    "input_equals": _Mistake(
        "an input's type follows `:`, not `=`",
        "write `input x: [64]`, or `input y: class(10)` for labels",
        ("network n { input x = [1] }", "network n { input a: [1] input x = [1] }"),
    ),
    "dangling_arrow": _Mistake(
        "a chain cannot end with `->`",
        "put a unit after `->`, as in `x -> relu`, or remove the arrow",
        (
            "network n { y = x -> }",
            "network n { y = x -> relu -> }",
            "network n { y = x -> 1 }",
        ),
    ),
    "loss_assign": _Mistake(
        "`loss` starts a loss statement; it takes a loss call, not `=`",
        "write `loss cross_entropy(y, label)` or name it: `loss task = mse(y, target)`",
        ("network n { loss = f(y) }", "network n { input x: [1] loss = f(y) }"),
    ),
    "missing_equals": _Mistake(
        "a statement needs `=` between the name and its value",
        "write `name = value`, as in `h = dense(x, 64)`",
        (
            "network n { y dense(x) }",
            "network n { input x: [1] y dense(x) }",
            "train n { batch 1 }",
            "train n { epochs = 1 batch 1 }",
        ),
    ),
}


def syntax_diagnostic(exc: lark.exceptions.UnexpectedInput, text: str, file: str, parser: Lark) -> Diagnostic:
    """The one diagnostic for a syntax error, pointing at the offending token or character."""
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        return _bad_character(exc, text, file)
    assert isinstance(exc, lark.exceptions.UnexpectedToken)
    token = exc.token
    if token.type == "$END":
        span = _end_span(text, file)
        expected = _expected(exc.expected, parser)
        return error(
            "E103",
            "unexpected end of file",
            span,
            f"expected {expected} here",
            help="a `{` is probably not closed by a `}`" if "`}`" in expected else None,
        )
    span = Span(
        file,
        token.start_pos or 0,
        token.end_pos or 0,
        token.line or 1,
        token.column or 1,
        token.end_line or 1,
        token.end_column or 1,
    )
    mistake = _match_mistake(exc, parser)
    if mistake is not None:
        return error("E104", mistake.message, span, "here", help=mistake.help)
    word = str(token)
    expected = _expected(exc.expected, parser)
    hint = None
    if token.type == "NAME" and any(t in exc.expected for t in ("NETWORK", "BLOCK", "TRAIN")):
        hint = did_you_mean(word, _TOP_LEVEL) or "a file holds `network`, `block`, `train`, `let` and `use` items"
    elif token.type == "NAME" and word not in KEYWORDS:
        hint = did_you_mean(word, KEYWORDS)
    elif word in KEYWORDS:
        hint = f"`{word}` is a keyword and cannot be used as a name here"
    return error("E101", f"unexpected `{word}`", span, f"expected {expected}", help=hint)


def _bad_character(exc: lark.exceptions.UnexpectedCharacters, text: str, file: str) -> Diagnostic:
    pos = exc.pos_in_stream
    char = text[pos] if pos < len(text) else ""
    span = Span(file, pos, pos + 1, exc.line, exc.column, exc.line, exc.column + 1)
    hints = {
        ";": "statements need no `;`: the next statement starts on its own",
        "'": 'strings use double quotes: "like this"',
        "/": "comments start with `#`",
        "{": "a `{` opens only a `network`, `block`, `train` or `stage` body",
    }
    if char == '"':
        return error("E102", "string is not closed", span, "this string has no closing `\"`",
                     help="close the string on the same line")
    shown = repr(char) if not char.isprintable() or char == " " else f"`{char}`"
    return error("E102", f"unexpected character {shown}", span, "not part of the language",
                 help=hints.get(char))


def _match_mistake(exc: lark.exceptions.UnexpectedToken, parser: Lark) -> _Mistake | None:
    examples = {key: list(m.examples) for key, m in _MISTAKES.items()}
    try:
        key = exc.match_examples(
            parser.parse, examples, token_type_match_fallback=True, use_accepts=True
        )
    except Exception:  # an example that parses raises nothing useful; never let it mask the error
        return None
    return _MISTAKES.get(key) if isinstance(key, str) else None


_PUNCT_NAMES = {"NAME": "a name", "NUMBER": "a number", "STRING": "a string"}


def _expected(names: set[str], parser: Lark) -> str:
    """Lark's terminal names as the words a user would type, sorted, at most six."""
    shown: set[str] = set()
    for name in names:
        if name in _PUNCT_NAMES:
            shown.add(_PUNCT_NAMES[name])
            continue
        try:
            pattern = parser.get_terminal(name).pattern
        except KeyError:
            continue
        shown.add(f"`{pattern.value}`" if pattern.type == "str" else name.lower())
    words = sorted(shown, key=lambda w: (not w.startswith("`"), w))
    if not words:
        return "something else"
    if len(words) > 6:
        words = words[:6] + ["..."]
    return " or ".join(words) if len(words) <= 2 else ", ".join(words[:-1]) + " or " + words[-1]


def _end_span(text: str, file: str) -> Span:
    lines = text.split("\n")
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    line = len(lines)
    col = len(lines[-1]) + 1
    offset = sum(len(x) + 1 for x in lines[:-1]) + len(lines[-1])
    return Span(file, offset, offset, line, col, line, col + 1)
