"""The unit registry: every kind of the catalogue, in family order; plugins add with `register`."""

from __future__ import annotations

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
from netspec.units.base import REQUIRED, ParamSpec, ShapeError, Signature, UnitKind

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
    for _kind in _family.KINDS:
        register(_kind)


def lookup(name: str) -> UnitKind | None:
    return REGISTRY.get(name)


__all__ = [
    "REGISTRY",
    "REQUIRED",
    "ParamSpec",
    "ShapeError",
    "Signature",
    "UnitKind",
    "lookup",
    "register",
]
