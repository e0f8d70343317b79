"""Internal errors: one line naming the exception and a crash log, exit 3, never a traceback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import pytest

import netspec
from netspec import cli
from netspec.diagnostics import crash

ROOT = Path(__file__).resolve().parents[1]
SPEC = "network n {\n    input x: [4]\n    y = x -> dense(2)\n    output y\n}\n"
LOG_NAME = re.compile(r"crash-\d{8}-\d{6}-\d+\.log")


def _bug(args: object) -> int:
    raise ZeroDivisionError("the check divided by zero\nsecond line")


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "n.net"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture
def broken(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """`netspec check` with a bug in it; crash logs go to a cache folder of the test's own."""
    monkeypatch.setattr(cli, "_check", _bug)
    monkeypatch.delenv(crash.TRACEBACK_VARIABLE, raising=False)
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


def test_an_unexpected_exception_prints_one_line_and_the_log_path_and_exits_3(
    broken: Path, spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["check", str(spec)]) == crash.INTERNAL_STATUS == 3
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == (
        "error: internal error, please report: ZeroDivisionError: the check divided by zero"
    )
    assert "Traceback" not in err
    (log,) = (broken / "netspec").iterdir()
    assert LOG_NAME.fullmatch(log.name) and log.name.endswith(f"-{os.getpid()}.log")
    assert lines[1] == f"  = note: the traceback, versions and platform are in {log}"


def test_the_crash_log_holds_what_a_bug_report_needs(
    broken: Path, spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(__version__="9.8.7"))
    cli.main(["check", str(spec), "--color", "never"])
    (log,) = (broken / "netspec").iterdir()
    text = log.read_text(encoding="utf-8")
    assert f"argv:     netspec check {spec} --color never\n" in text
    assert f"netspec:  {netspec.__version__}\n" in text
    assert f"python:   {sys.version.split()[0]} " in text
    assert "torch:    9.8.7\n" in text
    assert "platform: " in text
    assert "Traceback (most recent call last):" in text
    assert "in _bug" in text  # the frame that raised
    assert text.endswith("ZeroDivisionError: the check divided by zero\nsecond line\n")


def test_the_log_names_torch_only_if_it_was_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    report = crash.crash_report(ValueError("x"), ["netspec", "check", "a.net"])
    assert "torch:    not imported\n" in report
    assert "torch" not in sys.modules  # reading the version imported nothing


def test_without_a_cache_folder_the_log_goes_to_the_temporary_folder(
    broken: Path, spec: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken.write_text("a file where the cache folder should be", encoding="utf-8")
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    assert cli.main(["check", str(spec)]) == 3
    (log,) = (temp / "netspec").iterdir()
    assert "ZeroDivisionError" in log.read_text(encoding="utf-8")


def test_when_no_log_can_be_written_the_traceback_is_printed(
    broken: Path,
    spec: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The report must not be lost: with nowhere to write, stderr gets what the log would."""
    broken.write_text("not a folder", encoding="utf-8")
    temp = tmp_path / "temp"
    temp.write_text("not a folder either", encoding="utf-8")
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    assert cli.main(["check", str(spec)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: internal error, please report: ZeroDivisionError")
    assert "no crash log could be written" in err
    assert "Traceback (most recent call last):" in err and "in _bug" in err


def test_netspec_traceback_lets_the_exception_through(
    broken: Path, spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(crash.TRACEBACK_VARIABLE, "1")
    with pytest.raises(ZeroDivisionError, match="divided by zero"):
        cli.main(["check", str(spec)])
    assert not broken.exists()  # a developer gets the traceback, not a log


def test_user_and_usage_errors_are_not_internal(
    broken: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.net"
    bad.write_text("network n { y = x -> dense(2) }\n", encoding="utf-8")
    assert cli.main(["explain", str(bad)]) == 1  # a spec error
    assert cli.main(["explain", str(tmp_path / "missing.net")]) == 2  # a usage error
    assert "internal error" not in capsys.readouterr().err
    assert not broken.exists()


def test_an_internal_error_in_a_subprocess_exits_3_without_a_traceback(
    spec: Path, tmp_path: Path
) -> None:
    program = (
        "import sys\n"
        "from netspec import cli\n"
        "def bug(args):\n"
        "    raise KeyError('oops')\n"
        "cli._check = bug\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop(crash.TRACEBACK_VARIABLE, None)
    run = subprocess.run(
        [sys.executable, "-c", program, "check", str(spec)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert run.returncode == 3, run.stderr
    assert run.stdout == ""
    assert run.stderr.startswith("error: internal error, please report: KeyError: 'oops'\n")
    assert "Traceback" not in run.stderr
    (log,) = (tmp_path / "cache" / "netspec").iterdir()
    assert "KeyError: 'oops'" in log.read_text(encoding="utf-8")
