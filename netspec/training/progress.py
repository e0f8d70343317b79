"""What a run prints: rich progress bars on a terminal, one plain line per epoch elsewhere (logs,
CI), nothing with --quiet; then a summary table of each head's final metrics."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from netspec.training.metrics import HeadSpec
from netspec.views.table import columns

if TYPE_CHECKING:
    from netspec.training.objectives import UnitScore


class Reporter(Protocol):
    def stage_start(self, name: str, total_steps: int, epochs: int, done: int) -> None: ...
    def advance(self, steps: int = 1) -> None: ...
    def epoch_end(self, row: Mapping[str, Any], epochs: int) -> None: ...
    def stage_end(self) -> None: ...
    def note(self, message: str) -> None: ...
    def close(self) -> None: ...


def epoch_line(row: Mapping[str, Any], epochs: int, heads: Sequence[HeadSpec]) -> str:
    """`stage finetune  epoch 3/30  loss 0.412  val_loss 0.398  val_acc 0.951  1.2s`; a greedy
    stage's rows name their rule's objective instead of `loss` (`reconstruction_mse 0.031
    pseudo_ll -0.412`)."""
    parts = [f"stage {row['stage']}", f"epoch {row['epoch']}/{epochs}"]
    # `train/loss` holds a pretraining rule's own objective, which `objective` names
    parts.append(f"{row.get('objective', 'loss')} {_num(row.get('train/loss'))}")
    if "train/pseudo_ll" in row:
        parts.append(f"pseudo_ll {_num(row['train/pseudo_ll'])}")
    split = "val" if "val/loss" in row else "test" if "test/loss" in row else None
    if split is not None:
        parts.append(f"{split}_loss {_num(row.get(f'{split}/loss'))}")
        for h in heads:
            prefix = split if len(heads) == 1 else f"{split}_{h.name}"
            score = h.scores[0]
            value = row.get(f"{split}/{h.name}/{score}")
            if value is not None:
                parts.append(f"{prefix}_{score} {_num(value)}")
    seconds = row["seconds"]
    parts.append(f"{seconds:.2f}s" if seconds < 10 else f"{seconds:.1f}s")
    return "  ".join(parts)


def _num(value: Any) -> str:
    return "-" if value is None else f"{float(value):.4g}" if abs(value) >= 1e4 else f"{value:.3f}"


class PlainReporter:
    """One line per epoch, for logs and pipes."""

    def __init__(self, heads: Sequence[HeadSpec], stream: TextIO | None = None) -> None:
        self.heads, self.stream = heads, stream or sys.stdout

    def stage_start(self, name: str, total_steps: int, epochs: int, done: int) -> None:
        pass

    def advance(self, steps: int = 1) -> None:
        pass

    def epoch_end(self, row: Mapping[str, Any], epochs: int) -> None:
        print(epoch_line(row, epochs, self.heads), file=self.stream, flush=True)

    def stage_end(self) -> None:
        pass

    def note(self, message: str) -> None:
        print(f"note: {message}", file=sys.stderr, flush=True)

    def close(self) -> None:
        pass


class QuietReporter(PlainReporter):
    def epoch_end(self, row: Mapping[str, Any], epochs: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


class RichReporter(PlainReporter):
    """A progress bar per stage, the latest epoch's metrics beside it."""

    def __init__(self, heads: Sequence[HeadSpec]) -> None:
        super().__init__(heads)
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]{task.fields[stage]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
        )
        self.progress.start()
        self.task: Any = None

    def stage_start(self, name: str, total_steps: int, epochs: int, done: int) -> None:
        self.task = self.progress.add_task("", total=total_steps, completed=done, stage=name)

    def advance(self, steps: int = 1) -> None:
        self.progress.advance(self.task, steps)

    def epoch_end(self, row: Mapping[str, Any], epochs: int) -> None:
        line = epoch_line(row, epochs, self.heads)
        self.progress.update(self.task, description=line.split("  ", 1)[1])

    def stage_end(self) -> None:
        task = self.progress.tasks[-1] if self.progress.tasks else None
        if task is not None and task.description:
            line = f"stage {task.fields['stage']}  {task.description}"
            self.progress.console.print(line, markup=False, highlight=False)

    def note(self, message: str) -> None:
        self.progress.console.print(f"note: {message}", markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()


def reporter(heads: Sequence[HeadSpec], quiet: bool) -> Reporter:
    if quiet:
        return QuietReporter(heads)
    if sys.stdout.isatty():
        return RichReporter(heads)
    return PlainReporter(heads)


def metrics_table(metrics: Mapping[str, float], heads: Sequence[HeadSpec], split: str) -> str:
    """Per head: the loss, then accuracy (class and binary targets) or mse and mae (real ones),
    and a `weight=auto` head's learned weight."""
    header = ["head", "kind", f"{split} loss", "accuracy", "mse", "mae", "learned weight"]
    rows = [header]
    for h in heads:
        row = [h.name, h.kind, _cell(metrics.get(f"{h.name}/loss"))]
        row += [_cell(metrics.get(f"{h.name}/{m}")) for m in ("acc", "mse", "mae", "weight")]
        rows.append(row)
    if len(heads) > 1:
        rows.append(["total", "weighted", _cell(metrics.get("loss")), "", "", "", ""])
    used = [i for i in range(len(header)) if i < 3 or any(r[i] for r in rows[1:])]
    return columns([[r[i] for i in used] for r in rows])


def scores_table(scores: Sequence[UnitScore]) -> str:
    """A network without loss heads: per pretrained unit, each measure of its own objective on
    every split (a free-energy gap on held-out splits only)."""
    splits = [s for s in ("train", "val", "test") if any(s in x.values for x in scores)]
    rows = [["unit", "method", "measure", *splits]]
    for score in scores:
        measure = score.measure.replace("_", " ")
        rows.append(
            [score.unit, score.method, measure, *(_cell(score.values.get(s)) for s in splits)]
        )
    return columns(rows)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"
