"""Every zoo spec trains through the CLI on its real data: one step of each stage (`--smoke`),
then the final evaluation, the plots and the drawing, as `netspec train` ends a full run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.net"))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_zoo_spec_trains_one_step_per_stage(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["train", str(spec), "--smoke", "--runs", str(tmp_path), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (run,) = tmp_path.iterdir()
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "done" and manifest["final"], manifest
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    stages = {r["stage"].split(":")[0] for r in rows}
    assert stages == {s["name"] for s in manifest["stages"]}, "every stage ran and logged"
    assert (run / "network.svg").exists() and (run / "plots" / "losses.png").exists()
    assert f"run:        {run}" in out


def test_a_network_without_a_loss_reports_its_units_objectives_on_each_split(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(ROOT / "specs" / "autoencoder.net")
    assert main(["train", spec, "--smoke", "--runs", str(tmp_path)]) == 0
    trained = capsys.readouterr().out
    (run,) = tmp_path.iterdir()
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
    return [float(v) for v in row.split() if v[0].isdigit()]
