"""Declared normalisation (`normalize = standard`): each real feature input scaled with the
TRAINING split's mean and standard deviation, and those statistics kept in the run folder
(`normalization.safetensors`, keys `<input>.mean` and `<input>.std`) so that evaluation and
export scale new samples the same way. The loader applies them as it reads rows
(`netspec.data.rows.Convert`). Only numpy is imported here (safetensors when a file is written
or read)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from netspec.data.rows import RowView, chunks

__all__ = ["FILE", "Statistics", "read_normalization", "statistics", "write_normalization"]

FILE = "normalization.safetensors"

# network input id -> (mean, standard deviation), each of the input's shape (float32)
Statistics = Mapping[str, tuple[np.ndarray, np.ndarray]]


def statistics(view: RowView, at_once: bool) -> tuple[np.ndarray, np.ndarray]:
    """The mean and standard deviation (float64, of a sample's shape) of the view's values, the
    deviation 1 where a value never varies (so scaling stays finite). `at_once`: over all its
    rows read into one array, as numpy reduces it (a split held in memory gets the numbers it
    always did); else in chunks, in two passes (the sum, then the squares of the deviations
    from the mean), so a split over the memory budget is never read whole.

    >>> from netspec.data.rows import Convert
    >>> x = np.array([[1.0], [3.0], [100.0]], dtype=np.float32)
    >>> view = RowView(x, Convert((1,), np.dtype(np.float32)), np.array([0, 1]))
    >>> [(m.tolist(), s.tolist()) for m, s in (statistics(view, True), statistics(view, False))]
    [([2.0], [1.0]), ([2.0], [1.0])]
    >>> view.scaled(*statistics(view, True)).take(np.array([0, 1]))[:].ravel().tolist()
    [-1.0, 1.0]
    """
    if at_once:
        seen = np.asarray(view.values(), dtype=np.float64)
        mean, std = seen.mean(axis=0), seen.std(axis=0)
    else:
        total = np.zeros(view.shape[1:])
        for part in chunks(view):
            total += part.sum(axis=0, dtype=np.float64)
        mean = total / len(view)
        squares = np.zeros(view.shape[1:])
        for part in chunks(view):
            deviations = part - mean  # float64: a chunk's only temporary
            deviations *= deviations
            squares += deviations.sum(axis=0)
        std = np.sqrt(squares / len(view))
    return mean, np.where(std > 0, std, 1.0)


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
