"""netspec: a declarative model-spec compiler and trainer for neural networks.

The public surface is re-exported here; everything else is internal. `import netspec` imports no
torch: the torch-side names (`lower`, `export`, `Lowered`, `train`, `TrainOptions`, `TrainResult`,
`TrainError`) are imported on first use.

>>> import netspec
>>> net = netspec.compile("network n { input x: [4]  y = x -> dense(3) }").network()
>>> str(net.node("y").type)
'[3]'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from netspec.api import Compiled, compile, compile_file, total_params
from netspec.check import equation
from netspec.diagnostics.core import Diagnostic, Label, NetspecError, Severity
from netspec.diagnostics.render import render_json, render_short, render_text
from netspec.ir import Graph, Node, Role
from netspec.lang.parser import parse
from netspec.lang.printer import format_module
from netspec.types import TensorType
from netspec.units import REGISTRY, register
from netspec.units.base import Drawing, ParamSpec, ShapeError, Signature, UnitKind

if TYPE_CHECKING:  # what `__getattr__` returns, for type checkers
    from netspec.backend.api import export, lower
    from netspec.backend.lower import Lowered
    from netspec.training.run import TrainError, TrainOptions, TrainResult, train

__version__ = "0.1.0"

# Torch-side names: the module each is imported from, on first use (PEP 562).
_LAZY = {
    "export": "netspec.backend.api",
    "lower": "netspec.backend.api",
    "Lowered": "netspec.backend.lower",
    "TrainError": "netspec.training.run",
    "TrainOptions": "netspec.training.run",
    "TrainResult": "netspec.training.run",
    "train": "netspec.training.run",
}

__all__ = [
    "REGISTRY",
    "Compiled",
    "Diagnostic",
    "Drawing",
    "Graph",
    "Label",
    "Lowered",
    "NetspecError",
    "Node",
    "ParamSpec",
    "Role",
    "Severity",
    "ShapeError",
    "Signature",
    "TensorType",
    "TrainError",
    "TrainOptions",
    "TrainResult",
    "UnitKind",
    "compile",
    "compile_file",
    "equation",
    "export",
    "format_module",
    "lower",
    "parse",
    "register",
    "render_json",
    "render_short",
    "render_text",
    "total_params",
    "train",
]


if not TYPE_CHECKING:  # type checkers read the imports above, and flag any other name

    def __getattr__(name: str) -> Any:
        if name not in _LAZY:
            raise AttributeError(f"module 'netspec' has no attribute {name!r}")
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # later look-ups find it without calling this
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
