"""`netspec new CONCEPT` writes the zoo's spec for a concept: it checks and trains as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from netspec.api import compile_file
from netspec.cli import main
from netspec.starters import ALIASES, find, starters

ROOT = Path(__file__).resolve().parent.parent


def test_every_zoo_spec_is_a_starter_and_every_alias_names_one() -> None:
    every = starters()
    assert set(every) == {p.stem for p in (ROOT / "specs").glob("*.net")}
    assert set(ALIASES.values()) <= set(every)
    assert all(s.idea and not s.idea.startswith("#") for s in every.values())


def test_a_unit_kind_finds_the_spec_that_teaches_it() -> None:
    gru = find("GRU")
    assert gru is not None and gru.name == "rnn"
    assert find("sparse-code") == find("sparse_coding")
    assert find("transformer") is None


def test_new_writes_a_spec_that_compiles_and_refuses_to_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "dbn"]) == 0
    written = tmp_path / "dbn.net"
    assert written.read_text() == (ROOT / "specs" / "dbn.net").read_text()
    assert compile_file(written).diagnostics == []
    assert "netspec train dbn.net" in capsys.readouterr().out
    assert main(["new", "dbn"]) == 2
    assert "--force" in capsys.readouterr().err
    assert main(["new", "dbn", "--force", "-o", "mine.net"]) == 0
    assert (tmp_path / "mine.net").read_text() == written.read_text()


def test_new_lists_the_concepts_and_suggests_a_close_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["new"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in starters())
    assert main(["new", "autoencodr"]) == 2
    assert "did you mean `autoencoder`?" in capsys.readouterr().err
