"""netspec: a declarative model-spec compiler and trainer for neural networks.

The public surface is re-exported here; everything else is internal.

>>> import netspec
>>> net = netspec.compile("network n { input x: [4]  y = x -> dense(3) }").network()
>>> str(net.node("y").type)
'[3]'
"""

from netspec.api import Compiled, compile, compile_file
from netspec.diagnostics.core import Diagnostic, Label, NetspecError, Severity
from netspec.diagnostics.render import render_json, render_short, render_text
from netspec.ir import Graph, Node, Role
from netspec.lang.parser import parse
from netspec.lang.printer import format_module
from netspec.types import TensorType
from netspec.units import REGISTRY, register
from netspec.units.base import ParamSpec, ShapeError, Signature, UnitKind

__version__ = "0.1.0"

__all__ = [
    "REGISTRY",
    "Compiled",
    "Diagnostic",
    "Graph",
    "Label",
    "NetspecError",
    "Node",
    "ParamSpec",
    "Role",
    "Severity",
    "ShapeError",
    "Signature",
    "TensorType",
    "UnitKind",
    "compile",
    "compile_file",
    "format_module",
    "parse",
    "register",
    "render_json",
    "render_short",
    "render_text",
]
