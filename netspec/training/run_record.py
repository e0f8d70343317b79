"""What reading a run folder's record needs, without torch: the manifest, the digest of the spec
it was compiled from, and the error for a folder that is not a run. `netspec report` and
`netspec compare` read runs through this module alone."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from netspec.diagnostics.failure import Failure

__all__ = ["RunError", "read_manifest", "spec_digest"]


class RunError(Failure):
    """A run directory that cannot be created, read or resumed (a user error)."""

    code = "E701"


def spec_digest(texts: Sequence[str]) -> str:
    """One digest of a spec and every file it `use`s (texts in reading order), so a resume
    notices an edit to an imported block too."""
    digest = hashlib.sha256()
    for text in texts:
        data = text.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little") + data)  # lengths keep file borders apart
    return digest.hexdigest()


def read_manifest(run: Path) -> dict[str, Any]:
    if run.exists() and not run.is_dir():
        raise RunError(f"{run} is a file, not a run folder", code="E705")
    try:
        data = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RunError(
            f"{run} is not a run folder: cannot read its manifest.json ({reason})", code="E705"
        ) from None
    if not isinstance(data, dict):
        raise RunError(f"{run}/manifest.json is not a manifest", code="E705")
    return data
