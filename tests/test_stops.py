"""A stop signal loses nothing: SIGTERM and SIGINT end a run after its current step with a
checkpoint, a manifest status and the command that resumes it; the resumed run ends with exactly
the weights of one never stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from netspec.training.signals import EXIT_CODES, stop_requests

SPEC = """
network blob {
    input point: [2]
    input cluster: class(3)
    h = point -> dense(16, act=relu)
    y = softmax(h, 3)
    loss cross_entropy(y, cluster)
}

train blob {
    data = blobs(n=2000, classes=3, spread=2.0, test=0.1, seed=1)
    batch = 8
    optimizer = adam(lr=0.01)
    epochs = 12
}
"""


def _train(spec: Path, runs: Path, *flags: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "netspec", "train", str(spec), "--runs", str(runs), *flags]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def _stop_after_an_epoch(process: subprocess.Popen[str], runs: Path, number: int) -> Path:
    """Send `number` once the run has logged its first epoch; the run's folder."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        logs = list(runs.glob("*/metrics.jsonl"))
        if logs and logs[0].read_text().strip():
            process.send_signal(number)
            return logs[0].parent
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    raise AssertionError("the run logged no epoch in 120 s")


def _model(run: Path) -> dict[str, torch.Tensor]:
    saved = load_file(str(run / "checkpoints" / "last.safetensors"))
    return {k: v for k, v in saved.items() if k.startswith("model/")}


@pytest.mark.parametrize("name", ["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_run_with_a_checkpoint_and_says_how_to_resume(
    tmp_path: Path, name: str
) -> None:
    spec = tmp_path / "blob.net"
    spec.write_text(SPEC)
    runs = tmp_path / "runs"
    process = _train(spec, runs, "--quiet")
    run = _stop_after_an_epoch(process, runs, getattr(signal, name))
    _, err = process.communicate(timeout=120)
    assert process.returncode == EXIT_CODES[name]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["signal"] == name
    assert 0 < manifest["step"] < 12 * 225  # it stopped early, after a whole step
    assert (run / "checkpoints" / "last.safetensors").exists()
    assert f"netspec train {spec} --resume {run}" in err and "Traceback" not in err


def test_a_run_resumed_after_sigterm_ends_with_the_weights_of_one_never_stopped(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "blob.net"
    spec.write_text(SPEC)
    whole = _train(spec, tmp_path / "whole", "--quiet")
    stopped = _train(spec, tmp_path / "parts", "--quiet")
    run = _stop_after_an_epoch(stopped, tmp_path / "parts", signal.SIGTERM)
    stopped.communicate(timeout=120)
    assert stopped.returncode == 143
    resumed = _train(spec, tmp_path / "parts", "--quiet", "--resume", str(run))
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    whole.communicate(timeout=120)
    (uninterrupted,) = [p for p in (tmp_path / "whole").iterdir() if p.is_dir()]  # not index.html
    ours, theirs = _model(run), _model(uninterrupted)
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert json.loads((run / "manifest.json").read_text())["status"] == "done"


def test_a_second_sigint_aborts_at_once_and_the_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with stop_requests() as request:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)  # the handler runs between bytecodes of the main thread
        assert request.signal == "SIGINT"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGINT) is before


def test_outside_training_signals_keep_their_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with stop_requests(enabled=False) as request:
        assert signal.getsignal(signal.SIGTERM) is before
    assert not request
