"""`netspec train --seeds N`: N ordinary runs, and each final metric's mean +- sample sd."""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

import pytest

from netspec.cli import main as cli_main
from netspec.report.seeds import aggregate, spread

SPEC = """
network net {
    input x: [4]
    input y: class(3)
    p = x -> dense(4, act=relu) -> softmax(3)
    loss cross_entropy(p, y)
}

train net {
    data = iris(test=0.2, seed=0)
    seed = 5
    steps = 2
}
"""


def test_spread_is_the_mean_and_the_sample_sd() -> None:
    s = spread([0.5, 0.7, 0.9])
    assert s.n == 3 and math.isclose(s.mean, 0.7) and math.isclose(s.sd, 0.2)
    assert spread([2.0]).sd == 0.0 and spread([math.nan]).n == 0
    assert list(aggregate([{"a": 1.0, "b": "x"}, {"a": 3.0}])) == ["a"]


def test_seeds_runs_each_seed_and_reports_mean_and_sd_of_the_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "net.net"
    spec.write_text(SPEC, encoding="utf-8")
    runs = tmp_path / "runs"
    assert cli_main(["train", str(spec), "--seeds", "3", "--runs", str(runs), "--quiet"]) == 0
    out = capsys.readouterr().out
    folders = sorted(p for p in runs.iterdir() if p.is_dir())  # an index page may sit beside
    assert [f.name.rsplit("-seed-", 1)[1] for f in folders] == ["5", "6", "7"]
    finals = [json.loads((f / "manifest.json").read_text())["final"] for f in folders]
    assert [json.loads((f / "manifest.json").read_text())["seed"] for f in folders] == [5, 6, 7]
    values = [final["loss"] for final in finals]
    line = next(x for x in out.splitlines() if x.startswith("loss "))
    expected = f"{statistics.fmean(values):.4f} +- {statistics.stdev(values):.4f}"
    assert line.split()[1:4] == expected.split(), (line, expected)
    assert "over seeds [5, 6, 7]" in out and all(str(f) in out for f in folders)


def test_seeds_cannot_resume(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "net.net"
    spec.write_text(SPEC, encoding="utf-8")
    assert cli_main(["train", str(spec), "--seeds", "2", "--resume", str(tmp_path)]) == 2
    assert "E767" in capsys.readouterr().err
