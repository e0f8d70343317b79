"""`netspec explain WORD` for topics rather than spec files: one train setting's page, and a word
that is neither a file nor a topic, answered with the closest topic and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from netspec.cli import main
from netspec.plan import catalog
from netspec.views import explain


def explain_word(word: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["explain", word])
    out, err = capsys.readouterr()
    return code, out, err


def test_every_topic_explain_suggests_has_a_page(capsys: pytest.CaptureFixture[str]) -> None:
    for topic in explain.topics():
        code, out, err = explain_word(topic, capsys)
        assert (code, err) == (0, ""), topic
        assert out.strip(), topic


def test_a_setting_has_its_own_page(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = explain_word("early_stop", capsys)
    assert code == 0
    assert out.splitlines() == [
        "early_stop: the patience: stop after this many evaluations (epochs, unless `eval_every` "
        "is set) without a better monitored loss, a positive integer or `none`",
        "  (a setting of the train section, which its stages inherit, or of one stage)",
        "  type: int",
    ]


def test_a_setting_that_takes_a_call_lists_its_catalogue(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, out, _ = explain_word("optimizer", capsys)
    assert out.startswith("optimizer: an optimizer below (default adam())\n")
    assert "optimizers (optimizer = ...):\n" in out
    for name in catalog.OPTIMIZERS:
        assert f"\n  {name}(" in out, name
    _, out, _ = explain_word("device", capsys)
    assert "  one of: auto, cpu, cuda\n" in out
    _, out, _ = explain_word("freeze", capsys)
    assert "(a setting of one stage)" in out


@pytest.mark.parametrize(
    ("word", "closest"),
    [("dens", "dense"), ("early_stopp", "early_stop"), ("Adam", "adam"), ("trian", "train")],
)
def test_an_unknown_word_suggests_the_closest_topic(
    word: str, closest: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = explain_word(word, capsys)
    assert code == 2
    assert out == ""
    assert err.startswith(
        f"error[E737]: `{word}` is neither a spec file nor a topic; did you mean `{closest}`?\n"
    )
    assert "no such file" not in err


def test_a_word_far_from_every_topic_gets_no_suggestion(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = explain_word("zeppelin", capsys)
    assert code == 2
    assert err.splitlines() == [
        "error[E737]: `zeppelin` is neither a spec file nor a topic",
        "   |",
        "   = help: `netspec explain units` lists the unit kinds, "
        "`netspec explain train` the train settings and catalogue entries",
        "",
        "error: found 1 error",
    ]


@pytest.mark.parametrize("path", ["nope.net", "no/such/dir/mlp.net", "no/such/spec"])
def test_a_missing_path_is_still_no_such_file(
    path: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = explain_word(path, capsys)
    assert code == 2
    assert err.startswith(f"error[E731]: no such file: {path}\n")


def test_a_file_named_like_a_topic_is_explained_as_a_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dense").write_text("network tiny {\n    input x: [4]\n    y = x -> dense(2)\n}\n")
    monkeypatch.chdir(tmp_path)
    code, out, err = explain_word("dense", capsys)
    assert (code, err) == (0, "")
    assert out.startswith("network tiny\n")


@pytest.mark.parametrize("name", [e.name for e in catalog.OPTIMIZERS.values()])
def test_an_optimizers_page_gives_its_update_rule(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = explain_word(name, capsys)
    rule = out[out.index("update, at every step") :]
    assert "theta = theta - lr * " in rule, out  # the printed rule names the parameters


def test_backprop_has_a_page_with_a_worked_walk(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = explain_word("backprop", capsys)
    assert code == 0
    assert "netspec explain FILE --backward" in out
    assert "delta_z_y = (y - onehot(t)) / N" in out  # softmax and cross-entropy together
    assert "delta_z_h = delta_h * h * (1 - h)" in out  # the sigmoid's derivative


@pytest.mark.parametrize("name", list(catalog.METHODS))
def test_a_pretraining_methods_page_gives_its_rule(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = explain_word(name, capsys)
    assert "rule, at every minibatch" in out, out
    if name in ("cd", "pcd"):
        assert "dW_h = <h_data x^T>_data - <h_model_1 x_model_1^T>_model" in out
