"""Data beyond memory: `.npy` sources memory-mapped, and splits over the memory budget trained
from a DataLoader in the same order (and so to the same weights) as splits held whole."""

from __future__ import annotations

import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch

import netspec
from netspec.data import loading, rows, streaming
from netspec.data.loading import from_npy, load
from netspec.data.rows import RowView
from netspec.ir import Graph
from netspec.plan.plans import DataPlan
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


_WIDE = """
network wide {
    input x: [256]
    input label: class(4)
    y = x -> dense(8, act=relu) -> softmax(4)
    loss cross_entropy(y, label)
}

train wide {
    data = npy(path="x.npy", target="y.npy", test=0.1, val=0.1)
    normalize = standard
    batch = 32
    optimizer = sgd(lr=0.05)
    steps = 3
}
"""


Loading = tuple[DataPlan, Graph]


def _wide(folder: Path, monkeypatch: pytest.MonkeyPatch, normalize: bool = True) -> Loading:
    """What loads a 4 MiB file of 4,096 samples, as the session would."""
    monkeypatch.chdir(folder)
    if not (folder / "x.npy").exists():
        rng = np.random.default_rng(1)
        x = rng.normal(3.0, 2.0, size=(4096, 256)).astype("float32")
        np.save(folder / "x.npy", x)
        np.save(folder / "y.npy", x[:, :4].argmax(axis=1))
    spec = _WIDE if normalize else _WIDE.replace("normalize = standard", "")
    compiled = netspec.compile(spec, "wide.net")
    return compiled.trains["wide"].data, compiled.networks["wide"]


def test_a_split_over_the_budget_stays_rows_of_the_memory_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan, graph = _wide(tmp_path, monkeypatch)
    held = load(plan, graph)
    monkeypatch.setenv(streaming.BUDGET_ENV, "64K")  # every split is over it
    monkeypatch.setattr(rows, "CHUNK_BYTES", 1 << 16)  # checks and statistics in 64 chunks
    loading._raw.cache_clear()  # the file read and checked again, under the budget
    tracemalloc.start()
    try:
        streamed = load(plan, graph)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    data = (tmp_path / "x.npy").stat().st_size
    # Not a copy of the values, whole or by split: chunks and per-sample indices only.
    assert peak < data / 4
    for name in ("train", "val", "test"):
        want, got = getattr(held, name), getattr(streamed, name)
        assert want is not None and got is not None and want.size == got.size
        for key, view in got.arrays.items():
            assert isinstance(view, RowView) and isinstance(view.source, np.memmap)
            assert view.shape == want.arrays[key].shape and view.dtype == want.arrays[key].dtype
            np.testing.assert_allclose(np.asarray(view), want.arrays[key], rtol=1e-5, atol=1e-5)
        assert np.array_equal(got.arrays["label"][:], want.arrays["label"])
    for key, (mean, std) in held.normalization.items():  # from chunks: equal to rounding
        np.testing.assert_allclose(streamed.normalization[key][0], mean, rtol=1e-6)
        np.testing.assert_allclose(streamed.normalization[key][1], std, rtol=1e-6)
    asked = np.array([5, 0, 700, 5])  # a batch's indices, in the permutation's order
    x_held = held.train.arrays["x"]
    assert isinstance(x_held, np.ndarray)
    np.testing.assert_allclose(
        streamed.train.arrays["x"][asked], x_held[asked], rtol=1e-5, atol=1e-5
    )


def test_a_split_under_the_budget_is_read_whole_with_exact_statistics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = load(*_wide(tmp_path, monkeypatch, normalize=False)).train.arrays["x"]
    ds = load(*_wide(tmp_path, monkeypatch))
    assert all(type(a) is np.ndarray for a in ds.train.arrays.values())
    seen = np.asarray(raw, dtype=np.float64)  # numpy's own reduction, as it always was
    mean, std = seen.mean(axis=0), seen.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    assert np.array_equal(ds.normalization["x"][0], mean.astype(np.float32))
    assert np.array_equal(ds.normalization["x"][1], std.astype(np.float32))
    assert np.array_equal(ds.train.arrays["x"], ((raw - mean) / std).astype(np.float32))


def test_host_rows_read_a_row_view_by_slice_and_by_index() -> None:
    x = np.arange(30, dtype="float32").reshape(10, 3)
    view = RowView(x, rows.Convert((3,), np.dtype("float32")), np.array([9, 2, 4, 0]))
    host = streaming.HostRows(view, torch.device("cpu"))
    assert host.shape == (4, 3) and len(host) == 4
    assert host[1:3].tolist() == [x[2].tolist(), x[4].tolist()]
    assert host[torch.tensor([3, 0])].tolist() == [x[0].tolist(), x[9].tolist()]


def test_a_row_view_of_a_memory_map_pickles_as_the_file_not_its_values(tmp_path: Path) -> None:
    x = np.arange(4000, dtype="float32").reshape(500, 8)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    part = mapped.reshape(500, -1)[:, 2:6]  # a view, as an input's `part` of the features is
    view = RowView(part, rows.Convert((2, 2), np.dtype("float32")), np.array([499, 3, 250]))
    sent = pickle.dumps(view)  # what a loader worker started by `spawn` receives
    assert len(sent) < x.nbytes / 10
    back = pickle.loads(sent)
    assert isinstance(back.source.base, np.memmap)
    assert np.array_equal(back[:], view[:]) and back[:].shape == (3, 2, 2)
    assert np.array_equal(back[:].reshape(3, 4), x[[499, 3, 250], 2:6])
