"""Curves as SVG, drawn by hand (no matplotlib): one plot per objective, its series, axes (linear
or log) and the stage boundaries; inline on the report page, so it needs no image file, and as
standalone files in a run folder's plots/ (`document`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from html import escape

Point = tuple[float, float]

# The plot's size and its plotting box, in SVG user units.
HEIGHT = 270
LEFT, RIGHT, TOP, BOTTOM = 64, 460, 34, 226
LEGEND_CHAR = 6.5  # the legend's width per character of its longest label
MARKERS_UP_TO = 100  # points of a series that still get a marker with its value as tooltip
GAP = 8  # between the plots of a `document`
# How plots look, on the report page and in a standalone `document`.
STYLE = """
svg.plot { font: 11px system-ui, sans-serif; }
svg.plot .plot-title { font-weight: 600; font-size: 12px; }
svg.plot .axis { stroke: #444; }
svg.plot .grid { stroke: #eee; }
svg.plot .tick, svg.plot .legend { fill: #444; }
svg.plot .axis-label { fill: #666; }
svg.plot .stage-mark { stroke: #999; stroke-dasharray: 4 3; }
svg.plot .stage-name { fill: #777; font-size: 10px; }
svg.plot path.series { stroke-width: 1.8; }
svg.plot .legend-line { stroke-width: 2.5; }
svg.plot .point { stroke: none; }
"""
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


@dataclass(frozen=True)
class Series:
    """One line of a plot: its segments (a stage change breaks the line), named for the
    legend; `run` names the run folder it comes from on a comparison page."""

    label: str
    segments: tuple[tuple[Point, ...], ...]
    run: str = ""

    @property
    def points(self) -> list[Point]:
        return [p for segment in self.segments for p in segment]


@dataclass(frozen=True)
class Plot:
    """One objective's curves: `metric` is its key (`loss`, `y/acc`, `grad_norm`)."""

    metric: str
    title: str
    xlabel: str
    series: tuple[Series, ...]
    stages: tuple[tuple[float, str], ...] = ()  # where each stage begins on x, and its name
    xmax: float = 0.0  # the last x the axis shows (every row of the run, even without values)
    log: bool = False  # a log y axis (values <= 0 are left out)
    ydomain: tuple[float, float] | None = None  # a fixed y interval (a share: 0 to 1)


@dataclass(frozen=True)
class Scale:
    """A linear map from a data interval onto a pixel interval."""

    low: float
    high: float
    start: float
    stop: float

    def __call__(self, value: float) -> float:
        return self.start + (value - self.low) / (self.high - self.low) * (self.stop - self.start)


def plot_svg(plot: Plot) -> str:
    """The plot as an `<svg class="plot">`; its `data-x-domain`, `data-y-domain` and `data-box`
    say how data map onto the box, so a reader (or a test) can read a point back (on a log
    axis, `data-y-scale="log"` and the domain is of log10 of the values)."""
    shown = _logged(plot) if plot.log else plot
    points = [p for s in shown.series for p in s.points]
    xmax = max([plot.xmax, *(x for x, _ in points)], default=1.0)
    x = Scale(0.5, xmax + 0.5, LEFT, RIGHT)
    low, high = plot.ydomain or _y_domain([y for _, y in points])
    y = Scale(low, high, BOTTOM, TOP)
    width = plot_width(plot)
    scale = ' data-y-scale="log"' if plot.log else ""
    parts = [
        f'<svg class="plot" data-metric="{escape(plot.metric)}" viewBox="0 0 {width} {HEIGHT}" '
        f'width="{width}" height="{HEIGHT}" role="img"{scale} '
        f'data-x-domain="{x.low:g} {x.high:g}" data-y-domain="{low!r} {high!r}" '
        f'data-box="{LEFT} {TOP} {RIGHT} {BOTTOM}">',
        f"<title>{escape(plot.title)}</title>",
        f'<text class="plot-title" x="{LEFT}" y="16">{escape(plot.title)}</text>',
        *_axes(x, y, plot.xlabel, plot.log),
        *_stage_marks(plot.stages, x),
    ]
    for index, series in enumerate(shown.series):
        colour = COLOURS[index % len(COLOURS)]
        parts += _series(series, colour, x, y, index, plot.log)
    parts.append("</svg>")
    return "\n".join(parts)


def plot_width(plot: Plot) -> int:
    """The width of `plot_svg`'s drawing: the box, and the legend beside it."""
    longest = max((len(s.label) for s in plot.series), default=0)
    return round(RIGHT + 44 + LEGEND_CHAR * longest)


def _logged(plot: Plot) -> Plot:
    """`plot` with log10 of each y; values <= 0 (none on a log axis) become NaN, a gap."""
    series = tuple(
        replace(
            s,
            segments=tuple(
                tuple((a, math.log10(b) if b > 0 else math.nan) for a, b in segment)
                for segment in s.segments
            ),
        )
        for s in plot.series
    )
    return replace(plot, series=series)


def document(plots: Sequence[Plot], title: str) -> str:
    """A standalone SVG file of `plots`, one under the other, styled as the report page
    styles them: the run folder's curves, drawn without matplotlib."""
    drawn, widths = [plot_svg(p) for p in plots], [plot_width(p) for p in plots]
    width, height = max(widths, default=LEFT + RIGHT), GAP + (HEIGHT + GAP) * len(drawn)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 2 * GAP}" height="{height}" '
        f'viewBox="0 0 {width + 2 * GAP} {height}">',
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style>",
        '<rect width="100%" height="100%" fill="#fafafa"/>',
    ]
    for i, (svg, w) in enumerate(zip(drawn, widths, strict=True)):
        top = GAP + i * (HEIGHT + GAP)
        parts.append(
            f'<rect x="{GAP}" y="{top}" width="{w}" height="{HEIGHT}" fill="#fff" stroke="#ddd"/>'
        )
        parts.append(svg.replace("<svg ", f'<svg x="{GAP}" y="{top}" ', 1))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _y_domain(values: Sequence[float]) -> tuple[float, float]:
    """The y interval shown: the values' range with a margin; a flat or empty one widened."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return 0.0, 1.0
    low, high = min(finite), max(finite)
    if high - low <= 1e-6 * max(1.0, abs(high)):  # flat up to rounding: widen around it
        pad = max(abs(low) * 0.1, 0.5)
    else:
        pad = (high - low) * 0.06
    return low - pad, high + pad


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values inside [low, high], about `count` of them.

    >>> nice_ticks(0.0, 1.0)
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9)
    ticks = []
    k = first
    while k * step <= high + 1e-9 * step:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Tick positions on a log axis whose domain is [low, high] in log10: the whole powers of
    ten inside it, or round steps of the log when it spans less than two of them.

    >>> log_ticks(-3.2, 0.4), log_ticks(0.1, 0.9)
    ([-3.0, -2.0, -1.0, 0.0], [0.2, 0.4, 0.6, 0.8])
    """
    whole = [float(k) for k in range(math.ceil(low), math.floor(high) + 1)]
    if len(whole) >= 2:
        stride = math.ceil(len(whole) / 6)  # at most about six labels
        return whole[::stride]
    return nice_ticks(low, high)


def _axes(x: Scale, y: Scale, xlabel: str, log: bool = False) -> list[str]:
    out = [
        f'<line class="axis" x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}"/>',
    ]
    ticks = log_ticks(y.low, y.high) if log else nice_ticks(y.low, y.high)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    digits = max(0, -math.floor(math.log10(step)) + 1) if step < 1 else 0  # labels that differ
    for value in ticks:
        py = y(value)
        if log:
            label = f"{10**value:.3g}"
        else:
            label = f"{value:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{value:g}"
        out.append(f'<line class="grid" x1="{LEFT}" y1="{py:.2f}" x2="{RIGHT}" y2="{py:.2f}"/>')
        out.append(
            f'<text class="tick" x="{LEFT - 5}" y="{py + 3:.2f}" text-anchor="end">{label}</text>'
        )
    last = int(x.high - 0.5)
    step = max(1, math.ceil(last / 10))
    for epoch in range(1, last + 1, step):
        px = x(epoch)
        out.append(
            f'<line class="axis" x1="{px:.2f}" y1="{BOTTOM}" x2="{px:.2f}" y2="{BOTTOM + 4}"/>'
        )
        out.append(
            f'<text class="tick" x="{px:.2f}" y="{BOTTOM + 15}" text-anchor="middle">{epoch}</text>'
        )
    middle = (LEFT + RIGHT) / 2
    out.append(
        f'<text class="axis-label" x="{middle}" y="{BOTTOM + 32}" text-anchor="middle">'
        f"{escape(xlabel)}</text>"
    )
    return out


def _stage_marks(stages: Sequence[tuple[float, str]], x: Scale) -> list[str]:
    """A dashed line where each stage begins (the first too, at the left edge), and its name;
    names that would overprint the one before go a line lower."""
    out = []
    level_ends: list[float] = []
    for start, name in stages:
        px = x(start)
        out.append(
            f'<line class="stage-mark" x1="{px:.2f}" y1="{TOP}" x2="{px:.2f}" y2="{BOTTOM}">'
            f"<title>stage {escape(name)}</title></line>"
        )
        right = px + 6 * len(name) + 8
        level = next((k for k, end in enumerate(level_ends) if px >= end), len(level_ends))
        if level == len(level_ends):
            level_ends.append(right)
        level_ends[level] = right
        out.append(
            f'<text class="stage-name" x="{px + 3:.2f}" y="{TOP + 10 + 10 * level}">'
            f"{escape(name)}</text>"
        )
    return out


def _series(
    series: Series, colour: str, x: Scale, y: Scale, index: int, log: bool = False
) -> list[str]:
    moves = []
    for segment in series.segments:
        finite = [(a, b) for a, b in segment if math.isfinite(b)]
        if finite:
            moves.append("M" + " L".join(f"{x(a):.2f},{y(b):.2f}" for a, b in finite))
    run = f' data-run="{escape(series.run)}"' if series.run else ""
    label = escape(series.label)
    out = [
        f'<path class="series" data-label="{label}"{run} d="{" ".join(moves)}" '
        f'stroke="{colour}" fill="none"><title>{label}</title></path>'
    ]
    points = series.points
    if len(points) <= MARKERS_UP_TO:
        for a, b in points:
            if math.isfinite(b):
                out.append(
                    f'<circle class="point" cx="{x(a):.2f}" cy="{y(b):.2f}" r="2.2" '
                    f'fill="{colour}"><title>{label}, epoch {a:g}: '
                    f"{10**b if log else b:.4g}</title></circle>"
                )
    ly = TOP + 6 + 16 * index
    out.append(
        f'<line class="legend-line" x1="{RIGHT + 12}" y1="{ly}" x2="{RIGHT + 30}" y2="{ly}" '
        f'stroke="{colour}"/>'
    )
    out.append(f'<text class="legend" x="{RIGHT + 34}" y="{ly + 4}">{label}</text>')
    return out
