"""Data beyond memory: `.npy` sources memory-mapped, and splits over the memory budget trained
from a DataLoader in the same order (and so to the same weights) as splits held whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import netspec
from netspec.data import streaming
from netspec.data.loading import from_npy
from netspec.training.run import TrainOptions, TrainResult, train


def _spec(folder: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(folder)  # a spec reads files under its own folder (here, the current one)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1).astype("int64")  # 3 classes
    np.save(folder / "x.npy", x)
    np.save(folder / "y.npy", y)
    return """
network mlp {
    input x: [6]
    input label: class(3)
    y = x -> dense(8, act=relu) -> dropout(0.1) -> softmax(3)
    loss cross_entropy(y, label)
}

train mlp {
    data = npy(path="x.npy", target="y.npy", test=0.2, val=0.2)
    batch = 16
    optimizer = sgd(lr=0.05, momentum=0.9)
    epochs = 3
}
"""


def _train(spec: str, runs: Path, **options: object) -> TrainResult:
    opts = TrainOptions(runs_root=runs, quiet=True, plots=False, drawing=False, argv=["test"])
    for key, value in options.items():
        setattr(opts, key, value)
    return train(netspec.compile(spec, "test.net"), opts)


def _weights(result: TrainResult) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in result.lowered.root.state_dict().items()}


def test_npy_sources_open_memory_mapped(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.arange(12, dtype="float32").reshape(6, 2))
    np.save(tmp_path / "y.npy", np.arange(6))
    samples = from_npy(str(tmp_path / "x.npy"), str(tmp_path / "y.npy"))
    assert isinstance(samples.x, np.memmap) and isinstance(samples.y, np.memmap)
    assert samples.x[5].tolist() == [10.0, 11.0]


def test_the_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    arrays = [np.zeros((256, 4), dtype="float32")]  # 4 KiB
    monkeypatch.setenv(streaming.BUDGET_ENV, "4K")
    assert not streaming.streams(arrays, torch.device("cpu"))
    monkeypatch.setenv(streaming.BUDGET_ENV, "1k")
    assert streaming.streams(arrays, torch.device("cpu"))
    monkeypatch.setenv(streaming.BUDGET_ENV, "lots")
    with pytest.raises(streaming.BudgetError, match="not a size in bytes"):
        streaming.streams(arrays, torch.device("cpu"))


@pytest.mark.parametrize("workers", [0, 2])
def test_streamed_batches_are_the_indexed_rows_in_order(workers: int) -> None:
    x = np.arange(40, dtype="float32").reshape(20, 2)
    y = np.arange(20)
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(3))
    chunks = [perm[i : i + 6] for i in range(0, 20, 6)]  # the last one short, as an epoch's may be
    held = streaming.OnDevice([torch.from_numpy(x), torch.from_numpy(y)])
    streamed = streaming.Streamed([x, y], torch.device("cpu"), workers=workers)
    for _ in range(2):  # persistent workers serve a second epoch from the same loader
        pairs = list(zip(held.epoch(chunks), streamed.epoch(chunks), strict=True))
        assert len(pairs) == len(chunks)
        for want, got in pairs:
            assert all(torch.equal(w, g) for w, g in zip(want, got, strict=True))


def test_a_streamed_run_trains_like_one_held_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = _spec(tmp_path, monkeypatch)
    held = _train(spec, tmp_path / "held")
    monkeypatch.setenv(streaming.BUDGET_ENV, "0")  # every split streamed
    streamed = _train(spec, tmp_path / "streamed")
    assert streamed.status == "done"
    assert [r["train/loss"] for r in streamed.rows] == [r["train/loss"] for r in held.rows]
    assert streamed.metrics == held.metrics  # the held-out splits, evaluated in chunks
    want, got = _weights(held), _weights(streamed)
    assert all(torch.equal(want[k], got[k]) for k in want)


def test_a_streamed_run_resumes_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _spec(tmp_path, monkeypatch)
    monkeypatch.setenv(streaming.BUDGET_ENV, "0")
    whole = _weights(_train(spec, tmp_path / "whole"))
    first = _train(spec, tmp_path / "parts", max_steps=7)  # inside the second epoch of 5 steps
    assert first.status == "stopped"
    rest = _train(spec, tmp_path / "parts", resume=first.run_dir)
    assert rest.status == "done"
    resumed = _weights(rest)
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
