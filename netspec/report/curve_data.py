"""Which curves a report page plots: from one run's metrics rows (every stage on one epoch axis,
stages marked), or from several runs (one series per run, their supervised stages aligned as
`netspec compare` aligns them), and the gradient norms a run recorded. Torch-free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from netspec.report.compare import RunRecord
from netspec.report.plots import MEASURES, SPLITS
from netspec.report.svg_curves import Plot, Point, Series
from netspec.views.gradient_colors import GradientError, GradientRecord, read_gradients

Row = Mapping[str, Any]
ALL_STAGES = "epoch (all stages)"
SUPERVISED = "epoch (supervised stages)"
PRETRAINING = "epoch (pretraining, unit by unit)"
HELD = ("train/held_loss", "held-out")  # a pretraining objective on held-out data


def stage_starts(rows: Sequence[Row]) -> tuple[tuple[float, str], ...]:
    """Where each stage's rows begin on an epoch axis numbering the rows from 1.

    >>> stage_starts([{"stage": "a"}, {"stage": "a"}, {"stage": "b"}])
    ((0.5, 'a'), (2.5, 'b'))
    """
    return tuple(
        (i + 0.5, str(r["stage"]))
        for i, r in enumerate(rows)
        if i == 0 or r["stage"] != rows[i - 1]["stage"]
    )


def segments(rows: Sequence[Row], key: str, x0: int = 1) -> tuple[tuple[Point, ...], ...]:
    """`key`'s values as (epoch, value) points, rows numbered from `x0`, in one segment per
    run of a stage's rows that hold it (a greedy stage's units each have their own line). A
    split evaluated every few epochs (`eval_every`) leaves rows between its values that belong
    to the same stage and hold no other value of the key: the segment runs across them.

    >>> segments([{"stage": "a", "k": 1.0}, {"stage": "b", "k": 2.0}, {"stage": "b"}], "k")
    (((1, 1.0),), ((2, 2.0),))
    >>> segments([{"stage": "a", "k": 1.0}, {"stage": "a"}, {"stage": "a", "k": 3.0}], "k")
    (((1, 1.0), (3, 3.0)),)
    """
    out: list[list[Point]] = []
    last = -1  # the row of the previous value
    for i, row in enumerate(rows):
        value = row.get(key)
        if value is None:
            continue
        point = (i + x0, float(value))
        same = last >= 0 and all(rows[j]["stage"] == row["stage"] for j in range(last, i))
        if same and (i == last + 1 or _evaluation_gap(rows[last + 1 : i])):
            out[-1].append(point)
        else:
            out.append([point])
        last = i
    return tuple(tuple(s) for s in out)


def _evaluation_gap(between: Sequence[Row]) -> bool:
    """Rows between two evaluations of a supervised stage (a greedy stage's rows name a unit,
    and one unit's line must not run into the next one's)."""
    return all("unit" not in r for r in between)


def supervised_metrics(rows: Sequence[Row]) -> list[tuple[str, str]]:
    """(key, title) of what the supervised rows measure: the total loss, then each head's
    scores (`y/acc`) and, with several heads, each head's own loss."""
    keys: dict[str, None] = {}
    for row in rows:
        if "objective" in row:
            continue
        for key in row:
            split, _, rest = key.partition("/")
            if split in SPLITS and "/" in rest:
                keys[rest] = None
    heads = {k.split("/")[0] for k in keys}
    found = (
        [("loss", "loss")]
        if any("objective" not in r and _any_split(r, "loss") for r in rows)
        else []
    )
    for key in keys:
        if not key.endswith("/loss") or len(heads) > 1:
            head, _, score = key.rpartition("/")
            found.append((key, f"{head}: {score}"))
    return found


def _any_split(row: Row, key: str) -> bool:
    return any(f"{s}/{key}" in row for s in SPLITS)


Lines = tuple[tuple[str, str], ...]  # (legend label, row key) of each line of a plot


def pretraining_metrics(rows: Sequence[Row]) -> list[tuple[str, str, Lines, str | None]]:
    """(metric, title, lines, objective) of each pretraining objective (its train and held-out
    values, on that objective's rows) and of each measure the rules logged (objective None)."""
    pretraining = [r for r in rows if "objective" in r]
    found: list[tuple[str, str, Lines, str | None]] = []
    for objective in dict.fromkeys(str(r["objective"]) for r in pretraining):
        lines = (("train", "train/loss"), (HELD[1], HELD[0]))
        shown = tuple(line for line in lines if any(line[1] in r for r in pretraining))
        metric = f"pretrain/{objective}"
        found.append((metric, f"pretraining objective: {objective}", shown, objective))
    measures = dict.fromkeys(
        k.removeprefix("train/")
        for r in pretraining
        for k in r
        if k.startswith("train/") and k not in ("train/loss", HELD[0])
    )
    for measure in measures:
        title = MEASURES.get(measure, measure.replace("_", " "))
        found.append((f"pretrain/{measure}", title, (("train", f"train/{measure}"),), None))
    return found


def _only(rows: Sequence[Row], objective: str | None) -> list[Row | dict[str, Any]]:
    """The rows, with those of other pretraining objectives (or of supervised stages) blanked,
    so they keep their place on the epoch axis."""
    return [r if r.get("objective") == objective else {"stage": r["stage"]} for r in rows]


# --- one run --------------------------------------------------------------------------------------


def run_plots(rows: Sequence[Row], gradients: GradientRecord | None = None) -> list[Plot]:
    """One run's plots, every stage on one epoch axis, in the order the stages ran."""
    stages, last = stage_starts(rows), float(len(rows))
    plots = []
    supervised = _only(rows, None)
    for key, title in supervised_metrics(rows):
        series = tuple(
            Series(split, segments(supervised, f"{split}/{key}"))
            for split in SPLITS
            if any(f"{split}/{key}" in r for r in supervised)
        )
        plots.append(Plot(key, title, ALL_STAGES, series, stages, last))
    for metric, title, lines, objective in pretraining_metrics(rows):
        mine = rows if objective is None else _only(rows, objective)  # supervised: train/loss too
        series = tuple(Series(label, segments(mine, key)) for label, key in lines)
        plots.append(Plot(metric, title, ALL_STAGES, series, stages, last))
    if gradients is not None and gradients.epochs:
        plots.append(_gradient_plot(gradients, stages, last))
    return sorted(plots, key=_first_x)


def _first_x(plot: Plot) -> float:
    return min((p[0] for s in plot.series for p in s.points), default=0.0)


# The measures of gradients.json, as plots/gradients.svg draws them: (key, title, log axis,
# fixed y interval: a share is shown whole).
GRADIENT_MEASURES: tuple[tuple[str, str, bool, tuple[float, float] | None], ...] = (
    ("grad_norm", "gradient norm per unit ||dL/dW||", True, None),
    ("update_ratio", "update / weight per unit ||dW|| / ||W||", True, None),
    ("saturation", "saturated or dead fraction of each unit's outputs", False, (-0.03, 1.03)),
)


def _gradient_plot(record: GradientRecord, stages: Any, last: float) -> Plot:
    """Each weighted unit's mean gradient norm per recorded epoch, at that epoch's row."""
    return gradient_measure(record, "grad_norm", "gradient norm per unit", stages, last)


def gradient_measure(
    record: GradientRecord, measure: str, title: str, stages: Any, last: float, log: bool = False
) -> Plot:
    """One measure of each weighted unit per recorded epoch, at that epoch's row of the run
    (units in the network's order, input first)."""
    series = tuple(
        Series(
            unit.label,
            (
                tuple(
                    (float(e["row"]), float(v))
                    for e in record.epochs
                    if (v := e[measure].get(unit.id)) is not None
                ),
            ),
        )
        for unit in record.units
    )
    return Plot(measure, title, ALL_STAGES, series, stages, last, log)


def gradient_plots(record: GradientRecord, rows: Sequence[Row]) -> list[Plot]:
    """plots/gradients.svg: the three measures, the norms and ratios on log axes (a deep
    sigmoid network's vanishing gradients show as its lower units' lines far below the top's)."""
    stages, last = stage_starts(rows), float(len(rows))
    return [
        replace(gradient_measure(record, key, title, stages, last, log), ydomain=ydomain)
        for key, title, log, ydomain in GRADIENT_MEASURES
    ]


def run_gradients(run: Any) -> GradientRecord | None:
    """The run's recorded gradients, or None when it recorded none."""
    try:
        return read_gradients(run)
    except GradientError:
        return None


# --- several runs ---------------------------------------------------------------------------------


def compare_plots(records: Sequence[RunRecord]) -> list[Plot]:
    """One plot per objective any run measured, one series per run (on the split its final
    metrics were measured on); supervised stages start at epoch 1 in every run."""
    plots = []
    keys = dict.fromkeys(k for r in records for k in supervised_metrics(r.supervised))
    for key, title in keys:
        series = []
        for record in records:
            split = _split(record, key)
            if split is not None:
                found = segments(record.supervised, f"{split}/{key}")
                series.append(Series(f"{record.name} {split}", found, record.name))
        plots.append(_compared(key, title, SUPERVISED, series, [r.supervised for r in records]))
    metrics = dict.fromkeys(m for r in records for m in pretraining_metrics(r.pretraining))
    for metric, title, lines, objective in metrics:
        series = []
        for record in records:
            rows = record.pretraining if objective is None else _only(record.pretraining, objective)
            found = segments(rows, lines[0][1])
            if found:
                series.append(Series(record.name, found, record.name))
        plots.append(
            _compared(metric, title, PRETRAINING, series, [r.pretraining for r in records])
        )
    plots += _compared_gradients(records)
    return plots


def _split(record: RunRecord, key: str) -> str | None:
    """The split a run's curve of `key` shows: its final metrics' split when it has values
    there, else the first held-out split that has, else train."""
    final = str(record.final.get("split", ""))
    order = [final, "test", "val", "train"] if final in SPLITS else ["test", "val", "train"]
    return next((s for s in order if any(f"{s}/{key}" in r for r in record.supervised)), None)


def _compared(
    metric: str, title: str, xlabel: str, series: list[Series], rows: Sequence[Sequence[Row]]
) -> Plot:
    """A comparison plot; stages are marked when every run ran the same ones."""
    starts = [stage_starts(r) for r in rows if r]
    same = bool(starts) and all(s == starts[0] for s in starts)
    last = float(max((len(r) for r in rows), default=1))
    return Plot(metric, title, xlabel, tuple(series), starts[0] if same else (), last)


def _compared_gradients(records: Sequence[RunRecord]) -> list[Plot]:
    """Per weighted unit, its gradient norm in each run that recorded it, by supervised epoch."""
    found = {r.name: g for r in records if (g := run_gradients(r.path)) is not None and g.epochs}
    units = dict.fromkeys((u.id, u.label) for g in found.values() for u in g.units)
    plots = []
    for unit, label in units:
        series = []
        for name, record in found.items():
            points = tuple(
                (float(n), float(v))
                for n, e in enumerate(record.epochs, start=1)
                if (v := e["grad_norm"].get(unit)) is not None
            )
            if points:
                series.append(Series(name, (points,), name))
        rows: list[list[Row]] = [[{"stage": e["stage"]} for e in g.epochs] for g in found.values()]
        plots.append(
            _compared(f"grad_norm/{unit}", f"gradient norm: {label}", SUPERVISED, series, rows)
        )
    return plots
