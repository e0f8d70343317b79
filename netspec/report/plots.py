"""PNG plots of a run (loss and metric curves across stages, confusion matrices) and optional
TensorBoard logs. matplotlib is imported lazily, with the Agg backend, so no display is needed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from netspec.api import Compiled

if TYPE_CHECKING:  # torch-side; not imported at run time, so `netspec compare` needs no torch
    from netspec.training.metrics import HeadSpec

SPLITS = ("train", "val", "test")
Row = Mapping[str, Any]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(
    run: Path,
    rows: Sequence[Row],
    heads: Sequence[HeadSpec],
    confusions: Mapping[str, tuple[np.ndarray, Sequence[str]]],
) -> list[Path]:
    """losses.png, metrics.png and confusion-<head>.png in `run/plots`; the paths written."""
    folder = run / "plots"
    folder.mkdir(exist_ok=True)
    written = []
    if rows:
        written.append(loss_curves(rows, folder / "losses.png"))
        if any(h.scores for h in heads):
            written.append(metric_curves(rows, heads, folder / "metrics.png"))
    for name, (matrix, names) in confusions.items():
        written.append(confusion_plot(matrix, names, name, folder / f"confusion-{name}.png"))
    return written


def _stage_marks(ax: Any, rows: Sequence[Row]) -> None:
    """A dashed line where each stage after the first begins, labelled with its name."""
    previous = None
    for x, row in enumerate(rows, start=1):
        if row["stage"] != previous:
            if previous is not None:
                ax.axvline(x - 0.5, color="grey", linestyle="--", linewidth=0.8)
            label = ax.annotate(
                row["stage"],
                (x, 1.0),
                xycoords=("data", "axes fraction"),
                va="top",
                fontsize=8,
                color="grey",
            )
            label.set_in_layout(False)  # a label off the axes must not squeeze the layout
            previous = row["stage"]


def _curves(ax: Any, rows: Sequence[Row], key: str, ylabel: str) -> None:
    xs = np.arange(1, len(rows) + 1)
    for split in SPLITS:
        ys = [r.get(f"{split}/{key}") for r in rows]
        if any(y is not None for y in ys):
            ax.plot(xs, [np.nan if y is None else y for y in ys], label=split, marker=".")
    ax.set_xlim(0.5, len(rows) + 0.5)  # every stage, even where this curve has no values
    ax.set_xlabel("epoch (all stages)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _stage_marks(ax, rows)


def loss_curves(rows: Sequence[Row], path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
    _curves(ax, rows, "loss", "total loss")
    if all((r.get(f"{s}/loss") or 1.0) > 0 for r in rows for s in SPLITS):
        ax.set_yscale("log")
    ax.set_title("loss")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def metric_curves(rows: Sequence[Row], heads: Sequence[HeadSpec], path: Path) -> Path:
    """One panel per head and score: accuracy, or mse and mae."""
    plt = _pyplot()
    panels = [(h, s) for h in heads for s in h.scores]
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.5 * len(panels), 3.8), layout="constrained", squeeze=False
    )
    for ax, (h, score) in zip(axes[0], panels, strict=True):
        _curves(ax, rows, f"{h.name}/{score}", score)
        ax.set_title(f"{h.name}: {score}")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def confusion_plot(matrix: np.ndarray, names: Sequence[str], head: str, path: Path) -> Path:
    """Counts with rows the true class and columns the predicted one, on the test split."""
    plt = _pyplot()
    k = matrix.shape[0]
    size = min(10.0, 2.5 + 0.45 * k)
    fig, ax = plt.subplots(figsize=(size, size), layout="constrained")
    ax.imshow(matrix, cmap="Blues")
    labels = list(names) if len(names) == k else [str(i) for i in range(k)]
    ax.set_xticks(range(k), labels, rotation=45 if max(map(len, labels)) > 3 else 0)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = matrix.max() if matrix.size else 0
    for i in range(k):
        for j in range(k):
            colour = "white" if matrix[i, j] > top / 2 else "black"
            ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", color=colour, size=8)
    accuracy = np.trace(matrix) / max(1, matrix.sum())
    ax.set_title(f"{head}: test accuracy {accuracy:.3f}")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_drawing(compiled: Compiled, network: str, path: Path) -> str | None:
    """The network's drawing as SVG; a note saying why not when rendering fails."""
    from netspec.views.draw import draw

    try:
        svg = draw(compiled, network, fmt="svg")
        path.write_bytes(svg.encode("utf-8") if isinstance(svg, str) else svg)
    except Exception as exc:  # a courtesy: never fail a finished run over it
        return f"skipped the drawing: {exc}"
    return None


class TensorBoard:
    """Scalars per epoch under `run/tensorboard`, when torch.utils.tensorboard imports."""

    def __init__(self, writer: Any, epoch: int = 0) -> None:
        self.writer = writer
        self.epoch = epoch  # rows logged before a resume

    @classmethod
    def open(cls, run: Path, epoch: int = 0) -> tuple[TensorBoard | None, str | None]:
        """The logger, or None with a note saying why not."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            return None, "--tensorboard needs the `tensorboard` package (pip install tensorboard)"
        return cls(SummaryWriter(str(run / "tensorboard")), epoch), None

    def log(self, row: Row) -> None:
        self.epoch += 1
        for key, value in row.items():
            if "/" in key and isinstance(value, (int, float)):
                self.writer.add_scalar(key, value, self.epoch)
        self.writer.add_scalar("lr", row["lr"], self.epoch)

    def close(self) -> None:
        self.writer.close()
