"""Static shape inference and parameter counts, against hand-computed values."""

from __future__ import annotations

import pytest

from netspec.api import compile, total_params
from netspec.diagnostics.core import NetspecError


def _types(body: str) -> dict[str, str]:
    g = compile(f"network n {{\n{body}\n}}").network()
    return {n.id: str(n.type) for n in g.nodes()}


def _params(body: str) -> int:
    return total_params(compile(f"network n {{\n{body}\n}}").network())


@pytest.mark.parametrize(
    ("chain", "shape"),
    [
        ("conv2d(16, 3, pad=1)", "[16, 8, 8]"),
        ("conv2d(16, 3)", "[16, 6, 6]"),
        ("conv2d(4, [3, 1], stride=2)", "[4, 3, 4]"),
        ("conv2d(4, 3, dilation=2)", "[4, 4, 4]"),
        ("maxpool(2)", "[1, 4, 4]"),
        ("maxpool(3, stride=1, pad=1)", "[1, 8, 8]"),
        ("avgpool(2) -> flatten", "[16]"),
        ("conv2d(8, 3, pad=1) -> maxpool(2) -> conv2d(8, 3, pad=1) -> maxpool(2)", "[8, 2, 2]"),
    ],
)
def test_convolution_arithmetic(chain: str, shape: str) -> None:
    assert _types(f"input x: [1, 8, 8]\ny = x -> {chain}")["y"] == shape


def test_conv1d_on_symbolic_length_keeps_readable_sizes() -> None:
    types = _types("input x: [2, T]\ny = x -> conv1d(4, 3) -> maxpool(2)")
    assert types["y.conv1d"] == "[4, T-2]"
    assert types["y"] == "[4, (T-4)//2+1]"


@pytest.mark.parametrize(
    ("unit", "shape", "params"),
    [
        ("rnn(8)", "[T, 8]", 8 * (3 + 8) + 2 * 8),
        ("lstm(8, steps=last)", "[8]", 4 * 8 * (3 + 8) + 2 * 4 * 8),
        ("gru(8, bidirectional=true)", "[T, 16]", 2 * (3 * 8 * (3 + 8) + 2 * 3 * 8)),
        ("gru(8, layers=2)", "[T, 8]", (3 * 8 * 11 + 48) + (3 * 8 * 16 + 48)),
    ],
)
def test_recurrent_outputs_and_parameter_counts(unit: str, shape: str, params: int) -> None:
    body = f"input x: [T, 3]\ny = x -> {unit}"
    assert _types(body)["y"] == shape
    assert _params(body) == params


def test_embedding_of_token_ids_infers_the_vocabulary() -> None:
    body = "input w: class(1000)[T]\ne = w -> embed(32)\nh = e -> lstm(16, steps=last)"
    assert _types(body)["e"] == "[T, 32]"
    assert _params("input w: class(1000)[T]\ne = w -> embed(32)") == 32_000


def test_dense_applies_to_each_step_of_a_sequence() -> None:
    assert _types("input x: [T, 4]\ny = x -> dense(2)")["y"] == "[T, 2]"


def test_merges() -> None:
    types = _types(
        "input a: [4]\ninput b: [6]\ninput s: [T, 3]\ninput c: [2, 5, 5]\ninput d: [3, 5, 5]\n"
        "j = concat(a, b)\nk = concat(s, s)\nm = concat(c, d)\nn = add(a, a, a)"
    )
    assert (types["j"], types["k"], types["m"], types["n"]) == (
        "[10]",
        "[T, 6]",
        "[5, 5, 5]",
        "[4]",
    )


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ("input x: [64]\ny = x -> dense(10)", 650),
        ("input x: [64]\ny = x -> dense(10, bias=false)", 640),
        ("input x: [1, 8, 8]\ny = x -> conv2d(16, 3)", 160),
        ("input x: [64]\nh = rbm(x, 256)", 64 * 256 + 64 + 256),
        ("input x: [64]\nh = autoencoder(x, 32)", 64 * 32 + 32 + 64),
        ("input x: [64]\nh = autoencoder(x, 32, tied=false)", 2 * 64 * 32 + 32 + 64),
        ("input x: [64]\nz = sparse_code(x, 100)", 6400),
        ("input x: [4, 8, 8]\ny = x -> batchnorm", 8),
        ("input x: [T, 16]\ny = x -> layernorm", 32),
    ],
)
def test_parameter_counts(body: str, params: int) -> None:
    assert _params(body) == params


def test_flatten_and_reshape_keep_the_number_of_values() -> None:
    types = _types(
        "input x: [64]\ni = x -> reshape([1, 8, 8])\nj = x -> reshape([4, -1])\nf = i -> flatten"
    )
    assert (types["i"], types["j"], types["f"]) == ("[1, 8, 8]", "[4, 16]", "[64]")


def test_a_failed_unit_does_not_cascade() -> None:
    with pytest.raises(NetspecError) as caught:
        compile("network n { input x: [3, 8, 8]  y = x -> dense(4) -> relu -> dense(2) }")
    assert [d.code for d in caught.value.diagnostics] == ["E301"]
