"""PNG plots of a run (loss and metric curves across stages, confusion matrices) and optional
TensorBoard logs. matplotlib is imported lazily, with the Agg backend, so no display is needed."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from netspec.api import Compiled
from netspec.report.gradient_plots import gradient_plot
from netspec.views.gradient_colors import FILE as GRADIENTS
from netspec.views.gradient_colors import read_gradients

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
    """losses.png, metrics.png, confusion-<head>.png and, when the run recorded gradients,
    gradients.png in `run/plots`; the paths written."""
    folder = run / "plots"
    folder.mkdir(exist_ok=True)
    written = []
    if rows:
        written.append(loss_curves(rows, folder / "losses.png"))
        if any(h.scores for h in heads):
            written.append(metric_curves(rows, heads, folder / "metrics.png"))
    for name, (matrix, names) in confusions.items():
        written.append(confusion_plot(matrix, names, name, folder / f"confusion-{name}.png"))
    if (run / GRADIENTS).exists():
        written.append(gradient_plot(read_gradients(run), folder / "gradients.png"))
    return written


def margins(
    fig: Any,
    left: float = 0.85,
    right: float = 0.25,
    top: float = 0.4,
    bottom: float = 0.55,
    hspace: float = 0.45,
    wspace: float = 0.6,
) -> None:
    """Fixed margins, in inches, around and between a figure's axes: constrained layout would
    measure every label to find them, and takes most of a plot's time."""
    width, height = fig.get_size_inches()
    grid = fig.axes[0].get_subplotspec().get_gridspec()
    rows, cols = grid.get_geometry()
    cell_h = (height - top - bottom - hspace * (rows - 1)) / rows
    cell_w = (width - left - right - wspace * (cols - 1)) / cols
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        hspace=hspace / max(cell_h, 0.1),
        wspace=wspace / max(cell_w, 0.1),
    )


def _stage_marks(ax: Any, rows: Sequence[Row], labels: bool = True) -> None:
    """A dashed line where each stage after the first begins and, with `labels`, its name at
    the top left of its span; a label that would overprint an earlier one moves a line down
    (`stage_levels`), so a run of short stages stays readable."""
    starts = [i for i, r in enumerate(rows) if i == 0 or r["stage"] != rows[i - 1]["stage"]]
    for i in starts[1:]:
        ax.axvline(i + 0.5, color="grey", linestyle="--", linewidth=0.8)
    if not labels or not starts:
        return
    names = [str(rows[i]["stage"]) for i in starts]
    per_point = len(rows) / _axes_points(ax)  # x units per point, the x axis spanning the rows
    spans = [
        (i + 0.5, i + 0.5 + (_text_points(n) + LABEL_PAD) * per_point)
        for i, n in zip(starts, names, strict=True)
    ]
    for i, name, level in zip(starts, names, stage_levels(spans), strict=True):
        label = ax.annotate(
            name,
            (i + 0.5, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(LABEL_PAD / 2, -2 - LABEL_LINE * level),
            textcoords="offset points",
            va="top",
            fontsize=LABEL_SIZE,
            color="dimgrey",
            bbox={
                "boxstyle": "square,pad=0.1",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.7,
            },
        )
        label.set_in_layout(False)  # a label off the axes must not squeeze the layout


LABEL_SIZE = 8  # points
LABEL_LINE = 10  # points from one line of stage labels to the next
LABEL_PAD = 6  # points of room kept around a label


def stage_levels(spans: Sequence[tuple[float, float]]) -> list[int]:
    """The line (0: the top) each label goes on, for labels covering [left, right) on the x
    axis, in order of `left`: the first line where it clears the label before it.

    >>> stage_levels([(0, 5), (1, 3), (4, 6), (6, 9)])
    [0, 1, 1, 0]
    """
    ends: list[float] = []  # each line's rightmost edge so far
    levels = []
    for left, right in spans:
        level = next((k for k, end in enumerate(ends) if left >= end), len(ends))
        if level == len(ends):
            ends.append(right)
        ends[level] = right
        levels.append(level)
    return levels


def _text_points(text: str) -> float:
    """The width of `text` at the stage labels' size, in points."""
    from matplotlib.textpath import TextPath

    return float(TextPath((0, 0), text, size=LABEL_SIZE).get_extents().width)


def _bridged(ys: list[float], rows: Sequence[Row]) -> np.ndarray:
    """`ys` with the gaps between two values of the same stage filled in straight lines, so a
    split evaluated every few epochs draws a line; a stage without the value stays blank."""
    out = np.asarray(ys, dtype=float)
    known = [i for i, y in enumerate(out) if not np.isnan(y)]
    for a, b in itertools.pairwise(known):
        if b > a + 1 and all(rows[j]["stage"] == rows[a]["stage"] for j in range(a, b + 1)):
            out[a : b + 1] = np.linspace(out[a], out[b], b - a + 1)
    return out


def _axes_points(ax: Any) -> float:
    """The axes' width in points, as the figure lays it out before drawing (constrained layout
    then widens it a little, so labels are placed with room to spare)."""
    return max(1.0, float(ax.get_position().width * ax.figure.get_figwidth() * 72))


def _curves(ax: Any, rows: Sequence[Row], key: str, ylabel: str) -> None:
    xs = np.arange(1, len(rows) + 1)
    for split in SPLITS:
        ys = [r.get(f"{split}/{key}") for r in rows]
        measured = [i for i, y in enumerate(ys) if y is not None]
        if measured:  # held-out splits are evaluated every `eval_every`: marks where they were
            line = _bridged([np.nan if y is None else y for y in ys], rows)
            ax.plot(xs, line, label=split, marker=".", markevery=measured)
    ax.set_xlim(0.5, len(rows) + 0.5)  # every stage, even where this curve has no values
    ax.set_xlabel("epoch (all stages)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _stage_marks(ax, rows)


def loss_curves(rows: Sequence[Row], path: Path) -> Path:
    """losses.png: `loss_figure`."""
    fig = loss_figure(rows)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path


@dataclass(frozen=True)
class LossPanel:
    """One panel of losses.png: `key`'s values (`train/<key>` and the like) in `rows`."""

    title: str
    ylabel: str
    lines: tuple[tuple[str, str], ...]  # (legend label, metrics key)
    rows: tuple[int, ...]  # the indices of the rows it plots; the others stay blank


# What a pretraining rule's measures are, for the panels' titles (rules.py's `monitors`).
MEASURES = {
    "pseudo_ll": "pseudo-log-likelihood (higher is better)",
    "free_energy_gap": "free energy, held-out minus train (grows when overfitting)",
    "recon": "reconstruction error",
    "active": "share of code values not zero",
}


def loss_panels(rows: Sequence[Row]) -> list[LossPanel]:
    """The panels of losses.png: the supervised stages' loss (what their optimizer minimised,
    on each split), then each measure the pretraining rules logged, on axes of its own: a
    reconstruction error or a pseudo-likelihood is not on the cross-entropy's scale. A rule's
    own objective (`train/loss`, named by the row's `objective`) gets a panel per objective,
    with its held-out value (`train/held_loss`) beside it.

    >>> rows = [{"stage": "p", "objective": "reconstruction_bce", "train/loss": 0.4,
    ...          "train/held_loss": 0.41}, {"stage": "f", "train/loss": 2.0, "test/loss": 2.1,
    ...          "train/y/loss": 2.0}]
    >>> [(p.title, p.lines, p.rows) for p in loss_panels(rows)]  # doctest: +NORMALIZE_WHITESPACE
    [('pretraining objective: reconstruction_bce',
      (('train', 'train/loss'), ('held-out', 'train/held_loss')), (0,)),
     ('supervised loss', (('train', 'train/loss'), ('test', 'test/loss')), (1,))]
    """
    supervised = tuple(i for i, r in enumerate(rows) if "objective" not in r)
    panels = []
    if supervised:
        lines = [
            (s, f"{s}/loss") for s in SPLITS if any(f"{s}/loss" in rows[i] for i in supervised)
        ]
        heads = sorted(
            {
                k.split("/")[1]
                for i in supervised
                for k in rows[i]
                if k.count("/") == 2 and k.endswith("/loss")
            }
        )
        ylabel = (
            heads[0]
            if len(heads) == 1
            else "loss"
            if not heads
            else f"sum of {len(heads)} heads' losses"
        )
        panels.append(LossPanel("supervised loss", ylabel, tuple(lines), supervised))
    pretraining = [i for i, r in enumerate(rows) if "objective" in r]
    objectives = dict.fromkeys(str(rows[i]["objective"]) for i in pretraining)
    for objective in objectives:
        mine = tuple(i for i in pretraining if rows[i]["objective"] == objective)
        lines = [("train", "train/loss"), ("held-out", "train/held_loss")]
        shown = tuple(line for line in lines if any(line[1] in rows[i] for i in mine))
        panels.append(LossPanel(f"pretraining objective: {objective}", objective, shown, mine))
    measures = dict.fromkeys(
        k.removeprefix("train/")
        for i in pretraining
        for k in rows[i]
        if k.startswith("train/") and k not in ("train/loss", "train/held_loss")
    )
    for measure in measures:
        key = f"train/{measure}"
        mine = tuple(i for i in pretraining if key in rows[i])
        title = MEASURES.get(measure, measure.replace("_", " "))
        panels.append(LossPanel(title, measure, (("train", key),), mine))
    return sorted(panels, key=lambda panel: panel.rows[0])  # in the order the stages ran


def loss_figure(rows: Sequence[Row]) -> Any:
    """`loss_panels`, stacked on one epoch axis across all stages, each stage's values a line
    of their own (a greedy stage's units each have their own objective); the stages marked on
    every panel and named on the top one."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    panels = loss_panels(rows)
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(7.5, 1.0 + 2.6 * len(panels)), sharex=True, squeeze=False
    )
    legends = any(len(p.lines) > 1 for p in panels)  # beside the axes, on the right
    margins(fig, right=1.5 if legends else 0.25, top=0.55)
    for n, (ax, panel) in enumerate(zip(axes[:, 0], panels, strict=True)):
        _loss_panel(ax, rows, panel)
        _stage_marks(ax, rows, labels=n == 0)
    axes[0, 0].margins(y=0.2)  # headroom for the stage names above the curves
    axes[-1, 0].set_xlim(0.5, len(rows) + 0.5)  # every stage, even where a panel has no values
    axes[-1, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[-1, 0].set_xlabel("epoch (all stages)")
    return fig


def _loss_panel(ax: Any, rows: Sequence[Row], panel: LossPanel) -> None:
    values: list[float] = []
    for colour, (label, key) in enumerate(panel.lines):
        for n, segment in enumerate(_runs(panel.rows, rows)):
            ys = [np.nan if rows[i].get(key) is None else float(rows[i][key]) for i in segment]
            values += [y for y in ys if np.isfinite(y)]
            xs = np.array(segment) + 1
            measured = [j for j, y in enumerate(ys) if np.isfinite(y)]  # marked; bridged between
            line = _bridged(ys, [rows[i] for i in segment])
            label_once = label if n == 0 else None
            ax.plot(xs, line, marker=".", markevery=measured, color=f"C{colour}", label=label_once)
    if values and min(values) > 0 and max(values) >= 10 * min(values):
        ax.set_yscale("log")
    ax.set_title(panel.title, fontsize=10, loc="left")
    ax.set_ylabel(panel.ylabel, fontsize=9)
    ax.grid(alpha=0.3)
    if len(panel.lines) > 1:  # beside the axes: their top holds the stage names
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))


def _runs(indices: Sequence[int], rows: Sequence[Row]) -> list[list[int]]:
    """`indices` cut into runs of one stage's consecutive rows."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and runs[-1][-1] == i - 1 and rows[i]["stage"] == rows[i - 1]["stage"]:
            runs[-1].append(i)
        else:
            runs.append([i])
    return runs


def metric_curves(rows: Sequence[Row], heads: Sequence[HeadSpec], path: Path) -> Path:
    """One panel per head and score: accuracy, or mse and mae."""
    plt = _pyplot()
    panels = [(h, s) for h in heads for s in h.scores]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.8), squeeze=False)
    margins(fig, wspace=0.8)
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
