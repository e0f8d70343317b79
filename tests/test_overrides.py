"""`--set NAME=VALUE` reaches a top-level let, a train setting, one stage's setting and one
named loss's parameter; a name that is none of them is E213 with the closest names."""

from __future__ import annotations

from pathlib import Path

import pytest

import netspec
from netspec.diagnostics.core import NetspecError

SPECS = Path(__file__).resolve().parent.parent / "specs"


def _compile(spec: str, **overrides: str) -> netspec.Compiled:
    return netspec.compile_file(SPECS / f"{spec}.net", overrides)


def _loss_weight(compiled: netspec.Compiled, label: str) -> float | str:
    graph = compiled.network()
    weight: float | str = next(n for n in graph.nodes() if n.label == label).params["weight"]
    return weight


def test_a_named_losss_weight() -> None:
    assert _loss_weight(_compile("multitask"), "phonetic") == "auto"
    assert _loss_weight(_compile("multitask", **{"phonetic.weight": "0"}), "phonetic") == 0
    assert _loss_weight(_compile("multitask", **{"phonetic.weight": "0.5"}), "phonetic") == 0.5
    assert _loss_weight(_compile("multitask", **{"phonetic.weight": "0"}), "recognise") == "auto"


def test_one_stages_setting_and_the_sections() -> None:
    stages = {s.name: s for s in _compile("dbn", **{"finetune.batch": "7"}).trains["dbn"].stages}
    assert stages["finetune"].batch == 7
    assert stages["pretrain"].batch != 7
    plan = _compile("mlp", epochs="3", batch="5").trains["mlp"]
    assert plan.batch == 5 and all(s.epochs == 3 for s in plan.stages)


@pytest.mark.parametrize(
    ("name", "hint"),
    [("finetun.batch", "`finetune`"), ("epoch", "`epochs`"), ("nothing.weight", "LOSS.weight")],
)
def test_a_name_that_is_nothing_is_e213(name: str, hint: str) -> None:
    with pytest.raises(NetspecError) as caught:
        _compile("dbn", **{name: "1"})
    (d,) = caught.value.diagnostics
    assert d.code == "E213" and hint in (d.help or ""), d


def test_a_setting_the_stage_does_not_take_points_at_the_command_line() -> None:
    with pytest.raises(NetspecError) as caught:
        _compile("dbn", **{"finetune.lr": "0.5"})
    (d,) = caught.value.diagnostics
    assert d.code == "E501" and d.primary_span is not None and d.primary_span.file == "<--set>"


@pytest.mark.parametrize(
    ("value", "given"), [("abc", "a name"), ("[2, 3]", "a list"), ('"two"', "a string")]
)
def test_a_let_given_the_wrong_kind_of_value_names_it_and_its_kind(value: str, given: str) -> None:
    with pytest.raises(NetspecError) as caught:
        _compile("residual", depth=value)
    (d,) = caught.value.diagnostics
    assert d.code == "E213" and d.message.startswith(f"`--set depth={value}`")
    assert f"`depth` holds an integer, but `{value}` is {given}" in d.message
    lines = (SPECS / "residual.net").read_text().splitlines()
    declared = lines.index("let depth = 2") + 1
    assert d.primary_span is not None and d.primary_span.line == declared
    assert d.help == "give an integer, as in `let depth = 2`"


def test_a_number_for_a_number_and_anything_for_none_pass_to_the_units() -> None:
    assert _compile("residual", width="32").networks  # an integer let, another integer
    assert _compile("multimodal", missing="sound").networks  # `let missing = none`
