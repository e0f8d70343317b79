"""A run folder's plots/*.svg, drawn without matplotlib from what the report page plots:
`curves.svg` (every loss and score across the stages, one plot each), `gradients.svg` (each
weighted unit's gradient norm, update ratio and saturated fraction per epoch of the supervised
stages) and a `confusion-<head>.svg` per classification head. Vector files, crisp at any size,
that a browser opens; importing matplotlib alone cost a run 0.4 s, each figure a few tenths
more."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from netspec.report.confusion_svg import write_confusion
from netspec.report.curve_data import gradient_plots, run_gradients, run_plots
from netspec.report.svg_curves import Plot, document

Row = Mapping[str, Any]
CURVES, GRADIENTS = "curves.svg", "gradients.svg"


def write_curves(run: Path, rows: Sequence[Row]) -> list[Path]:
    """plots/curves.svg and, when the run recorded gradients, plots/gradients.svg; the paths."""
    folder = run / "plots"
    folder.mkdir(exist_ok=True)
    written = []
    plots = [_log_if_wide(p) for p in run_plots(rows)]
    if plots:
        path = folder / CURVES
        path.write_text(document(plots, f"{run.name}: losses and scores"), encoding="utf-8")
        written.append(path)
    record = run_gradients(run)
    if record is not None and record.epochs:
        path = folder / GRADIENTS
        every = f"every {record.every} steps and each epoch's first, averaged per epoch"
        title = f"{record.network}: gradients per unit ({every})"
        path.write_text(document(gradient_plots(record, rows), title), encoding="utf-8")
        written.append(path)
    return written


def _log_if_wide(plot: Plot) -> Plot:
    """`plot` on a log axis when its values are all positive and span ten times or more (a
    loss falling by orders of magnitude), as it stays readable there."""
    values = [y for s in plot.series for _, y in s.points if math.isfinite(y)]
    if values and min(values) > 0 and max(values) >= 10 * min(values):
        return replace(plot, log=True)
    return plot


def write_plots(
    run: Path, rows: Sequence[Row], confusions: Mapping[str, tuple[np.ndarray, Sequence[str]]]
) -> list[Path]:
    """The run's curves (`write_curves`) and a confusion-<head>.svg per classification head,
    in `run/plots`; the paths written."""
    written = write_curves(run, rows)
    for name, (matrix, names) in confusions.items():
        path = run / "plots" / f"confusion-{name}.svg"
        written.append(write_confusion(matrix, names, name, path))
    return written
