"""Export a lowered network: one standalone PyTorch file that needs only torch, or ONNX.

`export_python` writes a `.py` file with the leaf module classes the network uses (copied from
their source), a `class <Network>(nn.Module)` whose attributes are named as in the spec and whose
`forward` is the fx-generated code of the model, with its `# File: spec.net:LINE` comments (and
an `objective` method, the training objective), and `load(path)`, which reads weights from a
`.safetensors` file without the safetensors package. `export_onnx` exports the model with torch's
dynamo exporter, with a dynamic batch axis and dynamic symbolic sizes such as T. `run_export` is
what `netspec export FILE --format python|onnx -o OUT [--checkpoint PATH]` does.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import inspect
import logging
import re
import textwrap
import traceback
import types
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import fx, nn

from netspec.backend.lower import Lowered, lower
from netspec.types import TensorType

if TYPE_CHECKING:
    from netspec.api import Compiled
    from netspec.backend.deploy import Scaling
    from netspec.ir import Graph

FORMATS = ("python", "onnx", "pt2")
SUFFIXES = {"python": ".py", "onnx": ".onnx", "pt2": ".pt2"}
Weights = Mapping[str, torch.Tensor] | nn.Module


# --- standalone Python -----------------------------------------------------------------------
def export_python(lowered: Lowered, path: str | Path, weights: Weights | None = None) -> Path:
    """Write the network as one Python file that imports only torch; with `weights` (a state
    dict of `lowered.root`, or a module such as the root itself) also write them beside it, as
    `<stem>.safetensors`, where the file's `load()` finds them. Returns the file's path.

    The file is checked before it is written: its class must build modules whose parameters and
    buffers have the names and shapes of `lowered.root`.
    """
    path = Path(path)
    source = python_source(lowered, weights_name=path.with_suffix(".safetensors").name)
    _check_rebuilds(source, lowered, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source, encoding="utf-8")
    if weights is not None:
        save_weights(weights, path.with_suffix(".safetensors"))
    return path


def save_weights(weights: Weights, path: str | Path) -> Path:
    """A state dict (or a module's) as a `.safetensors` file."""
    from safetensors.torch import save_file

    state = weights.state_dict() if isinstance(weights, nn.Module) else weights
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in state.items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path))
    return path


def python_source(lowered: Lowered, weights_name: str = "weights.safetensors") -> str:
    """The text `export_python` writes."""
    children = dict(lowered.root.named_children())
    classes = _leaf_classes(children.values())
    model, model_globals = _method(lowered.model.graph, "forward")
    objective, objective_globals = _method(lowered.objective.graph, "objective")
    functions = _functions({**model_globals, **objective_globals})
    cls = network_class(lowered)

    out = [
        f'"""`{lowered.network}`, exported by netspec as plain PyTorch: it needs only torch.',
        "",
        f"`load()` builds {cls} with the weights saved beside this file ({weights_name});",
        f"`{cls}()` builds it with fresh weights. `forward` is the model, `objective` the",
        "training objective; both take the network's inputs by name, with the batch axis first.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import json",
        "import operator",
        "from math import inf, nan",
        "from pathlib import Path",
        "",
        "import torch",
        "import torch.nn.functional as F",
        "from torch import device, nn",
        "",
        "NoneType = type(None)",
        "",
    ]
    for item in classes:
        out += ["", _source(item), ""]
    for name, fn in functions.items():
        out += ["", _source(fn)]
        if name != fn.__name__:
            out.append(f"{name} = {fn.__name__}")
        out.append("")
    out += ["", f"class {cls}(nn.Module):"]
    out.append(
        f'    """The `{lowered.network}` network; its attributes are named after the spec."""'
    )
    out += ["", "    def __init__(self) -> None:", "        super().__init__()"]
    for name, module in children.items():
        out.append(f"        self.{name} = {_constructor(name, module)}")
    out += ["", textwrap.indent(model, "    "), ""]
    out += [textwrap.indent(objective, "    "), ""]
    out += ["", _LOADER.replace("NETWORK", cls).replace("WEIGHTS", weights_name)]
    return "\n".join(out).rstrip() + "\n"


def network_class(lowered: Lowered) -> str:
    """The exported class's name: the model's (`Mlp` for `mlp`), unless a copied class or
    function has it (the `autoencoder` network uses the `Autoencoder` module): then `...Net`."""
    cls = type(lowered.model).__name__
    taken = {c.__name__ for c in _leaf_classes(lowered.root.children())} | set(_HEADER)
    taken |= {"load", "read_safetensors", "json", "Path", "_DTYPES"}
    model_globals = lowered.model.graph.python_code("self").globals
    objective_globals = lowered.objective.graph.python_code("self").globals
    for name, fn in _functions({**model_globals, **objective_globals}).items():
        taken |= {name, fn.__name__}
    while cls in taken:
        cls += "Net"
    return cls


_LOADER = '''\
def load(path: str | Path | None = None) -> NETWORK:
    """NETWORK with the weights of a `.safetensors` file (default: WEIGHTS beside this file),
    in eval mode."""
    net = NETWORK()
    net.load_state_dict(read_safetensors(path or Path(__file__).with_name("WEIGHTS")))
    return net.eval()


_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}


def read_safetensors(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a `.safetensors` file: an 8-byte little-endian header size, a JSON header
    of names, dtypes, shapes and byte offsets, then the data."""
    data = Path(path).read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    body = data[8 + size :]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        flat = (
            torch.frombuffer(bytearray(body[start:end]), dtype=dtype)
            if end > start
            else torch.empty(0, dtype=dtype)
        )
        tensors[name] = flat.reshape(info["shape"])
    return tensors
'''


def _method(graph: fx.Graph, name: str) -> tuple[str, dict[str, Any]]:
    """fx's code for a graph, with its `# File:` comments, as a method called `name`."""
    code = graph.python_code("self", verbose=True)
    src = code.src.strip("\n")
    src = re.sub(r"^def forward\(", f"def {name}(", src, count=1)
    lines = [line.rstrip() for line in src.splitlines()]
    return "\n".join(lines), dict(code.globals)


# Globals of fx's code that the file's header provides.
_HEADER = {"torch", "operator", "inf", "nan", "NoneType", "device", "F", "nn"}


def _functions(globals_: Mapping[str, Any]) -> dict[str, types.FunctionType]:
    """Functions fx's code calls by a global name (loss helpers): copied into the file."""
    found: dict[str, types.FunctionType] = {}
    for name, value in globals_.items():
        if name in _HEADER or value is getattr(builtins, name, None):
            continue
        if isinstance(value, types.ModuleType) and value.__name__.startswith("torch"):
            continue  # fx_pytree, pytree: the code only names them when it flattens arguments
        if not isinstance(value, types.FunctionType):
            raise ValueError(f"cannot export `{name}` ({value!r}): only functions are copied")
        found[name] = value
    return found


def _leaf_classes(modules: Iterable[nn.Module]) -> list[type]:
    """Module classes from outside torch, bases first, each once."""
    ordered: list[type] = []
    for module in modules:
        for sub in module.modules():
            for cls in reversed(type(sub).__mro__):
                if _from_torch(cls) or cls is object or cls in ordered:
                    continue
                ordered.append(cls)
    return ordered


def _from_torch(cls: type) -> bool:
    return cls.__module__ == "torch" or cls.__module__.startswith("torch.")


# --- the leaf-module contract: what export needs of a unit's module ---------------------------
CONTRACT = "see `What a leaf module must offer` in CONTRIBUTING.md"


def _source(obj: type | Callable[..., Any]) -> str:
    """The source of a copied class or function; ValueError when Python cannot find it."""
    try:
        text = inspect.getsource(obj)
    except (OSError, TypeError) as exc:
        raise ValueError(
            f"cannot export `{obj.__qualname__}`: its source cannot be read ({exc}); export "
            f"copies it from its .py file; {CONTRACT}"
        ) from None
    return textwrap.dedent(text).rstrip()


def _constructor(name: str, module: nn.Module) -> str:
    """Python that builds an equal module: torch's layers and netspec's leaf modules print their
    constructor's arguments in `extra_repr`. ValueError naming the module, its class and the
    argument when they do not fit the constructor."""
    cls = type(module)
    if not _from_torch(cls):
        call = cls.__name__
    elif getattr(nn, cls.__name__, None) is cls:
        call = f"nn.{cls.__name__}"
    else:
        call = f"{cls.__module__}.{cls.__qualname__}"
    return f"{call}({_arguments(name, module)})"


def _arguments(name: str, module: nn.Module) -> str:
    """`module.extra_repr()`, checked to be call arguments that its constructor takes."""
    cls = type(module).__name__
    try:
        text = module.extra_repr()
    except Exception as exc:
        raise ValueError(
            f"cannot export `{name}`: `{cls}.extra_repr()` fails ({type(exc).__name__}: {exc}); "
            f"it must give the constructor's arguments; {CONTRACT}"
        ) from None
    try:
        call = ast.parse(f"_({text})", mode="eval").body
    except SyntaxError:
        raise ValueError(
            f"cannot export `{name}`: `{cls}.extra_repr()` gives `{text}`, which is not Python "
            f"call arguments; it must give the constructor's, as `features=3`; {CONTRACT}"
        ) from None
    assert isinstance(call, ast.Call)
    try:
        signature = inspect.signature(type(module))
    except (TypeError, ValueError):
        return text  # a constructor Python cannot describe: the build in `_check_rebuilds` tells
    keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
    try:
        signature.bind(*call.args, **keywords)
    except TypeError as exc:
        raise ValueError(
            f"cannot export `{name}`: it would be rebuilt as `{cls}({text})` from its "
            f"`extra_repr()`, but the constructor `{cls}{_plain(signature)}` "
            f"{_misfit(signature, len(call.args), set(keywords)) or exc}; `extra_repr()` must give "
            f"the arguments the constructor needs; {CONTRACT}"
        ) from None
    return text


def _plain(signature: inspect.Signature) -> inspect.Signature:
    """The signature without annotations, as a call reads: `(features, factor=1.0)`."""
    empty = inspect.Parameter.empty
    params = [p.replace(annotation=empty) for p in signature.parameters.values()]
    return signature.replace(parameters=params, return_annotation=empty)


def _misfit(signature: inspect.Signature, positional: int, keywords: set[str]) -> str:
    """`needs `a`, `b`` and/or `takes no `c``: what a call lacks or has too many of."""
    params = list(signature.parameters.values())
    kinds = {p.kind for p in params}
    named = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    given = {p.name for p in named[:positional]} | keywords
    missing = [p.name for p in named if p.default is p.empty and p.name not in given]
    unknown = (
        [] if inspect.Parameter.VAR_KEYWORD in kinds else sorted(keywords - {*signature.parameters})
    )
    parts = []
    if missing:
        parts.append("needs " + ", ".join(f"`{m}`" for m in missing))
    if unknown:
        parts.append("takes no " + ", ".join(f"`{u}`" for u in unknown))
    return " and ".join(parts)


def _check_rebuilds(source: str, lowered: Lowered, file: str) -> None:
    """Run the file's class definition and compare its state with the root's."""
    namespace: dict[str, Any] = {"__name__": "netspec_export_check", "__file__": file}
    try:
        exec(compile(source, file, "exec"), namespace)
        built: nn.Module = namespace[network_class(lowered)]()
    except Exception as exc:
        raise ValueError(
            f"the exported file does not build the network: {type(exc).__name__}: {exc}"
            f"{_where(exc, file, source)}; a leaf module's class is copied without the rest of "
            f"its file, so it may use only torch, nn, F and the other copied classes; {CONTRACT}"
        ) from None
    want = {k: list(v.shape) for k, v in lowered.root.state_dict().items()}
    got = {k: list(v.shape) for k, v in built.state_dict().items()}
    if want != got:
        raise ValueError(_mismatch(want, got, lowered.root))


def _where(exc: BaseException, file: str, source: str) -> str:
    """` (line N: code)` of the exported file's innermost line in a traceback, if any."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    if not frames or frames[-1].lineno is None:
        return ""
    line = source.splitlines()[frames[-1].lineno - 1].strip()
    return f" (line {frames[-1].lineno}: `{line}`)"


def _mismatch(want: dict[str, list[int]], got: dict[str, list[int]], root: nn.Module) -> str:
    """The first parameter or buffer the rebuilt modules lack, add or shape differently."""
    key = next(k for k in [*want, *got] if want.get(k) != got.get(k))
    child = key.split(".", 1)[0]
    cls = type(root.get_submodule(child)).__name__
    if key not in got:
        what = f"lacks `{key}` {want[key]}"
    elif key not in want:
        what = f"has `{key}` {got[key]}, which the network has not"
    else:
        what = f"gives `{key}` the shape {got[key]}, not {want[key]}"
    return (
        f"the exported class does not rebuild the network's modules: `{child}` ({cls}), built "
        f"from its `extra_repr()`, {what}; `extra_repr()` must give the arguments that rebuild "
        f"every parameter and buffer; {CONTRACT}"
    )


# --- ONNX ------------------------------------------------------------------------------------
def export_onnx(
    lowered: Lowered,
    path: str | Path,
    *,
    sizes: Mapping[str, int] | None = None,
    dynamic: bool = True,
    opset: int | None = None,
    module: nn.Module | None = None,
    graph: Graph | None = None,
    metadata: Mapping[str, str] | None = None,
) -> Path:
    """Export `module` (default `lowered.model`; in eval mode: dropout off, no loss heads) with
    `torch.onnx.export(..., dynamo=True)`.

    Inputs and outputs are named as in the spec. The batch axis is dynamic, and so is every
    symbolic size of the inputs (T of `[T, N]`), unless the exporter refuses it: then that export
    is retried with the symbolic sizes fixed to `sizes` (default 16), with a warning. Traced
    with a batch of 2 and random inputs of the declared types. Given the network's `graph`,
    each node is annotated with its spec unit and `file:line`, and each output with the
    symbolic sizes the spec declares (netspec.backend.deploy).
    """
    path = Path(path)
    fixed = _export_onnx(lowered, path, sizes, dynamic, opset, module, graph, metadata)
    if fixed:
        warnings.warn(_fixed_note("ONNX", fixed), stacklevel=2)
    return path


def _export_onnx(
    lowered: Lowered,
    path: Path,
    sizes: Mapping[str, int] | None,
    dynamic: bool,
    opset: int | None,
    module: nn.Module | None,
    graph: Graph | None,
    metadata: Mapping[str, str] | None,
) -> dict[str, int]:
    """`export_onnx`; the symbolic sizes it had to fix (none when they stayed dynamic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sizes = {**dict.fromkeys(_symbols(lowered), 16), **(sizes or {})}
    args = tuple(_example(lowered.input_types[i], sizes) for i in lowered.model_inputs)
    model = module if module is not None else lowered.model
    fixed: dict[str, int] = {}
    try:
        _onnx(model, lowered, path, args, _shapes(model, lowered, dynamic), opset)
    except Exception as exc:
        _refuse_svd(exc)
        if not (dynamic and _symbols(lowered)):
            raise
        fixed = {k: sizes[k] for k in sorted(_symbols(lowered))}
        _onnx(model, lowered, path, args, _shapes(model, lowered, False), opset)
    if graph is not None:
        from netspec.backend.deploy import annotate_onnx

        annotate_onnx(path, lowered, graph, metadata, fixed)
    return fixed


def _fixed_note(what: str, fixed: Mapping[str, int]) -> str:
    shown = ", ".join(f"{k} = {v}" for k, v in fixed.items())
    return (
        f"the {what} export could not keep {', '.join(fixed)} dynamic (the exporter "
        f"specialises it), so it takes only {shown}"
    )


def _refuse_svd(exc: Exception) -> None:
    """ONNX has no singular value decomposition (sparse coding's step size needs |D|_2): say
    so in one line instead of the exporter's report."""
    if "svd" in str(exc).lower():
        raise ValueError(
            "ONNX has no SVD operator (aten._linalg_svd), which sparse coding's |D|_2 needs; "
            "export it with --format python or --format pt2"
        ) from None


def export_program(
    lowered: Lowered,
    path: str | Path,
    *,
    sizes: Mapping[str, int] | None = None,
    module: nn.Module | None = None,
) -> tuple[Path, dict[str, int]]:
    """`torch.export` the model (default `lowered.model`) with the dynamic axes ONNX gets, and
    save it as a `.pt2` program; the path, and the symbolic sizes it had to fix (an `nn.GRU`
    specialises its sequence length under torch.export)."""
    from netspec.backend.deploy import export_pt2

    sizes = {**dict.fromkeys(_symbols(lowered), 16), **(sizes or {})}
    args = tuple(_example(lowered.input_types[i], sizes) for i in lowered.model_inputs)
    model = module if module is not None else lowered.model
    with _quiet_exporter():
        try:
            export_pt2(model, Path(path), args, _shapes(model, lowered, True))
            return Path(path), {}
        except Exception:
            if not _symbols(lowered):
                raise
            export_pt2(model, Path(path), args, _shapes(model, lowered, False))
            return Path(path), {k: sizes[k] for k in sorted(_symbols(lowered))}


def _symbols(lowered: Lowered) -> set[str]:
    return {
        d
        for i in lowered.model_inputs
        for d in lowered.input_types[i].dims
        if isinstance(d, str) and d.isidentifier()
    }


def _example(t: TensorType, sizes: Mapping[str, int], batch: int = 2) -> torch.Tensor:
    shape = (batch, *(d if isinstance(d, int) else sizes[d] for d in t.dims))
    if t.dtype == "class":
        return torch.randint(0, max(int(t.classes or 1), 1), shape)
    if t.dtype == "binary":
        return torch.randint(0, 2, shape).float()
    return torch.rand(shape)


def _shapes(model: nn.Module, lowered: Lowered, symbols: bool) -> tuple[Any, ...]:
    """The dynamic axes for `model`'s signature: one per input, or, for a model that takes its
    inputs as `*inputs` (a Standardized wrapper), one tuple of them."""
    from netspec.backend.deploy import Standardized

    shapes = _dynamic_shapes(lowered, symbols)
    return (shapes,) if isinstance(model, Standardized) else shapes


def _dynamic_shapes(lowered: Lowered, symbols: bool) -> tuple[dict[int, Any], ...]:
    from torch.export import Dim

    dims: dict[str, Any] = {"batch": Dim("batch")}
    shapes = []
    for i in lowered.model_inputs:
        axes: dict[int, Any] = {0: dims["batch"]}
        for axis, d in enumerate(lowered.input_types[i].dims, start=1):
            if symbols and isinstance(d, str) and d.isidentifier():
                axes[axis] = dims.setdefault(d, Dim(d if d != "batch" else f"{d}_"))
        shapes.append(axes)
    return tuple(shapes)


def _onnx(
    model: nn.Module,
    lowered: Lowered,
    path: Path,
    args: tuple[torch.Tensor, ...],
    dynamic_shapes: tuple[Any, ...],
    opset: int | None,
) -> None:
    modes = [(m, m.training) for m in model.modules()]  # the root's modes may differ from its own
    big = sum(p.numel() * p.element_size() for p in model.parameters()) > 1 << 30
    model.eval()
    try:
        with _quiet_exporter():
            torch.onnx.export(
                model,
                args,
                str(path),
                input_names=list(lowered.model_inputs),
                output_names=list(lowered.outputs),
                dynamic_shapes=dynamic_shapes,
                opset_version=opset,
                dynamo=True,
                external_data=big,  # one file, unless protobuf's 2 GB limit needs a second
                verbose=False,
            )
    finally:
        for module, training in modes:
            module.training = training


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter's own warnings and log lines (deprecations inside torch, RNN weights it
    reassigns, `.grad` probes while tracing) are not the user's concern; errors still raise."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "torch.export", "torch._export")]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, level in zip(loggers, levels, strict=True):
                lg.setLevel(level)


# --- CLI -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exported:
    """An export written: its path, and the torch module it was made from (to check it)."""

    path: Path
    lowered: Lowered
    reference: nn.Module
    fixed: dict[str, int] = field(default_factory=dict)  # symbolic sizes it could not keep

    def note(self, fmt: str) -> str:
        return _fixed_note(fmt, self.fixed) if self.fixed else ""


def run_export(
    compiled: Compiled,
    fmt: str,
    out: str | Path | None = None,
    checkpoint: str | Path | None = None,
    network: str | None = None,
    scaling: Scaling | None = None,
) -> Path:
    """`netspec export FILE --format python|onnx|pt2 -o OUT [--checkpoint PATH]`; the path
    written (see `export_network`)."""
    return export_network(compiled, fmt, out, checkpoint, network, scaling).path


def export_network(
    compiled: Compiled,
    fmt: str,
    out: str | Path | None = None,
    checkpoint: str | Path | None = None,
    network: str | None = None,
    scaling: Scaling | None = None,
) -> Exported:
    """Lower the network (`network`, else the one a `train` section names, else the first),
    load the checkpoint's weights into it if one is given (see `load_checkpoint`), and write
    OUT (default `<network>.py`, `.onnx` or `.pt2`). For `python` the weights are written
    beside OUT as `<stem>.safetensors` when a checkpoint is given. ONNX and pt2 exports take
    raw inputs: `scaling` (a run's `normalize = standard` statistics) is part of the graph.
    """
    from netspec import __version__
    from netspec.backend.deploy import deployable

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format `{fmt}`; formats: {', '.join(FORMATS)}")
    graph = compiled.network(network)
    lowered = lower(graph, compiled.sources)
    if checkpoint is not None:
        from netspec.training.runs import load_weights

        load_weights(lowered.root, Path(checkpoint), graph.name)  # every misfit, not torch's dump
    target = Path(out) if out is not None else Path(f"{graph.name}{SUFFIXES[fmt]}")
    if fmt == "python":
        weights = lowered.root if checkpoint is not None else None
        return Exported(export_python(lowered, target, weights), lowered, lowered.model)
    module = deployable(lowered, scaling)
    if fmt == "pt2":
        path, fixed = export_program(lowered, target, module=module)
        return Exported(path, lowered, module, fixed)
    metadata = {
        "netspec.version": __version__,
        "netspec.spec": compiled.sources.files()[0],
        "netspec.scaled_inputs": ", ".join(sorted(scaling or {})) or "none",
    }
    fixed = _export_onnx(lowered, target, None, True, None, module, graph, metadata)
    return Exported(target, lowered, module, fixed)


def load_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """The model state in a `.safetensors` file: a training run's checkpoint (its `model/`
    tensors) or a plain state dict, read by the trainer's one checkpoint reader. Pickled torch
    files are refused (loading one runs code), as are damaged files: a CheckpointError (also a
    ValueError) saying which."""
    from netspec.training.runs import load_checkpoint as read

    return read(Path(path)).model_state()
