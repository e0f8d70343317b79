"""A block call copied from an earlier one (netspec.build.templates) is what building it gives:
the same nodes, edges, names, sites, types and diagnostics, on every spec of the zoo and the
invalid-spec cases, and on specs that call blocks in the ways that could tell them apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from netspec.api import compile
from netspec.build import blocks
from netspec.diagnostics.core import NetspecError
from netspec.diagnostics.render import render_text

ROOT = Path(__file__).resolve().parent.parent

CALLS = {
    "stacked calls": """
block cell(width, act = relu) {
    input x
    h = x -> dense(width, act = act)
    y = h -> dense(width)
    output y
}
network n {
    input pixels: [64]
    input digit: class(10)
    a = cell(pixels, 8)
    b = cell(a, 8)
    c = cell(b, 8, act = tanh)
    d = cell(c, 8)
    e = cell(d, 16)
    y = e -> softmax(10)
    loss cross_entropy(y, digit)
}
""",
    "calls in chains, repeated": """
block cell(width) {
    input x
    y = x -> dense(width) -> relu
    output y
}
network n {
    input pixels: [64]
    input digit: class(10)
    h = pixels -> cell(8) -> cell(8) * 3 -> (cell(4) -> cell(4)) * 2
    y = h -> softmax(10)
    loss cross_entropy(y, digit)
}
""",
    "nested blocks and several outputs": """
block inner(width) {
    input x
    y = x -> dense(width)
    output y
}
block outer(width) {
    input a
    input b
    p = inner(a, width)
    q = inner(b, width)
    s = concat(p, q)
    output s, q
}
network n {
    input pixels: [64]
    input digit: class(10)
    s1, q1 = outer(pixels, pixels, 8)
    s2, q2 = outer(s1, q1, 8)
    s3, q3 = outer(s2, s2, 8)
    s4, q4 = outer(q3, s3, 8)
    y = concat(s4, q4) -> softmax(10)
    loss cross_entropy(y, digit)
}
""",
    "parameters equal in Python but not as units": """
block scaled(p) {
    input x
    y = x -> dropout(p)
    output y
}
network n {
    input pixels: [64]
    input digit: class(10)
    a = scaled(pixels, 0)
    b = scaled(a, 0.0)
    c = scaled(b, 0)
    y = c -> softmax(10)
    loss cross_entropy(y, digit)
}
""",
    "a shape error in a later call": """
block cell(width) {
    input x
    y = x -> dense(width)
    output y
}
network n {
    input pixels: [64]
    input image: [1, 8, 8]
    input digit: class(10)
    a = cell(pixels, 8)
    b = cell(image, 8)
    c = concat(a, cell(a, 8), cell(b, 8))
    y = c -> softmax(10)
    loss cross_entropy(y, digit)
}
""",
    "a build error in a later call": """
block cell(width) {
    input x
    y = x -> dense(width)
    output y
}
network n {
    input pixels: [64]
    input digit: class(10)
    a = cell(pixels, 8)
    b = cell(a, 8)
    c = cell(b, -3)
    d = cell(c, 8)
    y = d -> softmax(10)
    loss cross_entropy(y, digit)
}
""",
}


def _specs() -> list[tuple[str, str]]:
    found = [(name, text) for name, text in CALLS.items()]
    for path in sorted((ROOT / "specs").glob("*.net")):
        found.append((path.name, path.read_text()))
    for path in sorted((ROOT / "tests" / "cases").rglob("*.net")):
        text = path.read_text()
        if "block" in text:
            found.append((str(path.relative_to(ROOT)), text))
    return found


def _outcome(text: str, file: str) -> Any:
    """Everything a compile gives that a copied call could change."""
    try:
        compiled = compile(text, file)
    except NetspecError as exc:
        return ("errors", render_text(exc.diagnostics, exc.sources))
    graphs = []
    for graph in compiled.networks.values():
        nodes = [
            (
                n.id,
                n.role,
                n.kind,
                n.span,
                n.params,
                n.name,
                n.value_span,
                [(s.block, s.id, s.span) for s in n.scope],
                n.type,
                n.meta,
                graph.inputs_of(n.id),
            )
            for n in graph.nodes()
        ]
        sites = {k: (s.block, s.id, s.span) for k, s in graph.sites.items()}
        graphs.append((graph.name, nodes, graph.names, sites, graph.topo_order()))
    warnings = render_text(compiled.diagnostics, compiled.sources)
    return ("ok", graphs, warnings)


@pytest.mark.parametrize(("name", "text"), _specs(), ids=[n for n, _ in _specs()])
def test_a_copied_call_is_what_building_it_gives(
    name: str, text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    copied = _outcome(text, "spec.net")
    monkeypatch.setattr(blocks, "COPY_CALLS", False)
    built = _outcome(text, "spec.net")
    assert copied == built


def test_repeated_calls_are_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    """The copies are made (else the test above compares two builds)."""
    made: list[str] = []
    instantiate = blocks.Template.instantiate

    def counted(self: blocks.Template, state: Any, site_id: str, *args: Any) -> Any:
        made.append(site_id)
        return instantiate(self, state, site_id, *args)

    monkeypatch.setattr(blocks.Template, "instantiate", counted)
    compile(CALLS["stacked calls"], "spec.net")
    assert made == ["b", "d"]  # `a` is recorded; `c` and `e` have other parameters
