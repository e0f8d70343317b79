"""Runs side by side: their final metrics as one table, their curves on one figure. Reads only
the run folders' manifest.json and metrics.jsonl, so it needs no torch."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netspec.diagnostics.failure import Failure
from netspec.report.plots import SPLITS, _pyplot, _stage_marks
from netspec.views.table import columns

Row = Mapping[str, Any]
LINESTYLES = {"train": "-", "val": "--", "test": ":"}


class CompareError(Failure):
    """A folder that cannot be compared (not a run, an unreadable manifest): one line, exit 1."""

    code = "E749"


@dataclass(frozen=True)
class RunRecord:
    """What a run folder holds for comparing: its manifest and its per-epoch metric rows."""

    name: str  # how the table and legend call it: the folder's name
    path: Path
    manifest: Mapping[str, Any]
    rows: Sequence[Row]

    @property
    def final(self) -> dict[str, Any]:
        """The final evaluation's metrics; a network without loss heads: its units' objectives,
        one entry per objective and split (`h1/pseudo_ll [test]`)."""
        final = dict(self.manifest.get("final") or {})
        by_split = final.pop("by_split", {})
        for key, values in by_split.items():
            final.update({f"{key} [{split}]": value for split, value in values.items()})
        return final

    @property
    def supervised(self) -> list[Row]:
        """The rows of supervised stages (a pretraining row names the unit's `objective`)."""
        return [r for r in self.rows if "objective" not in r]

    @property
    def pretraining(self) -> list[Row]:
        return [r for r in self.rows if "objective" in r]


def read_runs(folders: Sequence[Path]) -> list[RunRecord]:
    """Each folder's record, named by the folder's name (by the path as given where two share a
    name); CompareError for a folder that is not a run."""
    names = [f.resolve().name for f in folders]
    clash = len(set(names)) < len(names)
    return [read_run(f, str(f) if clash else n) for f, n in zip(folders, names, strict=True)]


def read_run(folder: Path, name: str | None = None) -> RunRecord:
    if not folder.is_dir():
        raise CompareError(f"{folder} is not a run directory (no such folder)")
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompareError(f"{folder} is not a run directory (it has no manifest.json)") from None
    except (OSError, ValueError) as exc:
        raise CompareError(
            f"{folder} is not a run directory: cannot read manifest.json ({exc})"
        ) from None
    if not isinstance(manifest, dict):
        raise CompareError(f"{folder}/manifest.json is not a run's manifest")
    return RunRecord(name or folder.resolve().name, folder, manifest, _rows(folder))


def _rows(folder: Path) -> list[Row]:
    """metrics.jsonl's rows; none when the run stopped before writing it."""
    path = folder / "metrics.jsonl"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        raise CompareError(f"cannot read {path}: {exc}") from None


# --- the table ------------------------------------------------------------------------------------


def final_table(records: Sequence[RunRecord]) -> str:
    """One column per run, one row per setting that tells the runs apart, then one per final
    metric (in order of first appearance); `-` where a run lacks it.

    >>> final = {"split": "test", "acc": 0.5}
    >>> a = RunRecord("a", Path("a"), {"network": "dbn", "final": final}, [])
    >>> b = RunRecord("b", Path("b"), {"skip_stages": ["pretrain"]}, [])
    >>> print(final_table([a, b]), end="")
                    a     b
    network         dbn   -
    status          -     -
    skipped stages  none  pretrain
    split           test  -
    acc             0.5   -
    """
    lines = [["", *(r.name for r in records)]]
    lines += [[label, *(cell(r) for r in records)] for label, cell in _SETTINGS]
    finals = [r.final for r in records]
    keys = dict.fromkeys(k for f in finals for k in f if k != "split")
    lines.append(["split", *(_cell(f.get("split")) for f in finals)])
    lines += [[key, *(_cell(f.get(key)) for f in finals)] for key in keys]
    return columns(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


# The rows above the metrics: what a run was, beside what it scored.
_SETTINGS: tuple[tuple[str, Callable[[RunRecord], str]], ...] = (
    ("network", lambda r: _cell(r.manifest.get("network"))),
    ("status", lambda r: _cell(r.manifest.get("status"))),
    ("skipped stages", lambda r: ", ".join(r.manifest.get("skip_stages") or ()) or "none"),
)


# --- the curves -----------------------------------------------------------------------------------


def compare_plot(records: Sequence[RunRecord], path: Path) -> Path:
    """The runs' curves on one figure: the total loss, then each score (accuracy, mse...) of the
    supervised stages, one colour per run and one line style per split; the pretraining
    objective on its own panel when a run pretrained (it measures another thing than the loss).
    Supervised curves start at the same epoch, so a run that skipped pretraining lines up."""
    plt = _pyplot()
    panels = [("loss", "loss"), *((k, k) for k in _scores(records))]
    pretrained = any(r.pretraining for r in records)
    count = len(panels) + pretrained
    fig, axes = plt.subplots(
        1, count, figsize=(4.8 * count, 3.9), layout="constrained", squeeze=False
    )
    for ax, (key, title) in zip(axes[0], panels, strict=False):
        _panel(ax, records, key, lambda r: r.supervised, "epoch (supervised stages)")
        ax.set_title(title)
    if _all_positive(records, "loss"):
        axes[0][0].set_yscale("log")
    if pretrained:
        ax = axes[0][-1]
        _panel(ax, records, "loss", lambda r: r.pretraining, "epoch (pretraining, unit by unit)")
        ax.set_title("pretraining objective")
        objectives = dict.fromkeys(str(r["objective"]) for x in records for r in x.pretraining)
        ax.set_ylabel(", ".join(objectives).replace("_", " "))  # what `train/loss` measured
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _scores(records: Iterable[RunRecord]) -> list[str]:
    """The per-head scores the supervised rows hold (`y/acc`), without the split; the heads'
    own losses are left to the total loss."""
    keys: dict[str, None] = {}
    for record in records:
        for row in record.supervised:
            for key in row:
                split, _, rest = key.partition("/")
                if split in SPLITS and "/" in rest and not rest.endswith("/loss"):
                    keys[rest] = None
    return list(keys)


Pick = Callable[[RunRecord], list[Row]]  # which of a run's rows a panel plots


def _panel(ax: Any, records: Sequence[RunRecord], key: str, pick: Pick, xlabel: str) -> None:
    """`key` on each split, per run; the line breaks where a stage ends (a greedy stage's units
    each have their own objective)."""
    from matplotlib.ticker import MaxNLocator

    for index, record in enumerate(records):
        rows = pick(record)
        for split in SPLITS:
            ys = [r.get(f"{split}/{key}") for r in rows]
            if all(y is None for y in ys):
                continue
            style = {"color": f"C{index % 10}", "linestyle": LINESTYLES[split], "marker": "."}
            for n, (start, stop) in enumerate(_stage_spans(rows)):
                xs = np.arange(start + 1, stop + 1)
                values = [np.nan if y is None else y for y in ys[start:stop]]
                ax.plot(xs, values, label=f"{record.name} {split}" if n == 0 else None, **style)
    stages = [[r["stage"] for r in pick(record)] for record in records if pick(record)]
    if stages and all(s == stages[0] for s in stages):
        _stage_marks(ax, next(pick(r) for r in records if pick(r)))  # at the same epochs in all
    longest = max((len(pick(r)) for r in records), default=0)
    ax.set_xlim(0.5, longest + 0.5)  # as the run's own plots: a lone epoch is not a sliver
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(xlabel)
    ax.grid(alpha=0.3)
    if ax.has_data():
        ax.legend(fontsize=8)


def _stage_spans(rows: Sequence[Row]) -> list[tuple[int, int]]:
    """The [start, stop) row indices of each stage's run of rows.

    >>> _stage_spans([{"stage": "a"}, {"stage": "a"}, {"stage": "b"}])
    [(0, 2), (2, 3)]
    """
    starts = [i for i, r in enumerate(rows) if i == 0 or r["stage"] != rows[i - 1]["stage"]]
    return list(zip(starts, [*starts[1:], len(rows)], strict=True))


def _all_positive(records: Iterable[RunRecord], key: str) -> bool:
    values = [r.get(f"{s}/{key}") for rec in records for r in rec.supervised for s in SPLITS]
    present = [v for v in values if v is not None]
    return bool(present) and all(v > 0 for v in present)
