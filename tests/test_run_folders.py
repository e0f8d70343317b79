"""Run folders: each folder problem is one coded message; a failed write keeps the previous file
and records why; a run stopped before its first checkpoint resumes in place; stale temp files go.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from test_checkpoints import SPEC  # the same tiny run

from netspec.cli import main
from netspec.training import runs


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "blob.net"
    path.write_text(SPEC)
    return path


def _train(spec: Path, *flags: str) -> int:
    return main(["train", str(spec), "--quiet", *flags])


def _manifest(run: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run / "manifest.json").read_text())
    return data


def _temps(run: Path) -> list[str]:
    return sorted(p.name for p in [*run.glob(".*.tmp"), *run.glob("checkpoints/.*.tmp")])


# --- folders that cannot be made ------------------------------------------------------------------


def test_runs_under_a_file_is_one_coded_message(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "notes").write_text("a file")
    assert _train(spec, "--runs", str(tmp_path / "notes" / "runs")) == 1
    err = capsys.readouterr().err
    assert "error[E703]" in err and f"{tmp_path / 'notes'} is a file, not a folder" in err
    assert "Traceback" not in err


def test_a_run_dir_that_is_a_file_is_one_coded_message(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "taken").write_text("a file")
    assert _train(spec, "--run-dir", str(tmp_path / "taken")) == 1
    err = capsys.readouterr().err
    assert "error[E703]" in err and "it is a file, not a folder" in err


def test_an_unwritable_runs_folder_is_one_coded_message(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    real = Path.mkdir

    def mkdir(self: Path, *args: Any, **kwargs: Any) -> None:
        if locked in (self, *self.parents):  # as chmod 555 would, even for root
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    assert _train(spec, "--runs", str(locked)) == 1
    err = capsys.readouterr().err
    assert "error[E702]" in err and f"cannot create the run folder {locked}" in err
    assert "Permission denied" in err and "--runs" in err


def test_a_run_dir_holding_a_run_says_how_to_resume_it(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert _train(spec, "--run-dir", str(run)) == 0
    assert _train(spec, "--run-dir", str(run)) == 1
    assert f"error[E704]: {run} already holds a run; resume it with --resume {run}" in (
        capsys.readouterr().err
    )


# --- a write that fails -------------------------------------------------------------------------


def _limit_file_size() -> None:
    """In the child: files may not grow past 8 KiB (a manifest fits, a checkpoint does not), and
    a write past it fails with EFBIG instead of killing the process."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (8192, 8192))


def test_a_full_disk_fails_with_a_message_a_status_and_a_run_that_resumes(
    spec: Path, tmp_path: Path
) -> None:
    root = tmp_path / "runs"
    command = [sys.executable, "-m", "netspec", "train", str(spec), "--runs", str(root), "--quiet"]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        preexec_fn=_limit_file_size,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    (run,) = root.iterdir()
    last = run / "checkpoints" / "last.safetensors"
    assert "error[E710]: cannot write checkpoint" in done.stderr and str(last) in done.stderr
    assert "File too large" in done.stderr and "free on that disk" in done.stderr
    assert "no checkpoint was written" in done.stderr and "Traceback" not in done.stderr
    manifest = _manifest(run)
    assert manifest["status"] == "failed" and manifest["code"] == "E710"
    assert "cannot write checkpoint" in manifest["error"]
    assert _temps(run) == [] and not last.exists()
    # The run stopped before its first checkpoint: --resume starts it again in place.
    assert _train(spec, "--resume", str(run)) == 0
    assert last.exists() and _manifest(run)["status"] == "done"
    assert len(_manifest(run)["resumed"]) == 1


def _fail_replacing(monkeypatch: pytest.MonkeyPatch, first: str, then: str = "") -> None:
    """os.replace onto a file named `first` fails as on a full disk, after the temp file is
    written; from then on, onto `then` too."""
    real = os.replace
    failing = {first}

    def replace(src: Any, dst: Any) -> None:
        if Path(dst).name in failing:
            failing.add(then)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(shutil, "disk_usage", lambda _: SimpleNamespace(free=0))


def test_a_failed_checkpoint_write_keeps_the_previous_checkpoint(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    assert _train(spec, "--run-dir", str(run), "--max-steps", "1") == 0
    last = run / "checkpoints" / "last.safetensors"
    before = last.read_bytes()
    capsys.readouterr()
    _fail_replacing(monkeypatch, "last.safetensors")
    assert _train(spec, "--resume", str(run)) == 1
    err = capsys.readouterr().err
    assert (
        f"error[E710]: cannot write checkpoint {last}: No space left on device "
        "(0 B free on that disk); the previous checkpoint is kept"
    ) in err
    assert last.read_bytes() == before and _temps(run) == []
    assert _manifest(run)["status"] == "failed"


def test_when_the_manifest_cannot_record_the_failure_the_write_error_is_still_reported(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    assert _train(spec, "--run-dir", str(run), "--max-steps", "1") == 0
    capsys.readouterr()
    _fail_replacing(monkeypatch, "last.safetensors", then="manifest.json")
    assert _train(spec, "--resume", str(run)) == 1
    err = capsys.readouterr().err
    assert err.count("error[") == 1 and "error[E710]: cannot write checkpoint" in err
    manifest = _manifest(run)  # as the resume wrote it: running again, no ending recorded
    assert "status" not in manifest and len(manifest["resumed"]) == 1
    assert _temps(run) == []


# --- resuming a run with no checkpoint; stale temp files ----------------------------------------


def test_a_run_stopped_before_its_first_checkpoint_restarts_in_place(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    fresh = tmp_path / "fresh"
    assert _train(spec, "--run-dir", str(fresh)) == 0
    assert _train(spec, "--run-dir", str(run)) == 0
    for path in (run / "checkpoints").iterdir():  # as if killed before the first checkpoint
        path.unlink()
    (run / "metrics.jsonl").write_text('{"epoch": 99}\n')
    capsys.readouterr()
    assert main(["train", str(spec), "--resume", str(run)]) == 0  # not --quiet: notes show
    err = capsys.readouterr().err
    assert f"{run} stopped before its first checkpoint; training it again from step 0" in err
    ours = load_file(str(run / "checkpoints" / "last.safetensors"))
    theirs = load_file(str(fresh / "checkpoints" / "last.safetensors"))
    assert all(torch.equal(ours[k], theirs[k]) for k in theirs if k.startswith("model/"))
    assert _rows(run) == _rows(fresh)  # the stale row is gone


def _rows(run: Path) -> list[dict[str, Any]]:
    """metrics.jsonl without its timings."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def test_stale_temp_files_of_dead_processes_are_removed_on_resume(
    spec: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    assert _train(spec, "--run-dir", str(run), "--max-steps", "1") == 0
    dead = run / "checkpoints" / ".last.safetensors.999999999.tmp"  # above any pid_max
    mine = run / f".manifest.json.{os.getpid()}.tmp"
    alive = run / ".metrics.csv.1.tmp"  # pid 1 is alive: some other process's write
    for path in (dead, mine, alive):
        path.write_bytes(b"partial")
    assert _train(spec, "--resume", str(run)) == 0
    assert _temps(run) == [alive.name]


def test_a_failed_write_removes_its_temp_file_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text("old\n")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(runs.WriteError, match=r"cannot write metrics log .*the previous") as caught:
        runs.write_atomic(path, b"new\n", "metrics log")
    assert caught.value.code == "E710" and isinstance(caught.value, OSError)
    assert path.read_text() == "old\n" and list(tmp_path.iterdir()) == [path]
