"""`train --skip-stage` (a stage left out, recorded, kept on resume) and `compare` (final metrics
side by side, curves on one figure), on a tiny RBM-then-softmax stack trained in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import netspec
from netspec.cli import main
from netspec.report.compare import read_run
from netspec.training.run import TrainOptions, train
from netspec.training.runs import RunError

STACK = """
network stack {
    input bits: [16]
    input kind: class(2)
    h = rbm(bits, 8)
    y = softmax(h, 2)
    loss cross_entropy(y, kind)
}
train stack {
    data = bars(n=60, size=4, test=0.25)
    batch = 10
    stage pre { greedy = [h]  method = pcd(k=1)  optimizer = sgd(lr=0.1)  epochs = 2 }
    stage tune { optimizer = adam(lr=0.01)  epochs = 2 }
}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """The spec, a run of both stages, and a run without pretraining."""
    tmp = tmp_path_factory.mktemp("compare")
    spec = tmp / "stack.net"
    spec.write_text(STACK, encoding="utf-8")
    full, skipped = tmp / "full", tmp / "skipped"
    common = ["train", str(spec), "--quiet", "--steps", "2"]
    assert main([*common, "--run-dir", str(full)]) == 0
    assert main([*common, "--run-dir", str(skipped), "--skip-stage", "pre"]) == 0
    return spec, full, skipped


def stages_logged(run: Path) -> list[str]:
    return [row["stage"] for row in read_run(run).rows]


def test_skip_stage_leaves_the_stage_out_and_records_it(trained: tuple[Path, Path, Path]) -> None:
    _, full, skipped = trained
    assert stages_logged(full) == ["pre:h", "pre:h", "tune"]
    assert stages_logged(skipped) == ["tune"]
    manifest = json.loads((skipped / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["skip_stages"] == ["pre"]
    assert [s["name"] for s in manifest["stages"]] == ["tune"]
    assert json.loads((full / "manifest.json").read_text(encoding="utf-8"))["skip_stages"] == []


def test_an_unknown_stage_is_a_usage_error_with_a_suggestion(
    trained: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(trained[0])
    assert main(["train", spec, "--quiet", "--runs", str(tmp_path), "--skip-stage", "tuen"]) == 2
    err = capsys.readouterr().err
    assert "no stage `tuen` (stages: pre, tune)" in err
    assert "did you mean `tune`?" in err
    assert not list(tmp_path.iterdir())  # refused before a run folder was made


def test_skipping_every_stage_is_refused(
    trained: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    skip = ["--skip-stage", "pre", "--skip-stage", "tune"]
    assert main(["train", str(trained[0]), "--quiet", "--runs", str(tmp_path), *skip]) == 2
    assert "leaves no stage to run" in capsys.readouterr().err


def test_a_resume_keeps_the_skipped_stages(
    trained: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    spec, full, skipped = trained
    resume = ["train", str(spec), "--quiet", "--resume", str(full), "--skip-stage", "pre"]
    assert main(resume) == 2
    assert "--skip-stage differs from the run's (none)" in capsys.readouterr().err
    # the library checks it too, for callers that do not go through the command line
    options = TrainOptions(resume=skipped, quiet=True, steps=2, argv=["test"])
    with pytest.raises(RunError, match="skip_stages is \\[\\], but the run was started with"):
        train(netspec.compile(STACK, str(spec)), options)


def test_compare_prints_both_accuracies_and_plots_the_curves(
    trained: tuple[Path, Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, full, skipped = trained
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(full), str(skipped)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["full", "skipped"]
    assert lines[3].split() == ["skipped", "stages", "none", "pre"]
    accuracy = next(line for line in lines if line.startswith("cross_entropy/acc "))
    finals = [read_run(run).final["cross_entropy/acc"] for run in (full, skipped)]
    assert accuracy.split()[1:] == [f"{a:.4g}" for a in finals]
    assert (tmp_path / "compare.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_compare_refuses_a_folder_that_is_not_a_run(
    trained: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "c.png")
    assert main(["compare", str(trained[1]), str(tmp_path), "-o", out]) == 1
    assert capsys.readouterr().err.startswith(
        f"error[E749]: {tmp_path} is not a run directory (it has no manifest.json)\n"
    )
    assert not Path(out).exists()


TORCH_FREE = """
import sys
from netspec.cli import main
code = main(["compare", *sys.argv[1:]])
print(code, "torch" in sys.modules)
"""


def test_compare_imports_no_torch(trained: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, full, skipped = trained
    args = [str(full), str(skipped), "-o", str(tmp_path / "c.png")]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    result = subprocess.run(
        [sys.executable, "-c", TORCH_FREE, *args], capture_output=True, text=True, env=env
    )
    assert result.stdout.split()[-2:] == ["0", "False"], result.stderr
