"""`netspec diff`: nodes matched by id (and unambiguous renames), each kind of change found,
train settings and stages compared, and the text, Markdown, JSON and drawing of the result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netspec.api import Compiled, compile, compile_file
from netspec.cli import main
from netspec.views.diff import SpecDiff, diff
from netspec.views.diff_render import ADDED, CHANGED, render_json, render_markdown, render_text

ROOT = Path(__file__).resolve().parent.parent

BASE = """\
network n {
    input x: [8]
    input label: class(3)

    h = x -> dense(16, act=relu) -> dense(12, act=relu)
    y = softmax(h, 3)

    loss cross_entropy(y, label)
}

train n {
    data = blobs(n=64, features=8, test=0.25)
    batch = 16
    optimizer = adam(lr=0.001)
    epochs = 5
}
"""


def _compiled(text: str, file: str = "a.net") -> Compiled:
    return compile(text, file)


def _diff(before: str, after: str) -> SpecDiff:
    return diff(_compiled(before), _compiled(after, "b.net"))


def _deltas(found: SpecDiff, label: str) -> dict[str, tuple[str, str]]:
    change = next(c for c in found.nodes if c.label == label and c.role == "unit")
    return {d.name: (d.before, d.after) for d in change.deltas}


def test_identical_specs_have_no_changes() -> None:
    found = _diff(BASE, BASE)
    assert found.is_empty
    assert found.params_a == found.params_b
    assert "no differences" in render_text(found)


def test_a_changed_argument_propagates_shapes_downstream() -> None:
    found = _diff(BASE, BASE.replace("dense(16, act=relu)", "dense(20, act=relu)"))
    first = _deltas(found, "h.dense")
    assert first["n"] == ("16", "20")
    assert first["output"] == ("[16]", "[20]")
    assert first["parameters"] == (str(8 * 16 + 16), str(8 * 20 + 20))
    below = next(c for c in found.nodes if c.label == "h")
    assert not below.is_own  # only its parameter count changed, through its input
    assert below.param_delta == 4 * 12
    assert found.count("changed") == 2 and found.count("added") == found.count("removed") == 0
    assert "parameters 387 -> 471 (+84)" in render_text(found)


def test_added_and_removed_units_and_rewiring() -> None:
    after = BASE.replace(
        "y = softmax(h, 3)", "g = h -> dense(6, act=tanh)\n    y = softmax(g, 3)"
    ).replace("-> dense(16, act=relu) ", "")
    found = _diff(BASE, after)
    assert [c.label for c in found.of("unit") if c.status == "added"] == ["g"]
    assert [c.label for c in found.of("unit") if c.status == "removed"] == ["h.dense"]
    assert _deltas(found, "y")["inputs"] == ("h", "g")
    assert _deltas(found, "h")["inputs"] == ("h.dense", "x")


def test_a_renamed_unit_is_matched_when_nothing_else_is_like_it() -> None:
    after = BASE.replace("y = softmax(h, 3)", "probs = softmax(h, 3)").replace("(y,", "(probs,")
    found = _diff(BASE, after)
    renamed = [c for c in found.of("unit") if c.status == "renamed"]
    assert [(c.a.label, c.b.label) for c in renamed if c.a and c.b] == [("y", "probs")]
    assert not renamed[0].deltas
    assert found.count("added") == found.count("removed") == 0
    loss = found.of("loss")
    assert loss == []  # its input was renamed, not rewired


def test_renamed_but_identical_files_differ_only_in_their_names(tmp_path: Path) -> None:
    (tmp_path / "one.net").write_text(BASE, encoding="utf-8")
    (tmp_path / "two.net").write_text(BASE, encoding="utf-8")
    found = diff(compile_file(tmp_path / "one.net"), compile_file(tmp_path / "two.net"))
    assert found.is_empty
    assert found.file_a.endswith("one.net") and found.file_b.endswith("two.net")


def test_input_and_loss_changes() -> None:
    after = BASE.replace("input x: [8]", "input x: [10]").replace("features=8", "features=10")
    after = after.replace("cross_entropy(y, label)", "cross_entropy(y, label, smoothing=0.1)")
    found = _diff(BASE, after)
    (x,) = found.of("input")
    assert x.deltas[0].before == "[8]" and x.deltas[0].after == "[10]"
    (loss,) = found.of("loss")
    assert [(d.name, d.before, d.after) for d in loss.deltas] == [("smoothing", "0", "0.1")]


def test_train_settings_and_an_added_stage() -> None:
    after = BASE.replace(
        "    optimizer = adam(lr=0.001)\n    epochs = 5\n",
        "    stage warmup { optimizer = sgd(lr=0.01)  epochs = 1 }\n"
        "    stage main { optimizer = adam(lr=0.003)  epochs = 5 }\n",
    ).replace("blobs(n=64", "blobs(n=96")
    found = _diff(BASE, after)
    assert [(s.key, s.before, s.after) for s in found.train] == [("data.n", "64", "96")]
    stages = {s.name: s for s in found.stages}
    assert stages["warmup"].status == "added"
    assert stages["warmup"].summary == "supervised, sgd(lr=0.01), 1 epochs, batch 16"
    changed = [(s.key, s.before, s.after) for s in stages["main"].settings]
    assert changed == [("optimizer.lr", "0.001", "0.003")]
    assert stages["main"].settings[0].span_b is not None
    assert stages["main"].settings[0].span_b.line == 15


def test_an_optimizer_swap_is_one_change_as_written() -> None:
    found = _diff(BASE, BASE.replace("adam(lr=0.001)", "sgd(lr=0.1, momentum=0.9)"))
    (stage,) = found.stages
    assert [(s.key, s.before, s.after) for s in stage.settings] == [
        ("optimizer", "adam(lr=0.001)", "sgd(lr=0.1, momentum=0.9)")
    ]


def test_the_example_shows_every_kind_of_change(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the paths as the README's command gives them
    found = diff(compile_file("specs/mlp.net"), compile_file("examples/mlp_wide.net"))
    assert (found.count("changed"), found.count("added"), found.count("removed")) == (3, 2, 1)
    assert {s.status for s in found.stages} == {"added", "changed"}
    text = render_text(found)
    assert "~ h.dense  dense(256, act=relu)  specs/mlp.net:11 -> examples/mlp_wide.net:9" in text


def test_json_round_trips_with_stable_keys() -> None:
    found = _diff(BASE, BASE.replace("dense(12", "dense(10"))
    data = json.loads(render_json(found))
    assert data["format"] == "netspec-diff/1"
    assert set(data) == {"format", "a", "b", "summary", "nodes", "train", "stages"}
    assert data["summary"]["changed"] == 2
    first = data["nodes"][0]
    assert first["b"]["id"] == "h" and first["b"]["at"] == {
        "file": "b.net",
        "line": 5,
        "column": 37,
    }
    assert {"what": "argument", "name": "n", "before": "12", "after": "10"} in first["changes"]
    assert data["summary"]["parameters_delta"] == found.params_b - found.params_a


def test_markdown_has_a_table_row_per_change() -> None:
    text = render_markdown(_diff(BASE, BASE.replace("dense(12", "dense(10")))
    assert "| | node | role | call | output | parameters | where |" in text
    assert "| ~ | `h` | unit | `dense(12, act=relu) → dense(10, act=relu)` | [12] → [10] |" in text


def test_cli_draws_the_changes_in_colour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, out = tmp_path / "a.net", tmp_path / "b.net", tmp_path / "d.svg"
    a.write_text(BASE, encoding="utf-8")
    b.write_text(BASE.replace("dense(12", "dense(10"), encoding="utf-8")
    assert main(["diff", str(a), str(b), "--draw", str(out), "--color", "never"]) == 0
    svg = out.read_text(encoding="utf-8")
    assert CHANGED["fillcolor"] in svg and ADDED["fillcolor"] not in svg
    assert "~ h  dense(10, act=relu)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "status"),
    [
        ((), 0),  # they differ, but only --exit-code says so
        (("--exit-code",), 1),
        (("--format", "nope"), 2),
        (("--network", "missing"), 2),
    ],
)
def test_cli_exit_codes(tmp_path: Path, args: tuple[str, ...], status: int) -> None:
    a, b = tmp_path / "a.net", tmp_path / "b.net"
    a.write_text(BASE, encoding="utf-8")
    b.write_text(BASE.replace("epochs = 5", "epochs = 6"), encoding="utf-8")
    assert main(["diff", str(a), str(b), *args]) == status


def test_cli_same_specs_exit_0_even_with_exit_code(tmp_path: Path) -> None:
    a = tmp_path / "a.net"
    a.write_text(BASE, encoding="utf-8")
    assert main(["diff", str(a), str(a), "--exit-code"]) == 0


def test_cli_reports_the_errors_of_both_specs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = tmp_path / "a.net", tmp_path / "b.net"
    a.write_text(BASE.replace("dense(16", "dens(16"), encoding="utf-8")
    b.write_text(BASE.replace("softmax(h", "softmax(hh"), encoding="utf-8")
    assert main(["diff", str(a), str(b), "--color", "never"]) == 1
    err = capsys.readouterr().err
    assert "error[E201]" in err and "error[E202]" in err
    assert "a.net:5" in err and "b.net:6" in err
