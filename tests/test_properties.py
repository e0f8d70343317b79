"""Property tests of the front end (hypothesis, derandomized so CI is deterministic).

- print/parse round trip: `parse(format_module(m)) == m` for random valid ASTs;
- `format_module` is idempotent, on random ASTs, on the zoo and test specs, and on texts with
  comments in awkward places;
- arbitrary text (and mutations of valid specs) makes `parse` and `compile` raise nothing but
  NetspecError;
- `fmt` never loses a comment.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netspec.api import compile
from netspec.diagnostics.core import NetspecError
from netspec.lang import ast
from netspec.lang.parse_errors import KEYWORDS as PARSER_KEYWORDS
from netspec.lang.parser import MAX_NESTING, parse
from netspec.lang.printer import format_module

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = frozenset(PARSER_KEYWORDS)  # use let network block train stage input output loss

T = TypeVar("T")

# Hypothesis warns when it prints a big strategy's repr in a failure report; that is no failure.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

# Deterministic and database-free: the same examples on every run and every machine.
FAST = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


# --- strategies: random valid ASTs ------------------------------------------------------------
_NAME_POOL = (
    "x",
    "y",
    "h",
    "T",
    "relu",
    "dense",
    "conv2d",
    "n_hidden",
    "_a",
    "Z9",
    "true",
    "none",
    "inputs",
    "lossy",
    "network2",
    "real",
    "class",
    "binary",
    "uses",
    "stages",
)
names = st.one_of(
    st.sampled_from(_NAME_POOL),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True).filter(
        lambda s: s not in KEYWORDS
    ),
)
idents = names.map(ast.Ident)
refs = idents.map(ast.Ref)


def _number(text: str) -> ast.Number:
    """A Number as the parser builds it: an int unless written with `.`, `e` or `E`."""
    is_int = not any(ch in text for ch in ".eE")
    return ast.Number(int(text) if is_int else float(text), text)


number_texts = st.one_of(
    st.sampled_from(
        [
            "0",
            "3",
            "64",
            "-1",
            "0.5",
            ".5",
            "-.25",
            "1e-3",
            "2E+5",
            "1.",
            "-0",
            "007",
            "1.5e3",
            "12345678901234567890",
            "1e400",
        ]
    ),
    st.from_regex(
        r"-?([0-9]{1,4}(\.[0-9]{0,3})?|\.[0-9]{1,3})([eE][+-]?[0-9]{1,2})?", fullmatch=True
    ),
)
numbers = number_texts.map(_number)
strings = st.one_of(
    st.sampled_from(
        [
            "",
            "a.net",
            'say "hi"',
            "back\\slash",
            "line\nbreak",
            "tab\there",
            "cr\rlf",
            "# not a comment",
            "é ü 漢字",
            "\\n written out",
            "\\",
        ]
    ),
    st.text(max_size=10),
).map(ast.String)


@st.composite
def _args(draw: st.DrawFn, depth: int) -> tuple[ast.Arg, ...]:
    """Positional and keyword arguments, in any order."""
    count = draw(st.integers(min_value=0, max_value=3))
    return tuple(ast.Arg(draw(st.none() | idents), draw(_values(depth))) for _ in range(count))


@st.composite
def _calls(draw: st.DrawFn, depth: int) -> ast.Call:
    return ast.Call(draw(idents), draw(_args(depth - 1)) if depth > 0 else ())


@st.composite
def _simple(draw: st.DrawFn, depth: int) -> ast.Call | ast.Ref:
    return draw(st.one_of(refs, _calls(depth)))


@st.composite
def _links(draw: st.DrawFn, depth: int) -> ast.Link:
    """A chain link: a call, a reference, `link * n` or a grouped `(a -> b) * n` (nested)."""
    choice = draw(st.integers(min_value=0, max_value=3 if depth > 0 else 1))
    if choice <= 1:
        return draw(_simple(depth))
    count: ast.Number | ast.Ref | ast.BinOp = draw(
        st.one_of(numbers, refs, _arithmetic(depth - 1)) if depth > 0 else st.one_of(numbers, refs)
    )
    if choice == 2:
        return ast.Repeat((draw(_simple(depth - 1)),), count, False)
    inner = draw(st.lists(_links(depth - 1), min_size=1, max_size=3))
    return ast.Repeat(tuple(inner), count, True)


@st.composite
def _chains(draw: st.DrawFn, depth: int) -> ast.Chain:
    links = draw(st.lists(_links(depth - 1), min_size=1, max_size=4))
    return ast.Chain(draw(_simple(depth - 1)), tuple(links))


@st.composite
def _arithmetic(draw: st.DrawFn, depth: int) -> ast.BinOp:
    """`a op b` over what the grammar takes as operands: numbers, names, calls, chains and
    arithmetic (nested), whatever the brackets the printer must add to keep it."""
    operands = st.one_of(numbers, refs)
    if depth > 0:
        operands = st.one_of(numbers, refs, _calls(depth), _chains(depth), _arithmetic(depth - 1))
    op = draw(st.sampled_from(sorted(ast.OPERATORS)))
    return ast.BinOp(op, draw(operands), draw(operands))


@st.composite
def _values(draw: st.DrawFn, depth: int = 3) -> ast.Expr:
    """Any value: a number, string, name, call, list, chain or arithmetic, nested up to `depth`."""
    choice = draw(st.integers(min_value=0, max_value=6 if depth > 0 else 2))
    if choice == 6:
        return draw(_arithmetic(depth - 1))
    if choice == 0:
        return draw(numbers)
    if choice == 1:
        return draw(strings)
    if choice == 2:
        return draw(refs)
    if choice == 3:
        return draw(_calls(depth))
    if choice == 4:
        return ast.ListExpr(tuple(draw(st.lists(_values(depth - 1), max_size=4))))
    return draw(_chains(depth))


@st.composite
def _tensors(draw: st.DrawFn, depth: int = 3) -> ast.Expr:
    """What the grammar takes after `name =` in a body and after `loss`: a chain (a reference or
    a call is a chain of one)."""
    return draw(st.one_of(refs, _calls(depth), _chains(depth)))


_sizes = st.lists(st.one_of(numbers, refs, _arithmetic(1)), max_size=4).map(
    lambda xs: ast.ListExpr(tuple(xs))
)
_TYPES = [  # the forms a user writes: [1, 8, 8], [T, 1], class(10), class(100)[T], binary[3], real
    ast.InputType(ast.Ident("real"), (), ast.ListExpr((_number("1"), _number("8"), _number("8")))),
    ast.InputType(ast.Ident("real"), (), ast.ListExpr((ast.Ref(ast.Ident("T")), _number("1")))),
    ast.InputType(ast.Ident("class"), (ast.Arg(None, _number("10")),), None),
    ast.InputType(
        ast.Ident("class"),
        (ast.Arg(None, _number("100")),),
        ast.ListExpr((ast.Ref(ast.Ident("T")),)),
    ),
    ast.InputType(ast.Ident("binary"), (), ast.ListExpr((_number("3"),))),
    ast.InputType(ast.Ident("real"), (), None),
]
input_types = st.one_of(
    st.sampled_from(_TYPES),
    st.builds(ast.InputType, st.just(ast.Ident("real")), st.just(()), _sizes),
    st.builds(ast.InputType, idents, _args(1), st.none() | _sizes),
)
_names = st.lists(idents, min_size=1, max_size=3).map(tuple)
statements: st.SearchStrategy[ast.Statement] = st.one_of(
    st.builds(ast.Input, idents, st.none() | input_types),
    st.builds(ast.Let, idents, _values()),
    st.builds(ast.Assign, _names, _tensors()),
    st.builds(ast.Output, _names),
    st.builds(ast.Loss, st.none() | idents, _tensors()),
)
bodies = st.lists(statements, max_size=6).map(tuple)
_settings = st.builds(ast.Setting, idents, _values())
_stages = st.builds(ast.Stage, idents, st.lists(_settings, max_size=3).map(tuple))
items: st.SearchStrategy[ast.Item] = st.one_of(
    st.builds(ast.Use, strings),
    st.builds(ast.Let, idents, _values()),
    st.builds(ast.Network, idents, bodies),
    st.builds(
        ast.Block,
        idents,
        st.lists(st.builds(ast.Param, idents, st.none() | _values(2)), max_size=3).map(tuple),
        bodies,
    ),
    st.builds(ast.Train, idents, st.lists(_settings | _stages, max_size=4).map(tuple)),
)


@st.composite
def modules(draw: st.DrawFn) -> ast.Module:
    """A random valid module: any mix of `use`, `let`, `network`, `block` and `train` items."""
    return ast.Module(tuple(draw(st.lists(items, max_size=5))))


# --- helpers ----------------------------------------------------------------------------------
def _spec_files() -> list[Path]:
    found = [*sorted((ROOT / "specs").rglob("*.net")), *sorted((ROOT / "tests").rglob("*.net"))]
    return [p for p in found if _parses(p.read_text(encoding="utf-8"))]


def _parses(text: str) -> bool:
    try:
        parse(text)
    except NetspecError:
        return False
    return True


def _comment_texts(module: ast.Module) -> Counter[str]:
    return Counter(c.text for c in module.comments)


# A tokenizer for printed text (mirrors the grammar's terminals), to find token boundaries.
_TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|->|//|[A-Za-z_]\w*'
    r"|-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|\S"
)


def _boundaries(text: str) -> list[int]:
    """Offsets right after each token: a comment and a newline may go there."""
    return [0] + [m.end() for m in _TOKEN.finditer(text) if not m.group().startswith("#")]


def _with_comments(text: str, where: list[int], words: list[str]) -> str:
    """Insert `#n word` comments (each ending its line) at the given token boundaries."""
    cuts = _boundaries(text)
    spots = sorted({cuts[i % len(cuts)] for i in where})
    out, last = [], 0
    for n, spot in enumerate(spots):
        word = words[n % len(words)] if words else ""
        out += [text[last:spot], f"  #{n} {word}".rstrip() + "\n"]
        last = spot
    out.append(text[last:])
    return "".join(out)


comment_words = st.lists(
    st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=12), max_size=4
)


def _run_only_netspec_errors(fn: Callable[[], T]) -> None:
    """Run `fn`; a NetspecError is an answer, any other exception fails the test."""
    with contextlib.suppress(NetspecError):
        fn()


# --- a. the print/parse round trip ------------------------------------------------------------
@FAST
@given(modules())
def test_print_then_parse_gives_the_same_tree(module: ast.Module) -> None:
    text = format_module(module)
    assert parse(text) == module, text


@FAST
@given(_values())
def test_every_expression_round_trips_in_a_let(value: ast.Expr) -> None:
    module = ast.Module((ast.Let(ast.Ident("v"), value),))
    assert parse(format_module(module)) == module


@pytest.mark.parametrize(
    "text",
    [
        "network n { input x: [1, 8, 8] input s: [T, 1] input c: class(10)\n"
        " input w: class(100)[T] input b: binary[3] input r: real\n"
        " y = x -> conv2d(4, 3, pad=1) -> (relu -> dropout(0.5)) * 2 }",
        'let lr = 1e-3  let k = .5  let m = -1  let s = "a\\"b\\\\c\\n"\n'
        "network n { a, b = f(x, k=[1, 2]) }",
        "block b(x, n=3, act=relu) { input i  o = i -> dense(n) * 3  output o }",
        "train n { batch = 32 stage s { lr = 0.1 opt = sgd(lr=0.1) } epochs = 3 }",
        "network n { loss a = mse(y, t) loss bce(y -> f, t) output y, z }",
    ],
)
def test_handwritten_specs_round_trip(text: str) -> None:
    module = parse(text)
    assert parse(format_module(module)) == module


# --- b. format_module is idempotent -----------------------------------------------------------
@FAST
@given(modules())
def test_fmt_is_idempotent_on_random_trees(module: ast.Module) -> None:
    once = format_module(module)
    assert format_module(parse(once)) == once


@pytest.mark.parametrize("path", _spec_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_fmt_is_idempotent_on_spec_files(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    module = parse(text)
    once = format_module(module)
    assert parse(once) == module
    assert format_module(parse(once)) == once
    assert _comment_texts(parse(once)) == _comment_texts(module)


AWKWARD = [
    "network n { # after the brace\n  input x: [4]\n}\n",
    "network n {\n  input x: [4]\n  # between statements\n\n  # and another\n  y = x\n}\n",
    "network n {\n  y = x -> dense(3)\n      -> relu  # end of a multi-line chain\n}\n",
    "network n {\n  y = x  # first line of a chain\n    -> relu\n}\n",
    "network n { y = x }\n# at the end of the file",
    "network n { y = x }\n# at the end of the file, then a newline\n",
    "network n { y = f(a, # between items\n b) }\n",
    "network n { input x: [1, # inside a shape\n 8] }\n",
    "let a = [1, # in a list\n 2]\nlet b = 3 # after a let\n",
    "block b(\n  a, # in the params\n  c=1\n) {\n  input i\n  output i\n}\n",
    "block b(a # params of an empty block\n) {\n}\n",
    "train n { # header\n  stage s { # stage header\n    lr = 0.1 } # after the stage\n"
    "  epochs = 1\n}\n",
    "network n # before the brace\n{\n  input x: [4]\n}\n",
    "# only a comment",
    "# one\n# two\n",
    "network n {}  # empty body\n",
    "network n {\n  # alone inside\n}\n",
    "network n {\n\n\n  input x: [4]\n\n\n  y = x\n\n}\n",
    'use "a.net" # a use\nuse "b.net"\n\n\nlet a = 1\n',
    "network n { y = x } network m { z = y } # two on one line\n",
    'let s = "# not a comment" # a comment\n',
]


@pytest.mark.parametrize("text", AWKWARD)
def test_fmt_is_idempotent_with_awkward_comments(text: str) -> None:
    module = parse(text)
    once = format_module(module)
    assert parse(once) == module, once
    assert format_module(parse(once)) == once, once
    assert _comment_texts(parse(once)) == _comment_texts(module), once


@FAST
@given(modules(), st.lists(st.integers(min_value=0, max_value=10_000), max_size=8), comment_words)
def test_comments_anywhere_keep_the_tree_and_fmt_is_idempotent(
    module: ast.Module, where: list[int], words: list[str]
) -> None:
    text = _with_comments(format_module(module), where, words)
    commented = parse(text)
    assert commented == module, text
    once = format_module(commented)
    assert parse(once) == module, once
    assert format_module(parse(once)) == once, once


# --- c. arbitrary text raises nothing but NetspecError ---------------------------------------
@FAST
@given(st.text())
def test_arbitrary_text_raises_only_netspec_error(text: str) -> None:
    _run_only_netspec_errors(lambda: parse(text))
    _run_only_netspec_errors(lambda: compile(text))


_ALPHABET = st.sampled_from([*'{}()[],:=*->#"\\. \n\t', "a", "1", "é", "\x00"])
_WORDS = "network block train stage input output loss let use x dense relu rbm lstm embed concat"
_SIGNS = "cross_entropy class binary real T 0 -1 3 0.5 1e-3 .5 -> * = , : ( ) [ ] { }"
_TOKENS = st.sampled_from(
    [*_WORDS.split(), *_SIGNS.split(), '"s"', '"\\q"', '"\\x"', "# c\n", "\n"]
)

SEEDS = [
    """\
network n {
  input x: [1, 8, 8]
  input t: class(10)
  h = x -> conv2d(4, 3, pad=1) -> relu -> maxpool(2) -> flatten
  y = h -> (dense(16, act=relu) -> dropout(0.5)) * 2 -> softmax(10)
  loss cross_entropy(y, t)
}
""",
    """\
let depth = 2
block mlp(width, act=relu) {
  input x
  y = x -> dense(width, act=act) * depth
  output y
}
network m {
  input x: [16]
  input t: real[2]
  a = mlp(x, 8)
  loss fit = mse(a -> linear(2), t)
  output a
}
""",
    """\
network s {
  input w: class(100)[T]
  input v: [T, 4]
  e = w -> embed(8) -> lstm(8, steps=last)
  r = v -> gru(8, steps=last)
  y = concat(e, r) -> add(r)
  z = e -> rbm(4) -> autoencoder(2) -> sparse_code(3)
  output y, z
}
train s {
  batch = 32
  stage a { lr = 0.1 }
}
""",
]


CORPUS = SEEDS + [p.read_text(encoding="utf-8") for p in _spec_files()]


@st.composite
def mutated_specs(draw: st.DrawFn) -> str:
    """A valid spec with a few random edits: deletions, insertions, duplications and swaps."""
    text = draw(st.sampled_from(CORPUS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not text:
            break
        i = draw(st.integers(min_value=0, max_value=len(text) - 1))
        j = draw(st.integers(min_value=i, max_value=min(len(text), i + 12)))
        edit = draw(st.sampled_from(["delete", "insert_char", "insert_token", "duplicate", "swap"]))
        if edit == "delete":
            text = text[:i] + text[j:]
        elif edit == "insert_char":
            text = text[:i] + draw(_ALPHABET) + text[i:]
        elif edit == "insert_token":
            text = text[:i] + " " + draw(_TOKENS) + " " + text[i:]
        elif edit == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        else:
            k = draw(st.integers(min_value=0, max_value=len(text) - 1))
            a, b = sorted((i, k))
            text = text[:a] + text[b : b + 6] + text[a + 6 : b] + text[a : a + 6] + text[b + 6 :]
    return text


@settings(FAST, max_examples=400)
@given(mutated_specs())
def test_mutated_specs_raise_only_netspec_error(text: str) -> None:
    _run_only_netspec_errors(lambda: compile(text))
    try:
        module = parse(text)
    except NetspecError:
        return
    # A mutation that still parses is an odd but valid spec: fmt must handle it too.
    once = format_module(module)
    assert parse(once) == module, once
    assert format_module(parse(once)) == once, once
    assert _comment_texts(parse(once)) == _comment_texts(module)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('let s = "\\q"', "E102"),  # unknown escapes are errors, not Python's escapes
        ('let s = "\\x41"', "E102"),
        ('let s = "\\u12"', "E102"),
        ('let s = "\\N{nope}"', "E102"),
        ("let n = " + "9" * 5000, "E404"),  # more digits than int() converts
        ("let deep = " + "[" * 3000 + "]" * 3000, "E101"),  # would overflow the stack
        ("network n { y = " + "f(" * 2000 + "x" + ")" * 2000 + " }", "E101"),
        ("let d = " + "[" * 65 + "]" * 65, "E101"),
    ],
)
def test_texts_the_grammar_accepts_but_the_language_refuses(text: str, code: str) -> None:
    with pytest.raises(NetspecError) as caught:
        parse(text)
    assert [d.code for d in caught.value.diagnostics] == [code]
    assert caught.value.diagnostics[0].primary_span is not None
    with pytest.raises(NetspecError):
        compile(text)


def test_nesting_up_to_the_limit_parses_formats_and_compiles() -> None:
    deep = "[" * MAX_NESTING + "1" + "]" * MAX_NESTING
    calls = "add(" * (MAX_NESTING - 1) + "x" + ", x)" * (MAX_NESTING - 1)
    text = f"let d = {deep}\nnetwork n {{ input x: [4]  y = {calls} }}"
    module = parse(text)
    assert parse(format_module(module)) == module
    assert len(compile(text).network("n")) == 1 + (MAX_NESTING - 1) + 1  # input, adds, output


@pytest.mark.parametrize(
    ("written", "value"),
    [('"a\\"b"', 'a"b'), ('"\\\\"', "\\"), ('"\\n\\t\\r"', "\n\t\r"), ('"é # x"', "é # x")],
)
def test_string_escapes(written: str, value: str) -> None:
    let = parse(f"let s = {written}").items[0]
    assert isinstance(let, ast.Let) and let.value == ast.String(value)


# --- d. fmt never loses a comment -------------------------------------------------------------
@FAST
@given(modules(), st.lists(st.integers(min_value=0, max_value=10_000), max_size=8), comment_words)
def test_fmt_keeps_every_comment(module: ast.Module, where: list[int], words: list[str]) -> None:
    printed = format_module(module)
    cuts = _boundaries(printed)
    before = parse(_with_comments(printed, where, words))
    assert len(before.comments) == len({cuts[i % len(cuts)] for i in where})
    after = parse(format_module(before))
    assert _comment_texts(after) == _comment_texts(before)


@FAST
@given(
    st.sampled_from(SEEDS + AWKWARD),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=10),
    comment_words,
)
def test_fmt_keeps_comments_in_handwritten_specs(
    text: str, where: list[int], words: list[str]
) -> None:
    commented = _with_comments(text, where, words)
    before = parse(commented)
    assert before == parse(text)
    once = format_module(before)
    assert _comment_texts(parse(once)) == _comment_texts(before)
    assert format_module(parse(once)) == once
