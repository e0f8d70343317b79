"""The wheel works on its own: build it, install it into an empty folder, and use it from a
directory outside the repository, with the grammar read from the installed package."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import netspec

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("hatchling") is None,
    reason="hatchling, the build backend, is not installed (`pip install hatchling`)",
)

USE_INSTALLED = r"""
import importlib.resources, json, sys
from pathlib import Path
import netspec
assert "torch" not in sys.modules, "import netspec imported torch"
from netspec.lang.parser import grammar_text
target = Path(sys.argv[1]).resolve()
here = Path(netspec.__file__).resolve()
assert target in here.parents, f"netspec imported from {here}, not from {target}"
grammar = importlib.resources.files("netspec").joinpath("grammar/netspec.lark")
assert grammar.is_file(), "the grammar is not in the installed package"
assert target in Path(str(grammar)).resolve().parents
assert grammar_text() == grammar.read_text(encoding="utf-8")
from netspec.starters import find
assert target in find("gru").path.resolve().parents, "`netspec new` reads another zoo"
net = netspec.compile("network n { input x: [1, 8, 8]  y = x -> flatten -> dense(10) }").network()
print(json.dumps({"file": str(here), "type": str(net.node("y").type),
                  "params": net.node("y").meta["params"]}))
"""


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_installed_wheel_compiles_a_spec_with_its_own_grammar(tmp_path: Path) -> None:
    dist, target, elsewhere = tmp_path / "dist", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    quiet = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dist),
            str(ROOT),
        ],
        cwd=tmp_path,
        env=quiet,
    )
    wheels = sorted(dist.glob("netspec-*.whl"))
    assert len(wheels) == 1, wheels

    names = set(zipfile.ZipFile(wheels[0]).namelist())
    assert "netspec/grammar/netspec.lark" in names
    zoo = {f"netspec/zoo/{spec.name}" for spec in (ROOT / "specs").glob("*.net")}
    assert zoo <= names, "the zoo, the starters of `netspec new`, is not shipped"
    assert "netspec/__init__.py" in names and "netspec/units/__init__.py" in names
    assert not any(n.startswith(("tests/", "specs/", "bench/")) for n in names)
    lazy = {module.replace(".", "/") + ".py" for module in netspec._LAZY.values()}
    assert lazy <= names, "a module that `netspec.<name>` imports on first use is not shipped"
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "netspec = netspec.cli:program" in zipfile.ZipFile(wheels[0]).read(entry_points).decode()

    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheels[0]),
        ],
        cwd=tmp_path,
        env=quiet,
    )

    env = {**quiet, "PYTHONPATH": str(target)}
    out = _run([sys.executable, "-c", USE_INSTALLED, str(target)], cwd=elsewhere, env=env)
    result = json.loads(out.strip().splitlines()[-1])
    assert result == {"file": result["file"], "type": "[10]", "params": 64 * 10 + 10}

    spec = elsewhere / "n.net"
    spec.write_text("network n { input x: [4]  y = x -> dense(2) }\n", encoding="utf-8")
    table = _run([sys.executable, "-m", "netspec", "check", "n.net"], cwd=elsewhere, env=env)
    assert "network n" in table and "10 parameters" in table and "[2]" in table
