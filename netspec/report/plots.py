"""What the matplotlib figures of `netspec compare` share (the Agg backend, the stages marked and
named on an epoch axis), the network's drawing written into a run folder, and optional
TensorBoard logs. A run's own curves are SVG, drawn without matplotlib
(report/run_curves.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from netspec.api import Compiled

SPLITS = ("train", "val", "test")
Row = Mapping[str, Any]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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


def _axes_points(ax: Any) -> float:
    """The axes' width in points, as the figure lays it out before drawing (constrained layout
    then widens it a little, so labels are placed with room to spare)."""
    return max(1.0, float(ax.get_position().width * ax.figure.get_figwidth() * 72))


# What a pretraining rule's measures are, for the panels' titles (rules.py's `monitors`).
MEASURES = {
    "pseudo_ll": "pseudo-log-likelihood (higher is better)",
    "free_energy_gap": "free energy, held-out minus train (grows when overfitting)",
    "recon": "reconstruction error",
    "active": "share of code values not zero",
}


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
