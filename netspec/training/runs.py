"""The run directory: the spec as compiled, the manifest, per-epoch metrics, and checkpoints.

Checkpoints are safetensors files (tensors and a JSON string in the metadata; never pickle),
written atomically: a temp file in the same folder, fsync, then os.replace, so a crash leaves
either the old file or the new one. `load_checkpoint` is the one reader of them all. A stage's
own state is its executor's `state_dict()` of named fields, packed by `pack_state`: its tensors
(an optimizer's too, from `optimizer_state`) into the file, the rest into the JSON.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as st_save

from netspec.diagnostics.failure import Failure
from netspec.plan.plans import StagePlan, TrainPlan

FORMAT = "netspec-checkpoint/1"
Row = dict[str, Any]


class RunError(Failure):
    """A run directory that cannot be created, read or resumed (a user error)."""

    code = "E701"


# --- the folder ---------------------------------------------------------------------------------


def new_run_dir(root: Path, network: str, explicit: Path | None = None) -> Path:
    """`explicit`, or `root/<network>-<YYYYmmdd-HHMMSS>`, suffixed `-2`, `-3`... when taken."""
    if explicit is not None:
        if (explicit / "manifest.json").exists():
            raise RunError(f"{explicit} already holds a run; resume it with --resume {explicit}")
        explicit.mkdir(parents=True, exist_ok=True)
        return explicit
    root.mkdir(parents=True, exist_ok=True)
    base = f"{network}-{time.strftime('%Y%m%d-%H%M%S')}"
    for n in range(1, 1000):
        path = root / (base if n == 1 else f"{base}-{n}")
        try:
            path.mkdir()  # atomic: two runs started in the same second get different folders
            return path
        except FileExistsError:
            continue
    raise RunError(f"cannot find a free run folder name under {root}")


def spec_digest(texts: Sequence[str]) -> str:
    """One digest of a spec and every file it `use`s (texts in reading order), so a resume
    notices an edit to an imported block too."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little") + data)  # lengths keep file borders apart
    return digest.hexdigest()


def write_spec(run: Path, text: str, file: str, overrides: Mapping[str, str]) -> None:
    sets = " ".join(f"--set {k}={v}" for k, v in overrides.items()) or "none"
    header = f"# netspec run: the spec {file} as compiled\n# overrides: {sets}\n"
    write_atomic(run / "spec.net", (header + text).encode("utf-8"))


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    write_atomic(path, (json.dumps(data, indent=2, default=str) + "\n").encode("utf-8"))


def read_manifest(run: Path) -> dict[str, Any]:
    try:
        data = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{run} is not a run directory: cannot read manifest.json ({exc})") from None
    if not isinstance(data, dict):
        raise RunError(f"{run}/manifest.json is not a manifest")
    return data


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file beside `path`, fsync it, and swap it in; no partial file remains."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


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
    first appearance), rewritten together so they always agree."""

    def __init__(self, run: Path, keep: int | None = None, write: bool = True) -> None:
        self.jsonl, self.csv = run / "metrics.jsonl", run / "metrics.csv"
        self.write = write  # False: rows in memory only (a helper process of a parallel run)
        self.rows: list[Row] = []
        if keep is not None and self.jsonl.exists():  # resuming: drop rows after the checkpoint
            lines = self.jsonl.read_text(encoding="utf-8").splitlines()
            self.rows = [json.loads(line) for line in lines if line.strip()][:keep]
        self._write()

    def append(self, row: Row) -> None:
        self.rows.append(row)
        self._write()

    def _write(self) -> None:
        if not self.write:
            return
        text = "".join(json.dumps(r) + "\n" for r in self.rows)
        write_atomic(self.jsonl, text.encode("utf-8"))
        write_atomic(self.csv, rows_to_csv(self.rows).encode("utf-8"))


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
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)


def load_checkpoint(path: Path) -> Checkpoint:
    """Every checkpoint netspec reads: a run's (model, RNG and stage state) or a plain state
    dict. Only safetensors: a pickled torch file runs code when it is loaded."""
    if path.suffix != ".safetensors":
        raise RunError(f"`{path}` is not a .safetensors file; netspec never loads pickles")
    try:
        with safe_open(str(path), framework="pt") as f:  # type: ignore[no-untyped-call]
            raw = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not a dict)
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise RunError(f"cannot read checkpoint {path}: {exc}") from None
    try:
        meta = json.loads(raw["netspec"]) if "netspec" in raw else {}
    except ValueError:
        raise RunError(f"cannot read checkpoint {path}: its metadata is not JSON") from None
    return Checkpoint(tensors, meta)


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


def load_model(root: torch.nn.Module, tensors: Mapping[str, torch.Tensor]) -> None:
    """Load a model state; RunError naming the first mismatch when it does not fit."""
    own = root.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    wrong = [k for k in own if k in tensors and tensors[k].shape != own[k].shape]
    if missing or extra or wrong:
        what = (
            f"missing {missing[0]}"
            if missing
            else f"unexpected {extra[0]}"
            if extra
            else f"{wrong[0]} has shape {list(tensors[wrong[0]].shape)}, "
            f"not {list(own[wrong[0]].shape)}"
        )
        raise RunError(f"the checkpoint does not fit the network ({what})")
    root.load_state_dict(dict(tensors))


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


def restore_state(ckpt: Checkpoint, root: torch.nn.Module, shuffle: torch.Generator) -> None:
    load_model(root, ckpt.group("model"))
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
                "it and every file it `use`s must be as they were); start a new run instead"
            )
        raise RunError(
            f"cannot resume: {key} is {settings.get(key)!r}, but the run was started "
            f"with {manifest.get(key)!r}"
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
        "monitor": stage.monitor,
        "clip": stage.clip,
    }
