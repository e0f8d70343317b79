"""The parts of a run's report page, each an HTML string: the spec source with its lines linked
to the units they define, the drawing per stage with its units marked, the forward and backward
equations, the run's pictures as data URIs and the manifest. Torch-free."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from html import escape, unescape
from pathlib import Path
from typing import Any

from netspec.equations import chain
from netspec.equations.expr import definitions, statement_lines, tensor_list
from netspec.ir import Graph, Role
from netspec.lang.source import Sources
from netspec.plan.plans import TrainPlan
from netspec.report.mathml import equation_html
from netspec.views.equations import listing

LINKED = (Role.INPUT, Role.UNIT, Role.LOSS)  # what a source line links to (outputs: its unit)
NODE = re.compile(r'<g id="[^"]*" class="node">\s*<title>([^<]*)</title>')
# The run's curve images, which the page draws itself as inline SVG.
CURVE_IMAGES = frozenset({"curves.svg", "gradients.svg"})
CAPTIONS = {
    "confusion": "confusion matrix of head {} on the test split (rows: true class)",
    "filters": "filters of {}: each hidden unit's weights onto the input",
    "atoms": "dictionary atoms of {}",
    "templates": "class templates of {}: its weights onto the input image",
    "kernels": "convolution kernels of {}",
    "reconstructions": "reconstructions by {}: inputs above, reconstructions below",
    "samples": "Gibbs samples of the RBM stack after stage {}",
    "feature": "feature maps of the first convolution on one example",
}


# --- the source -----------------------------------------------------------------------------------


def source_html(text: str, file: str, graph: Graph, drawn: Sequence[str]) -> str:
    """`<pre id="source">`, one `<span class="line" id="L{n}">` per line; each call or input
    that defines a drawn unit is an `<a class="unit-link" href="#unit-{id}">`.

    >>> import netspec
    >>> c = netspec.compile("network n {\\n  input x: [4]\\n  h = rbm(x, 2)\\n}", "n.net")
    >>> html = source_html(c.sources.text("n.net"), "n.net", c.network(), ["x", "h"])
    >>> '<a class="unit-link" href="#unit-h" data-target="h">rbm(x, 2)</a>' in html
    True
    """
    lines = text.splitlines()
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    links: dict[int, list[tuple[int, int, str]]] = {}
    shown = set(drawn)
    for node in graph.nodes():
        span = node.span
        if node.role in LINKED and node.id in shown and span.file == file and span.line >= 1:
            links.setdefault(span.line, []).append((span.start, span.end, node.id))
    out = []
    for n, line in enumerate(lines, start=1):
        body = _linked_line(line, starts[n - 1], links.get(n, []))
        out.append(f'<span class="line" id="L{n}" data-n="{n}">{body}</span>')
    return '<pre id="source">' + "".join(out) + "</pre>"  # each line a block of its own


def _linked_line(line: str, offset: int, spans: list[tuple[int, int, str]]) -> str:
    """The line escaped, its units' spans (clipped to the line, the first of overlapping ones
    kept) as links."""
    parts, at = [], 0
    for start, end, node in sorted(spans, key=lambda s: (s[0], -s[1])):
        left, right = max(0, start - offset), min(len(line), end - offset)
        if left < at or right <= left:
            continue
        parts.append(escape(line[at:left]))
        parts.append(
            f'<a class="unit-link" href="#unit-{escape(node)}" data-target="{escape(node)}">'
            f"{escape(line[left:right])}</a>"
        )
        at = right
    parts.append(escape(line[at:]))
    return "".join(parts)


# --- the drawing ----------------------------------------------------------------------------------


def drawn_units(svg: str, graph: Graph) -> list[str]:
    """The ids of the graph's nodes that the drawing (graphviz SVG) draws."""
    return [t for t in (unescape(m.group(1)) for m in NODE.finditer(svg)) if t in graph]


def inline_svg(svg: str, graph: Graph, index: int) -> str:
    """The drawing ready to sit in the page: no XML prologue, its ids made unique to drawing
    `index`, each unit's group marked `data-unit="{id}"` (and, in the first drawing, given the
    id `unit-{id}` the source links point at)."""
    svg = svg[svg.find("<svg") :]
    svg = re.sub(r'<svg width="[^"]*" height="[^"]*"', '<svg class="network"', svg, count=1)
    svg = svg.replace(' id="', f' id="d{index}-')

    def mark(match: re.Match[str]) -> str:
        node = unescape(match.group(1))
        if node not in graph:
            return match.group(0)
        anchor = f'id="unit-{escape(node)}" ' if index == 0 else ""
        return (
            f'<g {anchor}class="node unit" data-unit="{escape(node)}">'
            f"<title>{match.group(1)}</title>"
        )

    return NODE.sub(mark, svg)


def drawing_html(drawings: Sequence[tuple[str, str]], graph: Graph) -> str:
    """`<div id="drawing">`: one drawing, or one per stage (name, svg) behind stage tabs."""
    tabs = ""
    if len(drawings) > 1 or drawings[0][0]:
        buttons = (
            f'<button class="stage-tab{" active" if i == 0 else ""}" type="button" '
            f'data-stage="{escape(name)}">{escape(name)}</button>'
            for i, (name, _) in enumerate(drawings)
        )
        tabs = '<div class="stage-tabs">' + "".join(buttons) + "</div>"
    views = []
    for i, (name, svg) in enumerate(drawings):
        hidden = " hidden" if i else ""
        views.append(
            f'<div class="stage-drawing" data-stage="{escape(name)}"{hidden}>'
            f"{inline_svg(svg, graph, i)}</div>"
        )
    hint = '<p class="hint">wheel: zoom, drag: pan, double-click: reset; click a unit</p>'
    return f'<div id="drawing">{tabs}{hint}{"".join(views)}</div>'


# --- the equations --------------------------------------------------------------------------------


def equations_html(graph: Graph, sources: Sources, plan: TrainPlan | None) -> str:
    """`<div id="equations">`: each unit's forward equations with its tensors, the backward
    pass from the loss down, then each stage's update, as `netspec explain --backward` prints
    them (the same structures)."""
    steps = chain.forward(graph)
    used = [s for step in steps for s in step.statements]
    out = ['<div id="equations">', "<h3>forward</h3>"]
    for step in steps:
        lines = [line for s in step.statements for line in statement_lines(s)]
        lines += [f"({note})" for note in step.equations.notes]
        out.append(_unit_block(step.node.id, _heading(step, sources), lines, "forward"))
    out.append("<h3>backward: the chain rule, from the loss down</h3>")
    for step in chain.backward(graph, steps):
        lines = [line for s in step.statements for line in statement_lines(s)]
        used += step.statements
        out.append(_unit_block(step.node.id, _heading(step, sources), lines, "backward"))
    where = definitions(used)
    if where:
        out.append('<h3>where</h3><pre class="eq">' + escape("\n".join(where)) + "</pre>")
    text = listing(graph, sources, backward=True, plan=plan) if plan is not None else ""
    stages = text.find("\nstage ")  # the stages' updates close `explain --backward`
    if stages >= 0:
        out.append("<h3>stages</h3>")
        out += [_stage_line(line) for line in text[stages + 1 :].splitlines() if line.strip()]
    out.append("</div>")
    return "\n".join(out)


def _heading(step: chain.Step, sources: Sources) -> str:
    node = step.node
    text = sources.text(node.span.file) or ""
    call = " ".join(text[node.span.start : node.span.end].split()) or node.kind
    tensors = tensor_list(step.equations.tensors)
    return f"{node.label}: {call}" + (f"    [{tensors}]" if tensors else "")


def _unit_block(node: str, heading: str, lines: Sequence[str], way: str) -> str:
    body = "".join(equation_html(line) for line in lines)
    return (
        f'<div class="unit-eq {way}" data-eq-unit="{escape(node)}">'
        f"<h4>{escape(heading)}</h4>{body}</div>"
    )


def _stage_line(line: str) -> str:
    """A line of the stages' updates: a stage's or a rule's heading (the two outer indents)
    as text, the rest as equations."""
    if len(line) - len(line.lstrip(" ")) <= 2:
        return f'<h4 class="stage-rule">{escape(line.strip())}</h4>'
    return equation_html(line[4:])


# --- pictures and manifest ------------------------------------------------------------------------


def pictures_html(run: Path) -> str:
    """`<div id="pictures">`: the run's plots/*.png and *.svg (but the curves, drawn inline) as
    data URIs, each in a `<figure>` with what it shows as caption."""
    files = sorted(
        p
        for p in (run / "plots").glob("*")
        if p.suffix in MEDIA_TYPES and p.name not in CURVE_IMAGES
    )
    figures = []
    for path in files:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        figures.append(
            f'<figure><img class="picture" alt="{escape(path.stem)}" '
            f'src="data:{MEDIA_TYPES[path.suffix]};base64,{data}"><figcaption>'
            f"{escape(caption(path.name))}</figcaption></figure>"
        )
    if not figures:
        figures.append('<p class="empty">this run has no pictures</p>')
    return '<div id="pictures">' + "".join(figures) + "</div>"


MEDIA_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


def caption(name: str) -> str:
    """What a run's picture shows, from its file name.

    >>> caption("confusion-y.svg")
    'confusion matrix of head y on the test split (rows: true class)'
    """
    stem = name.rsplit(".", 1)[0]
    kind, _, what = stem.partition("-")
    return CAPTIONS[kind].format(what) if kind in CAPTIONS else stem


def manifest_html(manifest: Mapping[str, Any]) -> str:
    """`<table id="manifest">`: one row per entry; nested entries as indented JSON."""
    rows = []
    for key, value in manifest.items():
        if isinstance(value, (dict, list)):
            shown = f"<pre>{escape(json.dumps(value, indent=2))}</pre>"
        else:
            shown = escape("" if value is None else str(value))
        rows.append(f"<tr><th>{escape(str(key))}</th><td>{shown}</td></tr>")
    return '<table id="manifest">' + "".join(rows) + "</table>"
