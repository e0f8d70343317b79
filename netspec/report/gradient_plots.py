"""plots/gradients.png: the gradient statistics a run recorded (gradients.json), three panels over
the epochs of its supervised stages, one line per weighted unit: the gradient norm (log scale),
the update/weight ratio (log scale) and the saturated or dead fraction of the unit's outputs.
A deep sigmoid network's vanishing gradients show as the lower layers' lines far below the top's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from netspec.views.gradient_colors import GradientRecord

PANELS = (
    ("grad_norm", "gradient norm ||dL/dW||", True),
    ("update_ratio", "update / weight ||dW|| / ||W||", True),
    ("saturation", "saturated or dead fraction", False),
)


def gradient_plot(record: GradientRecord, path: Path) -> Path:
    """The three panels, stacked, sharing the epoch axis; units coloured from the input (dark)
    to the output (light)."""
    from netspec.report.plots import _pyplot, _stage_marks, margins

    plt = _pyplot()  # before any other matplotlib import: it picks the Agg backend
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(3, 1, figsize=(7.5, 9), sharex=True)
    margins(fig, top=0.55, hspace=0.25)
    xs = np.arange(1, len(record.epochs) + 1)
    colours = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(1, len(record.units))))
    for ax, (measure, ylabel, log) in zip(axes, PANELS, strict=True):
        _panel(ax, record, measure, xs, colours, log)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        _stage_lines(ax, record)
    _stage_marks(axes[0], record.epochs)  # the stages' names once, on top
    axes[2].xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[2].set_ylim(-0.03, 1.03)
    axes[2].set_xlabel("epoch (supervised stages)")
    axes[2].set_xlim(0.5, len(xs) + 0.5)
    axes[0].legend(fontsize=8, title="unit (input first)", title_fontsize=8, ncol=2)
    every = f"every {record.every} steps and each epoch's first, averaged per epoch"
    axes[0].set_title(f"{record.network}: gradients per unit ({every})", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _stage_lines(ax: Any, record: GradientRecord) -> None:
    """A dashed line where each stage after the first begins."""
    stages = [e["stage"] for e in record.epochs]
    for x in range(1, len(stages)):
        if stages[x] != stages[x - 1]:
            ax.axvline(x + 0.5, color="grey", linestyle="--", linewidth=0.8)


def _panel(ax: Any, record: GradientRecord, measure: str, xs: Any, colours: Any, log: bool) -> None:
    drawn = False
    for unit, colour in zip(record.units, colours, strict=False):
        ys = np.array([np.nan if v is None else v for v in record.series(measure, unit.id)])
        if log:
            ys[ys <= 0] = np.nan  # a zero cannot sit on a log axis
        if np.isfinite(ys).any():
            drawn = True
        ax.plot(xs, ys, label=unit.label, color=colour, marker="." if len(xs) < 40 else None)
    if log and drawn:
        ax.set_yscale("log")
    if not drawn:
        what = "no unit with a known activation" if measure == "saturation" else "no values"
        ax.text(0.5, 0.5, what, transform=ax.transAxes, ha="center", color="grey")
