"""The `netspec` command: exit status 0 on success, 1 when the spec has errors, 2 on usage errors.

Most tests call `netspec.cli.main` in this process. One test per command runs
`python -m netspec ...` in a subprocess, as a user does; so do the tests that need a fresh
interpreter (torch-free start-up) or a real pipe (a reader that closes stdout early).
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from netspec.cli import BROKEN_PIPE_STATUS, main
from netspec.lang.parser import parse
from netspec.lang.printer import format_module

ROOT = Path(__file__).resolve().parent.parent

GOOD = """\
# A small classifier: 8x8 images, flattened, one hidden layer.
let hidden = 32

network mlp {
    input x: [1, 8, 8]
    input label: class(10)

    h = x -> flatten -> dense(hidden, act=relu)
    y = h -> dense(10)

    loss cross_entropy(y, label)
}
"""

BAD = """\
network mlp {
    input x: [4]
    y = x -> conv2d(8, 3)
}
"""

MESSY = "network n{input x:[4]   # features\n y=x->relu->dense( 3 ,act = relu)}"
CANONICAL = """\
network n {
    input x: [4]  # features
    y = x -> relu -> dense(3, act=relu)
}
"""


ENV = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}


def netspec(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m netspec ARGS` in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "netspec", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=ENV,
        timeout=60,
    )


@dataclass
class Ran:
    """What `main` returned and printed, named as `subprocess.CompletedProcess` names it."""

    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., Ran]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    """`netspec ARGS` in this process: `cli("check", path, stdin=...)`."""
    monkeypatch.setenv("NO_COLOR", "1")

    def run(*args: str, stdin: str | None = None) -> Ran:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        capsys.readouterr()  # only this command's output
        try:
            status = main(list(args))
        except SystemExit as exc:  # argparse: --help, --version and its usage errors
            status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        out, err = capsys.readouterr()
        return Ran(status, out, err)

    return run


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "good.net"
    path.write_text(GOOD, encoding="utf-8")
    return path


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    path = tmp_path / "bad.net"
    path.write_text(BAD, encoding="utf-8")
    return path


def _row(out: str, name: str) -> str:
    """The line of the unit table that starts with `name`."""
    for line in out.splitlines():
        if line.split()[:1] == [name]:
            return line
    raise AssertionError(f"no row for {name!r} in:\n{out}")


# --- check ------------------------------------------------------------------------------------
def test_check_prints_units_shapes_and_parameter_counts(good: Path) -> None:
    run = netspec("check", str(good))
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    out = run.stdout
    # flatten: [1, 8, 8] -> [64]; dense 64 -> 32: 64*32 + 32 = 2080; dense 32 -> 10: 330.
    assert "network mlp" in out
    assert "2,410 parameters" in out
    assert re.search(r"\bflatten\b.*\[64\]", out)
    assert "dense" in _row(out, "h") and "[32]" in _row(out, "h") and "2,080" in _row(out, "h")
    assert "[10]" in _row(out, "y") and "330" in _row(out, "y")
    assert "class(10)" in _row(out, "label")


def test_check_reports_a_bad_spec_on_stderr_with_exit_1(bad: Path, cli: Cli) -> None:
    run = cli("check", str(bad))
    assert run.returncode == 1
    assert run.stdout == ""
    assert "error[E301]" in run.stderr
    assert f"{bad}:3:" in run.stderr  # points at the conv2d call
    assert "^" in run.stderr  # with a caret under the call


def test_check_short_error_format(bad: Path, cli: Cli) -> None:
    run = cli("check", str(bad), "--error-format", "short")
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    pattern = rf"^{re.escape(str(bad))}:3:\d+: error\[E301\]: "
    assert lines and re.match(pattern, lines[0]), run.stderr


def test_check_json_error_format(bad: Path, cli: Cli) -> None:
    run = cli("check", str(bad), "--error-format", "json")
    assert run.returncode == 1
    diagnostics = json.loads(run.stdout)
    assert [d["code"] for d in diagnostics] == ["E301"]
    first = diagnostics[0]
    assert first["severity"] == "error"
    primary = [label for label in first["labels"] if label["primary"]]
    assert primary and primary[0]["file"] == str(bad) and primary[0]["line"] == 3


def test_check_json_on_a_syntax_error(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "syntax.net"
    path.write_text("network n { input x = [4] }\n", encoding="utf-8")
    run = cli("check", str(path), "--error-format", "json")
    assert run.returncode == 1
    assert [d["code"] for d in json.loads(run.stdout)] == ["E104"]


def test_set_overrides_a_let_and_changes_shapes(good: Path, cli: Cli) -> None:
    run = cli("check", str(good), "--set", "hidden=16")
    assert run.returncode == 0, run.stderr
    assert "[16]" in _row(run.stdout, "h")
    assert "1,040" in _row(run.stdout, "h")  # 64*16 + 16


def test_set_of_an_unknown_name_is_e213(good: Path, cli: Cli) -> None:
    run = cli("check", str(good), "--set", "hiden=16")
    assert run.returncode == 1
    assert "E213" in run.stderr
    assert "hidden" in run.stderr  # did you mean


def test_check_reads_stdin(cli: Cli) -> None:
    run = cli("check", "-", stdin=GOOD)
    assert run.returncode == 0, run.stderr
    assert "network mlp" in run.stdout


# --- usage errors: exit 2 ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        (),
        ("frobnicate",),
        ("check", "--bogus", "x.net"),
        ("check",),
        ("check", "does/not/exist.net"),
        ("explain", "does/not/exist.net"),
        ("fmt", "does/not/exist.net"),
        ("check", "--error-format", "xml", "x.net"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], cli: Cli) -> None:
    run = cli(*args)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.strip()
    assert "Traceback" not in run.stderr


def test_unknown_network_is_a_usage_error(good: Path, cli: Cli) -> None:
    run = cli("check", str(good), "--network", "nope")
    assert run.returncode == 2
    assert "mlp" in run.stderr


@pytest.mark.parametrize(
    "args", [("--help",), ("check", "--help"), ("explain", "--help"), ("fmt", "--help")]
)
def test_help_exits_0(args: tuple[str, ...], cli: Cli) -> None:
    run = cli(*args)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("usage: netspec")


def test_version(cli: Cli) -> None:
    run = cli("--version")
    assert run.returncode == 0
    assert run.stdout.startswith("netspec ")


# --- explain ----------------------------------------------------------------------------------
def test_explain_file_prints_equations(good: Path) -> None:
    run = netspec("explain", str(good))
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "network mlp" in out
    assert "x: [1, 8, 8]  (observed)" in out
    assert "  h: dense(hidden, act=relu)    [2,080 params: W_h: 32x64, b_h: 32]\n" in out
    assert "    z_h = W_h h.flatten + b_h\n    h = relu(z_h)\n" in out
    assert "    y = W_y h + b_y\n" in out
    assert "total: 2,410 parameters" in out
    assert "backward" not in out


def test_explain_backward_walks_the_chain_rule_from_the_loss(good: Path) -> None:
    out = netspec("explain", str(good), "--backward").stdout
    walk = out[out.index("backward:") :]
    order = [line.split(":")[0].strip() for line in walk.splitlines() if line[2:3] != " "]
    assert order[1:5] == ["cross_entropy(y, label)", "y", "h", "h.flatten"], order
    assert "delta_y = (softmax(y) - onehot(label)) / N" in walk  # the loss reads logits
    assert re.search(r"dL/dW_h = sum_n delta_z_h h.flatten\^T\s+\[32, 64\]", walk), walk
    assert re.search(r"delta_z_h = delta_h \* \[z_h > 0\]", walk), walk
    assert "softmax(z)_k = exp(z_k) / sum_j exp(z_j)" in out  # defined once, below


def test_explain_code(cli: Cli) -> None:
    run = cli("explain", "E301")
    assert run.returncode == 0
    assert run.stdout.startswith("E301: ")
    assert cli("explain", "e301").stdout == run.stdout


def test_explain_unknown_code_is_a_usage_error(cli: Cli) -> None:
    assert cli("explain", "E999").returncode == 2


def test_explain_units_lists_every_family(cli: Cli) -> None:
    run = cli("explain", "units")
    assert run.returncode == 0
    for word in (
        "dense(",
        "rbm(",
        "autoencoder(",
        "sparse_code(",
        "conv2d(",
        "lstm(",
        "concat(",
        "cross_entropy(",
    ):
        assert word in run.stdout


def test_explain_one_kind(cli: Cli) -> None:
    run = cli("explain", "dense")
    assert run.returncode == 0
    assert run.stdout.startswith("dense: ")
    assert "act (choice" in run.stdout
    assert "example:" in run.stdout


def test_explain_train_lists_every_setting_and_catalogue_entry(cli: Cli) -> None:
    from netspec.plan import catalog

    run = cli("explain", "train")
    assert run.returncode == 0, run.stderr
    keys = catalog.SECTION_KEYS + catalog.SHARED_KEYS + catalog.STAGE_KEYS
    for key in keys:
        assert re.search(rf"^  {key} +\S", run.stdout, re.M), key
    for entries in (catalog.SOURCES, catalog.OPTIMIZERS, catalog.SCHEDULES, catalog.METHODS):
        for name in entries:
            assert re.search(rf"^  {name}\(", run.stdout, re.M), name
    assert "pcd(k=1, sparsity=0.0, target=0.05, average=0.0)" in run.stdout


def test_explain_one_catalogue_entry(cli: Cli) -> None:
    run = cli("explain", "pcd")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("pcd: persistent contrastive divergence")
    assert "(pretraining method)" in run.stdout
    assert "average (float, default 0.0)" in run.stdout
    assert "trains: rbm" in run.stdout
    assert cli("explain", "cosine").stdout.startswith("cosine: ")


# --- fmt --------------------------------------------------------------------------------------
def test_fmt_prints_canonical_text(tmp_path: Path) -> None:
    path = tmp_path / "messy.net"
    path.write_text(MESSY, encoding="utf-8")
    run = netspec("fmt", str(path))
    assert run.returncode == 0, run.stderr
    assert run.stdout == CANONICAL
    assert run.stdout == format_module(parse(MESSY))
    assert path.read_text(encoding="utf-8") == MESSY  # untouched without -w


def test_fmt_check(tmp_path: Path, cli: Cli) -> None:
    messy, tidy = tmp_path / "messy.net", tmp_path / "tidy.net"
    messy.write_text(MESSY, encoding="utf-8")
    tidy.write_text(CANONICAL, encoding="utf-8")
    run = cli("fmt", "--check", str(messy))
    assert run.returncode == 1
    assert "messy.net" in run.stderr
    assert run.stdout == ""
    assert messy.read_text(encoding="utf-8") == MESSY
    run = cli("fmt", "--check", str(tidy))
    assert run.returncode == 0, run.stderr
    assert cli("fmt", "--check", str(tidy), str(messy)).returncode == 1


def test_fmt_write_rewrites_the_file(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "messy.net"
    path.write_text(MESSY, encoding="utf-8")
    run = cli("fmt", "-w", str(path))
    assert run.returncode == 0, run.stderr
    assert path.read_text(encoding="utf-8") == CANONICAL
    assert cli("fmt", "--check", str(path)).returncode == 0


def test_fmt_of_a_syntax_error_exits_1(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "broken.net"
    path.write_text("network n { y = x -> }\n", encoding="utf-8")
    run = cli("fmt", "-w", str(path))
    assert run.returncode == 1
    assert "E104" in run.stderr
    assert path.read_text(encoding="utf-8") == "network n { y = x -> }\n"


# --- a reader that closes stdout early ---------------------------------------------------------
def test_a_closed_stdout_ends_the_command_quietly_with_status_141(good: Path) -> None:
    """`netspec check FILE | head -1`: the reader may go before netspec writes. Here it is gone
    before netspec starts, so every write fails, as it does on a long output."""
    read, write = os.pipe()
    os.close(read)
    try:
        run = subprocess.run(
            [sys.executable, "-m", "netspec", "check", str(good)],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            timeout=60,
        )
    finally:
        os.close(write)
    assert run.stderr == ""  # no BrokenPipeError traceback, no "Exception ignored"
    assert run.returncode == BROKEN_PIPE_STATUS == 128 + 13  # as if SIGPIPE had stopped it


# --- torch-free -------------------------------------------------------------------------------
TORCH_FREE = """
import contextlib, io, json, sys
from netspec.cli import main
spec = sys.argv[1]
codes = []
with contextlib.redirect_stdout(io.StringIO()):
    codes.append(main(["check", spec]))
    codes.append(main(["explain", spec]))
    codes.append(main(["explain", "train"]))
    codes.append(main(["fmt", spec]))
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "numpy"})
print(json.dumps({"codes": codes, "heavy": heavy}))
"""


def test_check_explain_and_fmt_never_import_torch(good: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-c", TORCH_FREE, str(good)],
        capture_output=True,
        text=True,
        cwd=good.parent,
        env=ENV,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["codes"] == [0, 0, 0, 0]
    assert "torch" not in result["heavy"]
    if "numpy" in result["heavy"]:  # not a promise of the README, but worth knowing
        pytest.xfail("numpy is imported by check/explain/fmt (slower start-up; torch is not)")


def test_draw_refuses_an_extension_it_cannot_write(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "net.gif"
    ran = cli("draw", str(ROOT / "specs" / "mlp.net"), "-o", str(out))
    assert ran.returncode == 2 and not out.exists()
    assert "cannot write" in ran.stderr and ".svg" in ran.stderr and "--format" in ran.stderr
    forced = cli("draw", str(ROOT / "specs" / "mlp.net"), "-o", str(out), "--format", "svg")
    assert forced.returncode == 0 and out.read_text().lstrip().startswith("<")
