"""The reference pages `netspec explain` prints for a topic rather than a spec: the unit catalogue
and one kind, and the `train` catalogues (settings, data sources, optimizers, schedules,
pretraining methods) and one entry. All read from the registries, so they cannot go stale."""

from __future__ import annotations

from collections.abc import Mapping

from netspec.plan import catalog
from netspec.units import REGISTRY
from netspec.units.base import ParamSpec

# The train catalogues in the order a train section is written: title, one entry's kind, entries
# (the catalogues themselves, so entries registered at run time are listed too).
CATALOGUES: tuple[tuple[str, str, Mapping[str, catalog.Entry]], ...] = (
    ("data sources (data = ...)", "data source", catalog.SOURCES),
    ("optimizers (optimizer = ...)", "optimizer", catalog.OPTIMIZERS),
    ("learning-rate schedules (schedule = ...)", "learning-rate schedule", catalog.SCHEDULES),
    (
        "pretraining methods (method = ..., in a stage with greedy = [...])",
        "pretraining method",
        catalog.METHODS,
    ),
)


def show(value: object) -> str:
    """A default as it is written in a spec."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _signature(name: str, params: tuple[ParamSpec, ...]) -> str:
    args = ", ".join(p.name + ("" if p.required else f"={show(p.default)}") for p in params)
    return f"{name}({args})"


def _param_lines(params: tuple[ParamSpec, ...]) -> list[str]:
    lines = []
    for p in params:
        default = "required" if p.required else f"default {show(p.default)}"
        choices = f", one of {', '.join(p.choices)}" if p.choices else ""
        lines.append(f"  {p.name} ({p.type}, {default}{choices}): {p.doc}")
    return lines


def unit_listing() -> str:
    """Every unit kind, by family, with its signature and one line of doc."""
    lines, family = [], ""
    for kind in REGISTRY.values():
        if kind.family != family:
            family = kind.family
            lines.append(f"{family}:")
        lines.append(f"  {_signature(kind.name, kind.signature.params)}  {kind.doc}")
    return "\n".join(lines) + "\n"


def unit_page(name: str) -> str:
    """One unit kind: inputs, parameters, pretraining methods and an example."""
    kind = REGISTRY[name]
    inputs = ", ".join(kind.signature.inputs) + (", ..." if kind.signature.variadic else "")
    lines = [f"{name}: {kind.doc}", f"  family: {kind.family}", f"  inputs: {inputs}"]
    lines += _param_lines(kind.signature.params)
    if kind.pretrain:
        lines.append(f"  pretraining: {', '.join(kind.pretrain)}")
    lines.append("example:")
    lines += [f"  {line}" for line in kind.example.splitlines()]
    return "\n".join(lines) + "\n"


# The settings whose values are catalogue calls or unit lists, which SCALARS does not describe.
_CALL_SETTINGS = {
    "data": "where the samples come from: a data source below (required)",
    "optimizer": "an optimizer below (default adam())",
    "schedule": "a learning-rate schedule below (default constant())",
    "greedy": "units to pretrain one by one, bottom-up, such as [h1, h2]",
    "method": "the pretraining method of the greedy units (default: each kind's first)",
    "freeze": "units whose weights stay fixed in this stage, such as [h1]",
}


def _setting_doc(name: str) -> str:
    if name in _CALL_SETTINGS:
        return _CALL_SETTINGS[name]
    spec = catalog.SCALARS[name]
    if name == "epochs":
        return f"{spec.doc} (default {catalog.DEFAULT_EPOCHS} unless `steps` is set)"
    return spec.doc if spec.default is None else f"{spec.doc} (default {show(spec.default)})"


def train_listing() -> str:
    """The settings of a train section or stage, then every catalogue entry with its
    signature."""
    groups = {
        "section settings": catalog.SECTION_KEYS,
        "settings of the section that stages inherit, or of one stage": catalog.SHARED_KEYS,
        "stage settings": catalog.STAGE_KEYS,
    }
    width = max(len(name) for keys in groups.values() for name in keys)
    lines = []
    for title, keys in groups.items():
        lines.append(f"{title}:")
        lines += [f"  {name:<{width}}  {_setting_doc(name)}" for name in keys]
    for title, _, entries in CATALOGUES:
        lines.append(f"{title}:")
        for entry in entries.values():
            lines.append(f"  {_signature(entry.name, entry.params)}  {entry.doc}")
    return "\n".join(lines) + "\n"


def catalogue_entry(name: str) -> tuple[str, catalog.Entry] | None:
    """The kind and entry of a data source, optimizer, schedule or method called `name`."""
    for _, kind, entries in CATALOGUES:
        if name in entries:
            return kind, entries[name]
    return None


def entry_page(name: str) -> str:
    """One data source, optimizer, schedule or method: its doc and parameters."""
    found = catalogue_entry(name)
    assert found is not None, name
    kind, entry = found
    lines = [f"{name}: {entry.doc}", f"  ({kind})"]
    lines += _param_lines(entry.params)
    if name in catalog.METHODS:
        lines.append(f"  trains: {', '.join(catalog.method_kinds(name))}")
    return "\n".join(lines) + "\n"
