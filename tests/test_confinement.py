"""A spec reads only under its own folder and the folders allowed to it (`--allow-path`), and
diagnostics quote only spec text."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from netspec.api import compile, compile_file
from netspec.cli import main
from netspec.diagnostics.core import NetspecError, error
from netspec.diagnostics.failure import at
from netspec.diagnostics.render import render_text
from netspec.lang.source import Sources

LIB = "block twice(n) {\n  input h\n  y = h -> dense(n) -> dense(n)\n  output y\n}\n"
NET = "network n {\n  input x: [4]\n  y = x -> dense(3)\n}\n"
SECRET = "TOP-SECRET first line of a file that is not a spec"


def _project(tmp_path: Path) -> tuple[Path, Path]:
    """A spec folder and, beside it, a folder the spec must not read."""
    home, outside = tmp_path / "home", tmp_path / "outside"
    home.mkdir()
    outside.mkdir()
    (outside / "lib.net").write_text(LIB)
    (outside / "secret.txt").write_text(SECRET + "\nnetwork n {}\n")
    (outside / "d.csv").write_text("a,b\n1,2\n3,4\n5,6\n7,8\n")
    return home, outside


def _use(home: Path, path: str) -> Path:
    spec = home / "main.net"
    spec.write_text(f'use "{path}"\n{NET}')
    return spec


def _data(home: Path, path: str) -> Path:
    spec = home / "main.net"
    spec.write_text(
        "network n {\n  input a: [1]\n  input b: [1]\n  y = a -> dense(1)\n  loss mse(y, b)\n}\n"
        f'train n {{\n  data = csv(path="{path}", target="b", test=0.0)\n  epochs = 1\n}}\n'
    )
    return spec


def _codes(spec: Path, allow: tuple[Path, ...] = ()) -> list[str]:
    try:
        compile_file(spec, allow_paths=allow)
    except NetspecError as exc:
        return [d.code for d in exc.diagnostics]
    return []


def _refusal(spec: Path) -> tuple[str, str, int]:
    with pytest.raises(NetspecError) as caught:
        compile_file(spec)
    (diag,) = caught.value.diagnostics
    assert diag.primary_span is not None
    return diag.code, diag.message, diag.primary_span.col


# --- use ------------------------------------------------------------------------------------------


def test_use_inside_the_folder_is_read_even_through_dotdot(tmp_path: Path) -> None:
    home, _ = _project(tmp_path)
    (home / "lib").mkdir()
    (home / "common.net").write_text(LIB)
    (home / "lib" / "blocks.net").write_text('use "../common.net"\n')  # still under home
    assert _codes(_use(home, "lib/../lib/blocks.net")) == []


def test_an_absolute_use_outside_the_folder_is_e110(tmp_path: Path) -> None:
    home, outside = _project(tmp_path)
    code, message, col = _refusal(_use(home, str(outside / "lib.net")))
    assert (code, col) == ("E110", 5)  # the path string, after `use `
    assert "absolute path outside the spec's folder" in message


def test_a_dotdot_use_is_e111(tmp_path: Path) -> None:
    home, _ = _project(tmp_path)
    code, message, _ = _refusal(_use(home, "../outside/lib.net"))
    assert code == "E111" and "`../outside/lib.net` leads outside" in message


def test_a_link_inside_the_folder_to_a_file_outside_is_e111(tmp_path: Path) -> None:
    home, outside = _project(tmp_path)
    (home / "lib.net").symlink_to(outside / "lib.net")
    code, message, _ = _refusal(_use(home, "lib.net"))
    assert code == "E111" and "symbolic link" in message


def test_a_linked_folder_pointing_outside_is_e111(tmp_path: Path) -> None:
    home, outside = _project(tmp_path)
    (home / "shared").symlink_to(outside, target_is_directory=True)
    assert _codes(_use(home, "shared/lib.net")) == ["E111"]


def test_allowing_a_folder_lets_the_spec_use_files_in_it(tmp_path: Path) -> None:
    home, outside = _project(tmp_path)
    assert _codes(_use(home, str(outside / "lib.net")), (outside,)) == []
    assert _codes(_use(home, "../outside/lib.net"), (outside,)) == []
    (home / "lib.net").symlink_to(outside / "lib.net")
    assert _codes(_use(home, "lib.net"), (outside,)) == []


def test_a_nested_use_is_confined_to_the_root_spec_folder(tmp_path: Path) -> None:
    home, _ = _project(tmp_path)
    (home / "lib.net").write_text('use "../outside/lib.net"\n')
    assert _codes(_use(home, "lib.net")) == ["E111"]


# --- data files -----------------------------------------------------------------------------------


def test_a_data_file_in_the_folder_is_allowed(tmp_path: Path) -> None:
    home, outside = _project(tmp_path)
    (home / "d.csv").write_text((outside / "d.csv").read_text())
    compiled = compile_file(_data(home, "d.csv"))
    assert compiled.trains["n"].data.params["path"] == str(home / "d.csv")


def test_data_files_outside_the_folder_are_refused_at_the_path(tmp_path: Path) -> None:
    home, outside = _project(tmp_path)
    assert _refusal(_data(home, str(outside / "d.csv")))[::2] == ("E110", 19)
    assert _refusal(_data(home, "../outside/d.csv"))[::2] == ("E111", 19)
    (home / "d.csv").symlink_to(outside / "d.csv")
    code, message, _ = _refusal(_data(home, "d.csv"))
    assert code == "E111" and "symbolic link" in message


def test_allowing_a_folder_lets_the_spec_read_data_in_it(tmp_path: Path) -> None:
    home, outside = _project(tmp_path)
    assert _codes(_data(home, str(outside / "d.csv")), (outside,)) == []
    assert _codes(_data(home, "../outside/d.csv"), (outside,)) == []


def test_npy_targets_are_confined_too(tmp_path: Path) -> None:
    home, _ = _project(tmp_path)
    spec = home / "main.net"
    spec.write_text(
        "network n {\n  input x: [2]\n  input y: class(2)\n"
        "  loss cross_entropy(x -> softmax(2), y)\n}\n"
        'train n {\n  data = npy("x.npy", target="../outside/y.npy")\n  epochs = 1\n}\n'
    )
    assert _codes(spec) == ["E111"]


# --- the command line -----------------------------------------------------------------------------


def test_allow_path_on_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home, outside = _project(tmp_path)
    spec = _use(home, "../outside/lib.net")
    assert main(["check", str(spec)]) == 1
    assert "--allow-path DIR" in capsys.readouterr().err
    assert main(["check", str(spec), "--allow-path", str(outside)]) == 0
    assert main(["check", str(spec), "--allow-path", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_a_file_that_is_not_a_spec_is_never_read_or_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, outside = _project(tmp_path)
    secret = outside / "secret.txt"
    for path in (str(secret), "../outside/secret.txt"):
        spec = _use(home, path)
        for allow in ([], ["--allow-path", str(outside)]):
            assert main(["check", str(spec), *allow]) == 1
            out = capsys.readouterr()
            assert SECRET not in out.out + out.err
    assert "E112" in out.err and "only `.net` files" in out.err


def test_a_spec_on_stdin_reads_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home, _ = _project(tmp_path)
    (home / "lib.net").write_text(LIB)
    monkeypatch.chdir(home)
    spec = 'use "lib.net"\nnetwork n {\n  input x: [4]\n  y = twice(x, 3)\n}\n'
    monkeypatch.setattr("sys.stdin", io.StringIO(spec))
    assert main(["check", "-"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(spec.replace("lib.net", "../outside/lib.net")))
    assert main(["check", "-"]) == 1
    assert "outside the spec's folder (the current directory)" in capsys.readouterr().err


def test_a_string_spec_reads_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, outside = _project(tmp_path)
    monkeypatch.chdir(home)
    spec = f'use "../outside/lib.net"\n{NET}'
    with pytest.raises(NetspecError) as caught:
        compile(spec)
    assert [d.code for d in caught.value.diagnostics] == ["E111"]
    assert compile(spec, allow_paths=[outside]).network().name == "n"


# --- excerpts -------------------------------------------------------------------------------------


def test_a_span_into_a_data_file_shows_its_place_but_no_excerpt() -> None:
    sources = Sources()
    sources.add("data.csv", "a,b\n" * 11 + "1,SECRET\n")
    diag = error("E520", "row 12 is not numeric", at("data.csv", 12, 3), "here")
    text = render_text([diag], sources)
    assert "--> data.csv:12:3" in text and "SECRET" not in text
