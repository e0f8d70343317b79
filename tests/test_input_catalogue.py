"""Every case of the invalid-input catalogue (tests/input_catalogue.py) runs through the CLI in its
own folder: it exits with its status (1 user error, 2 usage error, never 3), prints no traceback,
names what its words say, and prints exactly its golden text. The table of every case, with its
code and message, is tests/cases/inputs/README.md (`--bless` rewrites goldens and table)."""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from input_catalogue import CASES, SPEC, Case, env_allows

from netspec.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "cases" / "inputs"
TABLE = GOLDEN / "README.md"

# What differs between machines and runs, replaced before comparing with the golden text.
_VARIABLE = (
    (re.compile(r"\d{8}-\d{6}(-\d+)?"), "<time>"),
    (re.compile(r"\d+(\.\d+)? ?[KMGTP]?i?B (free|available|is free)"), "<size> \\2"),
    (re.compile(r"(free|available)(:| is| memory is) \d+(\.\d+)? ?[KMGTP]?i?B"), "\\1\\2 <size>"),
    (re.compile(r"crash-[\w.-]+\.log"), "crash-<id>.log"),
    # a checkpoint's size: its metadata holds the run's times and environment
    (
        re.compile(r"has \d+ bytes, but its header alone needs \d+"),
        "has <n> bytes, but its header alone needs <m>",
    ),
)


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-step run of SPEC, copied by the cases that need a run or a checkpoint."""
    where = tmp_path_factory.mktemp("trained")
    (where / "spec.net").write_text(SPEC, encoding="utf-8")
    old = Path.cwd()
    os.chdir(where)
    try:
        assert main(["train", "spec.net", "--run-dir", "run", "--quiet"]) == 0
    finally:
        os.chdir(old)
    return where / "run"


def run_case(
    case: Case, folder: Path, run: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Lay out the case's files, run its command there, and give its status and what it printed
    (stderr, then stdout), with machine-specific parts replaced."""
    folder.mkdir(parents=True)
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    if case.setup is not None:
        case.setup(folder, run)
    old = Path.cwd()
    os.chdir(folder)
    try:
        try:
            status = main(list(case.argv))
        except SystemExit as exc:  # argparse reports usage errors by exiting
            status = int(exc.code or 0)
    finally:
        os.chdir(old)
        for path in folder.rglob("*"):  # let pytest clean up what a case made unreadable
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
    out = capsys.readouterr()
    text = out.err + (f"--- stdout\n{out.out}" if out.out else "")
    text = text.replace(str(folder.parent), "<tmp>")
    for pattern, replacement in _VARIABLE:
        text = pattern.sub(replacement, text)
    return status, text


def _golden_text(case: Case, status: int, text: str) -> str:
    return f"$ netspec {shlex.join(case.argv)}\nexit {status}\n{text}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_input_case(  # type: ignore[no-untyped-def]
    case: Case,
    trained_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    golden,
) -> None:
    if not env_allows(case):
        pytest.skip("permissions mean nothing here (root, or not POSIX)")
    if case.name == "cuda_without_gpu":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "100")
    status, text = run_case(case, tmp_path / case.name, trained_run, capsys)
    assert "Traceback" not in text, text
    assert status == case.exit, f"exit {status}, expected {case.exit}:\n{text}"
    for word in case.words:
        assert word in text, f"`{word}` missing from:\n{text}"
    golden.check(GOLDEN / f"{case.name}.txt", _golden_text(case, status, text))


def table() -> str:
    """The catalogue as a Markdown table, from the golden files."""
    lines = [
        "# What netspec says to mistakes outside the spec",
        "",
        "Each row is a case of `tests/input_catalogue.py`, run by `tests/test_input_catalogue.py`;",
        "the file named in the first column holds its whole output. Spec errors (E1xx-E5xx in the",
        "spec's text) have their own cases in `tests/cases/invalid`. Exit status 1 is a user",
        "error, 2 a usage error; 3 (an internal error) appears nowhere.",
        "",
        "| case | mistake | command | exit | code | message |",
        "|---|---|---|---|---|---|",
    ]
    for case in CASES:
        path = GOLDEN / f"{case.name}.txt"
        body = path.read_text(encoding="utf-8") if path.exists() else ""
        found = re.search(r"^(error|warning)\[(\w+)\]: (.*)$", body, re.MULTILINE)
        code, message = (found.group(2), found.group(3)) if found else ("", _first_message(body))
        if not body:  # a permission case, skipped where it means nothing (as root)
            message = "(runs only as a user without root's rights)"
        command = "netspec " + shlex.join(case.argv)
        cells = [f"[{case.name}]({case.name}.txt)", case.about, f"`{command}`", str(case.exit)]
        cells += [code, message.replace("|", "\\|")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _first_message(body: str) -> str:
    rest = body.splitlines()[2:]
    return next((line for line in rest if line.strip() and not line.startswith("usage")), "")


def test_the_catalogue_table_is_current(golden) -> None:  # type: ignore[no-untyped-def]
    golden.check(TABLE, table())


def test_the_catalogue_has_eighty_cases_of_each_kind_of_input() -> None:
    assert len(CASES) >= 80
    commands = {c.argv[0] for c in CASES if c.argv}
    assert {"check", "train", "eval", "export", "draw", "sample", "compare"} <= commands


# Codes of failures outside the spec that no catalogue case can reach on an ordinary machine,
# with the test that produces each instead.
ELSEWHERE = {
    "E520": "the default of DataError; every data case has its own code",
    "E701": "the default of RunError; every run-folder case has its own code",
    "E702": "tests/test_run_folders.py (an unwritable --runs, as root only faked)",
    "E705": "tests/test_run_folders.py",
    "E707": "tests/test_checkpoints.py",
    "E710": "tests/test_run_folders.py (a full disk through RLIMIT_FSIZE)",
    "E717": "tests/test_checkpoints.py",
    "E718": "a checkpoint without read permission (root reads everything)",
    "E734": "spec_unreadable, which runs only without root's rights",
    "E747": "tests/test_cli_errors.py (Graphviz missing)",
    "E751": "tests/test_cli_errors.py",
    "E752": "tests/test_cli_errors.py (more torchrun processes than GPUs)",
    "E753": "tests/test_lsp.py (pygls missing)",
    "E521": "a spec error: tests/cases/invalid/train_e521_*.net",
    "E522": "a spec error: tests/cases/invalid/train_e522_*.net",
    "E523": "a spec error: tests/cases/invalid/train_e523_*.net",
    "E524": "a spec error: tests/cases/invalid/train_e524_*.net",
    "E767": "tests/test_seeds.py",
    "E768": "tests/test_sweep.py",
    "E790": "tests/test_sweep.py (Optuna missing)",
    "E791": "tests/test_sweep.py",
    "E792": "tests/test_sweep.py",
}


def test_every_code_outside_the_spec_has_a_case() -> None:
    from netspec.diagnostics.codes import CODES

    produced = set()
    for path in GOLDEN.glob("*.txt"):
        produced |= set(re.findall(r"^(?:error|warning)\[(\w+)\]", path.read_text(), re.M))
    outside = {c for c in CODES if c[0] == "W" or c >= "E510"}  # data files, resources, CLI
    missing = sorted(outside - produced - set(ELSEWHERE))
    assert not missing, f"no catalogue case produces {missing}"
