"""A run's recorded gradients (its gradients.json, written by training/gradients.py) read without
torch, and the units view coloured by them: each weighted unit filled by its gradient norm on a
log scale, the edges into it drawn in its colour, and a legend line giving the range."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netspec.diagnostics.failure import Failure
from netspec.ir import Graph
from netspec.views.dot import Digraph, html

FILE = "gradients.json"
FORMAT = "netspec-gradients/1"
MEASURES = ("grad_norm", "update_ratio", "saturation")

# ColorBrewer's YlOrRd, pale to dark: a vanishing gradient is a pale unit. The last RAMP_DARK
# colours are dark enough to need white text.
RAMP = (
    "#ffffcc",
    "#ffeda0",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#fc4e2a",
    "#e31a1c",
    "#bd0026",
    "#800026",
)
RAMP_DARK = 3
NO_GRADIENT = "#f0f0f0"  # a weighted unit that received no gradient (frozen, or off the loss)


class GradientError(Failure):
    """A run folder without readable gradient statistics, or an epoch it did not record."""

    code = "E746"


@dataclass(frozen=True)
class RecordedUnit:
    """A weighted unit whose gradients the run recorded: its node id, label and activation."""

    id: str
    label: str
    activation: str  # sigmoid, tanh or relu: what its saturation measures; "" when not known


@dataclass(frozen=True)
class GradientRecord:
    """The statistics of one run: per recorded epoch of the supervised stages (numbered from 1,
    as `--epoch N` counts them; each also names its row of metrics.jsonl, where
    plots/gradients.svg draws it), each measure's mean per unit (None where it had none)."""

    network: str
    every: int  # measured every this many steps (and on each epoch's first)
    units: tuple[RecordedUnit, ...]
    epochs: tuple[Mapping[str, Any], ...]

    def series(self, measure: str, unit: str) -> list[float | None]:
        """One unit's values of a measure, epoch by epoch."""
        return [e[measure].get(unit) for e in self.epochs]

    def epoch(self, number: int | None = None) -> Mapping[str, Any]:
        """The `number`th recorded epoch (the last when None); GradientError when out of range.

        >>> record = GradientRecord("n", 10, (), ({"stage": "main", "epoch": 1},))
        >>> record.epoch()["epoch"]
        1
        """
        if not self.epochs:
            raise GradientError("the run recorded no gradients (no supervised epoch ended)")
        if number is None:
            return self.epochs[-1]
        if not 1 <= number <= len(self.epochs):
            raise GradientError(
                f"--epoch {number}: the run recorded gradients for epochs 1 to {len(self.epochs)}"
            )
        return self.epochs[number - 1]


def read_gradients(run: Path) -> GradientRecord:
    """The run folder's gradients.json; GradientError saying why it cannot be read."""
    path = run / FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GradientError(
            f"{run} has no {FILE}: it is not a run folder, or it trained with "
            "`grad_stats_every = 0` or before gradients were recorded"
        ) from None
    except (OSError, ValueError) as exc:
        raise GradientError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise GradientError(f"{path} is not a netspec gradient record ({FORMAT})")
    units = tuple(RecordedUnit(u["id"], u["label"], u["activation"]) for u in data["units"])
    return GradientRecord(data["network"], int(data["every"]), units, tuple(data["epochs"]))


# --- the colour scale ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LogScale:
    """Values mapped to RAMP on a log scale between the smallest and the largest."""

    low: float
    high: float

    @classmethod
    def of(cls, values: Sequence[float]) -> LogScale:
        positive = [v for v in values if v > 0]
        if not positive:
            return cls(0.0, 0.0)
        return cls(min(positive), max(positive))

    def index(self, value: float) -> int:
        """The ramp position of `value`: 0 for the smallest (or anything not positive).

        >>> LogScale(1e-6, 1e-2).index(1e-2), LogScale(1e-6, 1e-2).index(1e-6)
        (8, 0)
        """
        if value <= 0 or self.high <= self.low:
            return len(RAMP) - 1 if value > 0 else 0
        where = math.log(value / self.low) / math.log(self.high / self.low)
        return round(min(1.0, max(0.0, where)) * (len(RAMP) - 1))


def gradient_norms(record: GradientRecord, epoch: int | None) -> tuple[Mapping[str, Any], str]:
    """The chosen epoch's gradient norms by unit id, and the legend line naming that epoch."""
    entry = record.epoch(epoch)
    number = epoch if epoch is not None else len(record.epochs)
    where = f"epoch {number} (stage {entry['stage']}, its epoch {entry['epoch']})"
    return entry["grad_norm"], where


def colour_by_gradient(
    dot: Digraph, graph: Graph, record: GradientRecord, epoch: int | None
) -> None:
    """Fill each recorded unit of a units-view drawing by its gradient norm in `epoch` (the last
    when None), colour the edges into it alike, and add the range to the title as the legend.
    The colours span the whole run's range, so the drawings of two epochs compare."""
    if record.network != graph.name:
        raise GradientError(f"the run trained network `{record.network}`, not `{graph.name}`")
    norms, where = gradient_norms(record, epoch)
    shown = {u.id: norms.get(u.id) for u in record.units if u.id in dot.nodes}
    every = [v for e in record.epochs for v in e["grad_norm"].values() if v is not None]
    scale = LogScale.of(every)
    for node_id, norm in shown.items():
        _colour_node(dot.nodes[node_id], norm, scale)
    for src, dst, attrs in dot.edges:
        norm = shown.get(dst)
        if norm is not None and src != dst:  # a recurrent self-loop keeps its own look
            attrs["color"] = RAMP[scale.index(norm)]
            attrs["penwidth"] = f"{1 + 2 * scale.index(norm) / (len(RAMP) - 1):.2f}"
            attrs["tooltip"] = attrs.get("tooltip", "") + f"\ngradient norm of {dst}: {norm:.3g}"
    _legend(dot, scale, where)


def _colour_node(attrs: dict[str, str], norm: float | None, scale: LogScale) -> None:
    fill = NO_GRADIENT if norm is None else RAMP[scale.index(norm)]
    styles = [s for s in attrs.get("style", "").split(",") if s and s != "filled"]
    attrs["style"] = ",".join([*styles, "filled"])
    attrs["fillcolor"] = fill
    if norm is not None and scale.index(norm) >= len(RAMP) - RAMP_DARK:
        attrs["fontcolor"] = "white"
    text = "no gradient" if norm is None else f"grad norm {norm:.2e}"
    label = attrs.get("label", "")
    if label.startswith("<") and label.endswith(">"):  # an HTML label: one more small row
        attrs["label"] = f'{label[:-1]}<br/><font point-size="9">{text}</font>>'
    attrs["tooltip"] = attrs.get("tooltip", "") + f"\n{text}"


def _legend(dot: Digraph, scale: LogScale, where: str) -> None:
    """The title, then the legend line under it: `gradient norm in epoch 3 (...); the run:
    1.2e-06`, the ramp, `3.4e-02`. An HTML label cannot mix text and a table, so both rows
    are table cells."""
    title = dot.graph.get("label", "")
    title = title[1:-1] if title.startswith("<") and title.endswith(">") else html(title)
    low = f"gradient norm in {html(where)}; the run: {scale.low:.1e}"
    cells = "".join(f'<td bgcolor="{c}" width="14"> </td>' for c in RAMP)
    dot.graph["label"] = (
        '<<table border="0" cellspacing="0" cellpadding="2">'
        f'<tr><td colspan="{len(RAMP) + 2}">{title}</td></tr>'
        f"<tr><td>{_small(low)}</td>{cells}<td>{_small(f'{scale.high:.1e}')}</td></tr></table>>"
    )


def _small(text: str) -> str:
    return f'<font point-size="10">{text}</font>'
