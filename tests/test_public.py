"""The public surface: `import netspec` is torch-free, every public name resolves, the torch-side
verbs (`lower`, `export`, `train`) work from it alone, and the README and the examples use
nothing else."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import re
import runpy
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import netspec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

TWO_NETWORKS = """\
network small { input x: [4]  y = x -> dense(3) }
network wide { input x: [4]  y = x -> dense(8, act=relu) -> dense(2) }
"""

TRAINABLE = """\
network blob {
    input point: [2]
    input cluster: class(3)
    y = point -> dense(8, act=relu) -> softmax(3)
    loss cross_entropy(y, cluster)
}

train blob {
    data = blobs(n=60, classes=3, test=0.2, seed=1)
    batch = 16
    optimizer = adam(lr=0.01)
    epochs = 2
}
"""

# What `import netspec` loads, and what asking for each kind of public name adds.
IMPORTS = """
import json, sys
loaded = lambda: sorted({m.split(".")[0] for m in sys.modules} & {"torch", "numpy"})
import netspec
seen = {"import": loaded()}
dir(netspec), netspec.compile, netspec.Graph
seen["dir and torch-free names"] = loaded()
netspec.lower
seen["lower"] = loaded()
print(json.dumps(seen))
"""


def test_import_netspec_imports_no_torch_until_a_torch_side_name_is_used() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", IMPORTS], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert "torch" not in seen["import"]
    assert "torch" not in seen["dir and torch-free names"]
    assert "torch" in seen["lower"]


def test_every_public_name_resolves_and_is_listed_by_dir() -> None:
    missing = [name for name in netspec.__all__ if not hasattr(netspec, name)]
    assert missing == []
    assert set(netspec.__all__) <= set(dir(netspec))
    assert len(set(netspec.__all__)) == len(netspec.__all__)


def test_the_lazy_names_are_the_torch_side_objects() -> None:
    from netspec.backend import api
    from netspec.backend.lower import Lowered
    from netspec.training import run

    assert netspec.lower is api.lower
    assert netspec.export is api.export
    assert netspec.train is run.train
    assert netspec.TrainOptions is run.TrainOptions
    assert netspec.TrainResult is run.TrainResult
    assert netspec.TrainError is run.TrainError
    assert netspec.Lowered is Lowered


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="'trian'"):
        netspec.trian  # noqa: B018
    assert not hasattr(netspec, "backend_lower")


def test_lower_gives_the_named_network_as_a_module() -> None:
    compiled = netspec.compile(TWO_NETWORKS)
    first, wide = netspec.lower(compiled), netspec.lower(compiled, "wide")
    assert isinstance(first, netspec.Lowered)
    assert (first.network, wide.network) == ("small", "wide")
    assert isinstance(wide.model, torch.nn.Module)
    assert wide.model(x=torch.ones(5, 4)).shape == (5, 2)
    assert sum(p.numel() for p in wide.model.parameters()) == 4 * 8 + 8 + 8 * 2 + 2


def test_export_writes_a_python_file_that_computes_what_the_model_does(tmp_path: Path) -> None:
    lowered = netspec.lower(netspec.compile(TWO_NETWORKS), "wide")
    path = netspec.export(lowered, tmp_path / "wide.py")
    assert path == tmp_path / "wide.py" and path.with_suffix(".safetensors").is_file()
    spec = importlib.util.spec_from_file_location("exported_wide", path)
    assert spec is not None and spec.loader is not None
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    x = torch.randn(3, 4)
    with torch.no_grad():
        torch.testing.assert_close(exported.load()(x), lowered.model(x))


def test_export_without_weights_writes_only_the_file(tmp_path: Path) -> None:
    lowered = netspec.lower(netspec.compile(TWO_NETWORKS))
    path = netspec.export(lowered, tmp_path / "net.txt", format="python", weights=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.txt"]
    assert "class Small(nn.Module)" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("net.txt", {}, "the suffix of `.*net.txt` names no export format"),
        ("net.py", {"format": "tflite"}, r"`format` \(='tflite'\) names no export format"),
    ],
)
def test_export_refuses_an_unknown_format(
    tmp_path: Path, name: str, options: dict[str, Any], message: str
) -> None:
    lowered = netspec.lower(netspec.compile(TWO_NETWORKS))
    with pytest.raises(ValueError, match=message):
        netspec.export(lowered, tmp_path / name, **options)
    assert list(tmp_path.iterdir()) == []


def test_train_runs_a_train_section_from_the_public_names(tmp_path: Path) -> None:
    options = netspec.TrainOptions(
        runs_root=tmp_path, quiet=True, plots=False, drawing=False, argv=["test"]
    )
    result = netspec.train(netspec.compile(TRAINABLE), options)
    assert isinstance(result, netspec.TrainResult)
    assert result.status == "done" and len(result.rows) == 2
    assert result.checkpoint.is_file() and result.run_dir.parent == tmp_path
    with pytest.raises(netspec.TrainError, match="no `train` section"):
        netspec.train(netspec.compile(TWO_NETWORKS), options)


# --- the README and the examples ----------------------------------------------------------------
INTERNAL_IMPORT = re.compile(r"^\s*((?:from|import) netspec\.\w.*)$", re.M)


def _python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, re.S)


def test_the_readme_and_the_examples_import_only_netspec() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    texts = {"README.md": "\n".join(_python_blocks(readme))}
    texts |= {f"examples/{p.name}": p.read_text(encoding="utf-8") for p in EXAMPLES}
    assert _python_blocks(readme), "the README shows no Python"
    internal = {name: INTERNAL_IMPORT.findall(text) for name, text in texts.items()}
    assert {name: found for name, found in internal.items() if found} == {}


@pytest.mark.usefixtures("torch_state")
def test_the_readme_python_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "specs").symlink_to(ROOT / "specs")
    monkeypatch.chdir(tmp_path)  # what the examples write (runs/, n.py) lands here
    # Plots and drawings take most of a short run's time, and test_train covers them.
    quick = functools.partial(netspec.TrainOptions, plots=False, drawing=False)
    monkeypatch.setattr(netspec, "TrainOptions", quick)
    for block in _python_blocks((ROOT / "README.md").read_text(encoding="utf-8")):
        exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    assert (tmp_path / "n.py").is_file() and any((tmp_path / "runs").iterdir())


@pytest.fixture
def torch_state() -> Iterator[None]:
    """The examples seed torch and set its threads; the tests after them get theirs back."""
    threads, rng = torch.get_num_threads(), torch.random.get_rng_state()
    yield
    torch.set_num_threads(threads)
    torch.random.set_rng_state(rng)


def _example(name: str) -> Callable[[list[str]], int]:
    main: Callable[[list[str]], int] = runpy.run_path(str(ROOT / "examples" / name))["main"]
    return main


def test_every_example_has_a_test() -> None:
    assert {p.name for p in EXAMPLES} == {"compile_and_inspect.py", "embed_in_torch_loop.py"}


def test_compile_and_inspect_walks_the_ir_and_shows_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _example("compile_and_inspect.py")([str(ROOT / "specs/residual.net"), "depth=1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("network residual_mlp: 13,130 parameters\n")  # 21,450 at depth 2
    assert "equations:" in out
    assert "error[E301]: `dense` expects a flat input" in out


@pytest.mark.usefixtures("torch_state")
def test_embed_in_torch_loop_trains_the_lowered_module(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _example("embed_in_torch_loop.py")(["--steps", "20"]) == 0
    out = capsys.readouterr().out
    losses = [float(x) for x in re.findall(r"^step +\d+  loss (\S+)$", out, re.M)]
    assert len(losses) == 11  # step 0, then every 2 steps
    assert losses[-1] < 0.8 * losses[0]  # from about ln 10 = 2.3
    assert "accuracy on the training data: " in out
