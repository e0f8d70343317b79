"""Data contracts: `netspec check` diagnoses bad local data files (E510-E518) with their
file:line:column, `netspec train` stops on the same problems before the first step, and the
in-memory checks catch what a generated source could give."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netspec.api import compile_file
from netspec.cli import main
from netspec.data import contracts
from netspec.data.checks import check_data
from netspec.data.contracts import DataError
from netspec.data.loading import load


def _spec(
    tmp_path: Path,
    data: str,
    x: str = "[3]",
    y: str = "class(2)",
    name: str = "spec.net",
) -> str:
    """A classifier spec in tmp_path reading `data`; its path, relative to tmp_path."""
    loss = "cross_entropy(p, y)" if y.startswith("class") else "mse(p, y)"
    head = "softmax(2)" if y.startswith("class") else "linear(1)"
    if y == "binary":
        head, loss = "dense(1) -> sigmoid", "bce(p, y)"
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"network n {{\n    input x: {x}\n    input y: {y}\n"
        f"    p = x -> flatten -> {head}\n    loss {loss}\n}}\n"
        f"train n {{\n    data = {data}\n    optimizer = sgd(lr=0.1)\n    epochs = 1\n}}\n"
    )
    return name


def _csv(tmp_path: Path, text: str, name: str = "d.csv") -> str:
    (tmp_path / name).write_text(text)
    return _spec(tmp_path, f'csv(path="{name}", target="label", test=0.2)')


def _check(capsys: pytest.CaptureFixture[str], spec: str, *flags: str) -> tuple[int, str]:
    status = main(["check", "--color", "never", *flags, spec])
    return status, capsys.readouterr().err


def _short(capsys: pytest.CaptureFixture[str], spec: str) -> tuple[int, list[str]]:
    """`netspec check --error-format short`: its status and one line per diagnostic."""
    status, err = _check(capsys, spec, "--error-format", "short")
    return status, err.splitlines()


GOOD = "a,b,petal_width,label\n1,2,3,0\n4,5,6,1\n7,8,9,0\n1,1,1,1\n2,2,2,0\n"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # paths in messages are then as a user in that folder sees them


# --- netspec check: CSV ------------------------------------------------------------------------


def test_a_good_csv_passes_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _check(capsys, _csv(tmp_path, GOOD))
    assert status == 0 and err == ""


def test_nan_in_a_csv_is_named_by_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _csv(tmp_path, GOOD.replace("4,5,6,1", "4,5,nan,1"))
    status, err = _check(capsys, spec)
    assert status == 1
    assert "error[E514]: `d.csv` line 3, column `petal_width` holds nan" in err
    assert "netspec does not impute" in err and "--> d.csv:3:3" in err
    assert "remove the row, or fill in the value" in err
    assert "learning rate" not in err


@pytest.mark.parametrize(
    ("row", "where", "what"),
    [
        ("4,5,inf,1", "d.csv:3:3", "holds inf"),
        ("4,-inf,6,1", "d.csv:3:2", "holds -inf"),
        ("4,5,,1", "d.csv:3:3", "is empty"),
        ("4,5,6,", "d.csv:3:4", "column `label` is empty"),
        ("4,5,6,nan", "d.csv:3:4", "column `label` holds nan"),
    ],
)
def test_inf_and_empty_cells_are_missing_values(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], row: str, where: str, what: str
) -> None:
    status, lines = _short(capsys, _csv(tmp_path, GOOD.replace("4,5,6,1", row)))
    assert status == 1 and len(lines) == 1
    assert lines[0].startswith(f"{where}: error[E514]: ") and what in lines[0]


def test_text_in_a_feature_column_is_e513(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = _short(capsys, _csv(tmp_path, GOOD.replace("7,8,9,0", "7,8 cm,9,0")))
    assert status == 1
    assert lines == [
        "d.csv:4:2: error[E513]: `d.csv` line 4, column `b`: `8 cm` is not a number "
        "(feature columns must be numeric)"
    ]


def test_a_ragged_row_is_e512(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = _short(capsys, _csv(tmp_path, GOOD.replace("7,8,9,0", "7,8,0")))
    assert status == 1
    assert lines == [
        "d.csv:4:4: error[E512]: `d.csv` line 4 has 3 values, but the header names 4 columns"
    ]


def test_a_label_outside_the_classes_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _csv(tmp_path, GOOD.replace("7,8,9,0", "7,8,9,5").replace("2,2,2,0", "2,2,2,3"))
    status, err = _check(capsys, spec)
    assert status == 1
    assert (
        "error[E515]: column `label` of `d.csv` for input `y` holds values from 0 to 5, "
        "but `class(2)` takes class ids 0 to 1: 5 at line 4"
    ) in err
    assert "--> d.csv:4:4" in err and "also at line 6" in err


def test_binary_labels_must_be_0_or_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "d.csv").write_text(GOOD.replace("4,5,6,1", "4,5,6,2"))
    spec = _spec(tmp_path, 'csv(path="d.csv", target="label", test=0.2)', y="binary")
    status, lines = _short(capsys, spec)
    assert status == 1 and len(lines) == 1
    assert lines[0].startswith("d.csv:3:4: error[E515]:")
    assert "`binary` takes 0 or 1: 2 at line 3" in lines[0]


def test_more_text_labels_than_classes_are_e515(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "a,b,c,label\n1,2,3,cat\n1,2,3,dog\n1,2,3,owl\n1,2,3,cat\n1,2,3,dog\n"
    status, lines = _short(capsys, _csv(tmp_path, text))
    assert status == 1
    assert lines[0].startswith("d.csv:4:4: error[E515]:")
    assert "3 different labels (`cat`, `dog`, `owl`)" in lines[0] and "`owl`" in lines[0]


def test_a_missing_file_points_at_the_spec_and_says_paths_are_relative_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path, 'csv(path="nope.csv", target="label")', name="specs/a.net")
    status, err = _check(capsys, spec)
    assert status == 1
    assert "error[E510]: cannot read `specs/nope.csv`: there is no such file" in err
    assert "--> specs/a.net:8:12" in err
    assert "relative to the spec's folder (`specs` here)" in err


def test_a_missing_targets_file_is_e510(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "x.npy", np.ones((5, 3)))
    status, lines = _short(capsys, _spec(tmp_path, 'npy(path="x.npy", target="y.npy")'))
    assert status == 1
    assert lines == ["spec.net:8:12: error[E510]: cannot read `y.npy`: there is no such file"]


def test_too_few_rows_for_the_splits_is_e516_with_the_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d.csv").write_text("a,b,c,label\n1,2,3,0\n4,5,6,1\n")
    spec = _spec(tmp_path, 'csv(path="d.csv", target="label", test=0.3, val=0.3)')
    status, lines = _short(capsys, spec)
    assert status == 1
    assert lines == [
        "spec.net:8:12: error[E516]: `d.csv` has 2 samples: too few to hold out test=0.3 (1) "
        "and val=0.3 (1) and still train on some, so the training split would be empty"
    ]


def test_a_header_without_rows_is_e516(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = _short(capsys, _csv(tmp_path, "a,b,c,label\n"))
    assert status == 1 and lines[0].startswith("d.csv:1:1: error[E516]:")


def test_a_missing_target_column_is_e518(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = _short(capsys, _csv(tmp_path, GOOD.replace("label", "species")))
    assert status == 1
    assert lines[0].startswith("d.csv:1:1: error[E518]: `d.csv` has no column `label`")


def test_a_file_that_is_not_utf8_is_e511(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d.csv").write_bytes(b"a,b,c,label\n1,2,3,\xff\n")
    status, err = _check(capsys, _spec(tmp_path, 'csv(path="d.csv", target="label")'))
    assert status == 1 and "error[E511]: cannot read `d.csv`" in err


def test_every_problem_is_reported_in_file_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "a,b,c,label\n1,2,3,0\n1,nan,3,1\n1,2\n1,x,3,0\n1,2,,1\n1,2,3,0\n"
    status, lines = _short(capsys, _csv(tmp_path, text))
    assert status == 1
    assert [line.split(": ")[0:2] for line in lines] == [
        ["d.csv:3:2", "error[E514]"],
        ["d.csv:4:3", "error[E512]"],
        ["d.csv:5:2", "error[E513]"],
        ["d.csv:6:3", "error[E514]"],
    ]


def test_thousands_of_nans_give_a_few_diagnostics_and_a_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"{i},nan,0,{i % 2}\n" for i in range(1000))
    status, err = _check(capsys, _csv(tmp_path, "a,b,c,label\n" + rows))
    assert status == 1
    assert err.count("error[E514]") == contracts.SHOWN
    assert f"and {1000 - contracts.SHOWN} more missing or non-finite values in `d.csv`" in err


def test_fixing_the_file_makes_check_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _csv(tmp_path, GOOD.replace("4,5,6,1", "4,5,nan,1"))
    assert _check(capsys, spec)[0] == 1
    (tmp_path / "d.csv").write_text(GOOD)
    assert _check(capsys, spec) == (0, "")


# --- netspec check: NPY ------------------------------------------------------------------------


def test_nan_in_an_npy_file_is_located_by_sample_and_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x = np.ones((6, 3))
    x[2, 1] = np.nan
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1, 0, 1]))
    status, lines = _short(capsys, _spec(tmp_path, 'npy(path="x.npy", target="y.npy")'))
    assert status == 1
    assert lines == [
        "x.npy:3:2: error[E514]: `x.npy` sample 3 (index 2), value 2 holds nan: "
        "netspec does not impute missing values"
    ]


def test_wrong_npy_shapes_are_e517(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    np.save(tmp_path / "x.npy", np.ones((6, 4)))
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1, 0, 1]))
    status, lines = _short(capsys, _spec(tmp_path, 'npy(path="x.npy", target="y.npy")'))
    assert status == 1
    assert lines == [
        "spec.net:8:12: error[E517]: `x.npy` gives 4 values per sample, but input `x` takes "
        "`[3]` (3 values)"
    ]
    np.save(tmp_path / "x.npy", np.ones((6, 3)))
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 9, 0]))
    status, lines = _short(capsys, _spec(tmp_path, 'npy(path="x.npy", target="y.npy")'))
    assert status == 1
    assert lines == ["spec.net:8:12: error[E517]: `y.npy` has 5 targets, but `x.npy` has 6 samples"]


def test_npy_labels_outside_the_classes_name_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "x.npy", np.ones((6, 3)))
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 9, 0, 1]))
    status, lines = _short(capsys, _spec(tmp_path, 'npy(path="x.npy", target="y.npy")'))
    assert status == 1 and len(lines) == 1
    assert lines[0].startswith("y.npy:4:1: error[E515]: `y.npy` for input `y` holds values")
    assert lines[0].endswith("`class(2)` takes class ids 0 to 1: 9 at sample 4")


def test_an_object_array_is_never_unpickled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    np.save(tmp_path / "x.npy", np.array([{"a": 1}] * 4, dtype=object), allow_pickle=True)
    np.save(tmp_path / "y.npy", np.array([0, 1, 0, 1]))
    status, err = _check(capsys, _spec(tmp_path, 'npy(path="x.npy", target="y.npy")'))
    assert status == 1 and "error[E511]: cannot read the features file `x.npy`" in err


# --- the library API ---------------------------------------------------------------------------


def test_check_data_lists_the_problems_of_a_compiled_spec(tmp_path: Path) -> None:
    spec = _csv(tmp_path, GOOD.replace("4,5,6,1", "4,5,6,7").replace("1,2,3,0", "1,2,x,0"))
    diags = check_data(compile_file(spec))
    assert [(d.code, d.primary_span and d.primary_span.excerpt_location()) for d in diags] == [
        ("E513", "d.csv:2:3")
    ]  # the labels are checked once the file parses
    (tmp_path / "d.csv").write_text(GOOD.replace("4,5,6,1", "4,5,6,7"))
    assert [d.code for d in check_data(compile_file(spec))] == ["E515"]
    assert check_data(compile_file(spec), networks=["other"]) == []


def test_a_real_target_keeps_its_negative_integers(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b,c,v\n1,2,3,-4\n4,5,6,7\n7,8,9,-4\n")
    spec = _spec(tmp_path, 'csv(path="d.csv", target="v", test=0.0)', y="real")
    compiled = compile_file(spec)
    train = compiled.trains["n"]
    ds = load(train.data, compiled.networks["n"])
    assert sorted(ds.train.arrays["y"].tolist()) == [-4.0, -4.0, 7.0]


# --- netspec train -----------------------------------------------------------------------------


def test_train_stops_on_bad_data_before_the_first_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD.replace("4,5,6,1", "4,5,nan,1").replace("7,8,9,0", "7,8,9,4")
    spec = _csv(tmp_path, text)
    status = main(["train", spec, "--runs", "runs", "--color", "never"])
    err = capsys.readouterr().err
    assert status == 1
    assert "error[E514]: `d.csv` line 3, column `petal_width` holds nan" in err
    assert "--> d.csv:3:3" in err and "learning rate" not in err
    assert not (tmp_path / "runs").exists()  # no run folder for a run that never started


# --- the in-memory checks (generated sources) --------------------------------------------------


def test_non_finite_names_the_samples_of_an_array() -> None:
    x = np.zeros((4, 2, 3))
    x[1, 0, 2], x[3, 1, 1] = np.nan, -np.inf
    found = contracts.non_finite(x, "`blobs`")
    assert [p.code for p in found] == ["E514", "E514"]
    assert found[0].message.startswith("`blobs` sample 2 (index 1), value 3 holds nan")
    assert "sample 4 (index 3), value 5 holds -inf" in found[1].message
    assert found[0].span is None and "fix the source" in (found[0].help or "")
    assert contracts.non_finite(np.arange(6.0).reshape(3, 2), "`blobs`") == []
    assert contracts.non_finite(np.arange(6).reshape(3, 2), "`blobs`") == []  # integers


def test_non_finite_counts_what_it_does_not_list() -> None:
    found = contracts.non_finite(np.full((20, 1), np.nan), "`waves`")
    assert len(found) == contracts.SHOWN
    assert "15 more samples holding nan or inf in `waves`" in (found[-1].note or "")


def test_labels_outside_the_classes_in_an_array() -> None:
    def locate(i: int) -> tuple[str, None]:
        return f"sample {i + 1}", None

    takes = "`class(3)` takes class ids 0 to 2"
    y = np.array([0, 1, 2, 3, 1, -1])
    (found,) = contracts.labels(y, 3, 0, takes, "`blobs`", locate)
    assert found.code == "E515"
    assert found.message == (
        "`blobs` holds values from -1 to 3, but `class(3)` takes class ids 0 to 2: 3 at sample 4"
    )
    assert found.note == "also at sample 6"
    assert contracts.labels(y[:3], 3, 0, takes, "`blobs`", locate) == []
    assert contracts.labels(y, 4, -1, takes, "`blobs`", locate) == []  # -1: unlabelled steps
    (half,) = contracts.labels(np.array([0.0, 0.5]), 3, 0, takes, "`blobs`", locate)
    assert "not whole numbers (0.5 at sample 2)" in half.message


def test_several_problems_raise_the_first_with_the_rest() -> None:
    problems = contracts.non_finite(np.full((3, 1), np.inf), "`x`")
    with pytest.raises(DataError) as caught:
        contracts.problems_raised(problems)
    assert caught.value.code == "E514" and caught.value.problems == tuple(problems)
    assert "2 more problems in the data; `netspec check` lists them all" in (
        caught.value.note or ""
    )
    contracts.problems_raised([])  # nothing to raise


def test_a_generated_source_is_checked_as_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netspec.data import loading, synthetic

    real = synthetic.blobs

    def broken(n: int, features: int, classes: int, spread: float, seed: int) -> loading.Samples:
        raw = real(n, features, classes, spread, seed)
        x = raw.x.copy()
        x[3, 1] = np.nan
        return loading.Samples(x, raw.y, raw.names)

    monkeypatch.setattr(synthetic, "blobs", broken)
    loading._raw.cache_clear()  # samples drawn by other tests with the real `blobs`
    spec = _spec(tmp_path, "blobs(n=20, features=3, classes=2)")
    compiled = compile_file(spec)
    assert check_data(compiled) == []  # no file of the user's: train checks it
    with pytest.raises(DataError) as caught:
        load(compiled.trains["n"].data, compiled.networks["n"])
    loading._raw.cache_clear()
    assert caught.value.code == "E514"
    assert caught.value.message.startswith("`blobs` sample 4 (index 3), value 2 holds nan")
    span = caught.value.span
    assert span is not None and span.excerpt_location() == "spec.net:8:12"  # the `data` setting
