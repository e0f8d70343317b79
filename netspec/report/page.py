"""report.html: one self-contained page per run (spec source linked to the drawing, the drawing
per stage, equations, curves, pictures, manifest), and one page comparing several runs. Reads
the run folder and draws the compiled spec; never imports torch."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from netspec.api import Compiled
from netspec.diagnostics.failure import Failure
from netspec.lang.source import NOWHERE
from netspec.report.compare import RunRecord, read_run
from netspec.report.curve_data import compare_plots, run_gradients, run_plots
from netspec.report.html_page import html_page, number, write_text
from netspec.report.index import REPORT, write_index
from netspec.report.page_assets import SCRIPT
from netspec.report.sections import (
    drawing_html,
    drawn_units,
    equations_html,
    manifest_html,
    pictures_html,
    source_html,
)
from netspec.report.svg_curves import Plot, plot_svg
from netspec.views.draw import draw
from netspec.views.render_dot import RenderError

__all__ = ["compare_page", "rebuild_report", "run_page", "write_compare", "write_report"]

COMPARE = "compare.html"


def write_report(run: Path, compiled: Compiled, network: str) -> Path:
    """Write `run`/report.html and refresh the runs root's index.html (the run's parent
    folder); OSError when a folder refuses a file."""
    path = write_text(run / REPORT, run_page(read_run(run), compiled, network))
    write_index(run.parent)
    return path


def run_page(record: RunRecord, compiled: Compiled, network: str) -> str:
    """One run's report page."""
    graph = compiled.network(network)
    drawings = _drawings(compiled, network, record.manifest)
    drawn = sorted({u for _, svg in drawings for u in drawn_units(svg, graph)})
    plan = compiled.trains.get(network)
    file = (plan.span if plan is not None else graph.span or NOWHERE).file
    source = source_html(compiled.sources.text(file) or "", file, graph, drawn)
    if drawings:
        drawing = drawing_html(drawings, graph)
    else:
        drawing = '<div id="drawing"><p class="empty">no renderer for the drawing</p></div>'
    plots = run_plots(record.rows, run_gradients(record.path))
    body = "\n".join(
        [
            f"<h1>run {escape(record.name)}: network {escape(network)}</h1>",
            _summary(record.manifest),
            _final_metrics(record.manifest),
            '<div class="pair">',
            _section(f"spec {record.manifest.get('spec') or file}", source),
            _section("network", drawing),
            "</div>",
            _section("curves", _curves(plots)),
            _section("pictures", pictures_html(record.path)),
            _section("equations", equations_html(graph, compiled.sources, plan)),
            _section("manifest", manifest_html(record.manifest)),
        ]
    )
    return html_page(f"{record.name} - netspec run", body, 1, SCRIPT)


def _drawings(
    compiled: Compiled, network: str, manifest: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """(stage, svg) per stage the run ran, when its `train` section names stages; else one
    drawing, its stage "". Empty when no renderer can draw SVG."""
    plan = compiled.trains.get(network)
    skipped = set(manifest.get("skip_stages") or ())
    stages = [s.name for s in plan.stages if s.name not in skipped] if plan else []
    if len(stages) < 2 and stages != [] and stages[0] == "main":
        stages = []  # a `train` section without stages: its implicit one needs no tab
    try:
        return [(name, _svg(compiled, network, name or None)) for name in stages or [""]]
    except RenderError:
        return []


def _svg(compiled: Compiled, network: str, stage: str | None) -> str:
    drawn = draw(compiled, network, stage=stage, fmt="svg")
    return drawn.decode("utf-8") if isinstance(drawn, bytes) else drawn


def _section(name: str, content: str) -> str:
    return f"<section><h2>{escape(name)}</h2>{content}</section>"


def _curves(plots: Sequence[Plot]) -> str:
    if not plots:
        return '<div id="curves"><p class="empty">no epoch has ended yet</p></div>'
    return '<div id="curves">' + "\n".join(plot_svg(p) for p in plots) + "</div>"


def _summary(manifest: Mapping[str, Any]) -> str:
    facts = [
        ("status", manifest.get("status", "running")),
        ("spec", manifest.get("spec")),
        ("started", manifest.get("started")),
        ("finished", manifest.get("finished")),
        ("seed", manifest.get("seed")),
        ("device", manifest.get("device")),
        ("command", manifest.get("command")),
    ]
    shown = "; ".join(f"{k} {escape(str(v))}" for k, v in facts if v not in (None, ""))
    return f'<p class="summary">{shown}</p>'


def _final_metrics(manifest: Mapping[str, Any]) -> str:
    final = dict(manifest.get("final") or {})
    split = final.pop("split", None)
    by_split = final.pop("by_split", {})
    for key, values in by_split.items():
        final.update({f"{key} [{s}]": v for s, v in values.items()})
    if not final:
        return ""
    rows = "".join(
        f'<tr><th>{escape(k)}</th><td class="number">{escape(number(v))}</td></tr>'
        for k, v in final.items()
    )
    where = f" on the {escape(str(split))} split" if split else ""
    return f'<h3>final metrics{where}</h3><table class="metrics">{rows}</table>'


# --- several runs ---------------------------------------------------------------------------------


def write_compare(records: Sequence[RunRecord], path: Path) -> Path:
    """Write the comparison page of `records` to `path`, with the first run's drawing (its spec
    compiled again from its folder); OSError when it cannot."""
    from netspec.training.run_spec import compile_run

    try:
        first = compile_run(records[0].path)
        spec: tuple[Compiled, str] | None = (first.compiled, first.network)
    except Failure:  # a run from before runs kept their spec: its curves compare all the same
        spec = None
    return write_text(path, compare_page(records, path.parent, spec))


def compare_page(
    records: Sequence[RunRecord], home: Path = Path("."), spec: tuple[Compiled, str] | None = None
) -> str:
    """The runs side by side: a table of their settings and final metrics (`#finals`, one
    column per run), each objective's curves (one series per run) and the network of the first
    run (`spec`: compiled, network); links to each run's own page, relative to `home` (the
    folder the page is written to)."""
    parts = [
        f"<h1>{len(records)} runs compared</h1>",
        f'<p class="summary">{_links(records, home)}</p>',
        _section("final metrics", _finals(records)),
        _section("curves", _curves(compare_plots(records))),
    ]
    if spec is not None:
        compiled, network = spec
        drawings = _drawings(compiled, network, records[0].manifest)
        if drawings:
            drawing = drawing_html(drawings, compiled.network(network))
            parts.append(
                _section(f"network {escape(network)} of {escape(records[0].name)}", drawing)
            )
    return html_page("netspec runs compared", "\n".join(parts), len(records), SCRIPT)


def _links(records: Sequence[RunRecord], home: Path) -> str:
    links = []
    for r in records:
        page = r.path / REPORT
        if page.exists():
            href = Path(_relative(page.resolve(), home.resolve())).as_posix()
            links.append(f'<a href="{escape(href)}">{escape(r.name)}</a>')
        else:
            links.append(escape(r.name))
    return "runs: " + ", ".join(links)


def _relative(path: Path, home: Path) -> str:
    return os.path.relpath(path, home)


# The rows above the metrics: what tells the runs apart.
SETTINGS = (
    ("network", lambda m: m.get("network")),
    ("status", lambda m: m.get("status")),
    ("skipped stages", lambda m: ", ".join(m.get("skip_stages") or ()) or "none"),
    ("--set", lambda m: " ".join(f"{k}={v}" for k, v in (m.get("overrides") or {}).items())),
    ("seed", lambda m: m.get("seed")),
)


def _finals(records: Sequence[RunRecord]) -> str:
    head = "<tr><th></th>" + "".join(f"<th>{escape(r.name)}</th>" for r in records) + "</tr>"
    lines = [
        [label, *(number(pick(r.manifest) or "-") for r in records)] for label, pick in SETTINGS
    ]
    finals = [r.final for r in records]
    lines.append(["split", *(number(f.get("split")) for f in finals)])
    keys = dict.fromkeys(k for f in finals for k in f if k != "split")
    lines += [[key, *(number(f.get(key)) for f in finals)] for key in keys]
    rows = "".join(
        f"<tr><th>{escape(label)}</th>"
        + "".join(f'<td class="number">{escape(c)}</td>' for c in cells)
        + "</tr>"
        for label, *cells in lines
    )
    return f'<table id="finals">{head}{rows}</table>'


def rebuild_report(record: RunRecord, path: Path) -> Path:
    """Write `record`'s page to `path`, its spec compiled again from the run's own copy
    (`compile_run`); in the run folder itself, the runs root's index.html is refreshed too.
    OSError when the folder refuses the page."""
    from netspec.training.run_spec import compile_run

    run = compile_run(record.path)
    write_text(path, run_page(record, run.compiled, run.network))
    if path.resolve() == (record.path / REPORT).resolve():
        write_index(record.path.parent)
    return path
