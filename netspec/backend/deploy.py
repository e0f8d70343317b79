"""What makes an export something to deploy, beyond the traced graph itself.

- `Standardized` bakes a run's input scaling (`normalize = standard`) into the exported model,
  so it takes raw inputs, as the data file holds them.
- `annotate_onnx` writes, on every ONNX node, the spec unit it computes (`netspec.unit`) and
  where that unit is written (`netspec.source`, `file:line`); on the model, the network, the
  spec and the scaling; and gives each output the symbolic sizes the spec declares (`T` of
  `[T, 7]`), which the exporter may have fixed to the traced size.
- `export_pt2` writes a `torch.export` program (`.pt2`).
- `check_export` runs an export against the torch model on random inputs of new sizes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from netspec.backend.lower import Lowered

if TYPE_CHECKING:
    from netspec.ir import Graph

Scaling = Mapping[str, tuple[np.ndarray, np.ndarray]]  # input -> (mean, std)
_TRACE = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')


class Standardized(nn.Module):
    """A model whose real inputs are first scaled with the training split's statistics:
    `(x - mean) / std`, as training saw them. Inputs without statistics pass unchanged."""

    def __init__(self, model: nn.Module, inputs: Sequence[str], scaling: Scaling) -> None:
        super().__init__()
        self.model = model
        self.scaled: list[str | None] = []
        for i, name in enumerate(inputs):
            if name not in scaling:
                self.scaled.append(None)
                continue
            mean, std = scaling[name]
            self.register_buffer(f"mean_{i}", torch.as_tensor(np.asarray(mean, np.float32)))
            self.register_buffer(f"std_{i}", torch.as_tensor(np.asarray(std, np.float32)))
            self.scaled.append(name)

    def forward(self, *inputs: torch.Tensor) -> Any:
        scaled = [
            x if name is None else (x - getattr(self, f"mean_{i}")) / getattr(self, f"std_{i}")
            for i, (x, name) in enumerate(zip(inputs, self.scaled, strict=True))
        ]
        return self.model(*scaled)


def deployable(lowered: Lowered, scaling: Scaling | None) -> nn.Module:
    """The model to export: the lowered model, with the run's scaling in front when it has one."""
    if not scaling:
        return lowered.model
    return Standardized(lowered.model, lowered.model_inputs, scaling)


# --- ONNX annotations -------------------------------------------------------------------------


def annotate_onnx(
    path: Path,
    lowered: Lowered,
    graph: Graph,
    extra: Mapping[str, str] | None = None,
    fixed: Mapping[str, int] | None = None,
) -> int:
    """Annotate the ONNX file at `path` in place (see the module docstring); returns how many
    nodes were given a unit."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    units = _UnitIndex(lowered, graph)
    named = 0
    for node in model.graph.node:
        props = {p.key: p.value for p in node.metadata_props}
        unit, source = units.find(props)
        if unit is None:
            continue
        _set(node.metadata_props, "netspec.unit", unit)
        if source:
            _set(node.metadata_props, "netspec.source", source)
        named += 1
    if not fixed:  # an export that fixed T keeps the traced sizes it really has
        _declared_output_sizes(model, lowered, graph)
    for key, value in {"netspec.network": lowered.network, **(extra or {})}.items():
        _set(model.metadata_props, key, value)
    onnx.save(model, str(path))
    return named


def _set(props: Any, key: str, value: str) -> None:
    for p in props:
        if p.key == key:
            p.value = value
            return
    entry = props.add()
    entry.key, entry.value = key, value


@dataclass
class _UnitIndex:
    """Which spec unit an exported node came from: the module scope the exporter recorded
    (`h.rnn` -> unit `h`), else the spec line of its stack trace."""

    lowered: Lowered
    graph: Graph

    def __post_init__(self) -> None:
        self.by_attribute = {attr: node for node, attr in self.lowered.modules.items()}
        self.by_line: dict[tuple[str, int], str] = {}
        for node in self.graph.nodes():
            span = node.span
            if span is not None:
                self.by_line.setdefault((span.file, span.line), node.id)

    def find(self, props: Mapping[str, str]) -> tuple[str | None, str]:
        trace = _TRACE.search(props.get("pkg.torch.onnx.stack_trace", ""))
        source = f"{trace['file']}:{trace['line']}" if trace else ""
        scopes = _scopes(props.get("pkg.torch.onnx.name_scopes", ""))
        for scope in reversed(scopes):
            node = self.by_attribute.get(scope.removeprefix("model."))
            if node is not None:
                return self._label(node), source or self._where(node)
        if trace:
            node = self.by_line.get((trace["file"], int(trace["line"])))
            if node is not None:
                return self._label(node), source
        return None, source

    def _label(self, node_id: str) -> str:
        return self.graph.node(node_id).label

    def _where(self, node_id: str) -> str:
        span = self.graph.node(node_id).span
        return f"{span.file}:{span.line}" if span is not None else ""


def _scopes(text: str) -> list[str]:
    """The exporter's `['', 'h', 'h.rnn', 'zeros']` as a list of names."""
    return re.findall(r"'([^']*)'", text)


def _declared_output_sizes(model: Any, lowered: Lowered, graph: Graph) -> None:
    """Give every output axis the spec declares symbolic (`T`) that name, in place of a size."""
    from netspec.ir import Role

    declared = {n.label.removeprefix("output:"): n.type for n in graph.nodes(Role.OUTPUT)}
    changed = False
    for output in model.graph.output:
        kind = declared.get(output.name)
        dims = output.type.tensor_type.shape.dim
        if kind is None or len(dims) != len(kind.dims) + 1:
            continue
        for dim, size in zip(list(dims)[1:], kind.dims, strict=True):
            if isinstance(size, str) and size.isidentifier() and dim.dim_param != size:
                dim.dim_param = size  # setting the param clears the fixed value
                changed = True
    if changed:  # the exporter's shapes of inner values carry the traced size too: drop them
        del model.graph.value_info[:]


# --- torch.export -----------------------------------------------------------------------------


def export_pt2(
    module: nn.Module,
    path: Path,
    args: tuple[torch.Tensor, ...],
    dynamic_shapes: tuple[Any, ...],
) -> Path:
    """`torch.export` the module (in eval mode) and save the program; load it with
    `torch.export.load(path).module()`."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        program = torch.export.export(module, args, dynamic_shapes=dynamic_shapes, strict=False)
    finally:
        for m, training in modes:
            m.training = training
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, str(path))
    return path


# --- checking an export -----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """How far an export's outputs are from torch's, at each batch of random inputs."""

    format: str
    shapes: list[str]  # one line per batch tried: its sizes
    worst: dict[str, float]  # output -> the largest absolute difference seen
    tolerance: float

    @property
    def ok(self) -> bool:
        return all(v <= self.tolerance for v in self.worst.values())

    def describe(self) -> str:
        diffs = ", ".join(f"{name} {value:.1e}" for name, value in self.worst.items())
        verdict = "matches" if self.ok else "DIFFERS from"
        return (
            f"check: the {self.format} export {verdict} torch on random inputs "
            f"({'; '.join(self.shapes)}): largest |difference| {diffs} "
            f"(tolerance {self.tolerance:.0e})"
        )


def check_export(
    fmt: str,
    path: Path,
    reference: nn.Module,
    lowered: Lowered,
    batches: Sequence[tuple[int, int]] = ((3, 5), (7, 11)),
    tolerance: float = 1e-4,
    fixed: Mapping[str, int] | None = None,
) -> CheckResult:
    """Run the export at `path` and `reference` (the torch module that was exported) on random
    inputs of the declared types at new batch sizes and symbolic sizes (but the `fixed` ones);
    compare every output."""
    from netspec.backend.export import _example, _symbols

    run = _runner(fmt, path, lowered)
    worst = dict.fromkeys(lowered.outputs, 0.0)
    shapes = []
    reference.eval()
    generator_state = torch.random.get_rng_state()
    try:
        for batch, size in batches:
            torch.manual_seed(batch * 1000 + size)
            sizes = {**dict.fromkeys(_symbols(lowered), size), **(fixed or {})}
            args = tuple(
                _example(lowered.input_types[i], sizes, batch) for i in lowered.model_inputs
            )
            with torch.no_grad():
                want = reference(*args)
            got = run(args)
            want_all = want if isinstance(want, tuple) else (want,)
            for name, g, w in zip(lowered.outputs, got, want_all, strict=True):
                diff = float((torch.as_tensor(g) - w.detach().float()).abs().max())
                worst[name] = max(worst[name], diff)
            shown = ", ".join(f"{k}={v}" for k, v in sizes.items())
            shapes.append(f"batch {batch}" + (f", {shown}" if shown else ""))
    finally:
        torch.random.set_rng_state(generator_state)
    return CheckResult(fmt, shapes, worst, tolerance)


def _runner(fmt: str, path: Path, lowered: Lowered) -> Any:
    """A function from input tensors to output arrays, running the written file itself."""
    if fmt == "onnx":
        try:
            import onnxruntime as ort  # type: ignore[import-untyped]
        except ImportError:
            raise RuntimeError(
                "--check of an ONNX export needs onnxruntime (pip install onnxruntime)"
            ) from None
        options = ort.SessionOptions()
        options.log_severity_level = 3  # errors only: its shape notes are not the user's
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = [i.name for i in session.get_inputs()]

        def run_onnx(args: tuple[torch.Tensor, ...]) -> list[Any]:
            return list(session.run(None, {n: a.numpy() for n, a in zip(names, args, strict=True)}))

        return run_onnx
    if fmt == "pt2":
        program = torch.export.load(str(path)).module()

        def run_pt2(args: tuple[torch.Tensor, ...]) -> list[Any]:
            with torch.no_grad():
                out = program(*args)
            return list(out) if isinstance(out, tuple) else [out]

        return run_pt2
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"netspec_export_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if path.with_suffix(".safetensors").exists():
        network = module.load()  # the weights written beside it: they are checked too
    else:  # fresh weights: give it the reference's, to compare the code alone
        network = _network_class(module)()
        network.load_state_dict(lowered.root.state_dict())
    network.eval()

    def run_python(args: tuple[torch.Tensor, ...]) -> list[Any]:
        with torch.no_grad():
            out = network(*args)
        return list(out) if isinstance(out, tuple) else [out]

    return run_python


def _network_class(module: Any) -> type[nn.Module]:
    """The network class an exported Python file defines (the one with an `objective`)."""
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, nn.Module) and hasattr(value, "objective"):
            return value
    raise RuntimeError(f"{module.__file__} defines no network class")
