"""netspec.data: every zoo spec's data loads in its inputs' shapes; splits, sources, file errors."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from netspec.api import compile, compile_file
from netspec.data import loading as data_module
from netspec.data.loading import DataError, Dataset, Split, load
from netspec.diagnostics.core import NetspecError
from netspec.ir import Graph
from netspec.plan.plans import DataPlan


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A string spec reads data under the current directory only, so its tests run in theirs."""
    monkeypatch.chdir(tmp_path)


ROOT = Path(__file__).resolve().parent.parent
TRAINED = [p for p in sorted((ROOT / "specs").glob("*.net")) if "\ntrain " in p.read_text()]


def _plan(spec: str) -> tuple[DataPlan, Graph]:
    compiled = compile(spec)
    name, train = next(iter(compiled.trains.items()))
    return train.data, compiled.networks[name]


def _spec(inputs: str, body: str, data: str) -> str:
    return (
        f"network n {{\n{inputs}\n{body}\n}}\n"
        f"train n {{\n    data = {data}\n    optimizer = sgd(lr=0.1)\n    epochs = 1\n}}\n"
    )


def _classifier(data: str, x: str = "[2]", k: int = 2, y: str = "") -> str:
    y = y or f"class({k})"
    head = "gru(8, steps=last)" if "T" in x else "flatten"
    return _spec(
        f"    input x: {x}\n    input y: {y}",
        f"    p = x -> {head} -> softmax({k})\n    loss cross_entropy(p, y)",
        data,
    )


def _unsupervised(data: str, n: int = 2) -> str:
    return _spec(f"    input x: [{n}]", f"    h = x -> dense({n})\n    loss mse(h, x)", data)


def _load(spec: str) -> Dataset:
    return load(*_plan(spec))


def _splits(ds: Dataset) -> list[Split]:
    return [s for s in (ds.train, ds.val, ds.test) if s is not None]


# --- the zoo -----------------------------------------------------------------------------------


def test_the_zoo_has_trained_specs() -> None:
    assert len(TRAINED) >= 10


@pytest.mark.parametrize("path", TRAINED, ids=lambda p: p.stem)
def test_zoo_data_fits_the_inputs(path: Path) -> None:
    compiled = compile_file(path)
    for name, train in compiled.trains.items():
        graph = compiled.networks[name]
        ds = load(train.data, graph)
        assert ds.source == train.data.source
        assert (ds.test is None) == (train.data.test == 0)
        assert (ds.val is None) == (train.data.val == 0)
        bound = {b.input for b in train.data.bindings}
        for split in _splits(ds):
            assert set(split.arrays) == bound
            assert split.size > 0
            for input_id, array in split.arrays.items():
                t = graph.node(input_id).type
                assert t is not None
                assert array.shape[0] == split.size
                assert array.ndim == 1 + len(t.dims)
                for size, dim in zip(array.shape[1:], t.dims, strict=True):
                    assert size == dim if isinstance(dim, int) else size > 0
                expected = np.int64 if t.dtype == "class" else np.float32
                assert array.dtype == expected, (input_id, array.dtype)
        for input_id, names in ds.class_names.items():
            t = graph.node(input_id).type
            assert t is not None and len(names) == (t.classes or 2)


def test_symbolic_sizes_come_from_the_data() -> None:
    compiled = compile_file(ROOT / "specs" / "rnn.net")
    ds = load(compiled.trains["rnn"].data, compiled.networks["rnn"])
    assert ds.train.arrays["signal"].shape[1:] == (40, 1)  # declared [T, 1]


def test_digits_pixels_are_in_unit_range_and_images_keep_their_layout() -> None:
    compiled = compile_file(ROOT / "specs" / "cnn.net")
    ds = load(compiled.trains["cnn"].data, compiled.networks["cnn"])
    flat = compile_file(ROOT / "specs" / "mlp.net")
    ds_flat = load(flat.trains["mlp"].data, flat.networks["mlp"])
    for split in _splits(ds):
        images = split.arrays["image"]
        assert images.min() >= 0.0 and images.max() <= 1.0
    assert ds.train.arrays["image"].max() == 1.0
    np.testing.assert_array_equal(
        ds.train.arrays["image"].reshape(-1, 64), ds_flat.train.arrays["pixels"]
    )


def test_shared_features_are_sliced_by_part() -> None:
    halves = _spec(
        "input top: [32]\ninput bottom: [32]\ninput digit: class(10)",
        "y = concat(top, bottom) -> softmax(10)\nloss cross_entropy(y, digit)",
        "digits(test=0.2, seed=0)",
    )
    ds = load(*_plan(halves))
    flat = compile_file(ROOT / "specs" / "mlp.net")
    pixels = load(flat.trains["mlp"].data, flat.networks["mlp"]).train.arrays["pixels"]
    both = np.concatenate([ds.train.arrays["top"], ds.train.arrays["bottom"]], axis=1)
    np.testing.assert_array_equal(both, pixels)


# --- splits ------------------------------------------------------------------------------------


def _ids_file(tmp_path: Path, n: int = 100, k: int = 4) -> tuple[Path, Path]:
    """Features whose first column is the sample's index, targets cycling through k classes."""
    x = np.stack([np.arange(n), np.arange(n) % 7], axis=1).astype(np.float64)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.arange(n) % k)
    return tmp_path / "x.npy", tmp_path / "y.npy"


def _ids(split: Split | None) -> set[int]:
    assert split is not None
    return {int(v) for v in split.arrays["x"][:, 0]}


def _npy_data(tmp_path: Path, seed: int, test: float = 0.2, val: float = 0.1) -> Dataset:
    x, y = _ids_file(tmp_path)
    data = f'npy(path="{x}", target="{y}", test={test}, val={val}, seed={seed})'
    return _load(_classifier(data, k=4))


def test_splits_are_disjoint_and_sized_by_the_fractions(tmp_path: Path) -> None:
    ds = _npy_data(tmp_path, seed=3)
    train, val, test = _ids(ds.train), _ids(ds.val), _ids(ds.test)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    assert (ds.train.size, ds.val.size if ds.val else 0) == (70, 10)
    assert not train & val and not train & test and not val & test
    assert train | val | test == set(range(100))


def test_splits_are_stratified_by_class(tmp_path: Path) -> None:
    ds = _npy_data(tmp_path, seed=5)
    assert ds.test is not None
    assert np.bincount(ds.test.arrays["y"], minlength=4).tolist() == [5, 5, 5, 5]
    assert ds.val is not None
    assert set(np.bincount(ds.val.arrays["y"], minlength=4).tolist()) <= {2, 3}
    assert set(np.bincount(ds.train.arrays["y"], minlength=4).tolist()) <= {17, 18}


def test_splits_are_deterministic_per_seed_and_differ_across_seeds(tmp_path: Path) -> None:
    a, b, c = (_npy_data(tmp_path, seed=s) for s in (1, 1, 2))
    assert _ids(a.test) == _ids(b.test) and _ids(a.val) == _ids(b.val)
    np.testing.assert_array_equal(a.train.arrays["x"], b.train.arrays["x"])
    assert _ids(a.test) != _ids(c.test)


def test_zero_fractions_give_no_split(tmp_path: Path) -> None:
    ds = _npy_data(tmp_path, seed=0, test=0.0, val=0.0)
    assert ds.val is None and ds.test is None and ds.train.size == 100


def test_too_few_samples_for_the_fractions_is_a_data_error(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    spec = _unsupervised(f'npy(path="{tmp_path / "x.npy"}")')
    with pytest.raises(DataError, match="too few"):
        _load(spec.replace("npy(path", "npy(test=0.5, val=0.4, path"))


# --- mnist1d -----------------------------------------------------------------------------------

MNIST1D = _classifier("mnist1d(n=200, test=0.2, seed=0)", x="[T, 1]", k=10)


def _np_state() -> tuple[bytes, int, int, float]:
    state = np.random.get_state(legacy=False)
    inner = state["state"]
    return inner["key"].tobytes(), inner["pos"], state["has_gauss"], state["gauss"]


def test_mnist1d_keeps_global_rngs_and_writes_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    data_module._raw.cache_clear()
    np.random.seed(123)
    random.seed(456)
    np_state, py_state = _np_state(), random.getstate()
    ds = _load(MNIST1D)
    assert _np_state() == np_state
    assert random.getstate() == py_state
    assert np.random.random() == np.random.RandomState(123).random()  # still seeded as we left it
    assert list(tmp_path.iterdir()) == []
    assert ds.train.arrays["x"].shape == (160, 40, 1)
    assert ds.test is not None and ds.test.size == 40
    assert (
        sorted(np.bincount(np.concatenate([ds.train.arrays["y"], ds.test.arrays["y"]])))
        == [20] * 10
    )


def test_mnist1d_signals_are_the_same_on_every_load() -> None:
    data_module._raw.cache_clear()
    first = _load(MNIST1D)
    data_module._raw.cache_clear()
    np.random.seed(7)  # the global state must not matter either
    second = _load(MNIST1D)
    for key in ("x", "y"):
        np.testing.assert_array_equal(first.train.arrays[key], second.train.arrays[key])
    # the split's seed reorders the same signals
    other = _load(MNIST1D.replace("seed=0", "seed=1"))
    assert other.test is not None and first.test is not None
    a = np.concatenate([first.train.arrays["x"], first.test.arrays["x"]]).reshape(200, 40)
    b = np.concatenate([other.train.arrays["x"], other.test.arrays["x"]]).reshape(200, 40)
    assert not np.array_equal(a, b)
    assert sorted(map(tuple, a.tolist())) == sorted(map(tuple, b.tolist()))


# --- generated sets ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "x", "k", "shape"),
    [
        ("blobs(n=120, features=3, classes=4)", "[3]", 4, (3,)),
        ("moons(n=120, noise=0.05)", "[2]", 2, (2,)),
        ("waves(n=120, length=16, classes=3)", "[T, 1]", 3, (16, 1)),
        ("waves(n=120, length=16, classes=4)", "[1, 16]", 4, (1, 16)),
        ("bars(n=120, size=3)", "[9]", 2, (9,)),
    ],
)
def test_generated_sets_shapes_and_balance(data: str, x: str, k: int, shape: tuple[int]) -> None:
    ds = _load(_classifier(data.replace(")", ", test=0.25, seed=4)"), x=x, k=k))
    assert ds.test is not None
    assert ds.train.arrays["x"].shape == (90, *shape)
    assert ds.train.arrays["x"].dtype == np.float32
    labels = np.concatenate([ds.train.arrays["y"], ds.test.arrays["y"]])
    assert np.bincount(labels).tolist() == [120 // k] * k
    counts = np.bincount(ds.test.arrays["y"], minlength=k)
    assert counts.max() - counts.min() <= 1
    assert len(ds.class_names["y"]) == k
    again = _load(_classifier(data.replace(")", ", test=0.25, seed=4)"), x=x, k=k))
    np.testing.assert_array_equal(ds.train.arrays["x"], again.train.arrays["x"])


def test_bars_are_rows_or_columns() -> None:
    ds = _load(_classifier("bars(n=60, size=4, test=0.0)", x="[4, 4]"))
    images, labels = ds.train.arrays["x"], ds.train.arrays["y"]
    assert set(np.unique(images).tolist()) <= {0.0, 1.0}
    for image, label in zip(images, labels, strict=True):
        lines = image if label == 0 else image.T  # class 0: whole rows lit
        assert all(len(set(line.tolist())) == 1 for line in lines)
        assert 0 < lines[:, 0].sum() < 4


def test_waves_names_and_seeds() -> None:
    spec = _classifier("waves(n=40, classes=2, seed=1)", x="[T, 1]")
    ds = _load(spec)
    assert ds.class_names["y"] == ("sine", "square")
    other = _load(spec.replace("seed=1", "seed=2"))
    assert not np.array_equal(ds.train.arrays["x"], other.train.arrays["x"])


def _review_spec(data: str, words: str = "class(40)[T]") -> str:
    head = "gru(4, steps=last) -> " if "[" in words else ""
    return _spec(
        f"    input words: {words}\n    input sentiment: class(2)",
        f"    p = words -> embed(4) -> {head}softmax(2)\n    loss cross_entropy(p, sentiment)",
        data,
    )


def test_reviews_are_token_ids_labelled_by_their_majority_sentiment() -> None:
    from netspec.data.synthetic import NOT, POLAR

    ds = _load(_review_spec("reviews(n=300, vocab=40, length=12, test=0.0, seed=5)"))
    words, labels = ds.train.arrays["words"], ds.train.arrays["sentiment"]
    assert words.shape == (300, 12) and words.dtype == np.int64
    assert words.min() >= 0 and words.max() < 40
    assert np.bincount(labels).tolist() == [150, 150]
    assert ds.class_names["sentiment"] == ("negative", "positive")
    decoys = 0
    for sentence, label in zip(words, labels, strict=True):
        votes = []
        for i, w in enumerate(sentence):
            negated = i > 0 and sentence[i - 1] == NOT
            if 1 <= w <= 2 * POLAR:
                votes.append((w <= POLAR) != negated)  # positive, unless after `not`
            elif negated and w != NOT:
                decoys += 1  # `not` before a neutral word
        assert len(votes) in (1, 3)
        assert (sum(votes) * 2 > len(votes)) == bool(label)
    assert decoys == 300  # one decoy a sentence: `not` alone says nothing


def test_reviews_bind_to_a_sequence_of_class_ids_only() -> None:
    ds = _load(_review_spec("reviews(n=40, vocab=40, length=10)", words="class(40)[10]"))
    assert ds.train.arrays["words"].shape[1:] == (10,)
    with pytest.raises(NetspecError, match=r"(?s)E503.*declare `input words: class\(40\)\[T\]`"):
        _plan(_review_spec("reviews(n=40, vocab=40, length=10)", words="class(40)"))
    with pytest.raises(NetspecError, match="E503"):
        _plan(_review_spec("reviews(n=40, vocab=50, length=10)"))  # 50 words, 40 classes


# --- scikit-learn sets -------------------------------------------------------------------------


def test_standardization_uses_training_statistics_only() -> None:
    spec = _classifier("iris(test=0.3, seed=2)", x="[4]", k=3)
    raw = _load(spec).train.arrays["x"]
    assert np.abs(raw.mean(axis=0)).max() > 1.0  # declared, not silent: unscaled by default
    ds = _load(spec.replace("    epochs = 1\n", "    epochs = 1\n    normalize = standard\n"))
    assert ds.test is not None
    mean, std = ds.normalization["x"]
    np.testing.assert_allclose(mean, raw.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(std, raw.std(axis=0), rtol=1e-5)
    train, test = ds.train.arrays["x"], ds.test.arrays["x"]
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train.std(axis=0), 1.0, atol=1e-5)
    everything = np.concatenate([train, test])
    assert np.abs(everything.mean(axis=0)).max() > 1e-3  # not standardized over all samples
    assert ds.class_names["y"] == ("setosa", "versicolor", "virginica")


def test_diabetes_is_as_shipped() -> None:
    spec = _spec(
        "    input x: [10]\n    input t: real",
        "    y = linear(x, 1)\n    loss mse(y, t)",
        "diabetes(test=0.0)",
    )
    ds = _load(spec)
    from sklearn.datasets import load_diabetes  # type: ignore[import-untyped]

    bunch = load_diabetes()
    x, t = ds.train.arrays["x"], ds.train.arrays["t"]
    assert x.shape == (442, 10) and t.shape == (442,) and t.dtype == np.float32
    np.testing.assert_allclose(np.sort(t), np.sort(bunch.target), rtol=1e-6)
    np.testing.assert_allclose(np.sort(x[:, 0]), np.sort(bunch.data[:, 0]), rtol=1e-5, atol=1e-7)


# --- files -------------------------------------------------------------------------------------


def test_csv_with_text_classes(tmp_path: Path) -> None:
    rows = ["a,b,kind"] + [f"{i},{i * 2},{('cat', 'ant', 'bee')[i % 3]}" for i in range(30)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    data = f'csv(path="{tmp_path / "d.csv"}", target="kind", test=0.2, seed=0)'
    ds = _load(_classifier(data, k=3))
    assert ds.class_names["y"] == ("ant", "bee", "cat")
    assert ds.test is not None and ds.train.size == 24 and ds.test.size == 6
    for split in _splits(ds):
        x, y = split.arrays["x"], split.arrays["y"]
        assert x.dtype == np.float32 and y.dtype == np.int64
        names = [("cat", "ant", "bee")[int(v) % 3] for v in x[:, 0]]
        assert [ds.class_names["y"][i] for i in y] == names
        np.testing.assert_array_equal(x[:, 1], 2 * x[:, 0])


def test_csv_integer_and_real_targets(tmp_path: Path) -> None:
    (tmp_path / "i.csv").write_text("f,label\n" + "".join(f"{i},{i % 2}\n" for i in range(10)))
    ds = _load(_classifier(f'csv(path="{tmp_path / "i.csv"}", target="label")', x="[1]"))
    assert ds.train.arrays["y"].dtype == np.int64 and ds.class_names["y"] == ("0", "1")
    (tmp_path / "r.csv").write_text("f,g,v\n" + "".join(f"{i},1,{i / 4}\n" for i in range(10)))
    spec = _spec(
        "    input x: [2]\n    input t: real",
        "    y = linear(x, 1)\n    loss mse(y, t)",
        f'csv(path="{tmp_path / "r.csv"}", target="v", test=0.0)',
    )
    ds = _load(spec)
    np.testing.assert_allclose(ds.train.arrays["t"], ds.train.arrays["x"][:, 0] / 4)
    assert ds.class_names == {}


def test_npy_round_trip(tmp_path: Path) -> None:
    x = np.random.default_rng(0).normal(size=(20, 2, 3))
    y = np.arange(20) % 5
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    data = f'npy(path="{tmp_path / "x.npy"}", target="{tmp_path / "y.npy"}", test=0.0)'
    ds = _load(_classifier(data, x="[6]", k=5))
    got_x, got_y = ds.train.arrays["x"], ds.train.arrays["y"]
    assert got_x.shape == (20, 6) and got_y.dtype == np.int64
    order = np.argsort(got_x[:, 0])
    want = np.argsort(x.reshape(20, 6)[:, 0])
    np.testing.assert_allclose(got_x[order], x.reshape(20, 6)[want].astype(np.float32))
    np.testing.assert_array_equal(got_y[order], y[want])


def test_features_only_files(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.ones((10, 4), dtype=np.float64))
    spec = _unsupervised(f'npy(path="{tmp_path / "x.npy"}")', 4)
    ds = _load(spec)
    assert ds.train.arrays["x"].shape == (8, 4) and ds.class_names == {}


def test_edited_files_are_read_again(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b\n1,2\n3,4\n")
    spec = _unsupervised(f'csv(path="{path}", test=0.0)')
    assert _load(spec).train.size == 2
    path.write_text("a,b\n1,2\n3,4\n5,6\n")
    assert _load(spec).train.size == 3


# --- errors ------------------------------------------------------------------------------------


def test_missing_files_raise_data_errors(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    spec = _unsupervised(f'csv(path="{missing}")')
    with pytest.raises(DataError, match=r"cannot read `.*nope\.csv`"):
        _load(spec)
    with pytest.raises(DataError, match=r"nope\.npy"):
        _load(spec.replace("csv(", "npy(").replace("nope.csv", "nope.npy"))


def test_wrong_column_counts_raise_data_errors(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,b,c,label\n1,2,3,0\n4,5,6,1\n")
    data = f'csv(path="{path}", target="label", test=0.0)'
    # the header tells the columns' count, so compiling finds it
    with pytest.raises(NetspecError, match=r"(?s)E503.*`features` as `\[3\]`.*`x` takes `\[4\]`"):
        _load(_classifier(data, x="[4]"))
    path.write_text("a,b,c,label\n1,2,3,0\n4,5,1\n")
    with pytest.raises(DataError, match=r"d\.csv` line 3 has 3 values.*header names 4"):
        _load(_classifier(data, x="[3]"))


def test_shared_file_features_must_be_used_up(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((4, 5)))
    spec = _spec(
        "    input a: [2]\n    input b: [2]",
        "    h = concat(a, b) -> dense(4)\n    loss mse(h, concat(a, b))",
        f'npy(path="{tmp_path / "x.npy"}", test=0.0)',
    )
    with pytest.raises(DataError, match=r"x\.npy` gives 5 feature values.*take 4"):
        _load(spec)
    np.save(tmp_path / "x.npy", np.arange(16.0).reshape(4, 4))
    ds = _load(spec)
    np.testing.assert_array_equal(ds.train.arrays["b"] - ds.train.arrays["a"], 2.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("a,label\n", "no samples"),
        ("a,b\n1,0\n", "no column `label`"),
        ("a,label\nx,0\n", "line 2, column `a`: `x` is not a number"),
        ("a,label\n1,0\n2,7\n", "from 0 to 7, but `class\\(2\\)` takes class ids 0 to 1"),
        ("a,label\n1,0.5\n2,1\n", "not whole numbers"),
    ],
)
def test_bad_csv_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        _load(_classifier(f'csv(path="{path}", target="label", test=0.0)', x="[1]"))


def test_text_labels_for_a_real_target_are_a_data_error(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("a,v\n1,high\n2,low\n")
    spec = _spec(
        "    input x: [1]\n    input t: real",
        "    y = linear(x, 1)\n    loss mse(y, t)",
        f'csv(path="{path}", target="v", test=0.0)',
    )
    with pytest.raises(DataError, match="holds text labels"):
        _load(spec)


def test_npy_targets_must_match_the_samples(tmp_path: Path) -> None:
    np.save(tmp_path / "x.npy", np.zeros((5, 2)))
    np.save(tmp_path / "y.npy", np.zeros(4, dtype=np.int64))
    data = f'npy(path="{tmp_path / "x.npy"}", target="{tmp_path / "y.npy"}")'
    with pytest.raises(DataError, match=r"y\.npy` has 4 targets, but `.*x\.npy` has 5"):
        _load(_classifier(data))


# --- nudged digits ----------------------------------------------------------------------------


def _digits(params: str) -> Dataset:
    return _load(_classifier(f"digits({params})", x="[64]", k=10))


def _rows(ds: Dataset) -> np.ndarray:
    """Every sample of every split as one row, pixels then label, sorted: the set as a multiset."""
    rows = np.concatenate([np.column_stack([s.arrays["x"], s.arrays["y"]]) for s in _splits(ds)])
    return rows[np.lexsort(rows.T[::-1])]


def test_nudged_digits_are_five_times_as_many_and_split_as_one_set() -> None:
    plain = _digits("test=0.2, seed=0")
    nudged = _digits("nudge=true, test=0.2, val=0.1, seed=0")
    assert sum(s.size for s in _splits(plain)) == 1797
    assert plain.test is not None and plain.test.size == 359
    assert nudged.test is not None and nudged.val is not None
    assert (nudged.train.size, nudged.val.size, nudged.test.size) == (6290, 898, 1797)
    counts = np.bincount(_rows(nudged)[:, 64].astype(int), minlength=10)
    assert counts.tolist() == (5 * np.bincount(_rows(plain)[:, 64].astype(int))).tolist()
    for split in _splits(nudged):
        assert split.arrays["x"].shape[1:] == (64,) and split.arrays["x"].dtype == np.float32
        assert split.arrays["x"].min() >= 0.0 and split.arrays["x"].max() <= 1.0


def test_nudged_images_are_the_digits_moved_by_one_pixel() -> None:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = x / 16.0
    out = data_module.nudge(x).reshape(5, len(x), 8, 8)
    image = x.reshape(-1, 8, 8)
    np.testing.assert_array_equal(out[0], image)
    up, left, right, down = out[1:]
    np.testing.assert_array_equal(up[:, :-1], image[:, 1:])
    np.testing.assert_array_equal(left[:, :, :-1], image[:, :, 1:])
    np.testing.assert_array_equal(right[:, :, 1:], image[:, :, :-1])
    np.testing.assert_array_equal(down[:, 1:], image[:, :-1])
    for edge in (up[:, -1], left[:, :, -1], right[:, :, 0], down[:, 0]):
        assert not edge.any()  # what moves in is blank
    # The loaded set is exactly these images with their digits' labels, whatever the split.
    expected = np.column_stack([out.reshape(-1, 64), np.tile(y, 5)]).astype(np.float32)
    expected = expected[np.lexsort(expected.T[::-1])]
    np.testing.assert_array_equal(_rows(_digits("nudge=true, test=0.2")), expected)


def test_nudged_digits_are_deterministic() -> None:
    a = _digits("nudge=true, test=0.2, seed=3")
    data_module._raw.cache_clear()
    b = _digits("nudge=true, test=0.2, seed=3")
    c = _digits("nudge=true, test=0.2, seed=4")
    for sa, sb in zip(_splits(a), _splits(b), strict=True):
        np.testing.assert_array_equal(sa.arrays["x"], sb.arrays["x"])
        np.testing.assert_array_equal(sa.arrays["y"], sb.arrays["y"])
    assert a.test is not None and c.test is not None
    assert not np.array_equal(a.test.arrays["x"], c.test.arrays["x"])


def test_nudge_must_be_a_bool() -> None:
    with pytest.raises(NetspecError):
        _digits("nudge=2")


# --- imports -----------------------------------------------------------------------------------


def test_importing_data_does_not_import_torch_or_the_sources() -> None:
    code = (
        "import sys, netspec.data.loading\n"
        "loaded = [m for m in ('torch', 'sklearn', 'mnist1d') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- fixed and grouped splits ------------------------------------------------------------------
def test_mnist1d_official_split_is_the_papers_1000_test_signals() -> None:
    from mnist1d.data import get_dataset_args, make_dataset

    spec = _classifier("mnist1d(official=true, val=0.1, seed=3)", x="[40]", k=10)
    ds = _load(spec)
    assert ds.test is not None and ds.val is not None
    assert len(ds.test.arrays["x"]) == 1000 and len(ds.train.arrays["x"]) == 3500
    state = np.random.get_state()
    paper = make_dataset(get_dataset_args())  # the package's frozen set (seed 42)
    np.random.set_state(state)
    ours = np.sort(ds.test.arrays["x"].reshape(1000, 40), axis=0)
    np.testing.assert_allclose(ours, np.sort(paper["x_test"], axis=0))
    other = _load(spec.replace("seed=3", "seed=4"))  # the seed moves validation, not the test
    assert other.test is not None
    np.testing.assert_array_equal(
        np.sort(other.test.arrays["x"], axis=0), np.sort(ds.test.arrays["x"], axis=0)
    )


def test_mnist1d_official_refuses_another_size() -> None:
    with pytest.raises(DataError, match="leave out n=200"):
        _load(_classifier("mnist1d(official=true, n=200)", x="[40]", k=10))


def test_grouped_samples_are_held_out_as_whole_groups() -> None:
    from netspec.data.loading import Samples, _split

    groups = np.repeat(np.arange(10), 20)  # ten speakers, twenty utterances each
    raw = Samples(np.zeros((200, 1)), groups=groups)
    plan, _ = _plan(_classifier("blobs(test=0.2, val=0.1, seed=0)", k=3))
    test, val, train = _split(200, plan, None, raw)
    assert sorted([*test, *val, *train]) == list(range(200))
    held = [set(groups[i]) for i in (test, val, train)]
    assert not held[0] & held[2] and not held[1] & held[2] and not held[0] & held[1]
    assert len(test) == 40 and len(val) == 20  # whole groups: 2 speakers, then 1
