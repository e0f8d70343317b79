"""Exports that deploy: ONNX nodes carry their spec unit and file:line, outputs keep the
declared symbolic sizes, a run's input scaling is inside the exported graph (the wine case),
`--format pt2`, `export --check`, and `netspec predict` on new rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import netspec
from netspec.backend.deploy import Standardized, check_export
from netspec.backend.export import export_network, export_onnx, export_program
from netspec.backend.lower import Lowered, lower
from netspec.cli import main
from netspec.data.loading import load

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TAGGER = """network tagger {
    input words: class(20)[T]
    h = words -> embed(4) -> gru(5, steps=all)
    y = softmax(h, 3)
}
"""

MLP = """network m {
    input x: [6]
    h = x -> dense(8, act=relu) -> dropout(0.5)
    y = softmax(h, 3)
}
"""

WINE = """network w {
    input x: [13]
    input kind: class(3)
    y = x -> softmax(3)
    loss cross_entropy(y, kind)
}

train w {
    data = wine(test=0.3, seed=0)
    normalize = standard
    batch = 32
    optimizer = adam(lr=0.05)
    epochs = 20
}
"""


def _lowered(text: str, name: str = "t.net") -> tuple[netspec.Compiled, Lowered]:
    compiled = netspec.compile(text, name)
    torch.manual_seed(0)
    return compiled, lower(compiled.network(), compiled.sources)


def _props(node: object) -> dict[str, str]:
    return {p.key: p.value for p in node.metadata_props}


def test_onnx_nodes_name_their_unit_and_line_and_outputs_keep_t(tmp_path: Path) -> None:
    compiled, low = _lowered(TAGGER)
    path = export_onnx(low, tmp_path / "t.onnx", graph=compiled.network())
    model = onnx.load(str(path))
    units = [_props(n).get("netspec.unit") for n in model.graph.node]
    sources = {_props(n).get("netspec.source") for n in model.graph.node} - {None}
    assert sum(u is not None for u in units) >= 0.9 * len(units)
    assert {"h", "y"} <= set(units)  # the GRU's nodes are `h`'s, the softmax's `y`'s
    assert sources == {"t.net:3", "t.net:4"}  # the lines of h and y
    dims = model.graph.output[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", "T", 3]
    assert {p.key: p.value for p in model.metadata_props}["netspec.network"] == "tagger"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    words = torch.randint(0, 20, (2, 9))
    got = session.run(None, {"words": words.numpy()})[0]
    assert got.shape == (2, 9, 3)
    torch.testing.assert_close(torch.from_numpy(got), low.model(words), rtol=0, atol=1e-5)


def test_the_exported_graph_is_inference_only(tmp_path: Path) -> None:
    compiled, low = _lowered(MLP)
    low.root.train()  # dropout on, as in training: the export must still switch it off
    path = export_onnx(low, tmp_path / "m.onnx", graph=compiled.network())
    x = torch.rand(4, 6)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    once, twice = (session.run(None, {"x": x.numpy()})[0] for _ in range(2))
    assert np.array_equal(once, twice)  # deterministic: no dropout
    low.root.eval()
    torch.testing.assert_close(torch.from_numpy(once), low.model(x), rtol=0, atol=1e-6)


def test_standardized_scales_raw_inputs_as_training_did() -> None:
    _, low = _lowered(MLP)
    low.root.eval()
    mean, std = np.linspace(-3, 3, 6, dtype=np.float32), np.linspace(1, 20, 6, dtype=np.float32)
    wrapped = Standardized(low.model, ("x",), {"x": (mean, std)})
    raw = torch.rand(5, 6) * 40
    want = low.model((raw - torch.from_numpy(mean)) / torch.from_numpy(std))
    torch.testing.assert_close(wrapped(raw), want)


def test_pt2_keeps_sizes_dynamic_or_says_which_it_fixed(tmp_path: Path) -> None:
    compiled, low = _lowered(MLP)
    path, fixed = export_program(low, tmp_path / "m.pt2")
    assert fixed == {}
    program = torch.export.load(str(path)).module()
    x = torch.rand(7, 6)
    low.root.eval()
    torch.testing.assert_close(program(x), low.model(x))
    compiled, low = _lowered(TAGGER)
    done = export_network(compiled, "pt2", tmp_path / "t.pt2")
    assert done.fixed == {"T": 16}  # nn.GRU specialises T under torch.export
    assert "T = 16" in done.note("pt2")
    result = check_export("pt2", done.path, done.reference, done.lowered, fixed=done.fixed)
    assert result.ok and all("T=16" in s for s in result.shapes)


@pytest.mark.parametrize("fmt", ["python", "onnx", "pt2"])
def test_export_check_runs_the_written_file_against_torch(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "m.net"
    spec.write_text(MLP, encoding="utf-8")
    out = tmp_path / f"m.{ {'python': 'py'}.get(fmt, fmt) }"
    assert main(["export", str(spec), "--format", fmt, "-o", str(out), "--check"]) == 0
    printed = capsys.readouterr().out
    assert f"check: the {fmt} export matches torch" in printed
    assert "batch 3" in printed and "batch 7" in printed


def test_a_broken_export_fails_the_check(tmp_path: Path) -> None:
    compiled, _ = _lowered(MLP)
    done = export_network(compiled, "onnx", tmp_path / "m.onnx")
    with torch.no_grad():  # the torch model moves on; the file does not
        linear = next(m for m in done.lowered.root.modules() if isinstance(m, torch.nn.Linear))
        linear.weight.add_(1.0)
    result = check_export("onnx", done.path, done.reference, done.lowered)
    assert not result.ok and "DIFFERS" in result.describe()


def test_sparse_coding_onnx_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = Path(__file__).resolve().parent.parent / "specs" / "sparse_coding.net"
    assert main(["export", str(spec), "--format", "onnx", "-o", str(tmp_path / "s.onnx")]) == 1
    err = capsys.readouterr().err
    assert "E751" in err and "no SVD operator" in err and "--format pt2" in err
    assert "Traceback" not in err and len(err.splitlines()) < 6


# --- the wine case: a run that scaled its inputs, exported, on raw inputs ------------------------


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """A wine run with `normalize = standard`, and the test accuracy `eval RUN` reports."""
    where = tmp_path_factory.mktemp("wine")
    (where / "w.net").write_text(WINE, encoding="utf-8")
    run = where / "run"
    assert main(["train", str(where / "w.net"), "--run-dir", str(run), "--quiet"]) == 0
    return run, _eval_accuracy(run)


def _eval_accuracy(run: Path) -> float:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["eval", str(run)]) == 0
    row = next(line for line in out.getvalue().splitlines() if line.startswith("cross_entropy"))
    return float(row.split()[-1])


def _raw_test_split() -> tuple[np.ndarray, np.ndarray]:
    """The run's test split, unscaled: the same spec without `normalize`, same split seed."""
    compiled = netspec.compile(WINE.replace("    normalize = standard\n", ""), "w.net")
    test = load(compiled.trains["w"].data, compiled.network()).test
    assert test is not None
    return test.arrays["x"], test.arrays["kind"]


def test_the_exported_model_scores_on_raw_wine_what_eval_reports(
    wine_run: tuple[Path, float], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, accuracy = wine_run
    assert (run / "normalization.safetensors").is_file()
    out = tmp_path / "w.onnx"
    assert main(["export", str(run), "--format", "onnx", "-o", str(out)]) == 0
    assert "inputs scaled inside: x" in capsys.readouterr().out
    x, kind = _raw_test_split()
    assert x.std(axis=0).max() > 100  # raw: proline is in the hundreds to thousands
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    probabilities = session.run(None, {"x": x.astype(np.float32)})[0]
    onnx_accuracy = float((probabilities.argmax(axis=1) == kind).mean())
    assert onnx_accuracy == pytest.approx(accuracy, abs=5e-5)  # eval prints 4 decimals
    assert accuracy > 0.85
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["netspec.scaled_inputs"] == "x"


def test_predict_reads_raw_rows_and_writes_classes_and_probabilities(
    wine_run: tuple[Path, float], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, accuracy = wine_run
    x, kind = _raw_test_split()
    rows = tmp_path / "rows.csv"
    header = ",".join(f"f{k}" for k in range(13)) + ",kind"
    lines = [header] + [
        ",".join(f"{v:.6g}" for v in r) + f",{k}" for r, k in zip(x, kind, strict=True)
    ]
    rows.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["predict", str(run), "--input", str(rows)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "y,y.p0,y.p1,y.p2"
    predicted = np.array([int(line.split(",")[0]) for line in table[1:]])
    assert len(predicted) == len(kind)
    assert float((predicted == kind).mean()) == pytest.approx(accuracy, abs=5e-5)
    probabilities = np.array([[float(v) for v in line.split(",")[1:]] for line in table[1:]])
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)
    out = tmp_path / "p.npz"
    assert main(["predict", str(run), "--input", str(rows), "-o", str(out)]) == 0
    with np.load(out) as saved:
        assert np.array_equal(saved["y.class"], predicted)


def test_predict_of_a_sequence_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, low = _lowered(TAGGER)
    weights = tmp_path / "t.safetensors"
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in low.root.state_dict().items()}, str(weights))
    spec = tmp_path / "t.net"
    spec.write_text(TAGGER, encoding="utf-8")
    words = tmp_path / "words.npy"
    np.save(words, np.random.default_rng(0).integers(0, 20, (4, 6)))
    argv = ["predict", str(spec), "--checkpoint", str(weights), "--input", str(words)]
    assert main(argv) == 1
    assert "E762" in capsys.readouterr().err  # a sequence per sample does not fit a CSV row
    assert main([*argv, "-o", str(tmp_path / "tags.npz")]) == 0
    with np.load(tmp_path / "tags.npz") as saved:
        assert saved["y"].shape == (4, 6, 3) and saved["y.class"].shape == (4, 6)


def test_manifest_records_the_scaling(wine_run: tuple[Path, float]) -> None:
    run, _ = wine_run
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["normalize"] == "standard"


PATIENTS = """network patients {
    input vitals: [2]
    input age: [1]
    input outcome: class(2)
    h = concat(vitals, age) -> dense(4, act=relu)
    p = softmax(h, 2)
    loss cross_entropy(p, outcome)
}

train patients {
    data = csv("patients.csv", target="outcome", test=0.25)
    normalize = standard
    steps = 2
}
"""


def test_predict_takes_the_training_csv_rows_of_a_several_input_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    lines = ["vitals.hr,vitals.bp,age,outcome"] + [
        f"{rng.normal(70, 10):.1f},{rng.normal(120, 15):.1f},{rng.integers(20, 90)},{k % 2}"
        for k in range(40)
    ]
    Path("patients.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    Path("p.net").write_text(PATIENTS, encoding="utf-8")
    assert main(["train", "p.net", "--run-dir", "run", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["predict", "run", "--input", "patients.csv"]) == 0  # the labels are left out
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "p,p.p0,p.p1" and len(table) == 41
    Path("few.csv").write_text("vitals.hr,age\n70,40\n", encoding="utf-8")
    assert main(["predict", "run", "--input", "few.csv"]) == 1
    err = capsys.readouterr().err
    assert "E762" in err and "input `vitals` takes 2 values, but 1 column is named" in err
