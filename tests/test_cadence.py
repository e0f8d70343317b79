"""How often a run evaluates and checkpoints: `eval_every` (by default about EVALUATIONS a
stage, every epoch where a patience counts them), checkpoints every `checkpoint_seconds` or
`--checkpoint-every` steps and at the stage's end, in greedy stages too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import netspec
from netspec.plan.plans import EVALUATIONS
from netspec.training import runs
from netspec.training.run import TrainOptions, TrainResult, train

NET = """
network blob {
    input point: [2]
    input cluster: class(3)
    h = point -> dense(8, act=relu)
    y = h -> softmax(3)
    loss cross_entropy(y, cluster)
}
"""


def _spec(epochs: int, extra: str = "") -> str:
    return NET + (
        "train blob {\n"
        "    data = blobs(n=60, classes=3, spread=2.0, test=0.25, seed=1)\n"
        "    batch = 45\n"  # one step an epoch
        "    optimizer = adam(lr=0.01)\n"
        f"    epochs = {epochs}\n{extra}"
        "}\n"
    )


def _run(spec: str, tmp: Path, **options: object) -> TrainResult:
    opts = TrainOptions(runs_root=tmp, quiet=True, plots=False, drawing=False, argv=["test"])
    for key, value in options.items():
        setattr(opts, key, value)
    return train(netspec.compile(spec, "test.net"), opts)


def _evaluated(result: TrainResult) -> list[int]:
    return [r["epoch"] for r in result.rows if "test/loss" in r]


def test_a_long_stage_evaluates_about_twenty_times_and_at_its_end(tmp_path: Path) -> None:
    result = _run(_spec(45), tmp_path)
    every = -(-45 // EVALUATIONS)  # 3
    assert _evaluated(result) == list(range(every, 46, every))
    assert len(result.rows) == 45 and all("train/loss" in r for r in result.rows)
    short = _run(_spec(7), tmp_path)
    assert _evaluated(short) == list(range(1, 8))  # a short stage: every epoch


def test_eval_every_is_obeyed_and_the_last_epoch_is_always_scored(tmp_path: Path) -> None:
    result = _run(_spec(10, "    eval_every = 4\n"), tmp_path)
    assert _evaluated(result) == [4, 8, 10]
    lines = (result.run_dir / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == list(range(1, 11))


def test_early_stopping_counts_evaluations(tmp_path: Path) -> None:
    every_epoch = _run(_spec(45, "    early_stop = 50\n"), tmp_path)
    assert _evaluated(every_epoch) == list(range(1, 46))  # patience in epochs by default
    sparse = _run(_spec(40, "    early_stop = 50\n    eval_every = 5\n"), tmp_path)
    assert _evaluated(sparse) == list(range(5, 41, 5))


def test_best_weights_are_written_at_the_end_from_the_best_evaluation(tmp_path: Path) -> None:
    result = _run(_spec(12, "    eval_every = 3\n"), tmp_path)
    best = runs.load_checkpoint(result.run_dir / "checkpoints" / "best.safetensors")
    scored = {r["epoch"]: r["train/loss"] for r in result.rows if "test/loss" in r}
    assert best.meta["epoch"] in scored  # only an evaluated epoch can be the best
    assert best.meta["monitored"] == pytest.approx(min(scored.values()))


def _saved_epochs(spec: str, run_dir: Path, **options: object) -> list[int]:
    """The epochs after which last.safetensors held that epoch's state."""
    seen: list[int] = []
    last = run_dir / "checkpoints" / "last.safetensors"

    def on_epoch(stage: str, epoch: int, row: object) -> None:
        if last.exists() and runs.load_checkpoint(last).stage_state()["epoch"] == epoch:
            seen.append(epoch)

    result = _run(spec, run_dir.parent, run_dir=run_dir, on_epoch=on_epoch, **options)
    assert result.status == "done"
    return seen


def test_checkpoints_follow_the_step_count_when_asked(tmp_path: Path) -> None:
    assert _saved_epochs(_spec(9), tmp_path / "a", checkpoint_every=4) == [4, 8]


def test_by_default_a_run_checkpoints_its_first_epoch_then_by_the_clock(tmp_path: Path) -> None:
    assert _saved_epochs(_spec(9), tmp_path / "a") == [1]  # then not for a minute
    every = _saved_epochs(_spec(5), tmp_path / "b", checkpoint_seconds=0.0)
    assert every == [1, 2, 3, 4]  # the last epoch's is the stage's end, after on_epoch


def test_cli_takes_the_cadence_flags(tmp_path: Path) -> None:
    from netspec.cli import main

    spec = tmp_path / "blob.net"
    spec.write_text(_spec(3), encoding="utf-8")
    base = ["train", str(spec), "--runs", str(tmp_path / "r"), "--quiet"]
    assert main([*base, "--checkpoint-every", "2", "--checkpoint-seconds", "30"]) == 0
    assert main([*base, "--checkpoint-every", "0"]) == 2
    assert main([*base, "--checkpoint-seconds", "-1"]) == 2
