"""The highlighters derived from the grammar: the Pygments lexer, the TextMate grammar, and the
coloured excerpts of diagnostics."""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lark import Lark

from netspec.diagnostics.core import error
from netspec.diagnostics.render import render_text
from netspec.editor.pygments_lexer import NetspecLexer, ansi_line, categorized
from netspec.editor.textmate import GRAMMAR_PATH, SCOPES, textmate_grammar, textmate_json
from netspec.editor.tokens import derive_table, token_table
from netspec.lang.parser import grammar_text
from netspec.lang.source import Sources, Span

ROOT = Path(__file__).resolve().parents[1]
ZOO = sorted([*ROOT.glob("specs/*.net"), *ROOT.glob("examples/*.net")])
SCOPE_CATEGORY = {scope: category for category, scope in SCOPES.items()}


def _zoo_ids(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def _pygments_tokens(text: str) -> list[tuple[str, str]]:
    return [(c, v) for c, v in categorized(text) if c != "whitespace"]


def _textmate_tokens(grammar: dict[str, Any], text: str) -> list[tuple[str, str]]:
    """A first-match TextMate scanner: line by line, the leftmost match of the current region's
    patterns wins (the region's `end` first, then the patterns in order); begin/end regions nest.
    Text no rule matches is skipped, as TextMate leaves it unscoped; the only such text should be
    whitespace, which is checked."""
    regions: list[dict[str, Any]] = [grammar]
    out: list[tuple[str, str]] = []

    def expand(patterns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rules = []
        for p in patterns:
            if "include" in p:
                rules.append(grammar["repository"][p["include"].lstrip("#")])
            else:
                rules.append(p)
        return rules

    for line in text.split("\n"):
        pos = 0
        while pos < len(line):
            region = regions[-1]
            candidates = [("end", region["end"], region)] if "end" in region else []
            for rule in expand(region["patterns"]):
                if "match" in rule:
                    candidates.append(("match", rule["match"], rule))
                else:
                    candidates.append(("begin", rule["begin"], rule))
            best = None
            for kind, pattern, rule in candidates:
                m = re.compile(pattern).search(line, pos)
                if m and m.end() > m.start() and (best is None or m.start() < best[1].start()):
                    best = (kind, m, rule)
            if best is None:
                assert not line[pos:].strip(), f"no rule matches {line[pos:]!r}"
                break
            kind, m, rule = best
            assert not line[pos : m.start()].strip(), f"skipped {line[pos : m.start()]!r}"
            if kind == "match":
                out.append((SCOPE_CATEGORY[rule["name"]], m.group()))
            else:
                captures = rule["beginCaptures" if kind == "begin" else "endCaptures"]
                assert captures["0"]["name"].startswith("punctuation.")
                out.append(("punctuation", m.group()))
                if kind == "begin":
                    regions.append(rule)
                else:
                    regions.pop()
            pos = m.end()
    return out


def test_checked_in_textmate_grammar_is_fresh() -> None:
    assert GRAMMAR_PATH.read_text(encoding="utf-8") == textmate_json(), (
        "run `python -m netspec.editor.textmate` to regenerate grammar/netspec.tmLanguage.json"
    )
    grammar = json.loads(GRAMMAR_PATH.read_text(encoding="utf-8"))
    assert grammar["scopeName"] == "source.netspec" and grammar["fileTypes"] == ["net"]


def test_textmate_writer_writes_the_grammar(tmp_path: Path) -> None:
    from netspec.editor.textmate import main

    target = tmp_path / "netspec.tmLanguage.json"
    assert main([str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == textmate_grammar()


@pytest.mark.parametrize("path", ZOO, ids=_zoo_ids)
def test_pygments_and_textmate_agree_on_the_zoo(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    pygments = _pygments_tokens(text)
    assert not [t for t in pygments if t[0] == "error"], "Pygments found text no rule matches"
    assert _textmate_tokens(textmate_grammar(), text) == pygments


@pytest.mark.parametrize("path", ZOO, ids=_zoo_ids)
def test_pygments_token_boundaries_are_larks(path: Path) -> None:
    """Every token the grammar's own lexer finds starts and ends where a Pygments token does."""
    text = path.read_text(encoding="utf-8")
    lark = Lark(grammar_text(), parser="lalr", cache=True)
    theirs = [(t.start_pos, str(t)) for t in lark.lex(text, dont_ignore=True) if t.type != "WS"]
    ours = [(i, v) for i, _, v in NetspecLexer().get_tokens_unprocessed(text) if not v.isspace()]
    assert ours == theirs


def test_zoo_is_not_empty() -> None:
    assert len(ZOO) >= 20


def test_semantic_classes_on_top_of_the_grammar() -> None:
    text = "train t { epochs = 3  optimizer = adam(lr=0.1) }\nnetwork n { h = f(input=1) -> relu }"
    tokens = _pygments_tokens(text)
    assert ("keyword", "train") in tokens and ("keyword", "network") in tokens
    assert ("attribute", "epochs") in tokens  # a train setting's key
    assert ("attribute", "lr") in tokens and ("attribute", "input") in tokens  # keyword arguments
    assert ("builtin", "adam") in tokens and ("builtin", "relu") in tokens
    assert ("name", "h") in tokens and ("name", "f") in tokens  # assignment targets stay names
    assert ("operator", "->") in tokens and ("number", "0.1") in tokens


def test_a_keyword_added_to_the_grammar_reaches_both_highlighters() -> None:
    grammar = grammar_text().replace('use: "use" STRING', 'use: ("use" | "import") STRING')
    table = derive_table(grammar)
    assert "import" in table.keywords and "import" not in token_table().keywords
    keyword_rule = next(r for r in table.rules(in_parens=False) if r.category == "keyword")
    assert re.fullmatch(keyword_rule.pattern, "import")
    tm_patterns = textmate_grammar(table)["patterns"]
    assert any("import" in p.get("match", "") for p in tm_patterns)


def test_pygments_lexer_loads_from_its_file() -> None:
    from pygments.lexers import load_lexer_from_file

    module = ROOT / "netspec" / "editor" / "pygments_lexer.py"
    lexer = load_lexer_from_file(str(module), "NetspecLexer")
    assert lexer.name == "netspec" and lexer.filenames == ["*.net"]


def test_pygments_entry_point_is_declared() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table = '[project.entry-points."pygments.lexers"]\n'
    assert table in pyproject, "pyproject.toml declares no Pygments lexer"
    entry = pyproject.split(table, 1)[1].split("\n", 1)[0]
    assert entry == 'netspec = "netspec.editor.pygments_lexer:NetspecLexer"'
    module, name = entry.split('"')[1].split(":")
    assert getattr(importlib.import_module(module), name) is NetspecLexer


def test_highlighters_do_not_import_torch() -> None:
    code = (
        "import sys, netspec.editor.pygments_lexer, netspec.editor.textmate\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def _diagnostic_text(color: bool) -> str:
    source = "network n {\n  let k = 4  # four\n}\n"
    sources = Sources()
    sources.add("x.net", source)
    span = Span("x.net", 18, 19, 2, 7, 2, 8)  # `k`
    diag = error("E404", "bad size", span, "here")
    return render_text([diag], sources, color=color)


def test_coloured_excerpt_colours_keywords_and_plain_stays_plain() -> None:
    coloured = _diagnostic_text(color=True)
    assert "\033[35mlet\033[0m" in coloured  # the keyword, coloured
    assert "\033[33m4\033[0m" in coloured and "\033[2m# four\033[0m" in coloured
    plain = _diagnostic_text(color=False)
    assert "\033" not in plain
    assert "2 |   let k = 4  # four\n" in plain
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == plain  # colour changes no column


def test_plain_diagnostics_do_not_import_pygments() -> None:
    code = (
        "import sys\n"
        "from netspec.diagnostics.core import error\n"
        "from netspec.diagnostics.render import render_text\n"
        "from netspec.lang.source import Sources, Span\n"
        "sources = Sources()\n"
        "sources.add('x.net', 'let k = 0\\n')\n"
        "diag = error('E404', 'bad size', Span('x.net', 4, 5, 1, 5, 1, 6), 'here')\n"
        "assert 'let k' in render_text([diag], sources, color=False)\n"
        "assert 'pygments' not in sys.modules, 'pygments was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_ansi_line_leaves_names_and_operators_plain() -> None:
    assert ansi_line("x -> y") == "x -> y"
