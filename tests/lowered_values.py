"""Helpers the lowering tests share: every unit's value in a run of a lowered graph, and the
sizes of symbolic dimensions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import fx


class UnitValues(fx.Interpreter):
    """Runs a graph and keeps the value of every unit: the last fx node carrying its id."""

    def __init__(self, module: fx.GraphModule) -> None:
        super().__init__(module)
        self.values: dict[str, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        out = super().run_node(n)
        if "netspec_id" in n.meta:
            self.values[n.meta["netspec_id"]] = out
        return out


def size(dim: int | str, sizes: Mapping[str, int]) -> int:
    """A size for the given symbols: `T` is sizes["T"], `(T-2)//2+1` is computed."""
    if isinstance(dim, int):
        return dim
    value = eval(dim, {"__builtins__": {}}, dict(sizes))  # check's own size expressions
    assert isinstance(value, int), dim
    return value
