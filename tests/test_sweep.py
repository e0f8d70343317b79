"""Sweeps declared in a spec: the block's syntax and printing, the space and the points checked
before any trial, and `netspec sweep` running, pruning, and resuming a killed sweep."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netspec.api import compile
from netspec.cli import main as cli_main
from netspec.diagnostics.core import NetspecError
from netspec.lang.parser import parse
from netspec.lang.printer import format_module
from netspec.plan.sweep import points_to_check, sweep_of

ROOT = Path(__file__).resolve().parent.parent

SPEC = """
let hidden = 8
let lr = 0.01

network net {
    input x: [4]
    input y: class(3)
    p = x -> dense(hidden, act=relu) -> softmax(3)
    loss cross_entropy(p, y)
}

train net {
    data = iris(test=0.2, val=0.2, seed=0)
    optimizer = adam(lr=lr)
    epochs = 2
    sweep {
        hidden = choice(4, 8)
        lr = logrange(1e-3, 1e-1)
        trials = 3
        pruner = none  # every trial runs to its end, so the counts below are exact
        objective = min val/loss
    }
}
"""


def _sweep_spec(tmp_path: Path, text: str = SPEC) -> str:
    spec = tmp_path / "net.net"
    spec.write_text(text, encoding="utf-8")
    return str(spec)


def _states(folder: Path) -> list[str]:
    with sqlite3.connect(folder / "study.db") as db:
        return [s for (s,) in db.execute("SELECT state FROM trials ORDER BY number")]


def _trial_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("trial-*"))


# --- the language -----------------------------------------------------------------------------


def test_a_sweep_block_prints_back_canonically() -> None:
    text = (
        "train n {\n    sweep {\n        pretrain.epochs = range(2, 8)\n"
        '        objective = "max   val/cross_entropy/acc"\n    }\n}\n'
    )
    module = parse(text)
    printed = format_module(module)
    assert "objective = max val/cross_entropy/acc" in printed
    assert "pretrain.epochs = range(2, 8)" in printed
    assert parse(printed) == module and format_module(parse(printed)) == printed


def test_dots_and_slashes_stay_foreign_outside_a_sweep() -> None:
    with pytest.raises(NetspecError) as caught:
        parse("network n { input x: [4]  y = x / 2 }")
    assert caught.value.diagnostics[0].code == "E102"


# --- the space and its checked points -----------------------------------------------------------


def test_a_discrete_space_is_checked_at_every_point_a_continuous_one_at_its_corners() -> None:
    compiled = compile(SPEC)
    plan = sweep_of(compiled.program, "net", compiled.trains["net"])
    assert plan is not None and plan.trials == 3 and plan.metric == "val/loss"
    points = points_to_check(plan)
    assert points == [
        {"hidden": "4", "lr": "0.001"},
        {"hidden": "4", "lr": "0.1"},
        {"hidden": "8", "lr": "0.001"},
        {"hidden": "8", "lr": "0.1"},
    ]
    discrete = compile(SPEC.replace("logrange(1e-3, 1e-1)", "choice(0.01, 0.1)"))
    plan = sweep_of(discrete.program, "net", discrete.trains["net"])
    assert plan is not None and len(points_to_check(plan) or []) == 4
    ranged = compile(
        SPEC.replace("choice(4, 8)", "range(2, 6)").replace("logrange(1e-3, 1e-1)", "choice(0.1)")
    )
    plan = sweep_of(ranged.program, "net", ranged.trains["net"])
    assert plan is not None and [p["hidden"] for p in points_to_check(plan) or []] == [
        "2",
        "3",
        "4",
        "5",
        "6",
    ]


def _broken_cnn() -> str:
    """The zoo's CNN with its first kernel size a `let`, swept up to a size the 8x8 image
    cannot take (11 with padding 1 needs 10 pixels)."""
    text = (ROOT / "specs" / "cnn.net").read_text(encoding="utf-8")
    text = text.replace("conv2d(16, 3, pad=1)", "conv2d(16, kernel, pad=1)")
    text = "let kernel = 3\n" + text
    sweep = "    sweep {\n        kernel = choice(3, 5, 11)\n        trials = 2\n    }\n}\n"
    assert text.rstrip().endswith("}")
    return text.rstrip()[:-1] + sweep


def test_a_sweep_point_that_breaks_a_zoo_spec_is_refused_before_any_trial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _sweep_spec(tmp_path, _broken_cnn())
    runs = tmp_path / "runs"
    assert cli_main(["sweep", spec, "--runs", str(runs), "--color", "never"]) == 1
    err = capsys.readouterr().err
    assert "error[E523]: sweep point kernel=11 breaks the spec" in err
    assert "E303" in err and "kernel = 11" in err
    assert not runs.exists()  # no sweep folder, no trial
    assert cli_main(["check", spec, "--color", "never"]) == 1
    assert "kernel=11" in capsys.readouterr().err


# --- running -------------------------------------------------------------------------------------


def test_a_sweep_runs_its_trials_and_prints_the_best_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _sweep_spec(tmp_path)
    folder = tmp_path / "sweep"
    assert cli_main(["sweep", spec, "--sweep-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert _states(folder) == ["COMPLETE"] * 3
    assert _trial_folders(folder) == [f"trial-000{n}-seed-0" for n in range(3)]
    assert all((folder / name / "manifest.json").is_file() for name in _trial_folders(folder))
    assert f"best:   netspec train {spec} --set hidden=" in out and "--set lr=" in out
    assert "min val/loss" in out
    page = (folder / "sweep.html").read_text(encoding="utf-8")
    assert "<table>" in page and "http" not in page


def test_a_resumed_sweep_runs_only_the_trials_it_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _sweep_spec(tmp_path)
    folder = tmp_path / "sweep"
    assert cli_main(["sweep", spec, "--sweep-dir", str(folder), "--trials", "1"]) == 0
    first = (folder / "trial-0000-seed-0" / "manifest.json").stat().st_mtime_ns
    assert cli_main(["sweep", spec, "--resume", str(folder), "--trials", "3"]) == 0
    assert _states(folder) == ["COMPLETE"] * 3
    assert _trial_folders(folder) == [f"trial-000{n}-seed-0" for n in range(3)]
    assert (folder / "trial-0000-seed-0" / "manifest.json").stat().st_mtime_ns == first
    capsys.readouterr()
    (tmp_path / "net.net").write_text(SPEC.replace("epochs = 2", "epochs = 3"), encoding="utf-8")
    assert cli_main(["sweep", spec, "--resume", str(folder)]) == 1
    assert "E791" in capsys.readouterr().err


def test_a_killed_sweep_resumes_without_repeating_finished_trials(tmp_path: Path) -> None:
    spec = _sweep_spec(tmp_path, SPEC.replace("trials = 3", "trials = 4"))
    folder = tmp_path / "sweep"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "netspec", "sweep", spec, "--sweep-dir", str(folder)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if (folder / "study.db").exists() and "COMPLETE" in _states_or_none(folder):
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    before = _states(folder)
    assert "COMPLETE" in before and len(before) < 4, before  # killed between trials or in one
    finished = [n for n, s in enumerate(before) if s == "COMPLETE"]
    stamps = {n: _manifest_time(folder, n) for n in finished}
    assert cli_main(["sweep", spec, "--resume", str(folder), "--quiet"]) == 0
    after = _states(folder)
    assert after.count("COMPLETE") == 4
    assert {n: _manifest_time(folder, n) for n in finished} == stamps  # not run again
    assert all(after[n] == "COMPLETE" for n in finished)
    assert after.count("FAIL") == before.count("RUNNING")  # the killed trial, run again


def _states_or_none(folder: Path) -> list[str]:
    try:
        return _states(folder)
    except sqlite3.Error:  # the study's tables are not made yet
        return []


def _manifest_time(folder: Path, trial: int) -> int:
    return (folder / f"trial-{trial:04d}-seed-0" / "manifest.json").stat().st_mtime_ns


def test_the_epoch_hook_hears_every_supervised_epoch_and_can_stop_training(
    tmp_path: Path,
) -> None:
    from netspec.training.run import TrainOptions, train
    from netspec.training.sweep import Pruned

    compiled = compile(SPEC)
    heard: list[tuple[str, int, float]] = []

    def on_epoch(stage: str, epoch: int, row: object) -> None:
        assert isinstance(row, dict)
        heard.append((stage, epoch, row["val/loss"]))

    options = TrainOptions(
        run_dir=tmp_path / "run", quiet=True, plots=False, drawing=False, on_epoch=on_epoch
    )
    train(compiled, options)
    assert [(s, e) for s, e, _ in heard] == [("main", 1), ("main", 2)]

    def prune(stage: str, epoch: int, row: object) -> None:
        raise Pruned

    with pytest.raises(Pruned):
        train(compiled, TrainOptions(run_dir=tmp_path / "pruned", quiet=True, on_epoch=prune))


def test_sweep_failures_are_coded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _sweep_spec(tmp_path, SPEC[: SPEC.index("    sweep {")] + "}\n")
    assert cli_main(["sweep", plain, "--runs", str(tmp_path / "runs")]) == 2
    assert "E768" in capsys.readouterr().err
    spec = _sweep_spec(tmp_path, SPEC.replace("min val/loss", "min val/nope"))
    assert cli_main(["sweep", spec, "--sweep-dir", str(tmp_path / "nope"), "--trials", "1"]) == 1
    err = capsys.readouterr().err
    assert "E792" in err and "`val/loss`" in err
    monkeypatch.setitem(sys.modules, "optuna", None)  # as if not installed
    assert cli_main(["sweep", spec, "--sweep-dir", str(tmp_path / "none")]) == 1
    assert "pip install 'netspec[sweep]'" in capsys.readouterr().err
