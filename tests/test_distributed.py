"""Data-parallel training under torchrun, two CPU processes over gloo: the same steps as one
process (to rounding), one run folder written by process 0, and an exact resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import netspec
from netspec.training.distributed import World, shard, world_from_env
from netspec.training.run import TrainOptions, train
from netspec.training.runs import load_checkpoint


def _runs_in(folder: Path) -> list[Path]:
    """The run folders in a runs root (its index.html beside them left out)."""
    return [p for p in folder.iterdir() if p.is_dir()]


ROOT = Path(__file__).resolve().parent.parent

SPEC = """
network blob {
    input point: [2]
    input cluster: class(3)
    h = point -> dense(16, act=relu)
    y = h -> softmax(3)
    loss cross_entropy(y, cluster)
}
train blob {
    data = blobs(n=160, classes=3, spread=2.0, test=0.2, seed=1)
    batch = 16
    optimizer = sgd(lr=0.1, momentum=0.9)
    epochs = 4
}
"""


def torchrun(spec: Path, runs: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc_per_node=2", "-m", "netspec", "train", str(spec), "--runs", str(runs)]
    return subprocess.run(
        [*command, "--quiet", *args], capture_output=True, text=True, cwd=ROOT, timeout=180
    )


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(run / "checkpoints" / "after-main.safetensors").tensors


def _losses(run: Path) -> list[float]:
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["train/loss"] for line in lines]


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same spec trained by one process, in this one."""
    root = tmp_path_factory.mktemp("single")
    opts = TrainOptions(runs_root=root, quiet=True, plots=False, drawing=False)
    return train(netspec.compile(SPEC, "blob.net"), opts).run_dir


def _spec(tmp_path: Path) -> Path:
    path = tmp_path / "blob.net"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_two_processes_take_the_steps_one_process_takes(tmp_path: Path, single: Path) -> None:
    run = torchrun(_spec(tmp_path), tmp_path / "runs")
    assert run.returncode == 0, run.stderr[-3000:]
    folders = list(_runs_in(tmp_path / "runs"))
    assert len(folders) == 1  # process 0 alone writes
    ours, theirs = _weights(folders[0]), _weights(single)
    assert ours.keys() == theirs.keys()
    for key in ours:
        torch.testing.assert_close(ours[key], theirs[key], atol=1e-5, rtol=1e-4)
    assert _losses(folders[0]) == pytest.approx(_losses(single), rel=1e-5)
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    assert manifest["processes"] == 2 and manifest["status"] == "done"


def test_a_parallel_run_resumes_inside_an_epoch(tmp_path: Path, single: Path) -> None:
    spec, runs = _spec(tmp_path), tmp_path / "runs"
    first = torchrun(spec, runs, "--max-steps", "13")  # inside epoch 2 of 4
    assert first.returncode == 0, first.stderr[-3000:]
    (folder,) = _runs_in(runs)
    rest = torchrun(spec, runs, "--resume", str(folder))
    assert rest.returncode == 0, rest.stderr[-3000:]
    for key, value in _weights(single).items():
        torch.testing.assert_close(_weights(folder)[key], value, atol=1e-5, rtol=1e-4)
    # The epoch's running loss adds up the shares of both processes from before the stop.
    assert _losses(folder) == pytest.approx(_losses(single), rel=1e-5)


def test_one_process_is_a_world_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert world_from_env() == World() and World().main and not World().parallel
    indices = torch.arange(10)
    assert torch.equal(shard(indices, World()), indices)
    assert shard(indices, World(1, 3)).tolist() == [1, 4, 7]
