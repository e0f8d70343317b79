"""A run folder is self-contained: it keeps every file its spec read and the --set values, and
`eval`, `export` and `sample` rebuild the run from the folder alone (`netspec eval RUN`); a file
with several networks needs --network where the choice is not clear."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from netspec.cli import main

BLOCKS = """block hidden(n) {
    input x
    y = x -> dense(n, act=relu)
    output y
}
"""

SPEC = """use "lib/blocks.net"
let width = 8

network tiny {
    input x: [4]
    input kind: class(3)
    h = x -> hidden(width)
    y = softmax(h, 3)
    loss cross_entropy(y, kind)
}

train tiny {
    data = iris()
    steps = 3
}
"""

STACK = """network dbn {
    input pixels: [16]
    h1 = rbm(pixels, 8)
    h2 = rbm(h1, 6)
}

train dbn {
    data = bars(n=40, size=4, test=0.25, seed=1)
    stage pretrain { greedy = [h1, h2]  steps = 2 }
}
"""


def _layout(where: Path) -> Path:
    (where / "specs" / "lib").mkdir(parents=True)
    (where / "specs" / "lib" / "blocks.net").write_text(BLOCKS, encoding="utf-8")
    spec = where / "specs" / "m.net"
    spec.write_text(SPEC, encoding="utf-8")
    return spec


@pytest.fixture
def trained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[Path, str]:
    """A run of SPEC with `--set width=5`, and the test metrics its training printed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    _layout(tmp_path)
    assert main(["train", "specs/m.net", "--set", "width=5", "--run-dir", "run"]) == 0
    printed = capsys.readouterr().out
    return tmp_path / "run", _metric_lines(printed)


def _metric_lines(out: str) -> str:
    """The rows of the metrics table (the head's line), whatever the title above it says."""
    return "\n".join(line for line in out.splitlines() if line.startswith("cross_entropy"))


def test_the_run_keeps_every_file_its_spec_read_and_its_settings(
    trained: tuple[Path, str], tmp_path: Path
) -> None:
    run, _ = trained
    assert (run / "source" / "m.net").read_text() == SPEC
    assert (run / "source" / "lib" / "blocks.net").read_text() == BLOCKS
    record = json.loads((run / "manifest.json").read_text())["source"]
    assert record["root"] == "m.net"
    assert record["files"] == {"m.net": "source/m.net", "lib/blocks.net": "source/lib/blocks.net"}
    assert record["overrides"] == {"width": "5"}
    assert Path(record["folder"]) == (tmp_path / "specs").resolve()


def test_eval_of_the_run_folder_reproduces_the_training_figures(
    trained: tuple[Path, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, figures = trained
    # The original spec and its block file are gone, and eval runs from another folder: the
    # folder alone must rebuild the width-5 network (a width-8 one would not load).
    shutil.rmtree(tmp_path / "specs")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["eval", "../run"]) == 0
    out = capsys.readouterr().out
    assert "run/checkpoints/last.safetensors" in out
    assert _metric_lines(out) == figures and figures
    assert main(["eval", "../run", "--checkpoint", "best"]) == 0
    assert "best.safetensors" in capsys.readouterr().out


def test_export_and_a_new_set_apply_to_the_rebuilt_run(
    trained: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = trained
    assert main(["export", str(run), "-o", str(tmp_path / "tiny.py")]) == 0
    assert (tmp_path / "tiny.safetensors").is_file()  # the run's last weights, beside it
    assert "nn.Linear(in_features=4, out_features=5" in (tmp_path / "tiny.py").read_text()
    capsys.readouterr()
    # A --set on top of the run's own changes the network, so its weights no longer fit.
    assert main(["eval", str(run), "--set", "width=6"]) == 1
    assert "E7" in capsys.readouterr().err


def test_an_edited_copy_or_an_old_run_is_refused_with_a_code(
    trained: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = trained
    blocks = run / "source" / "lib" / "blocks.net"
    blocks.write_text(BLOCKS.replace("relu", "tanh"))
    assert main(["eval", str(run)]) == 1
    assert "E708" in capsys.readouterr().err
    blocks.write_text(BLOCKS)
    manifest = json.loads((run / "manifest.json").read_text())
    del manifest["source"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    assert main(["eval", str(run)]) == 1
    err = capsys.readouterr().err
    assert "E708" in err and "no copy of its spec" in err and "--checkpoint" in err


def test_a_run_folder_names_its_network(
    trained: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = trained
    assert main(["eval", str(run), "--network", "other"]) == 2
    err = capsys.readouterr().err
    assert "E761" in err and "`tiny`" in err
    assert main(["eval", str(run), "--network", "tiny"]) == 0


def test_sample_of_a_dbn_run_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dbn.net").write_text(STACK, encoding="utf-8")
    assert main(["train", "dbn.net", "--run-dir", "run", "--quiet"]) == 0
    assert main(["sample", "run", "-o", "dreams.png", "--n", "4", "--steps", "2"]) == 0
    assert "4 samples" in capsys.readouterr().out and (tmp_path / "dreams.png").is_file()


# --- several networks in one file ----------------------------------------------------------------

TWO_TRAINED = SPEC.replace('use "lib/blocks.net"\n', BLOCKS) + SPEC.split("let width = 8\n")[
    1
].replace("tiny", "other")
ONE_TRAINED = TWO_TRAINED.split("train other")[0]


def test_two_trained_networks_need_network_to_train_or_evaluate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("two.net").write_text(TWO_TRAINED, encoding="utf-8")
    assert main(["train", "two.net", "--run-dir", "r"]) == 2
    err = capsys.readouterr().err
    assert "E760" in err and "tiny, other" in err and "--network tiny" in err
    assert not Path("r").exists()
    assert main(["train", "two.net", "--network", "other", "--run-dir", "r", "--quiet"]) == 0
    ckpt = "r/checkpoints/last.safetensors"
    assert main(["eval", "two.net", "--checkpoint", ckpt]) == 2
    assert "E760" in capsys.readouterr().err
    assert main(["eval", "two.net", "--checkpoint", ckpt, "--network", "other"]) == 0
    assert main(["eval", "r"]) == 0  # the run folder knows
    assert "other" in json.loads(Path("r/manifest.json").read_text())["network"]


def test_export_picks_the_only_trained_network_and_asks_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("one.net").write_text(ONE_TRAINED, encoding="utf-8")
    assert main(["export", "one.net", "-o", "m.py"]) == 0
    assert "class Tiny" in Path("m.py").read_text()
    untrained = ONE_TRAINED.replace("train tiny {\n    data = iris()\n    steps = 3\n}\n", "")
    assert untrained.count("network ") == 2 and "train" not in untrained
    Path("none.net").write_text(untrained, encoding="utf-8")
    assert main(["export", "none.net", "-o", "n.py"]) == 2
    assert "E760" in capsys.readouterr().err and not Path("n.py").exists()
    assert main(["export", "none.net", "-o", "n.py", "--network", "other"]) == 0
