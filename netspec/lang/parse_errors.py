"""Turn lark's syntax errors into diagnostics, with friendly messages for common mistakes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import lark
from lark import Lark

from netspec.diagnostics.core import Diagnostic, did_you_mean, error
from netspec.lang.source import Span

KEYWORDS = ("use", "let", "network", "block", "train", "stage", "input", "output", "loss")
_TOP_LEVEL = ("network", "block", "train", "let", "use")
_STATEMENT_KEYWORDS = ("input", "output", "loss", "let", "stage")

# A fix takes the offending line and the 0-based column of the offending token, and gives the
# corrected line, or None when it cannot say.
Fix = Callable[[str, int], "str | None"]


@dataclass(frozen=True)
class _Mistake:
    message: str
    label: str
    help: str  # shown when no corrected line can be given
    examples: tuple[str, ...]
    fix: Fix | None = None
    whole_line: bool = False  # the fix rewrites the line from its start, so it needs no left side


def _replace_token(line: str, col: int, new: str, width: int = 1) -> str:
    return line[:col].rstrip() + new + line[col + width :].lstrip()


def _insert_before(line: str, col: int, new: str) -> str:
    return line[:col].rstrip() + new + line[col:]


def _name_before(line: str, col: int) -> int | None:
    """The column where the name just before `col` starts, if a name is there."""
    match = re.search(r"[A-Za-z_]\w*\s*$", _strip_comments(line[:col]))
    return match.start() if match else None


def _let_line(line: str) -> str:
    stripped = line.lstrip()
    return line[: len(line) - len(stripped)] + "let " + stripped


def _fix_bare(line: str, col: int) -> str:
    stripped = line.lstrip()
    return line[: len(line) - len(stripped)] + "y = " + stripped


# Each mistake is recognised by the parser state it fails in (see `_match_mistake`), so the
# examples only need to reach each state once; contexts differ when the state differs.
_MISTAKES: dict[str, _Mistake] = {
    "kwarg_colon": _Mistake(
        "keyword arguments use `=`, not `:`",
        "expected `=` here",
        "write `name=value`, as in `dense(64, act=relu)`",
        (
            "network n { y = f(a: 1) }",
            "network n { y = f(x, a: 1) }",
            "network n { input x: [1] y = f(x, a: 1) }",
        ),
        lambda line, col: (
            None if line[col + 1 :].lstrip().startswith("=") else _replace_token(line, col, "=")
        ),
    ),
    "missing_comma": _Mistake(
        "arguments must be separated by `,`",
        "expected `,` before this",
        "put a comma between the arguments, as in `dense(x, 64)`",
        (
            "network n { y = f(x 1) }",
            "network n { y = f(x, 1 2) }",
            "network n { y = f(1 x) }",
            "network n { y = f(a=1 b) }",
            "network n { y = f(x y) }",
            'network n { y = f("a" 1) }',
            "network n { y = f(x [1]) }",
        ),
        lambda line, col: _insert_before(line, col, ", "),
    ),
    "input_equals": _Mistake(
        "an input's type follows `:`, not `=`",
        "expected `:` here",
        "write `input x: [64]`, or `input y: class(10)` for labels",
        ("network n { input x = [1] }", "network n { input a: [1] input x = [1] }"),
        lambda line, col: _replace_token(line, col, ": "),
    ),
    "dangling_arrow": _Mistake(
        "a chain cannot end with `->`",
        "expected a unit here",
        "put a unit after `->`, as in `x -> relu`, or remove the arrow",
        (
            "network n { y = x -> }",
            "network n { y = x -> relu -> }",
            "network n { y = x -> 1 }",
        ),
    ),
    "loss_assign": _Mistake(
        "`loss` starts a loss statement; it takes a loss call, not `=`",
        "`loss` takes no `=`",
        "write `loss cross_entropy(y, label)` or name it: `loss task = mse(y, target)`",
        ("network n { loss = f(y) }", "network n { input x: [1] loss = f(y) }"),
        lambda line, col: _replace_token(line, col, " "),
    ),
    "missing_equals": _Mistake(
        "a statement needs `=` between the name and its value",
        "expected `=` before this",
        "write `name = value`, as in `h = dense(x, 64)`",
        (
            "network n { y dense(x) }",
            "network n { input x: [1] y dense(x) }",
            "network n { input x: [1] y }",
            "train n { batch 1 }",
            "train n { epochs = 1 batch 1 }",
        ),
        lambda line, col: _insert_before(line, col, " = "),
    ),
    "missing_arrow": _Mistake(
        "the steps of a chain are joined by `->`",
        "expected `->` before this",
        "join the steps with `->`, as in `h = x -> dense(64)`",
        ("network n { y = x f(1) }", "network n { input x: [1] y = x f(1) }"),
        lambda line, col: _insert_before(line, col, " -> "),
    ),
    "bare_chain": _Mistake(
        "a chain must be assigned to a name, or follow `loss`",
        "expected `name =` before this",
        "write `y = x -> dense(10)`, or `loss ...` for a loss",
        ("network n { x -> f }", "network n { input x: [1] x -> f }"),
        lambda line, col: _fix_bare(line, col),
        whole_line=True,
    ),
    "value_assign": _Mistake(
        "`=` in a body names a tensor; a plain value is named with `let`",
        "a value, not a tensor",
        "write `let name = value`",
        (
            "network n { y = 1 }",
            'network n { y = "a" }',
            "network n { y = [1] }",
            "network n { input x: [1] y = 1 }",
        ),
        lambda line, col: _let_line(line),
    ),
    "bare_call": _Mistake(  # told apart from `missing_arrow` by the text, not the state
        "a call must be assigned to a name, or follow `loss`",
        "expected `name =` before this",
        "write `h = dense(x, 64)`",
        (),
        lambda line, col: _fix_bare(line, col),
        whole_line=True,
    ),
    "arrow_typo": _Mistake(
        "chains are written with `->`, not `=>`",
        "expected `->` here",
        "write `x -> dense(64)`",
        (),
        lambda line, col: _replace_token(line, col, " -> ", width=2),
    ),
}


def syntax_diagnostic(
    exc: lark.exceptions.UnexpectedInput, text: str, file: str, parser: Lark
) -> Diagnostic:
    """The one diagnostic for a syntax error, pointing at the offending token or character."""
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        return _bad_character(exc, text, file)
    assert isinstance(exc, lark.exceptions.UnexpectedToken)
    token = exc.token
    if token.type == "$END":
        dangling = _dangling_arrow(text, len(text.rstrip()), file, eof=True)
        if dangling is not None:
            return dangling
        return _end_of_file(exc, text, file, parser)
    span = _token_span(token, file)
    found = _special_case(exc, text, span, file)
    if found is not None:
        return found
    key = _match_mistake(exc, parser)
    if key == "missing_equals":
        misspelt = _misspelt_statement(text, span, file)
        if misspelt is not None:
            return misspelt
        name = _name_span(text, span)
        if name.line != span.line and not _first_on_line(text, name.start):
            # `conv2d(8, 3) relu` then a new line: the step before the line end lacks its `->`
            return _mistake_diagnostic(_MISTAKES["missing_arrow"], text, name, file)
        if name.line != span.line:  # `relu` alone on a line: point at it, not at the next line
            return error(
                "E104",
                _MISTAKES[key].message,
                name,
                "expected `=` after this",
                help="continue a chain with `->` on the same statement, or write `name = value`",
            )
    if key == "missing_arrow":
        if _starts_statement(text, span):
            key = "bare_call"
        else:
            span = _name_span(text, span)
    if key == "value_assign" and not _LITERAL_LINE.match(text[span.start :]):
        key = None
    if key in ("bare_chain", "bare_call"):
        span = _name_span(text, span)
    if key == "dangling_arrow":
        dangling = _dangling_arrow(text, span.start, file, eof=False)
        if dangling is not None:
            return dangling
    if key is not None:
        return _mistake_diagnostic(_MISTAKES[key], text, span, file)
    return _unexpected(exc, text, span, parser)


def _unexpected(
    exc: lark.exceptions.UnexpectedToken, text: str, span: Span, parser: Lark
) -> Diagnostic:
    token = exc.token
    word = str(token)
    expected = _expected(exc.expected, parser)
    hint = None
    if token.type == "NAME" and any(t in exc.expected for t in ("NETWORK", "BLOCK", "TRAIN")):
        hint = (
            did_you_mean(word, _TOP_LEVEL)
            or "a file holds `network`, `block`, `train`, `let` and `use` items"
        )
    elif token.type == "NAME" and word not in KEYWORDS:
        hint = did_you_mean(word, KEYWORDS)
    elif word in KEYWORDS:
        hint = f"`{word}` is a keyword and cannot be used as a name here"
    elif word == "(" and exc.expected == {"LBRACE"}:
        header = _previous_words(text, span.start, 2)
        if header and header[0] == "network":
            hint = (
                "a network takes no parameters; write `network NAME {`, and put parameters "
                "on a `block`"
            )
    return error("E101", f"unexpected `{word}`", span, f"expected {expected}", help=hint)


def _special_case(
    exc: lark.exceptions.UnexpectedToken, text: str, span: Span, file: str
) -> Diagnostic | None:
    """Mistakes that the parser state alone does not tell apart."""
    if text.startswith("=>", span.start):
        return _mistake_diagnostic(_MISTAKES["arrow_typo"], text, _with_width(span, 2), file)
    words = _previous_words(text, span.start, 1)
    if (
        words
        and words[0] in KEYWORDS
        and words[0] != "loss"
        and exc.token.type == "EQUAL"
        and exc.expected == {"NAME"}
    ):
        keyword = words[0]
        start = text.rindex(keyword, 0, span.start)
        kw_span = _span_at(text, file, start, start + len(keyword))
        alt = {
            "output": "out",
            "input": "inputs",
            "let": "value",
            "stage": "phase",
            "network": "net",
            "block": "blk",
            "train": "training",
            "use": "usage",
        }[keyword]
        return error(
            "E101",
            f"`{keyword}` is a keyword and cannot be used as a name",
            kw_span,
            "a keyword, not a name",
            help=f"pick another name, such as `{alt}`",
        )
    # `-> output h`: a chain ending with `->` swallows the next statement's first word.
    return (
        _unclosed_item(exc, text, span, file)
        or _dangling_arrow(text, span.start, file, eof=False)
        or _mismatched(text, span, file, str(exc.token))
        or _unclosed_before(text, span, file)
    )


def _misspelt_statement(text: str, span: Span, file: str) -> Diagnostic | None:
    """`inptu x: [4]`: the first word of a statement is close to a statement keyword."""
    start = _name_before(text[: span.start], span.start)
    if start is None:
        return None
    word = text[start : span.start].strip()
    hint = did_you_mean(word, _STATEMENT_KEYWORDS)
    if hint is None:
        return None
    span = _span_at(text, file, start, start + len(word))
    return error("E101", f"unknown statement `{word}`", span, "not a keyword", help=hint)


def _dangling_arrow(text: str, pos: int, file: str, eof: bool) -> Diagnostic | None:
    """A `->` followed by nothing, or at the end of a line whose next line starts a statement."""
    before = _strip_comments(text[:pos])
    arrows = list(re.finditer(r"->[ \t]*(?=\n|$)", before))
    if not arrows:
        return None
    arrow = arrows[-1]
    rest = before[arrow.end() :]
    nxt = text[arrow.end() :].lstrip()
    if eof and rest.strip():
        return None
    if not eof and (not _STATEMENT_START.match(nxt) or rest.count("\n") > 2):
        return None
    span = _span_at(text, file, arrow.start(), arrow.start() + 2)
    line = _line_of(text, arrow.start())
    after = line[span.col + 1 :]
    help = "put a unit after it, or remove it"
    if not after.strip():
        help += f": `{line[: span.col - 1].strip()}`"
    return error(
        "E104", _MISTAKES["dangling_arrow"].message, span, "nothing follows this `->`", help=help
    )


# A number, string or flat list ending its line (or body): a value a `let` could name.
_LITERAL_LINE = re.compile(
    r'(-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|"[^"\n]*"|\[[^\]\[\n(]*\])[ \t]*(#[^\n]*|})?(\n|$)'
)


# What the first line of a statement looks like: a keyword, `name =` (spaced, unlike a keyword
# argument), `a, b =`, or the end of a body.
_STATEMENT_START = re.compile(
    r"(input|output|loss|let)\s|[A-Za-z_]\w*(\s*,\s*[A-Za-z_]\w*)*\s+=\s|[A-Za-z_]\w*\s*,|}"
)


def _unclosed_before(text: str, span: Span, file: str) -> Diagnostic | None:
    """`dense(10` followed by the next statement: the bracket left open is the mistake."""
    opener = _unclosed(text[: span.start])
    if opener is None:
        return None
    pos, char = opener
    closer = {"(": ")", "[": "]", "{": "}"}[char]
    open_span = _span_at(text, file, pos, pos + 1)
    line_start = text.rfind("\n", 0, span.start) + 1
    first_on_line = not text[line_start : span.start].strip()
    if char == "{" or open_span.line == span.line or not first_on_line:
        return None
    if not _STATEMENT_START.match(text[span.start :]):
        return None
    line = _strip_comments(_line_of(text, pos)).rstrip()
    help = (
        f"close it: `{line.strip()}{closer}`"
        if line.count(char) > line.count(closer)
        else f"close it with `{closer}`"
    )
    return error(
        "E101",
        f"`{char}` is not closed",
        open_span,
        "never closed",
        secondary=[(span, "the next statement starts here")],
        help=help,
    )


_ITEM_HEADER = re.compile(r'(network|block|train)\b[^=\n]*\{|use\s+"')


def _unclosed_item(
    exc: lark.exceptions.UnexpectedToken, text: str, span: Span, file: str
) -> Diagnostic | None:
    """`network n {` missing its `}`, then `train {`: the parser sees a keyword where a
    statement belongs, but the mistake is the block left open above it."""
    word = str(exc.token)
    if not _first_on_line(text, span.start) or not _ITEM_HEADER.match(text, span.start):
        return None
    stack = _open_brackets(text[: span.start])
    if not stack or stack[-1][1] != "{":
        return None
    pos = stack[-1][0]
    header = _strip_comments(_line_of(text, pos)).strip()
    owner = header[: header.index("{")].strip() if "{" in header else ""
    what = f"`{owner}`" if owner else "the block"
    last = text[: text.rfind("\n", 0, span.start)].rstrip()
    last_line = last.count("\n") + 1 if last else 1
    return error(
        "E101",
        f"{what} is not closed: its `}}` is missing before `{word}`",
        span,
        f"`{word}` starts a new item, but {what} is still open",
        secondary=[(_span_at(text, file, pos, pos + 1), f"{what} opens here")],
        help=f"close {what} with `}}` after line {last_line}",
    )


def _mismatched(text: str, span: Span, file: str, token: str) -> Diagnostic | None:
    """`dense(10]`: a closing bracket that does not match the one left open, or closes
    nothing at all."""
    pairs = {")": "(", "]": "[", "}": "{"}
    if token not in pairs:
        return None
    stack = _open_brackets(text[: span.start])
    if stack and stack[-1][1] == pairs[token]:
        return None
    if all(char != pairs[token] for _, char in stack):
        return error(
            "E101",
            f"unmatched `{token}`",
            span,
            f"no `{pairs[token]}` is open here",
            help="remove it",
        )
    pos, char = stack[-1]
    closer = {"(": ")", "[": "]", "{": "}"}[char]
    return error(
        "E101",
        f"`{char}` is closed by `{token}`",
        span,
        f"expected `{closer}`",
        secondary=[(_span_at(text, file, pos, pos + 1), f"`{char}` opened here")],
        help=f"close it with `{closer}`",
    )


def _strip_comments(text: str) -> str:
    """The text with each comment blanked out (same length, so offsets still hold)."""

    def blank(m: re.Match[str]) -> str:
        return m.group(0) if m.group(0).startswith('"') else " " * len(m.group(0))

    return re.sub(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*', blank, text)


def _mistake_diagnostic(mistake: _Mistake, text: str, span: Span, file: str) -> Diagnostic:
    help = mistake.help
    line = text.splitlines()[span.line - 1] if text else ""
    if mistake.fix is not None and (mistake.whole_line or line[: span.col - 1].strip()):
        fixed = mistake.fix(line, span.col - 1)
        if fixed is not None and fixed.strip() != line.strip():
            help = f"write `{_strip_comments(fixed).strip()}`"
    return error("E104", mistake.message, span, mistake.label, help=help)


def _end_of_file(
    exc: lark.exceptions.UnexpectedToken, text: str, file: str, parser: Lark
) -> Diagnostic:
    span = _end_span(text, file)
    expected = _expected(exc.expected, parser)
    opener = _unclosed(text)
    if opener is None:
        return error("E103", "unexpected end of file", span, f"expected {expected} here")
    pos, char = opener
    closer = {"{": "}", "(": ")", "[": "]"}[char]
    open_span = _span_at(text, file, pos, pos + 1)
    what = {"{": "brace", "(": "parenthesis", "[": "bracket"}[char]
    header = _line_of(text, pos).strip()
    owner = header[: header.index(char)].strip() if char == "{" and char in header else ""
    help = f"close it with `{closer}`" + (f" at the end of `{owner}`" if owner else "")
    last = _strip_comments(_line_of(text, span.start - 1 if span.start else 0))
    if char != "{" and open_span.line == span.line:
        help = f"close it: `{last.strip()}{closer}`"
    return error(
        "E103",
        f"unexpected end of file: `{char}` is not closed",
        span,
        f"expected {expected} here",
        secondary=[(open_span, f"unclosed {what}")],
        help=help,
    )


def _unclosed(text: str) -> tuple[int, str] | None:
    """The innermost bracket left open at the end of the text, ignoring strings and comments."""
    stack = _open_brackets(text)
    return stack[-1] if stack else None


def _open_brackets(text: str) -> list[tuple[int, str]]:
    """The brackets left open at the end of the text, outermost first."""
    stack: list[tuple[int, str]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    code = re.sub(r'"(?:[^"\\\n]|\\.)*"?', lambda m: " " * len(m.group(0)), _strip_comments(text))
    for i, char in enumerate(code):
        if char in "([{":
            stack.append((i, char))
        elif char in pairs and stack and stack[-1][1] == pairs[char]:
            stack.pop()
    return stack


def _bad_character(exc: lark.exceptions.UnexpectedCharacters, text: str, file: str) -> Diagnostic:
    pos = exc.pos_in_stream or 0
    line, col = exc.line or 1, exc.column or 1
    char = text[pos] if pos < len(text) else ""
    span = Span(file, pos, pos + 1, line, col, line, col + 1)
    hints = {
        ";": "statements need no `;`: the next statement starts on its own",
        "'": 'strings use double quotes: "like this"',
        "/": "comments start with `#`",
        "{": "a `{` opens only a `network`, `block`, `train` or `stage` body",
    }
    if char == '"':
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        span = Span(file, pos, end, line, col, line, col + max(end - pos, 1))
        rest = text[pos:end].rstrip()
        return error(
            "E102",
            "string is not closed",
            span,
            'this string has no closing `"`',
            help=f'close it on the same line: `{rest}"`'
            if rest != '"'
            else "close the string on the same line",
        )
    if char == "'":
        end = text.find("'", pos + 1)
        line_end = text.find("\n", pos)
        if end > 0 and (line_end < 0 or end < line_end):
            quoted = text[pos + 1 : end]
            return error(
                "E102", "strings use double quotes", span, "single quote", help=f'write "{quoted}"'
            )
    shown = repr(char) if not char.isprintable() or char == " " else f"`{char}`"
    return error(
        "E102",
        f"unexpected character {shown}",
        span,
        "not part of the language",
        help=hints.get(char),
    )


_EXAMPLE_CACHE: dict[int, list[tuple[str, int, frozenset[str], str, str]]] = {}


def _signatures(parser: Lark) -> list[tuple[str, int, frozenset[str], str, str]]:
    """(mistake, parser state, accepted terminals, token type, token text) of every example."""
    key = id(parser)
    if key not in _EXAMPLE_CACHE:
        found = []
        for name, mistake in _MISTAKES.items():
            for example in mistake.examples:
                try:
                    parser.parse(example)
                except lark.exceptions.UnexpectedToken as ut:
                    found.append(
                        (
                            name,
                            ut.state.position,
                            frozenset(ut.accepts or ()),
                            ut.token.type,
                            str(ut.token),
                        )
                    )
                except lark.exceptions.UnexpectedInput:
                    continue
        _EXAMPLE_CACHE[key] = found
    return _EXAMPLE_CACHE[key]


def _match_mistake(exc: lark.exceptions.UnexpectedToken, parser: Lark) -> str | None:
    """The mistake whose example fails in the same parser state with the same kind of token.

    Unlike lark's `match_examples`, only the current state counts, not the depth of the stack,
    so `x -> dense(64, act: relu)` matches the example `f(a: 1)`.
    """
    if exc.state is None:
        return None
    position = exc.state.position
    accepts = frozenset(exc.accepts or ())
    same_type = None
    for name, state, example_accepts, token_type, token_text in _signatures(parser):
        if state != position or example_accepts != accepts:
            continue
        if token_text == str(exc.token):
            return name
        if token_type == exc.token.type and same_type is None:
            same_type = name
    return same_type


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
        words = [*words[:6], "..."]
    return " or ".join(words) if len(words) <= 2 else ", ".join(words[:-1]) + " or " + words[-1]


def _token_span(token: lark.Token, file: str) -> Span:
    return Span(
        file,
        token.start_pos or 0,
        token.end_pos or 0,
        token.line or 1,
        token.column or 1,
        token.end_line or 1,
        token.end_column or 1,
    )


def _span_at(text: str, file: str, start: int, end: int) -> Span:
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    end_line = text.count("\n", 0, end) + 1
    end_col = end - (text.rfind("\n", 0, end) + 1) + 1
    return Span(file, start, end, line, col, end_line, end_col)


def _with_width(span: Span, width: int) -> Span:
    return Span(
        span.file, span.start, span.start + width, span.line, span.col, span.line, span.col + width
    )


def _name_span(text: str, span: Span) -> Span:
    """The span of the name just before `span` (the callee of `name(`), else `span`."""
    start = _name_before(text, span.start)
    if start is None:
        return span
    word = re.match(r"[A-Za-z_]\w*", text[start:])
    return _span_at(text, span.file, start, start + len(word.group(0) if word else ""))


def _first_on_line(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return not text[line_start:pos].strip()


def _starts_statement(text: str, span: Span) -> bool:
    """Whether the name before `span` is the first word on its line."""
    start = _name_before(text, span.start)
    if start is None:
        return False
    line_start = text.rfind("\n", 0, start) + 1
    return not text[line_start:start].strip()


def _previous_words(text: str, pos: int, count: int) -> list[str]:
    words = re.findall(r"[A-Za-z_]\w*|\S", _strip_comments(text[:pos]))
    return words[-count:] if len(words) >= count else []


def _line_of(text: str, pos: int) -> str:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text[start : end if end >= 0 else len(text)]


def _end_span(text: str, file: str) -> Span:
    lines = text.split("\n")
    while len(lines) > 1 and not lines[-1].strip():
        lines.pop()
    line = len(lines)
    col = len(lines[-1]) + 1
    offset = sum(len(x) + 1 for x in lines[:-1]) + len(lines[-1])
    return Span(file, offset, offset, line, col, line, col + 1)
