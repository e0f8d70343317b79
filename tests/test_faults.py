"""The fault suite (bench/faults.py): its weight comparison, and a short run of it. The whole
suite (`--quick`: six kills, the stop signals, a full disk and a diverging loss) is marked slow."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file
from test_bench import _bench

FAULTS = _bench("faults")


def _checkpoint(run: Path, name: str, **tensors: np.ndarray) -> None:
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(run / "checkpoints" / name))


def test_weights_must_match_bit_for_bit(tmp_path: Path) -> None:
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    _checkpoint(tmp_path / "ref", "last.safetensors", w=w, b=np.zeros(3, np.float32))
    _checkpoint(tmp_path / "same", "last.safetensors", w=w.copy(), b=np.zeros(3, np.float32))
    nudged = w.copy()
    nudged[1, 2] = np.nextafter(nudged[1, 2], np.float32(10))  # one ulp
    _checkpoint(tmp_path / "off", "last.safetensors", w=nudged, b=np.zeros(3, np.float32))
    negative_zero = np.full(3, -0.0, np.float32)  # equal as numbers, not as bits
    _checkpoint(tmp_path / "sign", "last.safetensors", w=w, b=negative_zero)
    ref = tmp_path / "ref"
    assert FAULTS._same_weights(tmp_path / "same", ref) == []
    assert FAULTS._same_weights(tmp_path / "off", ref) == ["last.safetensors:w"]
    assert FAULTS._same_weights(tmp_path / "sign", ref) == ["last.safetensors:b"]
    _checkpoint(ref, "best.safetensors", w=w)
    assert FAULTS._same_weights(tmp_path / "same", ref) == ["best.safetensors missing"]


def test_only_the_childs_own_temporary_files_count(tmp_path: Path) -> None:
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / ".last.safetensors.41.tmp").write_bytes(b"")
    (tmp_path / ".manifest.json.7.tmp").write_bytes(b"")  # a stale one of an earlier process
    assert FAULTS._temp_files(tmp_path, 41) == {tmp_path / "checkpoints/.last.safetensors.41.tmp"}
    assert FAULTS._temp_files(tmp_path, 7, ".safetensors") == set()


@pytest.mark.slow  # four training processes: a minute or more; test_stops.py covers CI
def test_two_kills_then_resume_give_the_reference_weights(tmp_path: Path) -> None:
    (outcome,) = FAULTS.run(2, 0, ["kill-mlp"], tmp_path)
    assert outcome.kills == 2
    assert -signal.SIGKILL in outcome.exit_codes and 0 in outcome.exit_codes
    assert outcome.compared >= 1 and outcome.identical == outcome.compared
    assert outcome.tracebacks == 0 and outcome.failures == []
    assert "| kill-mlp | 2 |" in FAULTS.table([outcome])


@pytest.mark.slow
def test_the_quick_fault_suite_passes() -> None:
    assert FAULTS.main(["--quick"]) == 0
