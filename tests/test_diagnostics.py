"""Diagnostics: the renderers, `did_you_mean`, the syntax-mistake table, and that the invalid
corpus under tests/cases/invalid covers every code of netspec/diagnostics/codes.py (and only
those)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from netspec.api import compile, compile_file
from netspec.diagnostics.codes import CODES, explain
from netspec.diagnostics.core import Diagnostic, NetspecError, did_you_mean, error
from netspec.diagnostics.render import render_json, render_short, render_text
from netspec.lang.parse_errors import _MISTAKES
from netspec.lang.source import Sources, Span

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "tests" / "cases" / "invalid").glob("*.net"))
HEADER = re.compile(r"^# (E\d{3}): \S")

# Codes no case can produce: E100 comes only from `compile_file` on an unreadable file, E213
# only from `--set` overrides; both are tested directly below. W601 (a warning, so no failure)
# and E602 (`train` only) come from the memory estimate: tests/test_resources.py.
NOT_FROM_CASES = {"E100", "E213", "W601", "E602"}


def _outside_the_spec(code: str) -> bool:
    """E7xx: failures outside the spec text (the command line, run folders, checkpoints, the
    machine), which no `.net` case can produce; their tests are the CLI's."""
    return code.startswith("E7")


def _is_train_code(code: str) -> bool:
    """Train-section codes, whose cases are the `train_*.net` files of another corpus."""
    return code == "E207" or code.startswith("E5")


# --- the renderers ---------------------------------------------------------------------------

A = "network n {\n  input x: [4]\n  y = x -> dense(3)\n}\n"
B = "block b() {\n  input h\n  output h\n}\n"


def _span(file: str, text: str, line: int, col: int, width: int) -> Span:
    start = sum(len(s) + 1 for s in text.split("\n")[: line - 1]) + col - 1
    return Span(file, start, start + width, line, col, line, col + width)


def _sources() -> Sources:
    sources = Sources()
    sources.add("a.net", A)
    sources.add("lib/b.net", B)
    return sources


def _diagnostic() -> Diagnostic:
    return error(
        "E301",
        "`dense` expects a flat input",
        _span("a.net", A, 3, 12, 8),
        "needs [N] input",
        secondary=[
            (_span("a.net", A, 2, 3, 12), "declared here"),
            (_span("lib/b.net", B, 2, 3, 7), "in another file"),
            (_span("a.net", A, 3, 7, 1), "this input"),
        ],
        help="insert `flatten`\nsecond line",
        note="a note",
    )


def test_render_text_quotes_every_labelled_line_in_every_file() -> None:
    text = render_text([_diagnostic()], _sources(), color=False)
    assert text == (
        "error[E301]: `dense` expects a flat input\n"
        "  --> a.net:3:12\n"
        "   |\n"
        " 2 |   input x: [4]\n"
        "   |   ------------ declared here\n"
        " 3 |   y = x -> dense(3)\n"
        "   |       -    ^^^^^^^^ needs [N] input\n"
        "   |       |\n"
        "   |       this input\n"
        "   |\n"
        "  ::: lib/b.net:2:3\n"
        "   |\n"
        " 2 |   input h\n"
        "   |   ------- in another file\n"
        "   |\n"
        "   = help: insert `flatten`\n"
        "           second line\n"
        "   = note: a note\n"
        "\n"
        "error: found 1 error\n"
    )


def test_render_text_marks_skipped_lines_and_widens_the_gutter() -> None:
    text = "\n".join(f"line {i}" for i in range(1, 13)) + "\n"
    sources = Sources()
    sources.add("long.net", text)
    diag = error(
        "E202",
        "unknown name `q`",
        _span("long.net", text, 11, 1, 4),
        "here",
        secondary=[(_span("long.net", text, 2, 1, 4), "there")],
    )
    lines = render_text([diag], sources).splitlines()
    assert lines[1] == "   --> long.net:11:1"
    assert lines[3:7] == ["  2 | line 2", "    | ---- there", "...", " 11 | line 11"]


def test_render_text_without_a_span_and_with_several_errors() -> None:
    diags = [
        error("E213", "`--set n=...` names no top-level `let`", None, help="no lets"),
        error("E100", "cannot read `x.net`", None),
    ]
    assert render_text(diags, Sources()) == (
        "error[E213]: `--set n=...` names no top-level `let`\n"
        "   |\n"
        "   = help: no lets\n"
        "\n"
        "error[E100]: cannot read `x.net`\n"
        "\n"
        "error: found 2 errors\n"
    )


def test_render_text_colors_only_when_asked() -> None:
    plain = render_text([_diagnostic()], _sources(), color=False)
    colored = render_text([_diagnostic()], _sources(), color=True)
    assert "\033[" not in plain
    assert "\033[1;31merror[E301]\033[0m" in colored
    assert re.sub(r"\033\[[0-9;]*m", "", colored) == plain


def test_render_short_is_one_line_per_diagnostic() -> None:
    diags = [_diagnostic(), error("E100", "cannot read `x.net`", None)]
    assert render_short(diags) == (
        "a.net:3:12: error[E301]: `dense` expects a flat input\nerror[E100]: cannot read `x.net`\n"
    )
    assert render_short([]) == ""


def test_render_json_parses_with_one_based_positions() -> None:
    data = json.loads(render_json([_diagnostic()]))
    assert len(data) == 1
    diag = data[0]
    assert (diag["code"], diag["severity"], diag["message"]) == (
        "E301",
        "error",
        "`dense` expects a flat input",
    )
    assert diag["help"] == "insert `flatten`\nsecond line"
    assert diag["note"] == "a note"
    primary = diag["labels"][0]
    assert primary == {
        "file": "a.net",
        "line": 3,
        "column": 12,
        "end_line": 3,
        "end_column": 20,
        "message": "needs [N] input",
        "primary": True,
    }
    assert [lb["primary"] for lb in diag["labels"]] == [True, False, False, False]
    assert diag["labels"][2]["file"] == "lib/b.net"


def test_render_json_of_a_real_error_points_at_the_offending_token() -> None:
    with pytest.raises(NetspecError) as caught:
        compile("network n {\n  input x: [4]\n  y = x -> dnese(3)\n}\n", "n.net")
    (label,) = json.loads(render_json(caught.value.diagnostics))[0]["labels"]
    assert (label["line"], label["column"], label["end_column"]) == (3, 12, 17)


# --- did_you_mean ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "candidates", "expected"),
    [
        ("dense_", ["dense", "dropout"], "did you mean `dense`?"),
        ("rleu", ["relu", "tanh", "gelu"], "did you mean `relu`?"),
        ("conv2", ["conv1d", "conv2d"], "did you mean `conv2d`?"),
        ("strid", ["out", "k", "stride", "pad"], "did you mean `stride`?"),
        ("netwrok", ("network", "block", "train", "let", "use"), "did you mean `network`?"),
        ("transformer", ["dense", "rnn", "lstm"], None),
        ("x", [], None),
    ],
)
def test_did_you_mean(word: str, candidates: list[str], expected: str | None) -> None:
    assert did_you_mean(word, candidates) == expected


def test_did_you_mean_is_deterministic_with_duplicates() -> None:
    assert did_you_mean("lstn", ["lstm", "lstm", "last"]) == "did you mean `lstm`?"


# --- syntax mistakes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "example"),
    [(key, ex) for key, mistake in _MISTAKES.items() for ex in mistake.examples],
)
def test_each_mistake_example_is_recognised_as_itself(key: str, example: str) -> None:
    with pytest.raises(NetspecError) as caught:
        compile(example)
    (diag,) = caught.value.diagnostics
    assert (diag.code, diag.message) == ("E104", _MISTAKES[key].message)


# --- the corpus covers the codes -------------------------------------------------------------


@cache
def _corpus() -> dict[str, tuple[str, frozenset[str]]]:
    """Each case: the code its header names, and the codes compiling it produces."""
    found = {}
    for case in CASES:
        text = case.read_text(encoding="utf-8")
        header = HEADER.match(text)
        assert header, f"{case.name} must start with `# E###: description`"
        try:
            compile(text, case.relative_to(ROOT).as_posix())
        except NetspecError as exc:
            produced = frozenset(d.code for d in exc.diagnostics)
        else:
            produced = frozenset()
        found[case.name] = (header.group(1), produced)
    return found


@pytest.mark.parametrize(
    "code", sorted(c for c in set(CODES) - NOT_FROM_CASES if not _outside_the_spec(c))
)
def test_every_code_has_a_case_that_produces_it(code: str) -> None:
    declared = [name for name, (head, _) in _corpus().items() if head == code]
    if not declared and _is_train_code(code):
        pytest.skip(f"{code} belongs to the train-section cases (train_*.net), none yet")
    assert declared, f"no case under tests/cases/invalid names {code} in its header"
    producing = [name for name in declared if code in _corpus()[name][1]]
    assert producing, f"the cases naming {code} ({', '.join(declared)}) do not produce it"


def test_every_code_a_case_produces_is_explained() -> None:
    produced = {code for _, codes in _corpus().values() for code in codes}
    missing = sorted(code for code in produced if code not in CODES)
    assert not missing, f"codes produced but not listed in netspec/diagnostics/codes.py: {missing}"
    for code in produced:
        entry = CODES[code]
        assert entry.title and len(entry.explanation) > 40, code
        assert explain(code) is not None


def test_every_case_fails_with_its_header_code() -> None:
    for name, (header, produced) in _corpus().items():
        assert header in produced, f"{name} names {header} but produces {sorted(produced)}"


def test_the_corpus_is_large_enough() -> None:
    own = [c for c in CASES if not c.name.startswith("train_")]
    assert len(own) >= 45


def test_codes_are_well_formed() -> None:
    for code, entry in CODES.items():
        assert re.fullmatch(r"[EW]\d{3}", code)  # W: a warning
        assert entry.title == entry.title.strip() and not entry.title.endswith(".")
        assert entry.explanation.endswith("."), code


# --- the codes no case can produce -----------------------------------------------------------


def test_unreadable_file_is_e100(tmp_path: Path) -> None:
    with pytest.raises(NetspecError) as caught:
        compile_file(tmp_path / "missing.net")
    assert [d.code for d in caught.value.diagnostics] == ["E100"]


def test_bad_override_is_e213() -> None:
    text = "let hidden = 64\nnetwork n { input x: [4]  y = x -> dense(hidden) }"
    with pytest.raises(NetspecError) as caught:
        compile(text, overrides={"hiden": "32"})
    (diag,) = caught.value.diagnostics
    assert diag.code == "E213"
    assert diag.help == "did you mean `hidden`?"
    with pytest.raises(NetspecError) as caught:
        compile(text, overrides={"hidden": "[1,"})
    assert [d.code for d in caught.value.diagnostics] == ["E213"]


# --- diagnostics across files ----------------------------------------------------------------


def test_error_in_a_used_file_points_there_and_at_the_call(tmp_path: Path) -> None:
    (tmp_path / "layers.net").write_text(
        "block classifier(k) {\n  input h\n  y = h -> dense(k)\n  output y\n}\n", encoding="utf-8"
    )
    main = tmp_path / "main.net"
    main.write_text(
        'use "layers.net"\n\nnetwork lenet {\n  input image: [1, 28, 28]\n'
        "  y = image -> classifier(10)\n}\n",
        encoding="utf-8",
    )
    with pytest.raises(NetspecError) as caught:
        compile_file(main)
    (diag,) = caught.value.diagnostics
    assert diag.code == "E301"
    assert diag.primary_span is not None
    assert diag.primary_span.file.endswith("layers.net")
    assert (diag.primary_span.line, diag.primary_span.col) == (3, 12)
    text = str(caught.value)
    assert f"::: {main}:4:3" in text
    assert "in block `classifier`, called here" in text


def test_several_errors_are_reported_in_source_order() -> None:
    text = (
        "network n {\n  input x: [4]\n  c = x -> dense(3, act=rleu)\n"
        "  b = x -> dnese(3)\n  a = q -> relu\n}\n"
    )
    with pytest.raises(NetspecError) as caught:
        compile(text)
    spans = [d.primary_span for d in caught.value.diagnostics]
    assert [d.code for d in caught.value.diagnostics] == ["E403", "E201", "E202"]
    assert [s.line for s in spans if s is not None] == [3, 4, 5]
