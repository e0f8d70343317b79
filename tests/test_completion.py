"""Shell completion scripts: generated from the CLI's parser, static, and they complete."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from netspec.cli import _parser, main
from netspec.completion import SHELLS, commands, script

SUBCOMMANDS = [c.name for c in commands(_parser())]


def _bash_complete(script_path: Path, words: list[str], cwd: Path) -> list[str]:
    """COMPREPLY after TAB with the cursor at the end of the last of `words`."""
    words_text = " ".join(f"'{w}'" for w in words)
    program = (
        f"source '{script_path}'\n"
        f"COMP_WORDS=({words_text}); COMP_CWORD={len(words) - 1}\n"
        "_netspec\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return [w for w in done.stdout.splitlines() if w]


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "netspec.bash"
    path.write_text(script("bash", _parser()), encoding="utf-8")
    return path


def test_the_parser_has_the_commands_the_scripts_complete() -> None:
    assert {"check", "train", "fmt", "compare", "completion"} <= set(SUBCOMMANDS)


def test_bash_script_is_valid_bash(bash_script: Path) -> None:
    subprocess.run(["bash", "-n", str(bash_script)], check=True)


def test_bash_completes_a_subcommand(bash_script: Path, tmp_path: Path) -> None:
    assert _bash_complete(bash_script, ["netspec", "ch"], tmp_path) == ["check"]
    assert _bash_complete(bash_script, ["netspec", "co"], tmp_path) == ["compare", "completion"]


def test_bash_completes_an_option_and_its_choices(bash_script: Path, tmp_path: Path) -> None:
    assert _bash_complete(bash_script, ["netspec", "train", "--dev"], tmp_path) == ["--device"]
    choices = _bash_complete(bash_script, ["netspec", "train", "--device", ""], tmp_path)
    assert choices == ["auto", "cpu", "cuda"]
    assert _bash_complete(bash_script, ["netspec", "draw", "--view", "n"], tmp_path) == ["neurons"]


def test_bash_completes_spec_files_and_folders(bash_script: Path, tmp_path: Path) -> None:
    (tmp_path / "mlp.net").write_text("", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("", encoding="utf-8")
    (tmp_path / "specs").mkdir()
    found = _bash_complete(bash_script, ["netspec", "check", ""], tmp_path)
    assert sorted(found) == ["mlp.net", "specs"]
    # A run folder argument offers folders only; a PATH option any file.
    assert _bash_complete(bash_script, ["netspec", "compare", ""], tmp_path) == ["specs"]
    outputs = _bash_complete(bash_script, ["netspec", "new", "-o", ""], tmp_path)
    assert sorted(outputs) == ["mlp.net", "notes.txt", "specs"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_name_every_subcommand(shell: str) -> None:
    text = script(shell, _parser())
    for name in SUBCOMMANDS:
        assert f"'__fish_seen_subcommand_from {name}'" in text or f"'{name}:" in text
    assert "--device" in text.replace("-l device", "--device")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse(shell: str, tmp_path: Path) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    path = tmp_path / f"netspec.{shell}"
    path.write_text(script(shell, _parser()), encoding="utf-8")
    subprocess.run([shell, "-n", str(path)], check=True)


def test_fish_completes_a_subcommand_and_an_option(tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    path = tmp_path / "netspec.fish"
    path.write_text(script("fish", _parser()), encoding="utf-8")
    program = f"source {path}; complete -C 'netspec ch'; complete -C 'netspec train --dev'"
    done = subprocess.run(
        ["fish", "--no-config", "-c", program], capture_output=True, text=True, check=True
    )
    firsts = [line.split("\t")[0] for line in done.stdout.splitlines()]
    assert firsts == ["check", "--device"]


def test_completion_command_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    out = capsys.readouterr().out
    assert out == script("bash", _parser(), {"new": _concepts(out)})
    assert "complete -o filenames -F _netspec netspec" in out
    assert " dbn " in out  # `netspec new` completes the zoo's concepts


def _concepts(bash: str) -> list[str]:
    line = next(x for x in bash.splitlines() if "rbm" in x and "compgen -W" in x)
    return line.split('"')[1].split()


def test_completion_refuses_an_unknown_shell(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "tcsh"]) == 2
    assert "E730" in capsys.readouterr().err
    with pytest.raises(ValueError, match="tcsh"):
        script("tcsh", _parser())
    assert set(SHELLS) == {"bash", "zsh", "fish"}
