"""Integer arithmetic in values: `+ - * //` over numbers, `let`s and block parameters, folded
when the spec is built, with Python's precedence and rounding; `fmt` prints it canonically."""

from __future__ import annotations

import pytest

from netspec.api import compile
from netspec.diagnostics.core import NetspecError
from netspec.lang.parser import parse
from netspec.lang.printer import format_module

SPEC = """
let width = 16
let hidden = 2 * width + 1
let steps = 3
let rate = 0.5

block cell(n, half = n // 2) {
    input x
    y = x -> dense(n) -> dense(half)
    output y
}

network net {
    input seq: [steps + 1, width * 4 // 4]
    input digit: class(10)
    h = seq -> flatten -> dense(VALUE) -> cell(hidden - 1) -> dense(8) * (steps - 1)
    y = h -> softmax(10)
    loss cross_entropy(y, digit)
}

train net {
    data = digits(test=0.2, seed=0)
    batch = 4 * 8
    epochs = steps * 2
}
"""


def _dense_sizes(text: str) -> list[int]:
    graph = compile(text, "a.net").networks["net"]
    return [n.params["n"] for n in graph.nodes() if n.kind == "dense"]


@pytest.mark.parametrize(
    ("value", "folded"),
    [
        ("2 + 3 * 4", 14),  # `*` binds tighter
        ("(2 + 3) * 4", 20),
        ("10 - 3 - 2", 5),  # left to right
        ("10 - (3 - 2)", 9),
        ("64 // 4 // 2", 8),
        ("64 // (4 // 2)", 32),
        ("width * width // 3", 85),  # (16 * 16) // 3
        ("width * (width // 3)", 80),
        ("20 - -1", 21),
        ("-7 // 2 + 9", 5),  # `//` rounds down: -7 // 2 is -4
    ],
)
def test_arithmetic_folds_as_python_does(value: str, folded: int) -> None:
    assert _dense_sizes(SPEC.replace("VALUE", value))[0] == folded == eval(value, {"width": 16})


def test_lets_parameters_shapes_counts_and_settings_are_folded() -> None:
    compiled = compile(SPEC.replace("VALUE", "hidden"), "a.net")
    graph = compiled.networks["net"]
    assert graph.node("seq").type is not None and graph.node("seq").type.dims == (4, 16)
    # dense(hidden) = 33, the cell's dense(n) and dense(half) with n = 32, then 8 twice
    assert _dense_sizes(SPEC.replace("VALUE", "hidden")) == [33, 32, 16, 8, 8]
    plan = compiled.trains["net"]
    assert plan.batch == 32 and plan.stages[-1].epochs == 6


def test_fmt_prints_arithmetic_canonically_and_keeps_its_meaning() -> None:
    text = SPEC.replace("VALUE", "((hidden))*(2)-(width//(4*2))")
    printed = format_module(parse(text))
    assert "dense((hidden) * 2 - width // (4 * 2))" not in printed
    assert "dense(hidden * 2 - width // (4 * 2))" in printed
    assert "seq: [steps + 1, width * 4 // 4]" in printed
    assert "dense(8) * (steps - 1)" in printed
    assert format_module(parse(printed)) == printed
    assert _dense_sizes(printed) == _dense_sizes(text)


@pytest.mark.parametrize(
    ("value", "code", "words"),
    [
        ("0.5 * width", "E408", "0.5 is not one"),
        ("rate * width", "E408", "`rate` is 0.5"),
        ("widht // 2", "E408", "did you mean `width`?"),
        ("width // (steps - 3)", "E409", "division by zero"),
        ("width - 16", "E404", "must be positive, but got 0"),
    ],
)
def test_arithmetic_mistakes_are_diagnosed_at_the_operand(
    value: str, code: str, words: str
) -> None:
    with pytest.raises(NetspecError) as caught:
        compile(SPEC.replace("VALUE", value), "a.net")
    diag = caught.value.diagnostics[0]
    assert diag.code == code
    assert words in diag.message + (diag.help or "")


def test_arithmetic_where_a_tensor_belongs_says_how_to_repeat() -> None:
    text = SPEC.replace("VALUE", "8").replace("y = h -> softmax(10)", "y = add(h * 2, h)")
    with pytest.raises(NetspecError) as caught:
        compile(text, "a.net")
    diag = caught.value.diagnostics[0]
    assert diag.code == "E214" and "the arithmetic `h * 2`" in diag.message
    assert "x -> dense(8) * 3" in (diag.help or "")
