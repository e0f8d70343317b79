"""The unit registry: every kind of the catalogue, in family order; plugins add with `register`."""

from __future__ import annotations

from dataclasses import replace

from netspec.units import (
    activations,
    autoencoders,
    conv,
    energy,
    losses,
    merges,
    recurrent,
    regression,
    regularizers,
    shape,
    sparse_coding,
)
from netspec.units.base import REQUIRED, Drawing, ParamSpec, ShapeError, Signature, UnitKind

_FAMILIES = (
    regression,
    activations,
    shape,
    regularizers,
    energy,
    autoencoders,
    sparse_coding,
    conv,
    recurrent,
    merges,
    losses,
)

REGISTRY: dict[str, UnitKind] = {}


def register(kind: UnitKind, *, replace: bool = False) -> UnitKind:
    """Add a unit kind (a plugin's, or a built-in); names are unique unless `replace`."""
    if kind.name in REGISTRY and not replace:
        raise ValueError(f"unit kind `{kind.name}` is already registered")
    REGISTRY[kind.name] = kind
    return kind


for _family in _FAMILIES:
    _module = _family.__name__.rsplit(".", 1)[1]
    for _kind in _family.KINDS:
        default = f"netspec.backend.nn.{_module}:{_kind.name}"
        register(_kind if _kind.lower else replace(_kind, lower=default))


def lookup(name: str) -> UnitKind | None:
    return REGISTRY.get(name)


__all__ = [
    "REGISTRY",
    "REQUIRED",
    "Drawing",
    "ParamSpec",
    "ShapeError",
    "Signature",
    "UnitKind",
    "lookup",
    "register",
]
