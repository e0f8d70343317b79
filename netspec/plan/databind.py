"""Feed a data source's fields to a network's inputs: by name first, then by role (E503).

The rule (grammar/README.md, "Binding data to inputs"): a field feeds the input of its name;
a field that lists columns (a CSV's `features`) gives each column named like an input that no
field names to that input; every field left feeds the inputs of its role (features: those read
by units; a target: those read only by losses) that no field named: one whole, several real
ones by consecutive slices that their sizes add up to. A field the user named (a target column
of several, an archive's array) that feeds nothing is E503, as is an input that gets nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from math import isqrt, prod
from typing import TYPE_CHECKING

from netspec.diagnostics.core import Diagnostic, error
from netspec.ir import Graph, Node, Role
from netspec.lang.source import Span
from netspec.plan.catalog import FEATURES, SOURCES, TARGET, Field
from netspec.types import TensorType

if TYPE_CHECKING:
    from netspec.plan.plans import DataPlan


@dataclass(frozen=True)
class Binding:
    """A data field feeding a network input; `part` is the [start, stop) slice of the flattened
    field when several inputs share it, else None."""

    field: str
    input: str
    role: str  # features | target
    type: TensorType | None  # the field's type; None for files, known once loaded
    part: tuple[int, int] | None = None
    columns: tuple[str, ...] = ()  # the CSV columns (or the NPZ array) it takes; (): all x
    shown: str = ""  # how `netspec check` names the field


def data_line(data: DataPlan, graph: Graph) -> str:
    """`netspec check`'s line for a train section's data: the source, then what feeds what,
    such as `data: csv("p.csv"): columns vitals.* (3) -> input vitals [3]`."""
    path = data.params.get("path")
    called = f'{data.source}("{os.path.basename(path)}")' if isinstance(path, str) else data.source
    return f"data: {called}: {format_bindings(data.bindings, graph) or 'feeds no input'}"


def format_bindings(bindings: tuple[Binding, ...], graph: Graph) -> str:
    """What feeds which input, for `netspec check`: `column outcome -> input outcome class(2)`.

    >>> from netspec.ir import Graph
    >>> format_bindings((Binding("pixels", "x", "features", None),), Graph("n"))
    'field pixels -> input x'
    """
    parts = []
    for b in bindings:
        shown = b.shown or f"field {b.field}"
        if b.part is not None:
            shown += f" values {b.part[0]}..{b.part[1] - 1}"
        node = next((n for n in graph.nodes(Role.INPUT) if n.label == b.input), None)
        kind = f" {node.type}" if node is not None and node.type is not None else ""
        parts.append(f"{shown} -> input {b.input}{kind}")
    return "; ".join(parts)


def bind_data(
    graph: Graph, source: str, fields: tuple[Field, ...], span: Span, diags: list[Diagnostic]
) -> tuple[Binding, ...]:
    """Which input each field of `source` (set at `span`) feeds; E503 for what does not fit."""
    return _DataBinder(graph, source, span, diags).bind(fields)


class _DataBinder:
    def __init__(self, graph: Graph, source: str, span: Span, diags: list[Diagnostic]) -> None:
        self.graph, self.source, self.span, self.diags = graph, source, span, diags

    def bind(self, fields: tuple[Field, ...]) -> tuple[Binding, ...]:
        if not fields:  # a file that does not read: loading says why
            return ()
        inputs = list(self.graph.nodes(Role.INPUT))
        fields = _peeled(fields, [n.label for n in inputs])
        labels = {n.label for n in inputs}
        free = [n for n in inputs if n.label not in {f.name for f in fields}]
        fed: dict[str, list[Binding]] = {}
        for f in fields:  # those named like an input first, so the fields' order is no matter
            if f.name in labels:
                fed[f.name] = self._fit(f, [n for n in inputs if n.label == f.name])
        for f in fields:
            if f.name in labels:
                continue
            if f.needed:
                self._unused(f, free)
                continue
            takers = [n for n in free if _role(self.graph, n) == f.role]
            free = [n for n in free if n not in takers]
            fed[f.name] = self._fit(f, takers)
        for node in free:
            self._unfed(node, fields)
        return tuple(b for f in fields for b in fed.get(f.name, []))

    def _unused(self, f: Field, free: list[Node]) -> None:
        names = ", ".join(f"`{n.label}`" for n in free)
        self._error(
            f"`{self.source}` gives {f.shown or f.name}, but `{self.graph.name}` has no input "
            f"`{f.name}` to take it",
            f"`{f.name}` feeds nothing",
            [(n.span, "gets nothing") for n in free],
            f"name the input that takes it `{f.name}`"
            + (f" (inputs without data: {names})" if names else ""),
        )

    def _fit(self, f: Field, takers: list[Node]) -> list[Binding]:
        if len(takers) == 1:
            self._check(f, takers[0])
            return [Binding(f.name, takers[0].label, f.role, f.type, None, f.columns, f.shown)]
        if not takers:
            if f.role == FEATURES:
                self._error(
                    f"no input of `{self.graph.name}` takes the features `{f.name}` of "
                    f"`{self.source}`",
                    "unused features",
                    [],
                    f"declare an input for them, such as `input {f.name}: {f.type or '[64]'}`",
                )
            return []  # an unused target: the network learns without labels
        return self._split(f, takers)

    def _check(self, f: Field, node: Node) -> None:
        if f.type is None or node.type is None:
            return
        hint = _misfit(f, f.type, node.type, node.label)
        if hint is not None:
            self._error(
                f"`{self.source}` gives {f.role} `{f.name}` as {_show(f.type)}, but "
                f"input `{node.label}` takes {_show(node.type)}",
                f"gives {_typename(f.type)}",
                [(node.span, f"`{node.label}` declared here")],
                hint,
            )

    def _split(self, f: Field, takers: list[Node]) -> list[Binding]:
        """Several real inputs whose sizes add up to the features' take consecutive slices."""
        sizes = [n.type.numel() if n.type is not None and n.type.is_real else None for n in takers]
        total = f.type.numel() if f.type is not None else None
        adds_up = total in (None, sum(int(s) for s in sizes if s is not None))
        if f.role == FEATURES and all(isinstance(s, int) for s in sizes) and adds_up:
            return _slices(f, takers, [int(s or 0) for s in sizes])
        names = ", ".join(f"`{n.label}`" for n in takers)
        hint = f"name the input that takes it `{f.name}`"
        if f.role == FEATURES:
            hint += f", or give the inputs sizes that add up to {total} to split it between them"
        self._error(
            f"{len(takers)} inputs could take the {f.role} `{f.name}` of `{self.source}`: {names}",
            "which input takes it?",
            [(n.span, "could take it") for n in takers],
            hint,
        )
        return []

    def _unfed(self, node: Node, fields: tuple[Field, ...]) -> None:
        given = " and ".join(f"{f.role} `{f.name}`" for f in fields)
        no_target = not any(f.role == TARGET for f in fields)
        if _role(self.graph, node) == TARGET and no_target and SOURCES[self.source].files:
            hint = f'`{self.source}` gives no target: name one with `target="..."`'
        else:
            hint = f"`{self.source}` gives {given}; remove the input or pick another source"
        self._error(
            f"input `{node.label}` of `{self.graph.name}` gets no data from `{self.source}`",
            f"nothing for `{node.label}`",
            [(node.span, f"`{node.label}` declared here")],
            hint,
        )

    def _error(
        self, message: str, label: str, secondary: list[tuple[Span, str]], hint: str
    ) -> None:
        self.diags.append(error("E503", message, self.span, label, help=hint, secondary=secondary))


def _slices(f: Field, takers: list[Node], sizes: list[int]) -> list[Binding]:
    bindings, start = [], 0
    for node, size in zip(takers, sizes, strict=True):
        part = (start, start + size)
        bindings.append(Binding(f.name, node.label, f.role, f.type, part, f.columns, f.shown))
        start += size
    return bindings


def _peeled(fields: tuple[Field, ...], inputs: list[str]) -> tuple[Field, ...]:
    """The fields with each listed feature column named like an input (that no field names)
    made a field of its own, one real value a sample."""
    named = {f.name for f in fields}
    out: list[Field] = []
    for f in fields:
        own = [c for c in f.columns if c in inputs and c not in named]
        if f.role != FEATURES or not own:
            out.append(f)
            continue
        out += [Field(c, FEATURES, TensorType(()), (c,), shown=f"column {c}") for c in own]
        rest = tuple(c for c in f.columns if c not in own)
        if rest:
            shown = f"columns {', '.join(rest[:4])}{', ...' * (len(rest) > 4)} ({len(rest)})"
            out.append(replace(f, type=TensorType((len(rest),)), columns=rest, shown=shown))
    return tuple(out)


def _role(graph: Graph, node: Node) -> str:
    """An input read only by losses is a target; one read by units, or a real one, features."""
    users = [graph.node(u) for u in graph.users_of(node.id)]
    if users:
        return TARGET if all(u.role is Role.LOSS for u in users) else FEATURES
    return FEATURES if node.type is None or node.type.is_real else TARGET


def _misfit(f: Field, ft: TensorType, t: TensorType, name: str) -> str | None:
    """How to declare input `name` so that it takes field `f`, or None when it does."""
    if ft.dtype == "class":
        k = ft.classes
        same = (t.dtype == "class" and t.classes == k) or (t.dtype == "binary" and k == 2)
        if not ft.dims:  # one label a sample
            if same and t.numel() == 1:
                return None
            return f"declare `input {name}: class({k})`" + (" (or `binary`)" if k == 2 else "")
        n = ft.numel()  # a sequence of labels (token ids): any shape that holds them
        if same and isinstance(n, int) and _holds(n, t):
            return None
        return f"declare `input {name}: class({k})[T]` (or `{ft}`)"
    n = ft.numel()
    if t.is_real and isinstance(n, int) and _holds(n, t):
        return None
    if not isinstance(n, int):
        return f"declare `input {name}: {ft}`"
    if f.role == TARGET and n == 1:
        return f"the target is one real number: declare `input {name}: real`"
    shapes = " or ".join(f"`{s}`" for s in _shapes(ft, t))
    return f"declare `input {name}` with {n} values: {shapes}"


def _holds(n: int, t: TensorType) -> bool:
    """Whether an input of type `t` takes `n` values: exactly, or in steps when it has a T."""
    fixed = prod(d for d in t.dims if isinstance(d, int))
    return fixed == n if t.is_static else n % fixed == 0


def _shapes(ft: TensorType, t: TensorType) -> list[str]:
    n = int(ft.numel())
    shapes = dict.fromkeys([str(ft), f"[{n}]"])
    side = isqrt(n)
    if side >= 4 and side * side == n:
        shapes[f"[1, {side}, {side}]"] = None
    if not t.is_static:
        shapes["[T, 1]"] = None
    return list(shapes)


def _typename(t: TensorType) -> str:
    return "real" if t.is_real and not t.dims else str(t)


def _show(t: TensorType) -> str:
    """A type with its number of values: `[1, 8, 8] (64 values)`."""
    text = f"`{_typename(t)}`"
    if not t.is_real:
        return text
    n = t.numel()
    if isinstance(n, int):
        return f"{text} ({n} value{'s' * (n != 1)})"
    fixed = prod(d for d in t.dims if isinstance(d, int))
    return f"{text} (a multiple of {fixed} values)" if fixed > 1 else text
