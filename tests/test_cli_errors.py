"""Command-line and environment errors: each one coded diagnostic, exit 2 (usage) or 1 (user
error), never a traceback."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from netspec.cli import BROKEN_PIPE_STATUS, main
from netspec.diagnostics.codes import CODES

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
SPEC = "network n {\n    input x: [4]\n    y = x -> dense(2)\n    output y\n}\n"


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "n.net"
    path.write_text(SPEC, encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    status = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return status, err


def _head(err: str) -> str:
    return err.splitlines()[0]


# --- reading the spec ---------------------------------------------------------------------------


def test_a_missing_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, err = _run(capsys, "check", str(tmp_path / "nope.net"))
    assert status == 2
    assert _head(err) == f"error[E731]: no such file: {tmp_path / 'nope.net'}"
    assert "relative to the current directory" in err


def test_a_folder_given_as_the_spec_lists_its_specs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("b.net", "a.net", "notes.txt"):
        (tmp_path / name).write_text(SPEC, encoding="utf-8")
    status, err = _run(capsys, "check", str(tmp_path))
    assert status == 2
    assert _head(err) == f"error[E732]: {tmp_path} is a folder, not a spec file"
    assert "= help: name one of its specs: a.net, b.net\n" in err


def test_a_spec_that_is_not_utf8_names_the_byte_and_where_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.net"
    path.write_bytes("network n {\n  # caf\u00e9\n}\n".encode("latin-1"))
    status, err = _run(capsys, "fmt", str(path))
    assert status == 2
    assert _head(err) == f"error[E733]: {path} is not UTF-8 text: byte 0xe9 at line 2, column 8"


def test_stdin_that_is_not_utf8(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"network n {\xff}\n")))
    status, err = _run(capsys, "check", "-")
    assert status == 2
    assert _head(err) == "error[E733]: <stdin> is not UTF-8 text: byte 0xff at line 1, column 12"


def test_windows_newlines_read_as_newlines(tmp_path: Path) -> None:
    """Specs are read as bytes (to place a bad byte) but their newlines as text mode reads them."""
    path = tmp_path / "crlf.net"
    path.write_bytes(SPEC.replace("\n", "\r\n").encode("utf-8"))
    assert main(["fmt", "--check", str(path)]) == 0


# --- the command line ---------------------------------------------------------------------------


def test_an_argparse_error_is_a_diagnostic_with_the_usage(
    spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, err = _run(capsys, "draw", str(spec), "--rankdir", "XY")
    assert status == 2
    assert _head(err).startswith("error[E730]: argument --rankdir: invalid choice: 'XY'")
    assert "= help: `netspec draw --help` lists the options" in err
    assert "= note: usage: netspec draw [-h]" in err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["check", "{spec}", "--network", "m"], "E735", "no network `m` (networks: n)"),
        (["check", "{spec}", "--set", "oops"], "E730", "--set expects NAME=VALUE, got `oops`"),
        (["explain", "E799"], "E737", "no diagnostic code E799"),
        (["explain", "zeppelin"], "E737", "`zeppelin` is neither a spec file nor a topic"),
        (["new", "zeppelin"], "E738", "no starter for `zeppelin`"),
        (["draw", "{spec}", "-o", "{tmp}/n.gif"], "E741", "cannot write `{tmp}/n.gif`"),
        (["draw", "{spec}", "--stage", "nope"], "E745", "no stage `nope`"),
        (["draw", "{spec}", "--run", "{tmp}", "-o", "-"], "E746", "{tmp} has no gradients.json"),
        (["eval", "{spec}", "--checkpoint", "{tmp}/no.safetensors"], "E742", "no such checkpoint"),
        (["eval", "{spec}", "--checkpoint", "{tmp}"], "E742", "{tmp} is a folder"),
        (["train", "{spec}", "--resume", "{tmp}"], "E743", "{tmp} is not a run directory"),
        (["compare", "{tmp}"], "E730", "give two or more run folders to compare"),
    ],
)
def test_usage_errors_are_coded_and_exit_2(
    argv: list[str],
    code: str,
    message: str,
    spec: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tmp = str(tmp_path)
    status, err = _run(capsys, *(a.format(spec=spec, tmp=tmp) for a in argv))
    assert status == 2
    assert _head(err).startswith(f"error[{code}]: {message.format(tmp=tmp)}")
    assert err.endswith("error: found 1 error\n")


def test_a_new_spec_that_exists_needs_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dbn.net"
    out.write_text("mine\n", encoding="utf-8")
    status, err = _run(capsys, "new", "dbn", "-o", str(out))
    assert status == 2 and _head(err) == f"error[E739]: {out} exists; pass --force to " + (
        "overwrite it, or -o another path"
    )
    assert out.read_text(encoding="utf-8") == "mine\n"


def test_usage_errors_follow_the_error_format(
    spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["check", str(spec), "--network", "m", "--error-format", "json"]) == 2
    (diagnostic,) = json.loads(capsys.readouterr().out)
    assert diagnostic["code"] == "E735" and diagnostic["severity"] == "error"
    status, err = _run(capsys, "check", str(spec), "--network", "m", "--error-format", "short")
    assert status == 2 and err == "error[E735]: no network `m` (networks: n)\n"


def test_a_resumed_run_refuses_other_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"seed": 1, "overrides": {}}), encoding="utf-8")
    status, err = _run(
        capsys, "train", str(tmp_path / "n.net"), "--resume", str(run), "--seed", "2"
    )
    assert status == 2
    assert _head(err) == "error[E744]: --seed 2 differs from the run's 1; a resumed run keeps it"


# --- user errors outside the spec (exit 1) ------------------------------------------------------


def test_compare_of_folders_that_are_not_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a").mkdir()
    status, err = _run(capsys, "compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert status == 1
    assert _head(err).startswith(f"error[E749]: {tmp_path / 'a'} is not a run directory")


def test_sample_of_a_network_without_rbms(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt = tmp_path / "last.safetensors"
    ckpt.write_bytes(b"")  # never read: the network is refused first
    status, err = _run(capsys, "sample", str(spec), "--checkpoint", str(ckpt))
    assert status == 1
    assert _head(err).startswith("error[E748]: network `n` has no RBM to sample from")


def test_more_processes_than_gpus_is_a_coded_failure() -> None:
    import torch

    from netspec.training.distributed import World, WorldError, join

    if torch.cuda.device_count() > 1:
        pytest.skip("this machine has a GPU for process 1")
    with pytest.raises(WorldError) as caught:
        join(World(1, 2, 1), torch.device("cuda"))
    assert caught.value.diagnostic.code == "E752"
    assert "--device cpu" in caught.value.message


# --- writing outputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "help"),
    [
        ("missing/n.svg", "create the folder {tmp}/missing first, or choose another path"),
        ("afile/n.svg", "{tmp}/afile is a file, not a folder; choose another path"),
        ("afile/deeper/n.svg", "{tmp}/afile is a file, not a folder; choose another path"),
        (".", "it is a folder; name a file in it"),
    ],
)
def test_draw_into_a_path_that_cannot_be_written(
    where: str, help: str, spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "afile").write_text("", encoding="utf-8")
    out = str(tmp_path / where) if where != "." else str(tmp_path)
    status, err = _run(capsys, "draw", str(spec), "-o", out, "--format", "dot")
    assert status == 2
    assert _head(err).startswith(f"error[E740]: cannot write {out}: ")
    assert f"= help: {help.format(tmp=tmp_path)}\n" in err


def test_fmt_write_to_a_file_it_cannot_replace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "messy.net"
    path.write_text("network n {input x:[4]\ny=x->dense(2)\noutput y}\n", encoding="utf-8")

    def refuse(self: Path, *args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_text", refuse)
    status, err = _run(capsys, "fmt", "-w", str(path))
    assert status == 2
    assert _head(err) == f"error[E740]: cannot write {path}: Permission denied"


def test_export_and_sample_into_a_path_under_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both reach torch, so one test; both make missing folders, but not under a file."""
    spec = tmp_path / "s.net"
    spec.write_text(
        "network s {\n    input x: [6]\n    h = rbm(x, 4)\n    output h\n}\n", encoding="utf-8"
    )
    (tmp_path / "afile").write_text("", encoding="utf-8")
    out = tmp_path / "afile" / "s.py"
    status, err = _run(capsys, "export", str(spec), "-o", str(out))
    assert status == 2 and _head(err) == f"error[E740]: cannot write {out}: Not a directory"
    assert f"= help: {tmp_path / 'afile'} is a file, not a folder" in err

    from netspec.api import compile
    from netspec.backend.lower import lower
    from netspec.training import runs

    compiled = compile(spec.read_text(encoding="utf-8"), str(spec))
    lowered = lower(compiled.network(), compiled.sources)
    ckpt = tmp_path / "last.safetensors"
    runs.save_checkpoint(ckpt, runs.model_tensors(lowered.root), {"stage": 1})
    png = tmp_path / "afile" / "samples.png"
    argv = ["sample", str(spec), "--checkpoint", str(ckpt), "-o", str(png), "--steps", "1"]
    status, err = _run(capsys, *argv, "--n", "2")
    assert status == 2 and _head(err).startswith(f"error[E740]: cannot write {png}: ")
    assert f"= help: {tmp_path / 'afile'} is a file, not a folder" in err


# --- a reader that goes away --------------------------------------------------------------------


def test_check_piped_into_head_stops_quietly(tmp_path: Path) -> None:
    """`netspec check FILE | head -1` on an output far larger than a pipe holds."""
    lines = ["network long {", "    input x: [2]"]
    lines += [f"    h{i} = {'x' if i == 0 else f'h{i - 1}'} -> dense(2)" for i in range(6000)]
    path = tmp_path / "long.net"
    path.write_text("\n".join([*lines, "    output h5999", "}", ""]), encoding="utf-8")
    check = subprocess.Popen(
        [sys.executable, "-m", "netspec", "check", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    assert check.stdout is not None and check.stderr is not None
    first = check.stdout.readline()
    check.stdout.close()  # what `head -1` does once it has its line
    err = check.stderr.read().decode()
    check.stderr.close()
    assert check.wait(timeout=120) == BROKEN_PIPE_STATUS
    assert first.startswith(b"network long: 6000 units")
    assert err == ""


# --- the codes ----------------------------------------------------------------------------------


def test_every_code_the_command_line_gives_has_an_explanation_page() -> None:
    source = (ROOT / "netspec" / "cli.py").read_text(encoding="utf-8")
    used = set(re.findall(r'code="(E\d{3})"', source)) | {"E730"}
    assert len(used) >= 12
    missing = sorted(c for c in used if c not in CODES)
    assert not missing, f"codes without an explanation page: {missing}"
    for code in sorted(used):
        assert 730 <= int(code[1:]) <= 769
        assert main(["explain", code]) == 0
