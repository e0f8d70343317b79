"""The memory budget of a split: over it, a split is not copied whole but read batch by batch.

`NETSPEC_STREAM_BUDGET` sets it in bytes; without it, the host's free memory times
`BUDGET_SHARE` (the loader keeps a split over it as rows of its source, `netspec.data.rows`)
and the device's free memory times the same share (`netspec.data.streaming` streams a split over
it to the device). Torch-free, so loading and `netspec check` can read it.
"""

from __future__ import annotations

import os

from netspec.diagnostics.failure import Failure
from netspec.plan.resources import host_available_bytes

__all__ = [
    "BUDGET_ENV",
    "BUDGET_SHARE",
    "BudgetError",
    "forced_budget",
    "host_budget",
    "parse_bytes",
]

BUDGET_ENV = "NETSPEC_STREAM_BUDGET"  # bytes (suffix K, M or G allowed); 0 streams every split
BUDGET_SHARE = 0.5  # of the free memory: room is left for weights, activations and the optimizer
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class BudgetError(Failure):
    """`NETSPEC_STREAM_BUDGET` holds no size."""


def parse_bytes(text: str) -> int:
    """`text` ("64M", "1G", "4096") as a count of bytes.

    >>> parse_bytes("64M"), parse_bytes("1.5k"), parse_bytes("4096")
    (67108864, 1536, 4096)
    """
    scale = _UNITS.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale > 1 else text
    try:
        value = int(float(digits) * scale)
    except ValueError:
        value = -1
    if value < 0:
        raise BudgetError(
            f"{BUDGET_ENV}={text!r} is not a size in bytes",
            help=f"set {BUDGET_ENV} to a byte count such as 64M, 1G or 4096 (0: stream all)",
        )
    return value


def forced_budget() -> int | None:
    """The budget `NETSPEC_STREAM_BUDGET` sets; None when it is not set."""
    forced = os.environ.get(BUDGET_ENV, "").strip()
    return parse_bytes(forced) if forced else None


def host_budget() -> int | None:
    """The bytes a split may take in host memory before it is kept as rows of its source;
    None where the free memory is unknown."""
    forced = forced_budget()
    if forced is not None:
        return forced
    free = host_available_bytes()
    return None if free is None else int(free * BUDGET_SHARE)
