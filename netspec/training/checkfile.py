"""What is wrong with a checkpoint file that netspec cannot use, one message per kind of damage.

`sniff` reads only a file's first bytes and its safetensors header, before any tensor: a
PyTorch pickle (torch.save's zip or a bare pickle), a file cut short, or some other format.
`check_fit` compares a checkpoint's tensors with a model's: another network's weights (other unit
names) or the same network from a different spec (other shapes), listing every tensor that
differs, not only the first.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from netspec.diagnostics.failure import Failure

if TYPE_CHECKING:
    import torch

    from netspec.training.runs import Checkpoint

HEADER_LIMIT = 100_000_000  # safetensors refuses larger headers too
ZIP_MAGIC = b"PK\x03\x04"  # torch.save since PyTorch 1.6: a zip of pickles
PICKLE_PROTOCOLS = range(2, 6)  # a bare pickle starts with PROTO (0x80) and its version


class CheckpointError(Failure, ValueError):
    """A checkpoint that cannot be read or does not fit (a user error). A ValueError too, as
    `netspec.backend.export.load_checkpoint` has always raised."""

    code = "E712"


USE_A_RUNS = "use a checkpoint a netspec run wrote (runs/<run>/checkpoints/*.safetensors)"


def sniff(path: Path) -> None:
    """CheckpointError when `path` is plainly no readable safetensors file; silence otherwise
    (safetensors itself then reads it)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            length = struct.unpack("<Q", head)[0] if len(head) == 8 else 0
            header = f.read(min(length, HEADER_LIMIT)) if length else b""
    except OSError as exc:
        raise CheckpointError(
            f"cannot read checkpoint {path}: {exc.strerror or exc}", code="E718"
        ) from None
    if head.startswith(ZIP_MAGIC) or (head[:1] == b"\x80" and head[1] in PICKLE_PROTOCOLS):
        raise CheckpointError(
            f"{path} looks like a PyTorch pickle (torch.save); netspec reads only safetensors "
            "and never loads pickles (loading one runs its code)",
            code="E711",
            help="save the weights with safetensors.torch.save_file(model.state_dict(), PATH), "
            "or " + USE_A_RUNS,
        )
    if size == 0:
        raise _truncated(path, "it is empty")
    if len(head) < 8:
        raise _truncated(path, f"it has {size} bytes, less than a safetensors header's size")
    if not header.lstrip().startswith(b"{"):
        raise CheckpointError(
            f"{path} is not a safetensors file (it does not start with a safetensors header)",
            code="E712",
            help=USE_A_RUNS,
        )
    if 8 + length > size:
        raise _truncated(path, f"it has {size} bytes, but its header alone needs {8 + length}")
    try:
        entries: Any = json.loads(header)
        ends = [
            int(e["data_offsets"][1])
            for k, e in entries.items()
            if k != "__metadata__" and isinstance(e, dict)
        ]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        raise CheckpointError(
            f"{path} is not a safetensors file (its header is not a safetensors header)",
            code="E712",
            help=USE_A_RUNS,
        ) from None
    needed = 8 + length + max(ends, default=0)
    if needed > size:
        raise _truncated(path, f"it has {size} bytes, but its header describes {needed}")


def _truncated(path: Path, why: str) -> CheckpointError:
    return CheckpointError(
        f"checkpoint {path} is truncated: {why}",
        code="E713",
        help="the file was cut short (a copy that did not finish, a full disk); copy it again, "
        "or use another checkpoint of the run (best.safetensors, after-<stage>.safetensors)",
    )


def check_fit(
    own: Mapping[str, torch.Tensor],
    tensors: Mapping[str, torch.Tensor],
    ckpt: Checkpoint | None = None,
    network: str = "",
) -> None:
    """CheckpointError listing every tensor that differs when `tensors` do not fit a model's
    state dict `own`: missing or unexpected names (another network's checkpoint) or different
    shapes (the same network from another spec)."""
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    wrong = [k for k in own if k in tensors and tensors[k].shape != own[k].shape]
    if not (missing or extra or wrong):
        return
    where = f"checkpoint {ckpt.path}" if ckpt is not None else "the checkpoint"
    theirs = ckpt.meta.get("network") if ckpt is not None else None
    net = f"network `{network}`" if network else "the network"
    lines = [f"missing: {k} {_shape(own[k])}" for k in missing]
    lines += [f"unexpected: {k} {_shape(tensors[k])}" for k in extra]
    lines += [
        f"shape: {k} is {_shape(tensors[k])} in the checkpoint, {_shape(own[k])} in the network"
        for k in wrong
    ]
    sizes = ((len(missing), "missing"), (len(extra), "unexpected"), (len(wrong), "misshapen"))
    counts = ", ".join(f"{n} {what}" for n, what in sizes if n)
    if ckpt is not None and not ckpt.netspec:
        raise CheckpointError(
            f"{where} is a safetensors file but not a netspec checkpoint (no netspec format in "
            f"its metadata), and it does not fit {net} ({counts})",
            code="E714",
            note="\n".join(lines),
            help=USE_A_RUNS,
        )
    if missing or extra:
        other = f" (it was written for network `{theirs}`)" if theirs and theirs != network else ""
        raise CheckpointError(
            f"{where} does not fit {net}: it holds another network's weights{other}, with other "
            f"tensor names ({counts})",
            code="E715",
            note="\n".join(lines),
            help="give the spec and --network the checkpoint was trained with",
        )
    raise CheckpointError(
        f"{where} does not fit {net}: it is from a different spec ({len(wrong)} of its "
        "tensors have other shapes)",
        code="E716",
        note="\n".join(lines),
        help="the spec (or a --set value) changed since it was trained; use the spec and --set "
        "values of its run (the run folder's spec.net)",
    )


def _shape(tensor: torch.Tensor) -> str:
    return str(list(tensor.shape))
