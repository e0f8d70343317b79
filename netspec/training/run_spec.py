"""The spec a run was compiled from, kept in its folder: every file read (the spec and the files
it `use`s, byte for byte) under `source/`, and what is needed to compile them again as they were
(`--set` values, network, allowed folders) in the manifest. `compile_run` rebuilds it from there,
so `netspec eval RUN` needs neither the original files nor the command line typed again.

Data files are not copied (they can be large): a rebuilt spec reads them where the original
spec's folder was. Torch-free, like the compiler.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netspec.api import Compiled, compile
from netspec.build.paths import TEXT_SOURCES
from netspec.diagnostics.failure import Failure

SOURCE = "source"  # the folder of a run that holds its spec's files
TEXT_NAME = "stdin.net"  # what a spec read from stdin is called in the copy


class RunSpecError(Failure):
    """A run folder whose spec cannot be compiled again from the folder itself."""

    code = "E708"


@dataclass(frozen=True)
class RunSpec:
    """A run's spec compiled again from its own folder, with the manifest that describes it."""

    compiled: Compiled
    manifest: dict[str, Any]
    network: str
    overrides: dict[str, str]


def source_record(
    run: Path, compiled: Compiled, overrides: Mapping[str, str], allow_paths: Sequence[str]
) -> dict[str, Any]:
    """Copy every file the compilation read into `run/source/` (keeping their folders relative
    to each other, so each `use` resolves as it did) and return the manifest's `source` entry."""
    from netspec.training.runs import make_folder, write_atomic  # torch-side helpers

    read = compiled.sources.files()
    root = read[0]
    home = _home(root)
    absolute = {f: _absolute(f, home) for f in read}
    top = os.path.commonpath([os.path.dirname(a) for a in absolute.values()])
    files: dict[str, str] = {}
    for f in read:
        copy = Path(SOURCE, os.path.relpath(absolute[f], top))
        make_folder(run / copy.parent)
        write_atomic(run / copy, (compiled.sources.text(f) or "").encode("utf-8"), "spec copy")
        files[os.path.relpath(absolute[f], home)] = copy.as_posix()
    return {
        "root": os.path.relpath(absolute[root], home),
        "folder": home,
        "files": files,
        "overrides": dict(overrides),
        "allow_paths": [os.path.abspath(p) for p in allow_paths],
    }


def compile_run(run: Path, overrides: Mapping[str, str] | None = None) -> RunSpec:
    """Compile the run's copy of its spec with the run's `--set` values (`overrides` added on
    top); the copy must still be what was trained (its digest is in the manifest)."""
    from netspec.training.run_record import read_manifest  # RunError E705 without one

    manifest = read_manifest(run)
    record = manifest.get("source")
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        raise RunSpecError(
            f"the run folder {run} holds no copy of its spec (it was written before netspec "
            "kept one)",
            help=f"name the spec and the checkpoint: SPEC --checkpoint {run}/checkpoints/"
            "last.safetensors, with the run's --set values",
        )
    home = str(record["folder"])
    files: dict[str, str] = record["files"]

    def read(path: str) -> str:
        key = os.path.relpath(os.path.abspath(path), home)
        copy = files.get(key)
        if copy is None:
            raise FileNotFoundError(errno.ENOENT, "not among the files the run was built from")
        return (run / copy).read_text(encoding="utf-8")

    root = _shown(os.path.join(home, str(record["root"])))
    sets = {**record.get("overrides", {}), **(overrides or {})}
    try:
        text = read(root)
    except OSError as exc:
        raise RunSpecError(f"cannot read the copy of {root} in {run}: {exc.strerror}") from None
    compiled = compile(text, root, sets, allow_paths=record.get("allow_paths", ()), read=read)
    _check_digest(run, compiled, manifest)
    network = str(manifest.get("network") or compiled.network().name)
    return RunSpec(compiled, manifest, network, sets)


def _check_digest(run: Path, compiled: Compiled, manifest: Mapping[str, Any]) -> None:
    from netspec.training.run_record import spec_digest

    texts = [compiled.sources.text(f) or "" for f in compiled.sources.files()]
    if spec_digest(texts) != manifest.get("spec_sha256"):
        raise RunSpecError(
            f"the copy of the spec in {run}/{SOURCE} is not the spec the run trained "
            "(its digest differs from the manifest's spec_sha256)",
            help="restore the files under source/ as the run wrote them",
        )


def _home(root: str) -> str:
    """The folder a spec's relative paths start from: its own, or the current one for stdin."""
    return os.path.abspath("." if root in TEXT_SOURCES else os.path.dirname(root) or ".")


def _absolute(file: str, home: str) -> str:
    return os.path.join(home, TEXT_NAME) if file in TEXT_SOURCES else os.path.abspath(file)


def _shown(path: str) -> str:
    """A path as messages show it: relative to the current folder when it lies below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
