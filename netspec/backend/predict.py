"""`netspec predict`: run a trained network on new samples and write what it predicts.

Rows come as CSV (a file or stdin), or arrays as `.npy` (the one input) or `.npz` (arrays named
after the inputs). A CSV row is one sample: with one input `x: [n]`, its n numbers, in order;
with several inputs, a header naming each input's columns `x.0`, `x.1`, ... or `x.NAME` as a
training CSV's groups are (and `t` for an input `t` of one value). A header
row is optional with one input; its columns named after the network's other inputs or the run's
targets (labels left in the file) are left out. Inputs are scaled as the run scaled them.

A class output (a softmax) is written as its predicted class and one probability column per
class (`y`, `y.p0`, `y.p1`, ...); any other output as its values (`y.0`, `y.1`, ...). Outputs
with more than one axis (a sequence, an image) go to an `.npz` (`-o out.npz`).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
import torch

from netspec.diagnostics.failure import Failure
from netspec.types import TensorType

if TYPE_CHECKING:
    from netspec.backend.lower import Lowered
    from netspec.ir import Graph

BATCH = 1024  # samples per forward pass: bounded memory for any number of rows


class PredictError(Failure):
    """Samples that cannot be read as the network's inputs (a user error)."""

    code = "E762"


@dataclass(frozen=True)
class Predictions:
    """Every output of the network, by output name, for every sample; and which are classes."""

    outputs: dict[str, np.ndarray]
    classes: dict[str, bool]  # output -> whether it is a distribution over classes

    def __len__(self) -> int:
        return len(next(iter(self.outputs.values()))) if self.outputs else 0


# --- reading samples ----------------------------------------------------------------------------


def read_samples(
    source: str | None, stdin: IO[str], lowered: Lowered, skip: Sequence[str] = ()
) -> dict[str, np.ndarray]:
    """The model inputs from `source` (a .csv, .npy or .npz path; None: CSV on `stdin`), one
    array per input with the samples first; `skip` names CSV columns to leave out."""
    if source is not None and source.endswith((".npy", ".npz")):
        return _arrays(Path(source), lowered)
    if source is None:
        text, name = stdin.read(), "<stdin>"
    else:
        try:
            text, name = Path(source).read_text(encoding="utf-8"), source
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise PredictError(f"cannot read {source}: {reason}") from None
    return _csv(text, name, lowered, skip)


def _arrays(path: Path, lowered: Lowered) -> dict[str, np.ndarray]:
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise PredictError(f"cannot read {path}: {exc}") from None
    if isinstance(loaded, np.ndarray):
        if len(lowered.model_inputs) != 1:
            names = ", ".join(lowered.model_inputs)
            raise PredictError(
                f"{path} holds one array, but the network takes {len(lowered.model_inputs)} "
                f"inputs ({names})",
                help="give an .npz with an array named after each input",
            )
        arrays = {lowered.model_inputs[0]: loaded}
    else:
        with loaded:
            missing = [i for i in lowered.model_inputs if i not in loaded.files]
            if missing:
                raise PredictError(
                    f"{path} has no array named {', '.join(missing)} "
                    f"(it has {', '.join(loaded.files) or 'none'})",
                    help="name each array of the .npz after the network input it feeds",
                )
            arrays = {i: loaded[i] for i in lowered.model_inputs}
    for name, array in arrays.items():
        _check_shape(name, array, lowered.input_types[name], str(path))
    return arrays


def _check_shape(name: str, array: np.ndarray, kind: TensorType, where: str) -> None:
    fixed = [(a, d) for a, d in enumerate(kind.dims, start=1) if isinstance(d, int)]
    if array.ndim != len(kind.dims) + 1 or any(array.shape[a] != d for a, d in fixed):
        raise PredictError(
            f"{where}: input `{name}` is declared {kind}, so its array must be "
            f"[samples, {', '.join(str(d) for d in kind.dims)}]; it is {list(array.shape)}"
        )


def _csv(text: str, name: str, lowered: Lowered, skip: Sequence[str]) -> dict[str, np.ndarray]:
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    if not rows:
        raise PredictError(f"{name} holds no rows to predict")
    header = None if all(_number(c) for c in rows[0]) else [c.strip() for c in rows[0]]
    body = rows[1:] if header else rows
    columns = _columns(header, lowered, skip, name, len(rows[0]))
    arrays = {}
    for inp, picked in columns.items():
        values = np.empty((len(body), len(picked)), dtype=np.float64)
        for r, row in enumerate(body):
            if len(row) != len(rows[0]):
                raise PredictError(
                    f"{name}:{r + 1 + bool(header)}: {len(row)} cells, but the first row has "
                    f"{len(rows[0])}"
                )
            for k, c in enumerate(picked):
                cell = row[c].strip()
                if not _number(cell):
                    raise PredictError(
                        f"{name}:{r + 1 + bool(header)}:{c + 1}: `{cell}` is not a number"
                    )
                values[r, k] = float(cell)
        kind = lowered.input_types[inp]
        shape = tuple(d for d in kind.dims if isinstance(d, int))
        dtype = np.int64 if kind.dtype == "class" else np.float32
        arrays[inp] = values.reshape(len(body), *shape).astype(dtype)
    return arrays


def _columns(
    header: list[str] | None, lowered: Lowered, skip: Sequence[str], name: str, width: int
) -> dict[str, list[int]]:
    """Which columns feed each model input."""
    sizes = {}
    for inp in lowered.model_inputs:
        kind = lowered.input_types[inp]
        if any(not isinstance(d, int) for d in kind.dims) or len(kind.dims) > 1:
            raise PredictError(
                f"input `{inp}` is {kind}: a CSV row holds only numbers or vectors",
                help="give the samples as an .npy or .npz file",
            )
        sizes[inp] = math.prod(d for d in kind.dims if isinstance(d, int))
    if len(sizes) == 1 and (header is None or not _named(header, sizes)):
        ((inp, size),) = sizes.items()
        left = set(skip) - set(lowered.model_inputs)
        kept = [c for c in range(width) if header is None or header[c] not in left]
        if len(kept) != size:
            shown = (
                f" after leaving out {', '.join(sorted(left & set(header)))}"
                if header and left & set(header)
                else ""
            )
            raise PredictError(
                f"{name}: a row has {len(kept)} values{shown}, but input `{inp}` takes {size}",
                help="one row per sample, the input's values in order (a header is optional)",
            )
        return {inp: kept}
    if header is None:
        raise PredictError(
            f"{name} has no header, but the network takes {len(sizes)} inputs",
            help=f"name the columns: {', '.join(_names(i, n)[0] for i, n in sizes.items())}, ...",
        )
    found = {}
    for inp, size in sizes.items():
        # `x` alone, or `x.0`, `x.1`, ... or the training CSV's own `x.hr`, `x.bp`, in order
        picked = [c for c, col in enumerate(header) if col == inp or col.startswith(f"{inp}.")]
        if len(picked) != size:
            had = ", ".join(header[c] for c in picked) or "none"
            raise PredictError(
                f"{name}: input `{inp}` takes {size} value{'s' * (size != 1)}, but "
                f"{len(picked)} {'column is' if len(picked) == 1 else 'columns are'} named for "
                f"it ({had})",
                help=f"name its columns {inp}"
                + (
                    f".0 ... {inp}.{size - 1} (or {inp}.NAME, as in the training CSV)"
                    if size > 1
                    else ""
                ),
            )
        found[inp] = picked
    return found


def _names(inp: str, size: int) -> list[str]:
    return [inp] if size == 1 else [f"{inp}.{k}" for k in range(size)]


def _named(header: list[str], sizes: Mapping[str, int]) -> bool:
    return any(c == i or c.startswith(f"{i}.") for c in header for i in sizes)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --- predicting ---------------------------------------------------------------------------------


def predict(
    model: torch.nn.Module, lowered: Lowered, graph: Graph, inputs: Mapping[str, np.ndarray]
) -> Predictions:
    """Run `model` (taking the model inputs in order) over the samples in batches."""
    count = len(next(iter(inputs.values())))
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {o: [] for o in lowered.outputs}
    with torch.no_grad():
        for start in range(0, count, BATCH):
            args = [
                torch.from_numpy(np.ascontiguousarray(inputs[i][start : start + BATCH]))
                for i in lowered.model_inputs
            ]
            out = model(*args)
            for name, value in zip(
                lowered.outputs, out if isinstance(out, tuple) else (out,), strict=True
            ):
                chunks[name].append(value.float().numpy())
    outputs = {o: np.concatenate(v) if v else np.empty((0,)) for o, v in chunks.items()}
    return Predictions(outputs, _class_outputs(lowered, graph))


def _class_outputs(lowered: Lowered, graph: Graph) -> dict[str, bool]:
    found = {}
    for name in lowered.outputs:
        feeds = graph.inputs_of(f"output:{name}") if f"output:{name}" in graph else []
        found[name] = bool(feeds) and lowered.links.get(feeds[0]) == "softmax"
    return found


# --- writing ------------------------------------------------------------------------------------


def write_csv(predictions: Predictions, out: IO[str]) -> None:
    """One row per sample: each class output's class and probabilities, other outputs' values."""
    header: list[str] = []
    columns: list[list[str]] = []
    for name, values in predictions.outputs.items():
        if values.ndim > 2:
            raise PredictError(
                f"output `{name}` has {values.ndim - 1} axes per sample; a CSV row holds one",
                help="write an .npz instead: -o predictions.npz",
            )
        flat = values.reshape(len(values), -1)
        if predictions.classes[name]:
            header += [name, *(f"{name}.p{k}" for k in range(flat.shape[1]))]
            columns.append([str(int(c)) for c in flat.argmax(axis=1)])
        else:
            header += _names(name, flat.shape[1])
        columns += [[f"{v:.6g}" for v in flat[:, k]] for k in range(flat.shape[1])]
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(zip(*columns, strict=True))


def write_npz(predictions: Predictions, path: Path) -> None:
    """Every output's array by name; a class output's predicted classes as `<name>.class`."""
    arrays = dict(predictions.outputs)
    for name, is_class in predictions.classes.items():
        if is_class:
            arrays[f"{name}.class"] = predictions.outputs[name].argmax(axis=-1)
    np.savez(path, **arrays)  # type: ignore[arg-type]
