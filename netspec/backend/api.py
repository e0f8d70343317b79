"""The torch side of the library API, on a compiled spec: `lower` it to a PyTorch module and
`export` that module. `import netspec` offers both and imports this module on first use."""

from __future__ import annotations

from pathlib import Path

from netspec.api import Compiled
from netspec.backend.export import export_onnx, export_python
from netspec.backend.lower import Lowered
from netspec.backend.lower import lower as lower_graph

FORMATS = {".py": "python", ".onnx": "onnx"}  # the export format each suffix means


def lower(compiled: Compiled, network: str | None = None) -> Lowered:
    """Lower a compiled network (`network`, or the one `Compiled.network` picks) to torch.fx.

    `.model` is an `nn.Module` that takes the network's inputs and returns its outputs, ready for
    an optimizer and a training loop of your own; `.objective` also computes the spec's losses.

    >>> import netspec, torch
    >>> lowered = lower(netspec.compile("network n { input x: [4]  y = x -> dense(3) }"))
    >>> lowered.model(torch.ones(2, 4)).shape  # (batch, 3)
    torch.Size([2, 3])
    """
    return lower_graph(compiled.network(network), compiled.sources)


def export(
    lowered: Lowered, path: str | Path, *, format: str | None = None, weights: bool = True
) -> Path:
    """Write a lowered network to `path` and return the path. `python` writes one file that needs
    only torch and, with `weights`, the network's current weights beside it as
    `<stem>.safetensors`, which the file's `load()` reads; `onnx` needs the `onnx` extra. The
    format defaults to the one the suffix names (`.py`, `.onnx`).

    >>> import netspec, tempfile
    >>> lowered = lower(netspec.compile("network n { input x: [4]  y = x -> dense(3) }"))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     written = export(lowered, Path(folder) / "n.py")
    ...     sorted(p.name for p in written.parent.iterdir())
    ['n.py', 'n.safetensors']
    """
    path = Path(path)
    chosen = format or FORMATS.get(path.suffix)
    if chosen not in FORMATS.values():
        given = f"`format` (={format!r})" if format else f"the suffix of `{path}`"
        raise ValueError(f"{given} names no export format; formats: python (.py), onnx (.onnx)")
    if chosen == "onnx":
        return export_onnx(lowered, path)
    return export_python(lowered, path, lowered.root if weights else None)
