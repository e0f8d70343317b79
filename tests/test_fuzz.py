"""A fuzzer over the front end: parser, builder and checker, through `netspec.api.compile`.

Inputs: the zoo and test specs mutated by characters, tokens and lines (deleted, inserted,
swapped, duplicated, truncated), random well-formed modules printed by the formatter (valid
syntax, random meaning, so they reach the builder and the checker), and token soup shaped like the
grammar's items. Every input must compile or raise NetspecError whose diagnostics all have a
registered code and spans inside the text they point into; rendering them must work; and no input
may take more than BOUND seconds of CPU time.

The CI run is small and derandomized. The long run is marked slow and takes its size from the
environment: `NETSPEC_FUZZ_EXAMPLES=10000 pytest tests/test_fuzz.py -m slow -s` (it prints the
count, the time and the slowest input).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import _TOKEN, _TOKENS, CORPUS, modules, mutated_specs

from netspec.api import compile
from netspec.diagnostics.codes import CODES
from netspec.diagnostics.core import NetspecError
from netspec.diagnostics.render import render_text
from netspec.lang.printer import format_module
from netspec.lang.source import Sources, Span

pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

# CPU seconds one input may take to compile, diagnostics and rendering included (CPU time, not
# wall time: a shared machine must not fail the test).
BOUND = 2.0
CI_EXAMPLES = 200
SLOW_EXAMPLES = int(os.environ.get("NETSPEC_FUZZ_EXAMPLES", "10000"))

# A `use` of a mutated name must not find a file of the repository: compile in an empty folder.
_FOLDER = tempfile.TemporaryDirectory(prefix="netspec-fuzz-")
SPEC_FILE = str(Path(_FOLDER.name) / "fuzz.net")


def _settings(examples: int, derandomize: bool) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=derandomize,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# --- inputs --------------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    return [m.group() for m in _TOKEN.finditer(text)]


@st.composite
def token_mutations(draw: st.DrawFn) -> str:
    """A spec with whole tokens deleted, inserted, swapped or repeated (joined by spaces and the
    original newlines kept inside comments only: the grammar is free-form)."""
    tokens = _tokens(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        if not tokens:
            break
        i = draw(st.integers(min_value=0, max_value=len(tokens) - 1))
        j = draw(st.integers(min_value=0, max_value=len(tokens) - 1))
        edit = draw(st.sampled_from(["delete", "insert", "swap", "repeat"]))
        if edit == "delete":
            del tokens[i]
        elif edit == "insert":
            tokens.insert(i, draw(_TOKENS).strip() or "\n")
        elif edit == "swap":
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens.insert(i, tokens[j])
    return " ".join(t if not t.startswith("#") else t + "\n" for t in tokens)


@st.composite
def line_mutations(draw: st.DrawFn) -> str:
    """A spec with lines deleted, duplicated or swapped, or cut short at any character."""
    text = draw(st.sampled_from(CORPUS))
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        if not lines:
            break
        i = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        j = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "swap"]))
        if edit == "delete":
            del lines[i]
        elif edit == "duplicate":
            lines.insert(j, lines[i])
        else:
            lines[i], lines[j] = lines[j], lines[i]
    text = "".join(lines)
    if text and draw(st.booleans()):
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return text


printed_modules = modules().map(format_module)

_ITEM_HEADS = st.sampled_from(
    ["network n", "network m", "block b(x, n=3)", "block c()", "train n", "train m"]
)
_SOUP = st.lists(_TOKENS, min_size=0, max_size=12).map(" ".join)


@st.composite
def grammar_shaped(draw: st.DrawFn) -> str:
    """Items the grammar knows (`network`, `block`, `train`, `let`, `use`) around token soup:
    the soup lands where statements and settings go, so errors come from deep in the parser."""
    parts = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.integers(min_value=0, max_value=3))
        if kind == 0:
            parts.append(f"let {draw(st.sampled_from(['a', 'lr', 'n']))} = {draw(_SOUP)}")
        elif kind == 1:
            parts.append(f'use "{draw(st.sampled_from(["a.net", "", "fuzz.net", "../x.net"]))}"')
        else:
            body = "\n  ".join(draw(st.lists(_SOUP, max_size=5)))
            closing = draw(st.sampled_from(["}", "}", "}", ""]))
            parts.append(f"{draw(_ITEM_HEADS)} {{\n  {body}\n{closing}")
    return "\n".join(parts) + "\n"


fuzz_inputs = st.one_of(
    mutated_specs(), token_mutations(), line_mutations(), printed_modules, grammar_shaped()
)


# --- the oracle ----------------------------------------------------------------------------------


def _inside(span: Span, text: str | None) -> bool:
    if text is None:
        return span.file == "<builtin>" or Path(span.file).exists()  # a data file, or built in
    lines = text.split("\n")
    return (
        0 <= span.start <= span.end <= len(text)
        and 1 <= span.line <= span.end_line <= len(lines)
        and span.col >= 1
        and span.end_col >= 1
    )


def check_input(text: str) -> float:
    """Compile `text`; fail unless it compiles or raises a well-formed NetspecError. Returns the
    CPU seconds it took."""
    began = time.process_time()
    try:
        compile(text, SPEC_FILE)
    except NetspecError as exc:
        sources: Sources = exc.sources
        if sources.text(SPEC_FILE) is None:
            sources.add(SPEC_FILE, text)
        assert exc.diagnostics, "a NetspecError with no diagnostic"
        for diag in exc.diagnostics:
            assert diag.code in CODES, f"{diag.code} is not in CODES: {diag.message}"
            assert diag.message.strip(), f"{diag.code} has an empty message"
            for label in diag.labels:
                assert _inside(label.span, sources.text(label.span.file)), (diag, label.span)
        assert render_text(exc.diagnostics, sources)
    seconds = time.process_time() - began
    assert seconds < BOUND, f"{seconds:.2f} s to compile {text!r}"
    return seconds


class Tally:
    """Inputs seen and the slowest, for the long run's report."""

    def __init__(self) -> None:
        self.count = 0
        self.slowest = 0.0
        self.slowest_text = ""

    def add(self, text: str, seconds: float) -> None:
        self.count += 1
        if seconds > self.slowest:
            self.slowest, self.slowest_text = seconds, text


@pytest.fixture(scope="module")
def tally() -> Iterator[Tally]:
    yield Tally()


# --- the runs ------------------------------------------------------------------------------------


@_settings(CI_EXAMPLES, derandomize=True)
@given(fuzz_inputs)
def test_fuzzed_specs_compile_or_raise_well_formed_diagnostics(text: str) -> None:
    check_input(text)


@pytest.mark.parametrize(
    "text",
    [
        "network n {\n  input x: [4]\n  y = x -> dense(3)\n",  # unclosed block
        "train n { epochs = }",
        'use "fuzz.net"\nnetwork n { input x: [4] }',  # a spec that uses itself
        "network n { input x: [4]  y = x -> dense(3) -> dense(3) * 1000 }",
        "let a = " + "-> " * 50,
    ],
)
def test_handpicked_inputs_pass_the_oracle(text: str) -> None:
    check_input(text)


def test_the_oracle_catches_a_span_outside_the_input() -> None:
    assert not _inside(Span(SPEC_FILE, 0, 99, 1, 1, 1, 100), "short")
    assert not _inside(Span(SPEC_FILE, 0, 1, 3, 1, 3, 2), "one line")
    assert _inside(Span(SPEC_FILE, 0, 5, 1, 1, 1, 6), "short")


@pytest.mark.slow
def test_long_fuzz_run(tally: Tally) -> None:
    @_settings(SLOW_EXAMPLES, derandomize=False)
    @given(fuzz_inputs)
    def run(text: str) -> None:
        tally.add(text, check_input(text))

    began = time.perf_counter()
    try:
        run()
    finally:  # a failing run reports how far it got too
        spent = time.perf_counter() - began
        print(
            f"\nfuzzed {tally.count} inputs in {spent:.1f} s; slowest {tally.slowest:.3f} s "
            f"of CPU: {tally.slowest_text[:200]!r}"
        )
    assert tally.count >= min(SLOW_EXAMPLES, 10_000) * 0.9  # hypothesis may stop a little short
