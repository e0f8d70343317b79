"""Every zoo spec trains through the CLI on its real data: one step of each stage (`--smoke`),
then the final evaluation, the plots and the drawing, as `netspec train` ends a full run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from netspec.cli import main


def _runs_in(folder: Path) -> list[Path]:
    """The run folders in a runs root (its index.html beside them left out)."""
    return [p for p in folder.iterdir() if p.is_dir()]


ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.net"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_zoo_spec_trains_one_step_per_stage(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", str(spec), "--smoke", "--runs", str(tmp_path), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (run,) = _runs_in(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "done" and manifest["final"], manifest
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    stages = {r["stage"].split(":")[0] for r in rows}
    assert stages == {s["name"] for s in manifest["stages"]}, "every stage ran and logged"
    assert (run / "network.svg").exists() and (run / "plots" / "curves.svg").exists()
    assert f"run:        {run}" in out


def test_a_network_without_a_loss_reports_its_units_objectives_on_each_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(ROOT / "specs" / "autoencoder.net")
    assert main(["train", spec, "--smoke", "--runs", str(tmp_path)]) == 0
    trained = capsys.readouterr().out
    (run,) = _runs_in(tmp_path)
    final = json.loads((run / "manifest.json").read_text())["final"]
    assert final["split"] == "test"
    assert set(final["by_split"]["code/reconstruction_bce"]) == {"train", "test"}
    ckpt = str(run / "checkpoints" / "last.safetensors")
    assert main(["eval", spec, "--checkpoint", ckpt]) == 0
    evaluated = capsys.readouterr().out
    for table in (trained, evaluated):
        header, row = _table(table, "unit")
        assert header == ["unit", "method", "measure", "train", "test"]
        assert row.startswith("code  reconstruction  reconstruction bce  "), row
        assert all(v > 0 for v in _numbers(row))
    assert _numbers(_table(trained, "unit")[1]) == _numbers(_table(evaluated, "unit")[1])
    test_loss = _numbers(_table(evaluated, "unit")[1])[1]
    assert test_loss == pytest.approx(final["code/reconstruction_bce"], abs=5e-5)


def _table(text: str, first: str) -> tuple[list[str], str]:
    """The header (split into words) and the first row of the table whose header starts with
    `first`."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == [first])
    return lines[at].split(), lines[at + 1]


def _numbers(row: str) -> list[float]:
    return [float(v) for v in row.split() if v.lstrip("-")[0].isdigit()]


LONE_RBM = """
network lone {
    input pixels: [64]
    h = rbm(pixels, 16)
    output h
}
train lone {
    data = digits(test=0.2, val=0.1, seed=0)
    batch = 32
    stage pre { greedy = [h]  method = pcd(k=1)  optimizer = sgd(lr=0.05)  epochs = 1 }
}
"""


def test_a_lone_rbm_reports_its_monitors_the_same_at_every_evaluation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "lone.net"
    spec.write_text(LONE_RBM)
    assert main(["train", str(spec), "--smoke", "--runs", str(tmp_path / "runs"), "--quiet"]) == 0
    (run,) = _runs_in(tmp_path / "runs")
    ckpt = str(run / "checkpoints" / "last.safetensors")
    capsys.readouterr()
    outputs = []
    for _ in range(2):  # pseudo-likelihood flips random bits: evaluation fixes their seed
        assert main(["eval", str(spec), "--checkpoint", ckpt]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    header, _ = _table(outputs[0], "unit")
    assert header == ["unit", "method", "measure", "train", "val", "test"]
    cells = [re.split(r"\s{2,}", line) for line in outputs[0].splitlines()[2:] if line]
    rows = {row[2]: row[3:] for row in cells}  # measure -> its values, train val test
    assert set(rows) == {"reconstruction mse", "pseudo ll", "free energy gap"}
    assert len(rows["reconstruction mse"]) == 3 and float(rows["pseudo ll"][0]) < 0
    assert len(rows["free energy gap"]) == 2, "a gap between held-out and training data only"
