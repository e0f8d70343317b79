"""Declared normalisation (`normalize = standard`): each real feature input scaled with the
TRAINING split's mean and standard deviation, and those statistics kept in the run folder
(`normalization.safetensors`, keys `<input>.mean` and `<input>.std`) so that evaluation and
export scale new samples the same way. Only numpy is imported here (safetensors when a file
is written or read)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

__all__ = ["FILE", "Statistics", "read_normalization", "standardized", "write_normalization"]

FILE = "normalization.safetensors"

# network input id -> (mean, standard deviation), each of the input's shape (float32)
Statistics = Mapping[str, tuple[np.ndarray, np.ndarray]]


def standardized(
    arrays: Mapping[str, np.ndarray], inputs: list[str], train: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """`arrays` with each of `inputs` less its mean over the samples `train`, over their
    standard deviation (1 where a value never varies, so it stays finite); and the statistics.

    >>> a = {"x": np.array([[1.0], [3.0], [100.0]], dtype=np.float32)}
    >>> scaled, stats = standardized(a, ["x"], np.array([0, 1]))
    >>> scaled["x"].ravel().tolist(), stats["x"][0].tolist(), stats["x"][1].tolist()
    ([-1.0, 1.0, 98.0], [2.0], [1.0])
    """
    out = dict(arrays)
    stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in inputs:
        seen = np.asarray(arrays[name], dtype=np.float64)[train]
        mean, std = seen.mean(axis=0), seen.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        out[name] = ((arrays[name] - mean) / std).astype(np.float32)
        stats[name] = (mean.astype(np.float32), std.astype(np.float32))
    return out, stats


def write_normalization(run_dir: Path, stats: Statistics) -> Path | None:
    """Write the statistics to the run folder's FILE; None (and nothing written) without any."""
    if not stats:
        return None
    from safetensors.numpy import save_file

    tensors = {}
    for name, (mean, std) in stats.items():
        tensors[f"{name}.mean"] = np.ascontiguousarray(mean)
        tensors[f"{name}.std"] = np.ascontiguousarray(std)
    path = Path(run_dir) / FILE
    save_file(tensors, str(path))
    return path


def read_normalization(run_dir: Path | str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The statistics a run trained with, by input id: empty when it declared no scaling."""
    path = Path(run_dir) / FILE
    if not path.exists():
        return {}
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    names = sorted({key.rpartition(".")[0] for key in tensors})
    return {name: (tensors[f"{name}.mean"], tensors[f"{name}.std"]) for name in names}
