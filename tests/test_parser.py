"""The parser: AST shapes, spans that point at the source, comments, and syntax diagnostics."""

from __future__ import annotations

import pytest

from netspec.diagnostics.core import NetspecError
from netspec.lang import ast
from netspec.lang.parser import grammar_text, parse


def _network(text: str) -> ast.Network:
    item = parse(text).items[0]
    assert isinstance(item, ast.Network)
    return item


def test_call_and_chain_forms_parse_to_calls_and_chains() -> None:
    net = _network("network n { a = dense(x, 64)  b = x -> dense(64) -> relu }")
    a, b = net.body
    assert isinstance(a, ast.Assign) and isinstance(a.value, ast.Call)
    assert [arg.name for arg in a.value.args] == [None, None]
    assert isinstance(b, ast.Assign) and isinstance(b.value, ast.Chain)
    assert [type(link).__name__ for link in b.value.links] == ["Call", "Ref"]


def test_repetition_of_one_link_and_of_a_group() -> None:
    net = _network("network n { y = x -> relu * 2 -> (dense(4) -> tanh) * depth }")
    chain = net.body[0].value  # type: ignore[union-attr]
    assert isinstance(chain, ast.Chain)
    single, group = chain.links
    assert isinstance(single, ast.Repeat) and not single.grouped and len(single.links) == 1
    assert isinstance(group, ast.Repeat) and group.grouped and len(group.links) == 2
    assert isinstance(group.count, ast.Ref) and group.count.name.text == "depth"


def test_input_types() -> None:
    net = _network(
        "network n { input a: [1, 8, 8] input b: class(10) input c: class(100)[T] "
        "input d: binary[3] input e: real }"
    )
    kinds = [(s.type.kind.text, s.type.shape is not None) for s in net.body]  # type: ignore[union-attr]
    assert kinds == [
        ("real", True),
        ("class", False),
        ("class", True),
        ("binary", True),
        ("real", False),
    ]


def test_numbers_keep_their_written_form() -> None:
    net = _network("network n { y = f(1e-3, -1, .5, 64) }")
    call = net.body[0].value  # type: ignore[union-attr]
    numbers = [a.value for a in call.args]  # type: ignore[union-attr]
    assert [(n.value, n.text) for n in numbers] == [
        (1e-3, "1e-3"),
        (-1, "-1"),
        (0.5, ".5"),
        (64, "64"),
    ]
    assert isinstance(numbers[3].value, int)


def test_spans_point_at_the_source() -> None:
    text = "network n {\n    input x: [4]\n    y = x -> dense(3)\n}\n"
    net = _network(text)
    assign = net.body[1]
    assert isinstance(assign, ast.Assign)
    link = assign.value.links[0]  # type: ignore[union-attr]
    assert (link.span.line, link.span.col) == (3, 14)
    assert text[link.span.start : link.span.end] == "dense(3)"


def test_keywords_remain_usable_as_argument_names() -> None:
    net = _network("network n { y = f(x, input=1, loss=2) }")
    call = net.body[0].value  # type: ignore[union-attr]
    assert [a.name.text for a in call.args if a.name] == ["input", "loss"]  # type: ignore[union-attr]


def test_comments_are_collected_with_positions_but_not_from_strings() -> None:
    module = parse('# head\nuse "a#b.net"  # tail\n')
    assert [(c.text, c.span.line) for c in module.comments] == [("# head", 1), ("# tail", 2)]
    assert module.items[0].path.value == "a#b.net"  # type: ignore[union-attr]


def test_statements_need_no_separators_and_chains_continue_over_lines() -> None:
    net = _network("network n {\n y = x\n   -> relu\n z = y }")
    assert len(net.body) == 2


@pytest.mark.parametrize(
    ("text", "code", "line", "col"),
    [
        ("netwrok n {}", "E101", 1, 1),
        ("network n {\n  y = f(x);\n}", "E102", 2, 11),
        ("network n {\n  input x: [3]\n", "E103", 2, 15),
        ("network n { y = dense(x 64) }", "E104", 1, 25),
    ],
)
def test_syntax_errors_have_codes_and_positions(text: str, code: str, line: int, col: int) -> None:
    with pytest.raises(NetspecError) as caught:
        parse(text, "t.net")
    (diag,) = caught.value.diagnostics
    assert diag.code == code
    assert diag.primary_span is not None
    assert (diag.primary_span.line, diag.primary_span.col) == (line, col)


def test_grammar_is_found_from_the_work_tree() -> None:
    assert "start:" in grammar_text()
