"""Pre-flight resources: the training-memory estimate `check` prints, its W601 warning, and
`train`'s E602 refusal before anything is allocated; the estimate measured against torch."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from netspec.api import compile
from netspec.backend.api import lower
from netspec.cli import main
from netspec.diagnostics.core import Severity
from netspec.plan.plans import CallPlan
from netspec.plan.resources import (
    BACKWARD_FACTOR,
    DEFAULT_SIZE,
    WARN_BYTES,
    Estimate,
    MemoryRefusal,
    estimate,
    format_bytes,
    host_available_bytes,
    refuse_unaffordable,
    state_copies,
    warning,
)
from netspec.training import run as run_module
from netspec.training.optim import make_optimizer
from netspec.training.run import TrainOptions, train

ROOT = Path(__file__).resolve().parent.parent

SMALL = """
network small {
    input x: [8]
    input y: class(2)
    h = x -> dense(16, act=relu)
    z = softmax(h, 2)
    loss cross_entropy(z, y)
}

train small {
    data = blobs(n=64, features=8, classes=2)
    batch = 4
    optimizer = OPTIMIZER
    epochs = 1
}
"""

# 90 billion weights in one dense layer: 3.9 TiB to train with Adam.
BIG = SMALL.replace("dense(16, act=relu)", "dense(10000000000)").replace("batch = 4", "batch = 32")


def _small(optimizer: str = "adam(lr=0.01)") -> Any:
    return compile(SMALL.replace("OPTIMIZER", optimizer), "small.net")


def test_bytes_read_in_human_units() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(200 * 1024) == "200 KiB"
    assert format_bytes(int(1.2 * 1024**2)) == "1.2 MiB"
    assert format_bytes(80 * 1024**3) == "80.0 GiB"
    assert format_bytes(4 * 1024**4) == "4.0 TiB"


@pytest.mark.parametrize(
    ("name", "params", "copies"),
    [
        ("sgd", {"momentum": 0.0}, 0),
        ("sgd", {"momentum": 0.9}, 1),
        ("adam", {}, 2),
        ("adamw", {}, 2),
        ("rmsprop", {"momentum": 0.0}, 1),
        ("rmsprop", {"momentum": 0.5}, 2),
        ("lion", {}, 2),  # unknown (a plugin's): assumed Adam's two
    ],
)
def test_optimizer_state_copies(name: str, params: dict[str, float], copies: int) -> None:
    assert state_copies(CallPlan(name, params)) == copies


def test_estimate_adds_weights_gradients_adam_state_and_activations() -> None:
    compiled = _small()
    found = estimate(compiled.networks["small"], compiled.trains["small"])
    params = (8 * 16 + 16) + (16 * 2 + 2)
    assert (found.params, found.trained, found.state_copies) == (params, params, 2)
    assert found.weights == found.gradients == params * 4
    assert found.optimizer_state == 2 * params * 4
    per_sample = 8 + 1 + 16 + 2 + 1  # x, y, h, z and the loss
    assert found.per_sample == per_sample
    assert found.activations == per_sample * 4 * 4 * BACKWARD_FACTOR  # batch 4, float32
    assert found.total == 4 * params * 4 + found.activations
    assert found.summary().startswith(f"memory: ~{format_bytes(found.total)} to train at batch 4")
    assert "adam state 1.4 KiB" in found.summary()  # 1,424 B


def test_sgd_without_momentum_keeps_no_state() -> None:
    compiled = _small("sgd(lr=0.1)")
    found = estimate(compiled.networks["small"], compiled.trains["small"])
    assert found.optimizer_state == 0 and "sgd state 0 B" in found.summary()


def test_frozen_units_have_no_gradients_and_the_peak_stage_counts() -> None:
    text = SMALL.replace("OPTIMIZER", "adam(lr=0.01)").replace(
        "    epochs = 1\n",
        "    stage head { freeze = [h]  epochs = 1 }\n    stage all { batch = 8  epochs = 1 }\n",
    )
    compiled = compile(text, "stages.net")
    graph, plan = compiled.networks["small"], compiled.trains["small"]
    head = estimate(graph, replace(plan, stages=plan.stages[:1]))
    assert head.trained == 16 * 2 + 2 and head.params == 8 * 16 + 16 + 34
    peak = estimate(graph, plan)
    assert (peak.stage, peak.batch, peak.trained) == ("all", 8, peak.params)
    assert "at batch 8 in stage `all`" in peak.summary()


def test_a_symbolic_size_takes_the_datas_value_else_the_default() -> None:
    net = """
network s {
    input words: class(50)[T]
    input label: class(2)
    h = words -> embed(8) -> gru(16, steps=last)
    y = softmax(h, 2)
    loss cross_entropy(y, label)
}
"""
    plain = compile(net, "s.net").networks["s"]
    guessed = estimate(plain)
    assert guessed.assumed == (("T", DEFAULT_SIZE),)
    assert guessed.per_sample == DEFAULT_SIZE * (1 + 8) + 1 + 16 + 2 + 1
    assert guessed.summary().endswith("of weights (no `train` section)")
    trained = compile(
        net + "train s { data = reviews(n=100, vocab=50, length=20)  optimizer = adam() }", "s.net"
    )
    known = estimate(trained.networks["s"], trained.trains["s"])
    assert known.assumed == () and known.per_sample == 20 * (1 + 8) + 1 + 16 + 2 + 1
    # a field reshaped to the input: specs/rnn.net's [40] signal feeds `input signal: [T, 1]`
    rnn = compile((ROOT / "specs" / "rnn.net").read_text(encoding="utf-8"), "rnn.net")
    found = estimate(rnn.networks["rnn"], rnn.trains["rnn"])
    assert found.assumed == () and "T=" not in found.summary()
    assert found.per_sample == 40 + 1 + 64 + 10 + 1


def test_an_assumed_size_is_named_in_the_summary() -> None:
    found = Estimate(10, 10, "adam", 2, 100, 4, "main", (("T", DEFAULT_SIZE),))
    assert f"to train at batch 4, T={DEFAULT_SIZE} (weights 40 B" in found.summary()


def test_w601_only_above_the_threshold() -> None:
    compiled = _small()
    graph = compiled.networks["small"]
    found = estimate(graph, compiled.trains["small"])
    assert warning(graph, found) is None
    diag = warning(graph, found, limit=found.total - 1)
    assert diag is not None and diag.code == "W601" and diag.severity is Severity.WARNING
    assert diag.labels[0].message == "the largest unit: 144 parameters"
    assert WARN_BYTES == 8 * 1024**3


def test_refusal_when_the_estimate_exceeds_free_memory() -> None:
    compiled = _small()
    graph, plan = compiled.networks["small"], compiled.trains["small"]
    found = estimate(graph, plan)
    assert refuse_unaffordable(graph, plan, found.total, "cpu") == found  # just fits
    assert refuse_unaffordable(graph, plan, None, "mps") == found  # unknown: no refusal
    with pytest.raises(MemoryRefusal) as caught:
        refuse_unaffordable(graph, plan, 1000, "cuda:0")
    diag = caught.value.diagnostic
    assert diag.code == "E602"
    assert f"needs about {format_bytes(found.total)} of memory at batch 4" in diag.message
    assert diag.message.endswith("but only 1000 B is free on cuda:0")
    assert diag.note is not None and "adam state" in diag.note
    assert diag.help is not None and "smaller `batch`" in diag.help


def test_available_memory_from_meminfo_else_sysconf(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 100 kB\nMemFree: 10 kB\nMemAvailable: 2048 kB\n", "ascii")
    assert host_available_bytes(meminfo) == 2048 * 1024
    fallback = host_available_bytes(tmp_path / "missing")
    assert fallback is None or fallback > 0


def test_train_refuses_with_a_fake_small_free_amount(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_module, "host_available_bytes", lambda: 1000)
    monkeypatch.setattr(run_module, "Session", _no_session)
    options = TrainOptions(runs_root=tmp_path / "runs", device="cpu", quiet=True)
    with pytest.raises(MemoryRefusal, match="but only 1000 B is free on cpu"):
        train(_small(), options)
    assert not (tmp_path / "runs").exists()


def _no_session(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the model was lowered before the memory check")


def test_check_prints_the_memory_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "small.net"
    spec.write_text(SMALL.replace("OPTIMIZER", "adam(lr=0.01)"), encoding="utf-8")
    assert main(["check", str(spec)]) == 0
    out, err = capsys.readouterr()
    assert "network small: 2 units, 178 parameters" in out
    assert "  memory: ~" in out and "to train at batch 4 (weights 712 B, gradients 712 B" in out
    assert err == ""


def test_80_billion_parameters_warn_in_check_and_train_refuses_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = tmp_path / "big.net"
    spec.write_text(BIG.replace("OPTIMIZER", "adam(lr=0.001)"), encoding="utf-8")
    assert main(["check", str(spec)]) == 0
    out, err = capsys.readouterr()
    assert "110,000,000,002 parameters" in out
    assert "memory: ~3.9 TiB to train at batch 32 (weights 410 GiB" in out
    assert "warning[W601]: network `small` needs about 3.9 TiB" in err
    assert "the largest unit: 90,000,000,000 parameters" in err

    monkeypatch.setattr(run_module, "Session", _no_session)  # nothing may be allocated
    start = time.perf_counter()
    status = main(["train", str(spec), "--runs", str(tmp_path / "runs"), "--device", "cpu"])
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    assert status == 1
    assert "error[E602]: training network `small` needs about 3.9 TiB of memory at batch 32" in err
    assert "is free on cpu" in err and "= help: use fewer or smaller units" in err
    assert "Traceback" not in err + out
    assert not (tmp_path / "runs").exists()
    assert elapsed < 1.0  # torch is already imported here: the check itself is instant


def test_the_estimate_matches_torch_on_the_mlp_spec() -> None:
    """Weights, gradients and Adam's state exactly; activations within a factor of 2 of the
    tensors autograd saved for the backward pass."""
    compiled = compile((ROOT / "specs" / "mlp.net").read_text(encoding="utf-8"), "mlp.net")
    plan = compiled.trains["mlp"]
    found = estimate(compiled.networks["mlp"], plan)
    torch.manual_seed(0)
    lowered = lower(compiled, "mlp")
    lowered.root.train()
    optimizer = make_optimizer(plan.stages[0].optimizer, lowered.root.parameters())
    params = list(lowered.root.parameters())
    batch = plan.stages[0].batch
    inputs = {"pixels": torch.rand(batch, 64), "digit": torch.randint(0, 10, (batch,))}
    saved: dict[int, int] = {}  # storage address -> bytes, so a tensor saved twice counts once
    weights = {p.data_ptr() for p in params}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.data_ptr() not in weights:
            saved[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = lowered.objective(**inputs)["loss"]
    loss.backward()
    optimizer.step()

    def size(t: torch.Tensor) -> int:
        return t.numel() * t.element_size()

    assert sum(size(p) for p in params) == found.weights
    assert sum(size(p.grad) for p in params if p.grad is not None) == found.gradients
    state = [
        t
        for p in params
        for t in optimizer.state[p].values()
        if isinstance(t, torch.Tensor) and t.shape == p.shape  # not Adam's step counters
    ]
    assert sum(size(t) for t in state) == found.optimizer_state
    measured = sum(saved.values())
    assert found.activations / 2 <= measured <= found.activations * 2, (measured, found)
