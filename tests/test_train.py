"""The trainer on tiny generated data: learning, the run directory, exact resume, checkpoints,
freezing, multi-task metrics, early stopping, the non-finite guard, and the CLI."""

from __future__ import annotations

import csv
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

import netspec
from netspec.backend.lower import lower
from netspec.cli import main as cli_main
from netspec.training import runs
from netspec.training.metrics import batch_metrics, head_specs, probe
from netspec.training.run import TrainError, TrainOptions, TrainResult, train


def _runs_in(folder: Path) -> list[Path]:
    """The run folders in a runs root (its index.html beside them left out)."""
    return [p for p in folder.iterdir() if p.is_dir()]


ROOT = Path(__file__).resolve().parent.parent

NET = """
let width = 16

network blob {
    input point: [2]
    input cluster: class(3)
    h = point -> dense(width, act=relu)
    y = h -> dropout(0.1) -> softmax(3)
    loss cross_entropy(y, cluster)
}
"""

SIMPLE = (
    NET
    + """
train blob {
    data = blobs(n=150, classes=3, spread=2.0, test=0.2, seed=1)
    batch = 16
    optimizer = adam(lr=0.01)
    epochs = 6
}
"""
)

# Two stages, dropout, momentum, warmup and cosine: everything a resume must restore.
STAGED = (
    NET
    + """
train blob {
    data = blobs(n=150, classes=3, spread=2.0, test=0.2, val=0.2, seed=1)
    batch = 16
    stage first {
        optimizer = sgd(lr=0.05, momentum=0.9)
        schedule = step(every=1, gamma=0.5)
        epochs = 2
    }
    stage second {
        freeze = [h]
        optimizer = adam(lr=0.01)
        schedule = cosine(warmup=3, min_lr=0.001)
        steps = 20
    }
}
"""
)


def run(
    spec: str, tmp: Path, overrides: dict[str, str] | None = None, **options: object
) -> TrainResult:
    compiled = netspec.compile(spec, "test.net", overrides)
    opts = TrainOptions(runs_root=tmp, quiet=True, plots=False, drawing=False, argv=["test"])
    opts.overrides = overrides or {}
    for key, value in options.items():
        setattr(opts, key, value)
    return train(compiled, opts)


def weights(result: TrainResult) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in result.lowered.root.state_dict().items()}


def test_a_tiny_network_learns(tmp_path: Path) -> None:
    result = run(SIMPLE, tmp_path)
    losses = [r["train/loss"] for r in result.rows]
    assert result.status == "done" and len(losses) == 6
    assert losses[-1] < 0.5 * losses[0]
    assert result.metrics["cross_entropy/acc"] > 0.8


def test_the_run_directory_holds_every_artifact(tmp_path: Path) -> None:
    result = run(SIMPLE, tmp_path, {"width": "8"}, plots=True, drawing=True)
    folder = result.run_dir
    assert folder.parent == tmp_path and folder.name.startswith("blob-")
    artifacts = ("spec.net", "manifest.json", "metrics.jsonl", "metrics.csv", "network.svg")
    for name in (*artifacts, "gradients.json"):
        assert (folder / name).is_file(), name
    assert {p.name for p in (folder / "plots").iterdir()} == {
        "curves.svg",
        "confusion-cross_entropy.svg",
        "gradients.svg",
    }
    spec = (folder / "spec.net").read_text()
    assert spec.startswith("# netspec run") and "--set width=8" in spec and "train blob" in spec
    assert result.lowered.root.get_submodule("h").weight.shape == (8, 2)
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in ("spec_sha256", "torch", "numpy", "python", "netspec", "seed", "threads", "device"):
        assert key in manifest, key
    assert manifest["threads"] == 1 and manifest["status"] == "done"
    assert manifest["data"]["train"] == 120 and manifest["data"]["test"] == 30
    jsonl = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    with open(folder / "metrics.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert len(jsonl) == len(table) == 6
    for row, line in zip(jsonl, table, strict=True):
        assert set(row) == set(line)
        for key, value in row.items():
            assert str(value) == line[key] if isinstance(value, str) else float(line[key]) == value
    # a second run in the same second gets its own folder
    assert run(SIMPLE, tmp_path, epochs=1).run_dir != folder


def test_checkpoints_are_safetensors_without_pickle(tmp_path: Path) -> None:
    result = run(SIMPLE, tmp_path, epochs=2)
    for path in (result.checkpoint, result.best):
        assert path is not None
        data = path.read_bytes()
        (size,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8 : 8 + size])  # a JSON header, then raw tensor bytes
        assert not data.startswith((b"PK", b"\x80"))  # neither torch.save's zip nor a pickle
        assert header["__metadata__"]["format"] == runs.FORMAT
        with safe_open(str(path), framework="pt") as f:
            keys = list(f.keys())
        assert any(k.startswith("model/") for k in keys)
    last = runs.load_checkpoint(result.checkpoint)
    assert {"rng/torch", "rng/shuffle"} <= set(last.tensors)
    assert last.meta["rows"] == 2 and "numpy" in last.meta["rng"]


# A unit named like lowering's logits nodes: the threshold must follow its link, not its name.
SCORE = """
network score {
    input x: [2]
    input label: binary
    score_logits = x -> HEAD
    loss bce(score_logits, label)
}
"""


@pytest.mark.parametrize(
    ("head", "threshold"),
    [("logistic", 0.5), ("linear(1) -> sigmoid", 0.5), ("linear(1)", 0.0)],
)
def test_binary_accuracy_thresholds_a_unit_by_its_link_not_its_name(
    head: str, threshold: float
) -> None:
    compiled = netspec.compile(SCORE.replace("HEAD", head))
    graph = compiled.network()
    lowered = lower(graph)
    assert lowered.links == ({"score_logits": "sigmoid"} if threshold else {})
    heads = head_specs(lowered, graph)
    assert [h.threshold for h in heads] == [threshold]
    (unit,) = lowered.root.children()  # the linear map, whatever the link after it
    with torch.no_grad():
        unit.weight.copy_(torch.tensor([[1.0, 0.0]]))  # logits: the first feature
        unit.bias.zero_()
    # Logits between 0 and 0.5 are yeses: a threshold of 0.5 on them would miss both.
    x = torch.tensor([[-1.0, 0.0], [0.3, 0.0], [0.4, 0.0], [2.0, 0.0]])
    label = torch.tensor([0.0, 1.0, 1.0, 1.0])
    metrics = batch_metrics(heads, probe(lowered, graph)(x, label))
    assert float(metrics["bce/acc"]) == 1.0


def test_a_failed_write_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "last.safetensors"
    runs.save_checkpoint(path, {"w": torch.ones(3)}, {"n": 1})
    real_replace = os.replace
    calls = []

    def failing(src: object, dst: object) -> None:
        calls.append(src)
        if len(calls) == 1:
            raise OSError("disk full")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(runs.os, "replace", failing)
    with pytest.raises(OSError, match="disk full"):
        runs.save_checkpoint(path, {"w": torch.zeros(3)}, {"n": 2})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.safetensors"]
    assert torch.equal(runs.load_checkpoint(path).tensors["w"], torch.ones(3))
    runs.save_checkpoint(path, {"w": torch.zeros(3)}, {"n": 2})
    assert runs.load_checkpoint(path).meta == {"n": 2}


def test_a_stage_checkpoints_its_state_as_named_fields(tmp_path: Path) -> None:
    stopped = run(STAGED, tmp_path, max_steps=5)  # inside the first epoch: 6 batches of 16
    ckpt = runs.load_checkpoint(stopped.checkpoint)
    state = ckpt.stage_state()
    assert (state["epoch"], state["pos"], state["step"]) == (0, 5, 5)
    assert state["early"] == {
        "best": None,
        "best_epoch": 0,
        "bad": 0,
        "stopped": False,
        "best_weights": None,
    }
    in_epoch = state["in_epoch"]
    assert in_epoch["count"] == 5 * 16 and sorted(in_epoch["perm"].tolist()) == list(range(90))
    # The optimizer's own state, by parameter index: SGD's momentum buffers, each in the file.
    buffers = [entries["momentum_buffer"] for entries in state["optimizer"]["state"].values()]
    assert [tuple(b.shape) for b in buffers] == [(16, 2), (16,), (3, 16), (3,)]
    assert ckpt.tensors["state/optimizer/state/0/momentum_buffer"] is buffers[0]


@pytest.mark.parametrize("stop", [5, 12, 27])  # inside stage one; at its end; inside stage two
def test_resume_ends_with_exactly_the_same_weights(tmp_path: Path, stop: int) -> None:
    whole = weights(run(STAGED, tmp_path / "whole"))
    first = run(STAGED, tmp_path / "parts", max_steps=stop, checkpoint_every=4)
    assert first.status == "stopped"
    rest = run(STAGED, tmp_path / "parts", resume=first.run_dir)
    assert rest.status == "done"
    resumed = weights(rest)
    assert whole.keys() == resumed.keys()
    for key in whole:
        assert torch.equal(whole[key], resumed[key]), key
    rows = [json.loads(line) for line in (rest.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["epoch"]) for r in rows] == [
        ("first", 1),
        ("first", 2),
        ("second", 1),
        ("second", 2),
        ("second", 3),
        ("second", 4),
    ]


def test_resume_refuses_a_spec_whose_used_file_changed(tmp_path: Path) -> None:
    blocks = tmp_path / "blocks.net"
    blocks.write_text(
        "block layer(n) { input x\n y = dense(x, n, act=relu)\n output y }\n", encoding="utf-8"
    )
    main = tmp_path / "main.net"
    main.write_text(
        SIMPLE.replace("let width = 16", 'use "blocks.net"\nlet width = 16').replace(
            "point -> dense(width, act=relu)", "point -> layer(width)"
        ),
        encoding="utf-8",
    )
    opts = TrainOptions(runs_root=tmp_path / "runs", quiet=True, plots=False, drawing=False)
    opts.max_steps = 3
    first = train(netspec.compile_file(main), opts)
    manifest = json.loads((first.run_dir / "manifest.json").read_text())
    assert manifest["spec_uses"] == [str(blocks)]
    blocks.write_text(
        "block layer(n) { input x\n y = dense(x, n, act=tanh)\n output y }\n", encoding="utf-8"
    )
    opts.max_steps, opts.resume = None, first.run_dir
    with pytest.raises(runs.RunError, match="the spec has changed since the run started"):
        train(netspec.compile_file(main), opts)


def test_frozen_units_keep_their_weights(tmp_path: Path) -> None:
    first = run(STAGED, tmp_path, max_steps=12)  # stops where stage `second` (h frozen) begins
    before = weights(first)
    after = weights(run(STAGED, tmp_path, resume=first.run_dir))
    frozen = [k for k in before if k.startswith("h.")]
    trained = [k for k in before if k.startswith("y.")]
    assert frozen and trained
    assert all(torch.equal(before[k], after[k]) for k in frozen)
    assert not any(torch.equal(before[k], after[k]) for k in trained)


MULTITASK = """
network two {
    input point: [2]
    input cluster: class(3)
    shared = point -> dense(16, act=relu)
    y = softmax(shared, 3)
    back = shared -> dense(2)
    loss classify = cross_entropy(y, cluster)
    loss rebuild = mse(back, point, weight=0.5)
}
train two {
    data = blobs(n=150, classes=3, test=0.2, val=0.2)
    batch = 16
    optimizer = adam(lr=0.01)
    epochs = 2
}
"""


def test_every_head_reports_its_metrics(tmp_path: Path) -> None:
    result = run(MULTITASK, tmp_path)
    row = result.rows[-1]
    for split in ("train", "val", "test"):
        for key in ("loss", "classify/loss", "classify/acc", "rebuild/loss", "rebuild/mse"):
            assert f"{split}/{key}" in row, f"{split}/{key}"
        assert f"{split}/rebuild/mae" in row and f"{split}/rebuild/acc" not in row
    total = row["test/classify/loss"] + 0.5 * row["test/rebuild/loss"]
    assert row["test/loss"] == pytest.approx(total, rel=1e-5)
    assert row["test/rebuild/mse"] == pytest.approx(row["test/rebuild/loss"], rel=1e-5)


EARLY = (
    NET.replace("width = 16", "width = 64")
    + """
train blob {
    data = blobs(n=60, classes=3, spread=6.0, val=0.3, test=0.2, seed=3)
    batch = 8
    optimizer = adam(lr=0.05)
    epochs = 200
    early_stop = 3
}
"""
)


def test_early_stopping_stops_and_restores_the_best_weights(tmp_path: Path) -> None:
    result = run(EARLY, tmp_path)
    val = [r["val/loss"] for r in result.rows]
    best = min(range(len(val)), key=val.__getitem__)
    assert len(val) < 200 and len(val) == best + 1 + 3  # three epochs without a better loss
    assert result.best is not None
    saved = runs.load_checkpoint(result.best).group("model")
    final = result.lowered.root.state_dict()
    assert all(torch.equal(saved[k], final[k].cpu()) for k in final)


def test_a_diverging_loss_stops_with_a_message(tmp_path: Path) -> None:
    spec = SIMPLE.replace("adam(lr=0.01)", "sgd(lr=0.1)\n    schedule = step(every=1, gamma=1e20)")
    with pytest.raises(TrainError, match=r"stage `main`, epoch 2, step \d+: the loss became"):
        run(spec, tmp_path)
    (folder,) = tmp_path.iterdir()
    last = runs.load_checkpoint(folder / "checkpoints" / "last.safetensors")
    assert last.meta["rows"] == 1  # the checkpoint of epoch 1, untouched by the bad step
    assert all(torch.isfinite(t).all() for t in last.group("model").values())
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "the loss became" in manifest["error"]


# --- the command line -----------------------------------------------------------------------------


def netspec_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "netspec", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def test_cli_train_then_eval_a_zoo_spec(tmp_path: Path) -> None:
    spec = str(ROOT / "specs" / "cnn.net")
    trained = netspec_cli("train", spec, "--smoke", "--runs", str(tmp_path), cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "stage main  epoch 1/1" in trained.stdout and "accuracy" in trained.stdout
    (folder,) = _runs_in(tmp_path)
    assert f"run:        {folder}" in trained.stdout and "drawing:" in trained.stdout
    ckpt = str(folder / "checkpoints" / "last.safetensors")
    evaluated = netspec_cli("eval", spec, "--checkpoint", ckpt, cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "cross_entropy" in evaluated.stdout and "accuracy" in evaluated.stdout


def test_cli_eval_names_a_split_the_data_lack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(ROOT / "specs" / "logistic_regression.net")
    assert cli_main(["train", spec, "--smoke", "--runs", str(tmp_path), "--quiet"]) == 0
    (folder,) = _runs_in(tmp_path)
    ckpt = str(folder / "checkpoints" / "last.safetensors")
    capsys.readouterr()
    assert cli_main(["eval", spec, "--checkpoint", ckpt, "--split", "val"]) == 1
    assert "no val split" in capsys.readouterr().err


def test_cli_runs_greedy_pretraining_then_fine_tuning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "stack.net"
    spec.write_text(
        "network stack { input bits: [16]  input kind: class(2)\n"
        "  h = rbm(bits, 8)  y = softmax(h, 2)  loss cross_entropy(y, kind) }\n"
        "train stack { data = bars(n=100, size=4)  batch = 10\n"
        "  stage pre { greedy = [h]  method = pcd(k=1)  optimizer = sgd(lr=0.1)  epochs = 2 }\n"
        "  stage tune { optimizer = adam(lr=0.01)  epochs = 2 } }\n"
    )
    monkeypatch.chdir(tmp_path)
    assert cli_main(["train", str(spec), "--quiet"]) == 0
    (run,) = _runs_in(tmp_path / "runs")
    with (run / "metrics.csv").open() as f:
        stages = [row["stage"] for row in csv.DictReader(f)]
    assert stages == ["pre:h", "pre:h", "tune", "tune"]


TORCH_FREE = """
import contextlib, io, sys
from netspec.cli import main
with contextlib.redirect_stderr(io.StringIO()):
    code = main(["train", sys.argv[1]])
print(code, "torch" in sys.modules)
"""


def test_cli_train_checks_the_spec_before_importing_torch(tmp_path: Path) -> None:
    bad = tmp_path / "bad.net"
    bad.write_text("network n {\n    input x: [4]\n    y = x -> conv2d(8, 3)\n}\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", TORCH_FREE, str(bad)], capture_output=True, text=True, env=env
    )
    assert result.stdout.split() == ["1", "False"], result.stderr
