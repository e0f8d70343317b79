"""A SpecDiff as text (a summary line, then `+`/`-`/`~` sections), as Markdown tables for a pull
request comment, as JSON, or as a highlight of the drawing of B.

The JSON (`format: "netspec-diff/1"`) has these keys, stable across versions of that format:

- `a`, `b`: `{file, network, parameters}` of each side;
- `summary`: `{changed, added, removed, renamed}`, counts of units, and `parameters_delta`;
- `nodes`: one object per node that differs, B's order then the removed in A's: `status`
  (added, removed, changed, renamed), `role` (input, unit, output, loss), `own` (false when only
  its output shape or parameter count changed, through its inputs), `parameters_delta`, `a` and
  `b` (each null or `{id, label, kind, call, type, parameters, inputs, at}`, `inputs` the ids
  of its inputs on its side), and `changes`, a list of
  `{what, name, before, after}` with `what` one of kind, argument, inputs, output, parameters;
- `train`: the section settings that differ, each `{key, before, after, at_a, at_b}`;
- `stages`: `{status, name, summary, at_a, at_b, settings}`, `settings` as for `train`.

Every `at` is `{file, line, column}` or null. Values are strings as a spec writes them; a
setting that one side lacks is null."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from netspec.lang.source import Span
from netspec.views.diff import NodeChange, NodeSide, SettingChange, SpecDiff, StageChange
from netspec.views.dot import Digraph, html

FORMAT = "netspec-diff/1"
MARKS = {"added": "+", "removed": "-", "changed": "~", "renamed": "~"}
_ANSI = {"+": "\033[32m", "-": "\033[31m", "~": "\033[33m", "bold": "\033[1m"}
_RESET = "\033[0m"
ROLES = (("unit", "units"), ("input", "inputs"), ("output", "outputs"), ("loss", "losses"))

# The drawing of B: what was added, changed, and removed (A's units, drawn as ghosts).
ADDED = {"color": "#238b45", "fillcolor": "#c7e9c0", "penwidth": "2"}
CHANGED = {"color": "#d94801", "fillcolor": "#fdd49e", "penwidth": "2"}
GHOST = {"color": "#969696", "fontcolor": "#969696", "style": "dashed,rounded"}


def summary(d: SpecDiff) -> str:
    """`3 units changed, 2 added, 1 removed; parameters 17,226 -> 35,498 (+18,272)`."""
    parts = [f"{d.count('changed')} unit{'s' * (d.count('changed') != 1)} changed"]
    parts += [f"{d.count('added')} added", f"{d.count('removed')} removed"]
    if d.count("renamed"):
        parts.append(f"{d.count('renamed')} renamed")
    return ", ".join(parts) + f"; parameters {_change(d.params_a, d.params_b)}"


def _change(before: int, after: int) -> str:
    delta = after - before
    return f"{before:,} -> {after:,}" + (f" ({delta:+,})" if delta else "")


def _at(span: Span | None) -> str:
    return f"{span.file}:{span.line}" if span is not None else ""


def _where(a: Span | None, b: Span | None) -> str:
    return " -> ".join(w for w in (_at(a), _at(b)) if w)


# --- text ----------------------------------------------------------------------------------------


def render_text(d: SpecDiff, color: bool = False) -> str:
    """The diff as a changelog: the header and summary, then each section that has changes."""

    def paint(text: str, style: str) -> str:
        return f"{_ANSI[style]}{text}{_RESET}" if color else text

    names = d.network_a if d.network_a == d.network_b else f"{d.network_a} -> {d.network_b}"
    lines = [paint(f"diff {d.file_a} -> {d.file_b} (network {names})", "bold"), summary(d)]
    if d.is_empty:
        return "\n".join([*lines, "no differences"]) + "\n"
    for role, title in ROLES:
        changes = d.of(role)
        if changes:
            lines += ["", paint(title, "bold")]
            for change in changes:
                lines += _node_lines(change, paint)
    if d.train:
        lines += ["", paint("train", "bold"), *(_setting_line(s, "  ", paint) for s in d.train)]
    if d.stages:
        lines += ["", paint("stages", "bold")]
        for stage in d.stages:
            lines += _stage_lines(stage, paint)
    return "\n".join(lines) + "\n"


Paint = Callable[[str, str], str]


def _node_lines(c: NodeChange, paint: Paint) -> list[str]:
    mark = MARKS[c.status]
    if c.status in ("added", "removed"):
        side = c.b or c.a
        assert side is not None
        count = f"  {side.params:,} parameters" if side.params else ""
        head = f"{mark} {side.label}  {side.call}  {side.type}{count}"
        return [paint(head, mark) + f"  {_at(side.span)}"]
    assert c.a is not None and c.b is not None
    name = c.b.label if c.status == "changed" else f"{c.a.label} -> {c.b.label} (renamed)"
    lines = [paint(f"{mark} {name}  {c.b.call}", mark) + f"  {_where(c.a.span, c.b.span)}"]
    for delta in c.deltas:
        before, after = delta.before, delta.after
        if delta.what == "parameters":
            shown = _change(int(before), int(after))
        else:
            shown = f"{before} -> {after}"
        note = "  (through its inputs)" if delta.what == "output" and not c.is_own else ""
        lines.append(f"    {delta.name}: {shown}{note}")
    return lines


def _setting_line(s: SettingChange, indent: str, paint: Paint) -> str:
    mark = "+" if s.before is None else "-" if s.after is None else "~"
    value = s.after if s.before is None else s.before if s.after is None else ""
    shown = value or f"{s.before} -> {s.after}"
    return f"{indent}{paint(mark, mark)} {s.key}: {shown}  {_where(s.span_a, s.span_b)}"


def _stage_lines(s: StageChange, paint: Paint) -> list[str]:
    mark = MARKS[s.status]
    if s.status != "changed":
        return [paint(f"{mark} {s.name}: {s.summary}", mark) + f"  {_where(s.span_a, s.span_b)}"]
    head = paint(f"{mark} {s.name}", mark) + f"  {_where(s.span_a, s.span_b)}"
    return [head, *(_setting_line(x, "    ", paint) for x in s.settings)]


# --- markdown ------------------------------------------------------------------------------------


def render_markdown(d: SpecDiff) -> str:
    """The diff as Markdown: the summary, a table of the nodes, one of the settings."""
    names = d.network_a if d.network_a == d.network_b else f"{d.network_a} → {d.network_b}"
    lines = [f"**netspec diff** `{d.file_a}` → `{d.file_b}` (network `{names}`)", ""]
    lines.append(summary(d).replace("->", "→"))
    if d.nodes:
        lines += ["", "| | node | role | call | output | parameters | where |"]
        lines.append("| --- | --- | --- | --- | --- | ---: | --- |")
        lines += [_node_row(c) for c in d.nodes]
    settings = [*d.train, *(s for stage in d.stages for s in stage.settings)]
    if settings or d.stages:
        lines += ["", "| | setting | A | B |", "| --- | --- | --- | --- |"]
        lines += [_setting_row(s) for s in d.train]
        for stage in d.stages:
            if stage.status == "changed":
                lines += [_setting_row(s, f"{stage.name}.") for s in stage.settings]
            else:
                a, b = ("", stage.summary) if stage.status == "added" else (stage.summary, "")
                lines.append(f"| {MARKS[stage.status]} | stage `{stage.name}` | {a} | {b} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _pair(before: str, after: str) -> str:
    return _cell(after if before == after else f"{before} → {after}")


def _node_row(c: NodeChange) -> str:
    a, b = c.a, c.b
    side = b or a
    assert side is not None
    name = f"`{a.label}` → `{b.label}`" if a and b and a.label != b.label else f"`{side.label}`"
    if a is not None and b is not None:
        call, shape = _pair(a.call, b.call), _pair(a.type, b.type)
        count = (
            _cell(_change(a.params, b.params).replace("->", "→"))
            if a.params != b.params
            else f"{b.params:,}"
        )
    else:
        call, shape, count = _cell(side.call), _cell(side.type), f"{side.params:,}"
    where = _cell(_where(a.span if a else None, b.span if b else None)).replace("->", "→")
    return f"| {MARKS[c.status]} | {name} | {c.role} | `{call}` | {shape} | {count} | {where} |"


def _setting_row(s: SettingChange, prefix: str = "") -> str:
    mark = "+" if s.before is None else "-" if s.after is None else "~"
    before, after = (_cell(f"`{v}`") if v is not None else "" for v in (s.before, s.after))
    return f"| {mark} | {prefix}{s.key} | {before} | {after} |"


# --- json ----------------------------------------------------------------------------------------


def render_json(d: SpecDiff) -> str:
    """The diff as JSON (the keys are in the module docstring)."""
    return json.dumps(as_data(d), indent=2) + "\n"


def as_data(d: SpecDiff) -> dict[str, Any]:
    """The diff as plain data, what `render_json` writes."""
    return {
        "format": FORMAT,
        "a": {"file": d.file_a, "network": d.network_a, "parameters": d.params_a},
        "b": {"file": d.file_b, "network": d.network_b, "parameters": d.params_b},
        "summary": {
            **{s: d.count(s) for s in ("changed", "added", "removed", "renamed")},
            "parameters_delta": d.params_b - d.params_a,
        },
        "nodes": [_node_data(c) for c in d.nodes],
        "train": [_setting_data(s) for s in d.train],
        "stages": [
            {
                "status": s.status,
                "name": s.name,
                "summary": s.summary,
                "at_a": _span_data(s.span_a),
                "at_b": _span_data(s.span_b),
                "settings": [_setting_data(x) for x in s.settings],
            }
            for s in d.stages
        ],
    }


def _span_data(span: Span | None) -> dict[str, Any] | None:
    return None if span is None else {"file": span.file, "line": span.line, "column": span.col}


def _side_data(side: NodeSide | None) -> dict[str, Any] | None:
    if side is None:
        return None
    return {
        "id": side.id,
        "label": side.label,
        "kind": side.kind,
        "call": side.call,
        "type": side.type,
        "parameters": side.params,
        "inputs": list(side.inputs),
        "at": _span_data(side.span),
    }


def _node_data(c: NodeChange) -> dict[str, Any]:
    return {
        "status": c.status,
        "role": c.role,
        "own": c.is_own,
        "parameters_delta": c.param_delta,
        "a": _side_data(c.a),
        "b": _side_data(c.b),
        "changes": [
            {"what": x.what, "name": x.name, "before": x.before, "after": x.after} for x in c.deltas
        ],
    }


def _setting_data(s: SettingChange) -> dict[str, Any]:
    return {
        "key": s.key,
        "before": s.before,
        "after": s.after,
        "at_a": _span_data(s.span_a),
        "at_b": _span_data(s.span_b),
    }


# --- drawing -------------------------------------------------------------------------------------


def highlighter(d: SpecDiff) -> Callable[[Digraph], None]:
    """What `draw(..., decorate=)` calls on the units view of B: added units green, changed ones
    amber, and A's removed units as dashed grey ghosts wired to their neighbours still in B."""

    def decorate(dot: Digraph) -> None:
        for change in d.nodes:
            side = change.b
            if side is None or side.id not in dot.nodes or change.status == "renamed":
                continue
            look = ADDED if change.status == "added" else CHANGED
            attrs = dot.nodes[side.id]
            styles = [s for s in attrs.get("style", "").split(",") if s]
            attrs.update(look, style=",".join(dict.fromkeys([*styles, "filled"])))
        for change in d.nodes:
            if change.status == "removed" and change.a is not None and change.role == "unit":
                _ghost(dot, change.a, d)
        title = dot.graph.get("label", "")
        dot.graph["label"] = (
            f"{title}\nagainst {d.file_a}: added green, changed amber, removed grey"
        )

    return decorate


def _ghost(dot: Digraph, side: NodeSide, d: SpecDiff) -> None:
    """A removed unit, dashed and grey, beside the units of B it fed or was fed by."""
    ghost = f"removed:{side.id}"
    label = f"<<b>{html(side.label)}</b><br/>{html(side.call)}<br/>removed>"
    dot.node(ghost, shape="box", label=label, tooltip=f"removed: {_at(side.span)}", **GHOST)
    faint = {"style": "dashed", "color": GHOST["color"]}
    for src in side.inputs:
        if src in dot.nodes:
            dot.edge(src, ghost, **faint)
    for change in d.nodes:  # the units of B that it fed in A
        if change.a is not None and change.b is not None and side.id in change.a.inputs:
            dot.edge(ghost, change.b.id, **faint)


def render_diff(d: SpecDiff, fmt: str, color: bool = False) -> str:
    """The diff in one of the formats `netspec diff --format` names: text, markdown or json."""
    if fmt == "json":
        return render_json(d)
    if fmt == "markdown":
        return render_markdown(d)
    return render_text(d, color)
