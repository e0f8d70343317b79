"""Export: the standalone Python file runs in a fresh interpreter without netspec and reproduces
the lowered model (and objective) exactly; ONNX exports of the zoo match torch in onnxruntime,
with a dynamic batch axis and dynamic T; `run_export` takes checkpoints."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from netspec.api import compile, compile_file
from netspec.backend.export import (
    export_onnx,
    export_python,
    load_checkpoint,
    network_class,
    run_export,
)
from netspec.backend.lower import Lowered, lower
from netspec.backend.nn.base import LowerContext, Lowering
from netspec.units import REGISTRY, Signature, UnitKind

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.net"))
# ONNX has no singular value decomposition, which sparse coding's step size 1/|D|_2^2 needs.
_NO_SVD = "ONNX has no SVD operator (aten._linalg_svd) for |D|_2"
NO_ONNX = {"sparse_coding": _NO_SVD, "patch_sparse_coding": _NO_SVD}


def _lowered(spec: Path, seed: int = 0) -> Lowered:
    compiled = compile_file(spec)
    torch.manual_seed(seed)
    lowered = lower(compiled.network(), compiled.sources)
    lowered.root.eval()
    return lowered


def _inputs(lowered: Lowered, batch: int = 3, steps: int = 5, seed: int = 1) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name in lowered.inputs:
        t = lowered.input_types[name]
        shape = (batch, *(d if isinstance(d, int) else steps for d in t.dims))
        if t.dtype == "class":
            out[name] = torch.randint(0, int(t.classes or 1), shape, generator=gen)
        elif t.dtype == "binary":
            out[name] = torch.randint(0, 2, shape, generator=gen).float()
        else:
            out[name] = torch.rand(shape, generator=gen)
    return out


def _import(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- standalone Python -------------------------------------------------------------------------
_RUNNER = """
import importlib.abc, json, sys

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "netspec" or name.startswith("netspec."):
            raise ImportError("netspec is hidden")

sys.meta_path.insert(0, Hide())
sys.path[:] = [p for p in sys.path if p and p != "{repo}"] + ["{dir}"]
import torch
results = {{}}
for name in {names!r}:
    module = __import__(name)
    net = module.load()
    inputs = torch.load("{dir}/" + name + ".inputs.pt")
    model_inputs = [inputs[k] for k in {model_inputs!r}[name]]
    out = net(*model_inputs)
    objective = net.objective(*[inputs[k] for k in {all_inputs!r}[name]])
    torch.save({{"model": out, "objective": objective}}, "{dir}/" + name + ".out.pt")
    results[name] = type(net).__name__
assert not any(m == "netspec" or m.startswith("netspec.") for m in sys.modules), "netspec loaded"
print(json.dumps(results))
"""


def test_standalone_files_reproduce_every_zoo_model_without_netspec(tmp_path: Path) -> None:
    lowered = {spec.stem: _lowered(spec) for spec in SPECS}
    for name, low in lowered.items():
        path = export_python(low, tmp_path / f"{name}.py", weights=low.root)
        assert path.with_suffix(".safetensors").exists()
        text = path.read_text()
        assert "netspec" not in "".join(
            line for line in text.splitlines() if line.startswith(("import", "from"))
        )
        torch.save(_inputs(low), tmp_path / f"{name}.inputs.pt")
    script = _RUNNER.format(
        repo=str(ROOT),
        dir=str(tmp_path),
        names=sorted(lowered),
        model_inputs={n: list(low.model_inputs) for n, low in lowered.items()},
        all_inputs={n: list(low.inputs) for n, low in lowered.items()},
    )
    # -I: isolated (no PYTHONPATH, no user site, no cwd on the path); the runner also drops the
    # repository (the editable install's path) and makes `import netspec` fail.
    done = subprocess.run(
        [sys.executable, "-I", "-c", script], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    classes = json.loads(done.stdout)
    for name, low in lowered.items():
        assert classes[name] == network_class(low)
        got = torch.load(tmp_path / f"{name}.out.pt")
        inputs = _inputs(low)
        want = low.model(**{k: inputs[k] for k in low.model_inputs})
        torch.testing.assert_close(got["model"], want, rtol=0, atol=0)
        objective = low.objective(**inputs)
        torch.testing.assert_close(got["objective"], objective, rtol=0, atol=0)


def test_standalone_file_reads_like_the_spec(tmp_path: Path) -> None:
    low = _lowered(ROOT / "specs" / "cnn.net")
    text = export_python(low, tmp_path / "cnn.py").read_text()
    assert not (tmp_path / "cnn.safetensors").exists()  # no weights given, none written
    assert "class Cnn(nn.Module):" in text
    assert "self.conv1_conv2d = nn.Conv2d(1, 16, kernel_size=(3, 3)" in text
    lines = (ROOT / "specs" / "cnn.net").read_text().splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line.strip().startswith("conv1 ="))
    assert f"# File: {ROOT / 'specs' / 'cnn.net'}:{first} in cnn" in text
    assert "    def forward(self, image):" in text
    assert "    def objective(self, image, digit):" in text
    module = _import(tmp_path / "cnn.py")
    net = module.Cnn()
    assert [k for k, _ in net.named_parameters()] == [k for k, _ in low.root.named_parameters()]


def test_leaf_modules_and_loss_helpers_are_copied(tmp_path: Path) -> None:
    compiled = compile(
        "network leaves {\n"
        "  input x: [12]\n  input t: class(3)[T]\n  input s: [T, 4]\n  input r: real\n"
        "  a = autoencoder(x, 6, tied=false, act=tanh) -> rbm(5, visible=gaussian)\n"
        "  z = sparse_code(x, 8, steps=3, solver=ista)\n"
        "  h = s -> lstm(3, layers=2, bidirectional=true) -> softmax(3)\n"
        "  b = r -> batchnorm -> layernorm\n"
        "  p = x -> reshape([3, 4]) -> maxpool(2, pad=2) -> flatten\n"
        "  loss cross_entropy(h, t)\n  loss mse(b -> flatten -> linear(1), r, weight=0.3)\n"
        "  output a, z, h, p\n}"
    )
    torch.manual_seed(0)
    low = lower(compiled.network(), compiled.sources)
    low.root.eval()
    path = export_python(low, tmp_path / "leaves.py", weights=low.root)
    text = path.read_text()
    for cls in ("Autoencoder", "RBM", "SparseCode", "Recurrent", "BatchNorm0d", "LayerNorm0d"):
        assert f"class {cls}(nn." in text, cls
    assert "class WidePool(nn.Module)" in text
    assert "def cross_entropy_loss(" in text and "def mse_loss(" in text
    module = _import(path)
    net = module.load()
    inputs = _inputs(low)
    for got, want in zip(
        net(*[inputs[k] for k in low.model_inputs]),
        low.model(**{k: inputs[k] for k in low.model_inputs}),
        strict=True,
    ):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(net.objective(**inputs), low.objective(**inputs), rtol=0, atol=0)


def test_read_safetensors_reads_what_safetensors_writes(tmp_path: Path) -> None:
    low = _lowered(ROOT / "specs" / "mlp.net")
    module = _import(export_python(low, tmp_path / "mlp.py"))
    tensors = {
        "f32": torch.randn(3, 4),
        "bf16": torch.randn(5).bfloat16(),
        "f16": torch.randn(2, 2).half(),
        "i64": torch.tensor(7),
        "i32": torch.arange(6, dtype=torch.int32).reshape(2, 3),
        "bool": torch.tensor([True, False]),
        "empty": torch.zeros(0, 3),
    }
    save_file(tensors, str(tmp_path / "t.safetensors"), metadata={"a": "b"})
    read = module.read_safetensors(tmp_path / "t.safetensors")
    assert read.keys() == tensors.keys()
    for name, tensor in tensors.items():
        assert read[name].dtype == tensor.dtype and torch.equal(read[name], tensor), name


# --- the leaf-module contract ------------------------------------------------------------------
class Scale(nn.Module):
    """A plugin's leaf module that meets the contract: `extra_repr` gives what rebuilds it."""

    def __init__(self, features: int, factor: float = 1.0) -> None:
        super().__init__()
        self.factor = factor
        self.scale = nn.Parameter(torch.linspace(0.5, 1.5, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.factor * self.scale * x

    def extra_repr(self) -> str:
        return f"features={self.scale.shape[0]}, factor={self.factor!r}"


class Unreported(Scale):
    """Forgets `extra_repr`: nn.Module's own gives no arguments."""

    def extra_repr(self) -> str:
        return nn.Module.extra_repr(self)


class Misnamed(Scale):
    def extra_repr(self) -> str:
        return f"size={self.scale.shape[0]}"


class Unsized(Scale):
    """Gives an argument, but not the one that sizes its parameter."""

    def __init__(self, features: int = 1, factor: float = 1.0) -> None:
        super().__init__(features, factor)

    def extra_repr(self) -> str:
        return f"factor={self.factor!r}"


class Prose(Scale):
    def extra_repr(self) -> str:
        return f"{self.scale.shape[0]} features"


START = 0.5  # a global of this file: export copies a leaf module's class, not its file


class Global(Scale):
    def __init__(self, features: int, factor: float = 1.0) -> None:
        super().__init__(features, factor)
        self.start = START


PLUGIN_MODULE: type[nn.Module] = Scale  # what the plugin kind builds; each test sets its own


def plugin_lowering(ctx: LowerContext) -> Lowering:
    return Lowering(module=PLUGIN_MODULE(ctx.features, 2.0))


def _plugin_network(module: type[nn.Module], monkeypatch: pytest.MonkeyPatch) -> Lowered:
    monkeypatch.setattr(sys.modules[__name__], "PLUGIN_MODULE", module)
    kind = UnitKind(
        name="test_leaf",
        family="plugins",
        doc="Multiply by a learned scale per feature.",
        signature=Signature(),
        shape=lambda ins, p: ins[0],
        equation=lambda c: f"{c.name} = s * {c.inputs[0]}",
        example="input x: [3]\ny = x -> test_leaf",
        lower=f"{__name__}:plugin_lowering",
    )
    monkeypatch.setitem(REGISTRY, kind.name, kind)
    compiled = compile("network plug {\n  input x: [3]\n  y = x -> test_leaf\n  output y\n}")
    return lower(compiled.network(), compiled.sources)


def test_a_plugin_module_that_meets_the_contract_is_exported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    low = _plugin_network(Scale, monkeypatch)
    path = export_python(low, tmp_path / "plug.py", weights=low.root)
    assert "self.y = Scale(features=3, factor=2.0)" in path.read_text()
    x = torch.rand(4, 3)
    torch.testing.assert_close(_import(path).load()(x), low.model(x), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("module", "message"),
    [
        (Unreported, r"`y`: it would be rebuilt as `Unreported\(\)` .* needs `features`;"),
        (Misnamed, r"as `Misnamed\(size=3\)` .* needs `features` and takes no `size`;"),
        (Unsized, r"`y` \(Unsized\), built from its `extra_repr\(\)`, gives `y.scale` the sha"),
        (Prose, r"`y`: `Prose.extra_repr\(\)` gives `3 features`, which is not Python call"),
        (Global, r"NameError: name 'START' is not defined \(line \d+: `self.start = START`\)"),
    ],
    ids=lambda v: v.__name__ if isinstance(v, type) else "",
)
def test_a_plugin_module_that_breaks_the_contract_is_named_with_what_it_lacks(
    module: type[nn.Module], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    low = _plugin_network(module, monkeypatch)
    with pytest.raises(ValueError, match=message) as caught:
        export_python(low, tmp_path / "plug.py")
    assert "What a leaf module must offer" in str(caught.value)
    assert not (tmp_path / "plug.py").exists()


# --- ONNX --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_onnx_export_matches_torch(spec: Path, tmp_path: Path) -> None:
    ort = pytest.importorskip("onnxruntime")
    if spec.stem in NO_ONNX:
        pytest.skip(NO_ONNX[spec.stem])
    low = _lowered(spec)
    path = export_onnx(low, tmp_path / f"{spec.stem}.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(low.model_inputs)
    assert [o.name for o in session.get_outputs()] == list(low.outputs)
    for i in session.get_inputs():
        assert i.shape[0] == "batch", i.shape  # dynamic batch
        dims = low.input_types[i.name].dims
        assert [d for d, t in zip(i.shape[1:], dims, strict=True) if isinstance(t, str)] == [
            t for t in dims if isinstance(t, str)
        ]  # dynamic T
    for batch, steps in ((3, 5), (7, 23)):  # neither is the traced size (2, 16)
        inputs = _inputs(low, batch, steps, seed=batch)
        feed = {k: inputs[k].numpy() for k in low.model_inputs}
        got = session.run(None, feed)
        want = low.model(**{k: inputs[k] for k in low.model_inputs})
        for g, w in zip(got, want if isinstance(want, tuple) else (want,), strict=True):
            torch.testing.assert_close(torch.from_numpy(g), w.detach(), rtol=0, atol=1e-5)


def test_onnx_refuses_sparse_coding_for_the_stated_reason(tmp_path: Path) -> None:
    low = _lowered(ROOT / "specs" / "sparse_coding.net")
    with pytest.raises(Exception, match="svd"):
        export_onnx(low, tmp_path / "sparse.onnx")


def test_onnx_export_leaves_the_model_as_it_was(tmp_path: Path) -> None:
    low = _lowered(ROOT / "specs" / "mlp.net")
    low.root.train()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the exporter's own warnings stay inside
        export_onnx(low, tmp_path / "mlp.onnx")
    assert low.model.training


# --- the CLI function --------------------------------------------------------------------------
def test_run_export_with_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = compile_file(ROOT / "specs" / "multitask.net")
    trained = lower(compiled.network(), compiled.sources)
    state = {
        k: v + 1.0 if v.is_floating_point() else v for k, v in trained.root.state_dict().items()
    }
    run_ckpt = tmp_path / "last.safetensors"  # a training run's: model/ tensors among others
    save_file(
        {**{f"model/{k}": v for k, v in state.items()}, "rng/x": torch.zeros(1)}, str(run_ckpt)
    )
    plain_ckpt = tmp_path / "state.safetensors"  # a plain state dict
    save_file(state, str(plain_ckpt))
    for ckpt in (run_ckpt, plain_ckpt):
        loaded = load_checkpoint(ckpt)
        assert loaded.keys() == state.keys()
        assert all(torch.equal(loaded[k], state[k]) for k in state)
    pickled = tmp_path / "state.pt"
    torch.save(state, pickled)
    with pytest.raises(ValueError, match="never loads pickles"):
        load_checkpoint(pickled)

    out = run_export(compiled, "python", tmp_path / "py" / "multitask.py", run_ckpt)
    net = _import(out).load()
    trained.root.load_state_dict(state)
    trained.root.eval()
    frames = torch.rand(4, 64, 24)
    for got, want in zip(net(frames), trained.model(frames), strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)

    onnx_out = run_export(compiled, "onnx", tmp_path / "multitask.onnx", plain_ckpt)
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(onnx_out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"frames": frames.numpy()})
    for g, w in zip(got, trained.model(frames), strict=True):
        torch.testing.assert_close(torch.from_numpy(g), w.detach(), rtol=0, atol=1e-5)

    with pytest.raises(ValueError, match="format"):
        run_export(compiled, "tflite", tmp_path / "x")
    monkeypatch.chdir(tmp_path)
    default = run_export(compiled, "python", None, None)  # <network>.py in the working directory
    assert default == Path("multitask.py") and default.exists()
    assert not Path("multitask.safetensors").exists()  # no checkpoint, no weights
