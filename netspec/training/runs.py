"""The run directory: the spec as compiled, the manifest, per-epoch metrics, and checkpoints.

Checkpoints are safetensors files (tensors and a JSON string in the metadata; never pickle),
written atomically: a temp file in the same folder, fsync, then os.replace, so a crash leaves
either the old file or the new one (and a temp file, which the next start removes); a failed write
is a WriteError naming the path and the free space. `load_checkpoint` is the one reader of them
all, and says what is wrong with a damaged or foreign file (netspec.training.checkfile). A stage's
own state is its executor's `state_dict()` of named fields, packed by `pack_state`: its tensors
(an optimizer's too, from `optimizer_state`) into the file, the rest into the JSON.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import random
import shlex
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from netspec.plan.plans import StagePlan, TrainPlan
from netspec.training.checkfile import CheckpointError, check_fit, sniff
from netspec.training.run_record import RunError as RunError
from netspec.training.run_record import read_manifest as read_manifest
from netspec.training.run_record import spec_digest as spec_digest

FORMAT = "netspec-checkpoint/1"
Row = dict[str, Any]


class WriteError(RunError, OSError):
    """A file of the run could not be written (a full disk, a file size limit, permissions); the
    file it would have replaced is untouched. An OSError too, for callers that catch those."""

    code = "E710"


# --- the folder ---------------------------------------------------------------------------------


def new_run_dir(root: Path, network: str, explicit: Path | None = None) -> Path:
    """`explicit`, or `root/<network>-<YYYYmmdd-HHMMSS>`, suffixed `-2`, `-3`... when taken."""
    if explicit is not None:
        if (explicit / "manifest.json").exists():
            raise RunError(
                f"{explicit} already holds a run; resume it with --resume {explicit}",
                code="E704",
                help="or give --run-dir a new folder",
            )
        make_folder(explicit)
        remove_stale_temps(explicit)
        return explicit
    make_folder(root)
    base = f"{network}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()  # atomic: two runs started in the same second get different folders
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise _folder_error(path, exc) from None
    raise RunError(f"cannot find a free run folder name under {root}")


def make_folder(path: Path) -> None:
    """`path` and its parents as folders; RunError saying what is in the way."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _folder_error(path, exc) from None


def _folder_error(path: Path, exc: OSError) -> RunError:
    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        where = "it" if blocker == path else str(blocker)
        return RunError(
            f"cannot create the run folder {path}: {where} is a file, not a folder",
            code="E703",
            help="choose another --runs or --run-dir, or move the file away",
        )
    return RunError(
        f"cannot create the run folder {path}: {exc.strerror or exc}",
        code="E702",
        help="choose a --runs folder you can write to (default: runs/ in the current folder)",
    )


def remove_stale_temps(run: Path) -> list[Path]:
    """Delete the temp files `write_atomic` left in `run` when a process was killed mid-write
    (those of a process still alive are its own, and stay); the paths removed."""
    removed = []
    for folder in (run, run / "checkpoints"):
        for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
            pid = tmp.name.rsplit(".", 2)[-2]
            if pid.isdigit() and int(pid) != os.getpid() and _alive(int(pid)):
                continue
            with contextlib.suppress(OSError):  # a leftover that will not go harms nothing
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def _alive(pid: int) -> bool:
    if os.name != "posix":
        return True  # Windows' os.kill would end the process; keep its files instead
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process
    return True


def write_spec(run: Path, text: str, file: str, overrides: Mapping[str, str]) -> None:
    sets = " ".join(f"--set {k}={v}" for k, v in overrides.items()) or "none"
    header = f"# netspec run: the spec {file} as compiled\n# overrides: {sets}\n"
    write_atomic(run / "spec.net", (header + text).encode("utf-8"), "spec copy")


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    text = json.dumps(data, indent=2, default=str) + "\n"
    write_atomic(path, text.encode("utf-8"), path.stem)


def write_atomic(path: Path, data: bytes, what: str = "") -> None:
    """Write to a temp file beside `path`, fsync it, and swap it in; no partial file remains.
    A failure is a WriteError naming `what` (default: the file's name) and the free space."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # the original failure is the one to report
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise write_error(path, exc, what) from None
        raise
    _fsync_dir(path.parent)


def write_error(path: Path, exc: OSError, what: str = "") -> WriteError:
    """`cannot write checkpoint X: No space left on device (0 B free on that disk); the previous
    checkpoint is kept`."""
    what = what or path.name
    reason = exc.strerror or str(exc)
    try:
        free = f" ({format_bytes(shutil.disk_usage(path.parent).free)} free on that disk)"
    except OSError:
        free = ""
    kept = f"the previous {what} is kept" if path.exists() else f"no {what} was written"
    full = exc.errno in (errno.ENOSPC, errno.EFBIG, getattr(errno, "EDQUOT", errno.ENOSPC))
    return WriteError(
        f"cannot write {what} {path}: {reason}{free}; {kept}",
        help="make room on that disk (or raise the file size limit), then continue the run "
        "with --resume"
        if full
        else "check that the run folder can be written, then continue the run with --resume",
    )


def format_bytes(n: int) -> str:
    """`0 B`, `512 B`, `3.2 KiB`, `1.5 GiB`.

    >>> [format_bytes(n) for n in (0, 1023, 3277, 3 * 2**40)]
    ['0 B', '1023 B', '3.2 KiB', '3.0 TiB']
    """
    size, unit = float(n), "B"
    for larger in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable; not every platform can open a folder, so best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- metrics ------------------------------------------------------------------------------------


class MetricsLog:
    """metrics.jsonl (one JSON object per row) and metrics.csv (the same rows, columns in order of
    first appearance). Each row is appended to metrics.jsonl as it comes, so the log can be
    followed live; `flush` rewrites both files atomically, so at every checkpoint they agree."""

    def __init__(self, run: Path, keep: int | None = None, write: bool = True) -> None:
        self.jsonl, self.csv = run / "metrics.jsonl", run / "metrics.csv"
        self.write = write  # False: rows in memory only (a helper process of a parallel run)
        self.rows: list[Row] = []
        if keep is not None and self.jsonl.exists():  # resuming: drop rows after the checkpoint
            lines = [ln for ln in self.jsonl.read_text(encoding="utf-8").splitlines() if ln.strip()]
            self.rows = [json.loads(line) for line in lines[:keep]]  # a torn last line is past it
        self.flush()

    def append(self, row: Row) -> None:
        self.rows.append(row)
        if self.write:
            try:
                with open(self.jsonl, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
            except OSError as exc:
                raise write_error(self.jsonl, exc, "metrics log") from None

    def flush(self) -> None:
        if not self.write:
            return
        text = "".join(json.dumps(r) + "\n" for r in self.rows)
        write_atomic(self.jsonl, text.encode("utf-8"), "metrics log")
        write_atomic(self.csv, rows_to_csv(self.rows).encode("utf-8"), "metrics table")


def rows_to_csv(rows: list[Row]) -> str:
    columns = list(dict.fromkeys(k for r in rows for k in r))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if r.get(k) is None else r[k]) for k in columns})
    return out.getvalue()


# --- checkpoints ----------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    tensors: dict[str, torch.Tensor]
    meta: dict[str, Any]
    path: Path = Path("checkpoint.safetensors")
    netspec: bool = True  # written by netspec (its format metadata), not a plain state dict

    def group(self, prefix: str) -> dict[str, torch.Tensor]:
        """The tensors under `prefix/`, with the prefix removed."""
        start = f"{prefix}/"
        return {k[len(start) :]: v for k, v in self.tensors.items() if k.startswith(start)}

    def model_state(self) -> dict[str, torch.Tensor]:
        """The model's state dict: a run checkpoint's `model/` tensors, or every tensor of a
        plain state dict saved with safetensors."""
        return self.group("model") or dict(self.tensors)

    def stage_state(self) -> Any:
        """The stage's own state, as its executor's `state_dict()` gave it (see `pack_state`)."""
        return unpack_state(self.meta["state"], self.tensors)


def save_checkpoint(path: Path, tensors: Mapping[str, torch.Tensor], meta: Any) -> None:
    # Own contiguous CPU copies: safetensors refuses tensors that share storage.
    owned = {k: v.detach().to("cpu", copy=True).contiguous() for k, v in tensors.items()}
    data = st_save(owned, metadata={"format": FORMAT, "netspec": json.dumps(meta)})
    make_folder(path.parent)
    write_atomic(path, data, "checkpoint")


def load_checkpoint(path: Path) -> Checkpoint:
    """Every checkpoint netspec reads: a run's (model, RNG and stage state) or a plain state
    dict. Only safetensors (a pickled torch file runs code when it is loaded); a file that is
    not one, or is damaged, is a CheckpointError saying which."""
    sniff(path)  # pickles, truncated files, other formats: each its own message
    try:
        with safe_open(str(path), framework="pt") as f:  # type: ignore[no-untyped-call]
            raw = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise CheckpointError(
            f"cannot read checkpoint {path}: {exc}",
            code="E712",
            help="it is not a safetensors file netspec can read; use a checkpoint a run wrote",
        ) from None
    try:
        meta = json.loads(raw["netspec"]) if "netspec" in raw else {}
    except ValueError:
        raise CheckpointError(
            f"cannot read checkpoint {path}: its netspec metadata is not JSON", code="E714"
        ) from None
    return Checkpoint(tensors, meta, path, raw.get("format") == FORMAT)


def resumable(ckpt: Checkpoint) -> Checkpoint:
    """`ckpt` if it is a run's resume point (last.safetensors); else CheckpointError."""
    if not ckpt.netspec:
        raise CheckpointError(
            f"cannot resume from {ckpt.path}: it is a safetensors file but not a netspec "
            "checkpoint (no netspec format in its metadata)",
            code="E714",
            help="a run resumes only from the last.safetensors it wrote itself",
        )
    missing = [k for k in ("stage", "global_step", "rows", "state", "rng") if k not in ckpt.meta]
    if missing:
        raise CheckpointError(
            f"cannot resume from {ckpt.path}: it is a netspec checkpoint without a run's state "
            f"({', '.join(missing)} missing), such as after-<stage>.safetensors",
            code="E717",
            help="a run resumes from its checkpoints/last.safetensors",
        )
    return ckpt


# --- a stage's own state: named fields, tensors among them ---------------------------------------

TENSOR = "$tensor"  # in a checkpoint's JSON, {"$tensor": key} stands for the tensor saved as key


def pack_state(state: Any, prefix: str = "state") -> tuple[dict[str, torch.Tensor], Any]:
    """A `state_dict()` (dicts of named fields holding JSON values and tensors) as checkpoint
    tensors named `<prefix>/<field>/...` and JSON in which each tensor is `{"$tensor": name}`.

    >>> tensors, meta = pack_state({"step": 3, "velocity": {"W": torch.zeros(2)}})
    >>> list(tensors), meta
    (['state/velocity/W'], {'step': 3, 'velocity': {'W': {'$tensor': 'state/velocity/W'}}})
    """
    tensors: dict[str, torch.Tensor] = {}

    def pack(value: Any, name: str) -> Any:
        if isinstance(value, torch.Tensor):
            if name in tensors:
                raise ValueError(f"two tensors of a stage's state are both named `{name}`")
            tensors[name] = value
            return {TENSOR: name}
        if isinstance(value, Mapping):
            return {str(k): pack(v, f"{name}/{k}") for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [pack(v, f"{name}/{i}") for i, v in enumerate(value)]
        return value

    return tensors, pack(state, prefix)


def unpack_state(meta: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The `state_dict()` that `pack_state` packed: each `{"$tensor": name}` is the tensor again
    (on the CPU: the owner moves it, and an optimizer keeps its step counts there)."""
    if isinstance(meta, dict):
        if meta.keys() == {TENSOR}:
            return tensors[meta[TENSOR]]
        return {k: unpack_state(v, tensors) for k, v in meta.items()}
    if isinstance(meta, list):
        return [unpack_state(v, tensors) for v in meta]
    return meta


def model_tensors(root: torch.nn.Module, prefix: str = "model") -> dict[str, torch.Tensor]:
    return {f"{prefix}/{k}": v for k, v in root.state_dict().items()}


def load_model(
    root: torch.nn.Module,
    tensors: Mapping[str, torch.Tensor],
    ckpt: Checkpoint | None = None,
    network: str = "",
) -> None:
    """Load a model state; a CheckpointError listing every missing, unexpected and misshapen
    tensor when it does not fit (naming `ckpt`'s file and the network when given)."""
    check_fit(root.state_dict(), tensors, ckpt, network)
    root.load_state_dict(dict(tensors))


def load_weights(root: torch.nn.Module, path: Path, network: str = "") -> Checkpoint:
    """A checkpoint's model weights (a run's `model/` tensors, or a plain state dict) loaded
    into `root`, the network `network`; the checkpoint read."""
    ckpt = load_checkpoint(path)
    load_model(root, ckpt.model_state(), ckpt, network)
    return ckpt


def optimizer_state(opt: torch.optim.Optimizer) -> dict[str, Any]:
    """An optimizer's state for a `state_dict()`: `state`, each parameter's entries (momentum
    buffers, Adam moments, step counts) by the parameter's index, and the param `groups`."""
    sd = opt.state_dict()
    state = {str(index): dict(entries) for index, entries in sd["state"].items()}
    return {"state": state, "groups": sd["param_groups"]}


def load_optimizer_state(opt: torch.optim.Optimizer, saved: Mapping[str, Any]) -> None:
    """The inverse of `optimizer_state`, after JSON: indices back to ints, betas to tuples."""
    state = {int(index): dict(entries) for index, entries in saved["state"].items()}
    groups = [
        {**g, **({"betas": tuple(g["betas"])} if "betas" in g else {})} for g in saved["groups"]
    ]
    opt.load_state_dict({"state": state, "param_groups": groups})


def rng_state(shuffle: torch.Generator) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every random stream a step draws from: torch (CPU and CUDA), numpy, Python, shuffling."""
    tensors = {"rng/torch": torch.get_rng_state(), "rng/shuffle": shuffle.get_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    state: Any = np.random.get_state(legacy=True)
    name, keys, pos, has_gauss, cached = state
    version, internal, gauss = random.getstate()
    meta = {
        "numpy": [name, keys.tolist(), pos, has_gauss, cached],
        "python": [version, list(internal), gauss],
    }
    return tensors, meta


def restore_rng(shuffle: torch.Generator, ckpt: Checkpoint, meta: dict[str, Any]) -> None:
    rng = ckpt.group("rng")
    torch.set_rng_state(rng["torch"])
    shuffle.set_state(rng["shuffle"])
    cuda = [rng[f"cuda/{i}"] for i in range(len(rng)) if f"cuda/{i}" in rng]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    name, keys, pos, has_gauss, cached = meta["numpy"]
    np.random.set_state((name, np.array(keys, dtype=np.uint32), pos, has_gauss, cached))
    version, internal, gauss = meta["python"]
    random.setstate((version, tuple(internal), gauss))


def save_state(
    path: Path,
    root: torch.nn.Module,
    shuffle: torch.Generator,
    meta: Mapping[str, Any],
    extra: Mapping[str, torch.Tensor],
) -> None:
    """A resumable checkpoint: the model, every RNG state, and the stage's own tensors."""
    rng_tensors, rng_meta = rng_state(shuffle)
    tensors = {**model_tensors(root), **rng_tensors, **extra}
    save_checkpoint(path, tensors, {**meta, "rng": rng_meta})


def restore_state(
    ckpt: Checkpoint, root: torch.nn.Module, shuffle: torch.Generator, network: str = ""
) -> None:
    load_model(root, ckpt.group("model"), ckpt, network)
    restore_rng(shuffle, ckpt, ckpt.meta["rng"])


def environment() -> dict[str, Any]:
    """Versions and machine, for the manifest."""
    import platform

    from netspec import __version__

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else None
    return {
        "netspec": __version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "gpu": gpu,
    }


# The settings a resumed run must share with the run it continues.
RESUME_KEYS = (
    "network",
    "spec_sha256",
    "overrides",
    "seed",
    "epochs_override",
    "steps_override",
    "smoke",
    "skip_stages",
)
# What a manifest written before a setting existed meant by leaving it out.
RESUME_DEFAULTS: dict[str, Any] = {"skip_stages": [], "smoke": False}


def manifest(
    settings: Mapping[str, Any], plan: TrainPlan, sizes: Mapping[str, int], argv: Sequence[str]
) -> dict[str, Any]:
    """manifest.json: the run's settings, versions, command, data and stages."""
    return {
        **settings,
        **environment(),
        "command": shlex.join(argv),
        "started": now(),
        "data": {"source": plan.data.source, "params": dict(plan.data.params), **sizes},
        "stages": [_describe(s) for s in plan.stages],
    }


def check_resume(manifest: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    for key in RESUME_KEYS:
        if manifest.get(key, RESUME_DEFAULTS.get(key)) == settings.get(key):
            continue
        if key == "spec_sha256":
            files = [str(settings.get("spec")), *settings.get("spec_uses", [])]
            raise RunError(
                f"cannot resume: the spec has changed since the run started ({', '.join(files)}; "
                "it and every file it `use`s must be as they were); start a new run instead",
                code="E706",
            )
        raise RunError(
            f"cannot resume: {key} is {settings.get(key)!r}, but the run was started "
            f"with {manifest.get(key)!r}",
            code="E707",
        )


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _describe(stage: StagePlan) -> dict[str, Any]:
    return {
        "name": stage.name,
        "kind": stage.kind,
        "optimizer": {"name": stage.optimizer.name, **stage.optimizer.params},
        "schedule": {"name": stage.schedule.name, **stage.schedule.params},
        "batch": stage.batch,
        "epochs": stage.epochs,
        "steps": stage.steps,
        "freeze": list(stage.freeze),
        "early_stop": stage.early_stop,
        "eval_every": stage.eval_every,
        "monitor": stage.monitor,
        "clip": stage.clip,
    }
