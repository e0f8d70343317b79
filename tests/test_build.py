"""Building the IR: ids from spec names, chains, repetition, blocks, outputs, lets, imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from netspec.api import compile, compile_file
from netspec.diagnostics.core import NetspecError
from netspec.ir import Graph, Role


def _net(body: str, prelude: str = "") -> Graph:
    return compile(f"{prelude}\nnetwork n {{\n{body}\n}}").network("n")


def _codes(text: str) -> list[str]:
    with pytest.raises(NetspecError) as caught:
        compile(text)
    return [d.code for d in caught.value.diagnostics]


def test_chain_nodes_are_named_after_the_target() -> None:
    g = _net("input x: [4]\ny = x -> dense(8) -> relu -> dense(8) -> relu")
    assert [n.id for n in g.nodes(Role.UNIT)] == ["y.dense", "y.relu", "y.dense_2", "y"]
    assert g.inputs_of("y.dense_2") == ["y.relu"]
    assert g.node("y").name == "y"


def test_call_form_takes_its_inputs_first() -> None:
    g = _net("input x: [4]\ninput z: [4]\ny = dense(concat(x, z), 3)")
    assert g.inputs_of("y.concat") == ["x", "z"]
    assert g.node("y").params["n"] == 3


def test_names_resolve_in_any_order() -> None:
    g = _net("input x: [4]\nb = a -> relu\na = x -> dense(2)")
    assert g.inputs_of("b") == ["a"]


def test_repetition_expands_the_links_n_times() -> None:
    g = _net("let depth = 3\ninput x: [4]\ny = x -> (dense(8) -> relu) * depth")
    assert sum(n.kind == "dense" for n in g.nodes()) == 3
    assert g.node("y").kind == "relu"


def test_block_calls_are_prefixed_by_their_site_and_record_it() -> None:
    prelude = (
        "block residual(n, p=0.1) {\n input x\n h = x -> dense(n) -> dropout(p)\n"
        " y = add(x, h)\n output y\n}"
    )
    g = _net("input x: [8]\nr1 = residual(x, 8)\nr2 = r1 -> residual(8, p=0.5)", prelude)
    assert g.names["r1"] == "r1.y"
    assert g.node("r2.h").params["p"] == 0.5
    assert g.node("r1.h").params["p"] == 0.1
    assert [s.id for s in g.node("r2.h.dense").scope] == ["r2"]
    assert g.node("r2.y").type is not None and str(g.node("r2.y").type) == "[8]"


def test_blocks_with_several_outputs_destructure() -> None:
    prelude = "block split(n) {\n input x\n a = x -> dense(n)\n b = x -> dense(n)\n output a, b\n}"
    g = _net("input x: [4]\nl, r = split(x, 2)\ny = concat(l, r)", prelude)
    assert g.inputs_of("y") == ["l.split.a", "l.split.b"]
    assert str(g.node("y").type) == "[4]"


def test_outputs_default_to_loss_predictions_and_losses_get_ids() -> None:
    g = _net("input x: [4]\ninput t: class(3)\ny = x -> softmax(3)\nloss cross_entropy(y, t)")
    assert [n.id for n in g.nodes(Role.OUTPUT)] == ["output:y"]
    assert [n.id for n in g.nodes(Role.LOSS)] == ["loss:cross_entropy"]
    assert g.inputs_of("loss:cross_entropy") == ["y", "t"]


def test_weighted_named_losses_make_a_multi_task_model() -> None:
    g = _net(
        "input x: [4]\ninput a: class(3)\ninput b: real[1]\nh = x -> dense(8)\n"
        "loss task_a = cross_entropy(h -> softmax(3), a)\n"
        "loss task_b = mse(h -> linear(1), b, weight=0.3)"
    )
    losses = {n.id: n.params["weight"] for n in g.nodes(Role.LOSS)}
    assert losses == {"loss:task_a": 1.0, "loss:task_b": 0.3}
    assert len(list(g.nodes(Role.OUTPUT))) == 2


def test_set_overrides_a_top_level_let() -> None:
    text = "let hidden = 8\nnetwork n { input x: [4]  y = x -> dense(hidden) }"
    assert str(compile(text, overrides={"hidden": "16"}).network().node("y").type) == "[16]"
    assert _codes_with(text, {"hiden": "16"}) == ["E213"]


def _codes_with(text: str, overrides: dict[str, str]) -> list[str]:
    with pytest.raises(NetspecError) as caught:
        compile(text, overrides=overrides)
    return [d.code for d in caught.value.diagnostics]


def test_use_imports_blocks_relative_to_the_importing_file(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.net").write_text(
        "block mlp(n) { input x  y = x -> dense(n)  output y }"
    )
    main = tmp_path / "main.net"
    main.write_text('use "lib/blocks.net"\nnetwork n { input x: [4]  y = mlp(x, 3) }')
    assert str(compile_file(main).network().node("y.y").type) == "[3]"


def test_errors_are_all_collected_without_cascades() -> None:
    codes = _codes(
        "network n {\n input x: [4]\n a = x -> dense(3, actt=relu)\n b = a -> relu\n"
        " c = q -> relu\n d = x -> conv2d(2, 3)\n e = d -> relu\n}"
    )
    assert codes == ["E401", "E202", "E301"]


def test_cycles_are_reported_once() -> None:
    assert _codes("network n { input x: [2]  a = add(x, b)  b = a -> relu }") == ["E204"]
