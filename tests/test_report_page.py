"""The report pages, read as HTML (no browser): every part of the DOM contract, source links
that meet the drawing, curves that hold the metrics, no request, comparison and index pages,
`netspec report`, and page building without torch."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from netspec.cli import main
from netspec.report.index import write_index

STACK = """network stack {
    input bits: [16]
    input kind: class(2)

    h = rbm(bits, 8)
    y = softmax(h, 2)

    loss cross_entropy(y, kind)
}

train stack {
    data = bars(n=40, size=4, test=0.25, seed=1)
    batch = 10
    stage pre { greedy = [h]  method = cd(k=1)  optimizer = sgd(lr=0.1)  epochs = 2 }
    stage tune { optimizer = adam(lr=0.01)  epochs = 3 }
}
"""

MLP = """network mlp {
    input bits: [16]
    input kind: class(2)

    h = bits -> dense(8, act=relu) -> dropout(0.1)
    y = softmax(h, 2)

    loss cross_entropy(y, kind)
}

train mlp {
    data = bars(n=40, size=4, test=0.25, seed=1)
    batch = 10
    optimizer = adam(lr=0.01)
    epochs = 2
}
"""


class Element:
    """A start tag: its name, attributes, and the text directly inside it."""

    def __init__(self, tag: str, attrs: dict[str, str], parents: list[Element]) -> None:
        self.tag, self.attrs, self.parents, self.text = tag, attrs, parents, ""

    def within(self, selector_id: str) -> bool:
        return any(p.attrs.get("id") == selector_id for p in self.parents)

    def has_class(self, name: str) -> bool:
        return name in self.attrs.get("class", "").split()


class Page(HTMLParser):
    """Every element of a page, each with its open ancestors."""

    VOID = frozenset({"meta", "img", "br", "input", "link", "hr"})

    def __init__(self, text: str) -> None:
        super().__init__()
        self.elements: list[Element] = []
        self.open: list[Element] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs}, list(self.open))
        self.elements.append(element)
        if tag not in self.VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}, list(self.open)))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1].text += data

    def by_id(self, name: str) -> Element:
        (found,) = [e for e in self.elements if e.attrs.get("id") == name]
        return found

    def select(self, tag: str, cls: str = "", inside: str = "") -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and (not cls or e.has_class(cls)) and (not inside or e.within(inside))
        ]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder with a two-stage run and two MLP runs that differ in their seed."""
    root = tmp_path_factory.mktemp("report")
    (root / "stack.net").write_text(STACK, encoding="utf-8")
    (root / "mlp.net").write_text(MLP, encoding="utf-8")
    folder = root / "runs"
    for spec, name, seed in [("stack", "stack", 0), ("mlp", "mlp-a", 1), ("mlp", "mlp-b", 2)]:
        command = ["train", str(root / f"{spec}.net"), "--quiet", "--set", f"seed={seed}"]
        assert main([*command, "--runs", str(folder), "--run-dir", str(folder / name)]) == 0
    return folder


def _page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def _rows(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_a_trained_run_has_a_report_with_every_part_of_the_contract(runs: Path) -> None:
    page = _page(runs / "stack" / "report.html")
    assert page.by_id("report").attrs["data-runs"] == "1"
    for part in ("source", "drawing", "equations", "curves", "pictures", "manifest"):
        page.by_id(part)
    lines = page.select("span", "line", inside="source")
    assert [e.attrs["id"] for e in lines] == [
        f"L{n}" for n in range(1, len(STACK.splitlines()) + 1)
    ]
    tabs = page.select("button", "stage-tab", inside="drawing")
    assert [t.attrs["data-stage"] for t in tabs] == ["pre", "tune"]
    assert len(page.select("svg", inside="drawing")) == 2  # one drawing per stage
    assert page.select("math", inside="equations")
    pictures = page.select("img", "picture", inside="pictures")
    kinds = {p.attrs["src"].split(";")[0] for p in pictures}
    assert kinds == {"data:image/png", "data:image/svg+xml"}  # filters; the confusion matrix
    assert all(any(x.tag == "figure" for x in p.parents) for p in pictures)
    assert "command" in [e.text for e in page.select("th", inside="manifest")]


def test_every_curve_has_a_drawn_series_and_marks_the_stages(runs: Path) -> None:
    page = _page(runs / "stack" / "report.html")
    plots = page.select("svg", "plot", inside="curves")
    metrics = [p.attrs["data-metric"] for p in plots]
    assert {"loss", "cross_entropy/acc", "pretrain/reconstruction_mse", "grad_norm"} <= set(metrics)
    for plot in plots:
        inside = [e for e in page.elements if plot in e.parents]
        assert any(e.has_class("series") and e.attrs["d"].strip() for e in inside), plot.attrs
        marks = [e for e in inside if e.has_class("stage-mark")]
        assert len(marks) == 2  # where `pre:h` and `tune` begin


def test_source_links_point_at_units_of_the_drawing(runs: Path) -> None:
    page = _page(runs / "mlp-a" / "report.html")
    links = [a.attrs["href"] for a in page.select("a", "unit-link", inside="source")]
    drawn = {e.attrs["data-unit"] for e in page.elements if "data-unit" in e.attrs}
    assert all(e.within("drawing") for e in page.elements if "data-unit" in e.attrs)
    assert links and {link.removeprefix("#unit-") for link in links} <= drawn
    assert {"#unit-h.dense", "#unit-h", "#unit-y", "#unit-bits"} <= set(links)
    targets = {e.attrs["id"] for e in page.elements if e.attrs.get("id", "").startswith("unit-")}
    assert {link.removeprefix("#") for link in links} <= targets  # the links land somewhere


def _read_back(plot: Element, d: str) -> list[tuple[float, float]]:
    """The data points of a path, through the plot's stated map from data to the box."""
    x0, x1 = map(float, plot.attrs["data-x-domain"].split())
    y0, y1 = map(float, plot.attrs["data-y-domain"].split())
    left, top, right, bottom = map(float, plot.attrs["data-box"].split())
    pixels = [tuple(map(float, p.split(","))) for p in re.findall(r"[-\d.]+,[-\d.]+", d)]
    return [
        (
            x0 + (px - left) / (right - left) * (x1 - x0),
            y0 + (bottom - py) / (bottom - top) * (y1 - y0),
        )
        for px, py in pixels
    ]


def test_curve_paths_hold_the_metrics_of_the_run(runs: Path) -> None:
    run = runs / "stack"
    page = _page(run / "report.html")
    (plot,) = [p for p in page.select("svg", "plot") if p.attrs["data-metric"] == "loss"]
    (test,) = [
        e for e in page.elements if plot in e.parents and e.attrs.get("data-label") == "test"
    ]
    rows = _rows(run)
    expected = [(i + 1, r["test/loss"]) for i, r in enumerate(rows) if "test/loss" in r]
    points = _read_back(plot, test.attrs["d"])
    y0, y1 = map(float, plot.attrs["data-y-domain"].split())
    assert len(points) == len(expected) == 3  # the three epochs of `tune`, after two of `pre`
    for (x, y), (ex, ey) in zip(points, expected, strict=True):
        assert x == pytest.approx(ex, abs=0.01)
        assert y == pytest.approx(ey, abs=(y1 - y0) * 0.002)


def test_the_run_folder_curves_are_the_page_curves_as_files(runs: Path) -> None:
    """plots/curves.svg holds the metrics of the run as the page's curves do; gradients.svg
    each unit's gradient norm on a log axis; the confusion matrix counts the test split."""
    run = runs / "stack"
    assert {p.name for p in (run / "plots").glob("*.svg")} == {
        "curves.svg",
        "gradients.svg",
        "confusion-cross_entropy.svg",
    }
    curves = _page(run / "plots" / "curves.svg")
    (plot,) = [p for p in curves.select("svg", "plot") if p.attrs["data-metric"] == "loss"]
    (test,) = [
        e for e in curves.elements if plot in e.parents and e.attrs.get("data-label") == "test"
    ]
    expected = [(i + 1, r["test/loss"]) for i, r in enumerate(_rows(run)) if "test/loss" in r]
    y0, y1 = map(float, plot.attrs["data-y-domain"].split())
    points = _read_back(plot, test.attrs["d"])
    assert len(points) == len(expected) == 3
    for (x, y), (ex, ey) in zip(points, expected, strict=True):
        assert x == pytest.approx(ex, abs=0.01) and y == pytest.approx(ey, abs=(y1 - y0) * 0.002)

    gradients = _page(run / "plots" / "gradients.svg")
    plots = {p.attrs["data-metric"]: p for p in gradients.select("svg", "plot")}
    assert set(plots) == {"grad_norm", "update_ratio", "saturation"}
    norm = plots["grad_norm"]
    assert (
        norm.attrs.get("data-y-scale") == "log" and "data-y-scale" not in plots["saturation"].attrs
    )
    record = json.loads((run / "gradients.json").read_text())
    (h,) = [e for e in gradients.elements if norm in e.parents and e.attrs.get("data-label") == "h"]
    n0, n1 = map(float, norm.attrs["data-y-domain"].split())
    for (x, y), epoch in zip(_read_back(norm, h.attrs["d"]), record["epochs"], strict=True):
        assert x == pytest.approx(epoch["row"], abs=0.01)
        assert y == pytest.approx(math.log10(epoch["grad_norm"]["h"]), abs=(n1 - n0) * 0.002)

    confusion = _page(run / "plots" / "confusion-cross_entropy.svg")
    cells = confusion.select("rect", "cell")
    assert len(cells) == 4 and sum(int(c.attrs["data-count"]) for c in cells) == 10  # 40 * 0.25
    hits = sum(
        int(c.attrs["data-count"])
        for c in cells
        if c.attrs["data-true"] == c.attrs["data-predicted"]
    )
    assert hits / 10 == pytest.approx(_rows(run)[-1]["test/cross_entropy/acc"])
    page = _page(run / "report.html")
    shown = [p.attrs["alt"] for p in page.select("img", "picture", inside="pictures")]
    assert "confusion-cross_entropy" in shown and "curves" not in shown  # drawn inline instead


def test_the_pages_make_no_request(runs: Path) -> None:
    pages = [runs / "stack" / "report.html", runs / "index.html"]
    for path in pages:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", text), path
        assert not re.search(r"<link\b|<script\b[^>]*\bsrc=", text), path
        assert "@import" not in text and "url(http" not in text


def test_the_comparison_page_draws_one_series_per_run_in_every_plot(
    runs: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cmp.html"
    assert main(["report", str(runs / "mlp-a"), str(runs / "mlp-b"), "-o", str(out)]) == 0
    page = _page(out)
    assert page.by_id("report").attrs["data-runs"] == "2"
    plots = page.select("svg", "plot", inside="curves")
    assert plots
    for plot in plots:
        series = [e for e in page.elements if plot in e.parents and e.has_class("series")]
        assert sorted(s.attrs["data-run"] for s in series) == ["mlp-a", "mlp-b"], plot.attrs
    header = [e.text for e in page.select("th", inside="finals")][:3]
    assert header == ["", "mlp-a", "mlp-b"]
    assert page.select("svg", inside="drawing")


def test_the_index_lists_every_run_with_its_page(runs: Path) -> None:
    page = _page(runs / "index.html")
    rows = page.select("tr", "run", inside="runs")
    assert len(rows) == 3
    links = [a.attrs["href"] for a in page.select("a", inside="runs")]
    assert {"stack/report.html", "mlp-a/report.html", "mlp-b/report.html"} <= set(links)


def test_the_index_leaves_a_page_it_did_not_write(tmp_path: Path) -> None:
    mine = tmp_path / "index.html"
    mine.write_text("<html>my own page</html>")
    assert write_index(tmp_path) is None
    assert mine.read_text() == "<html>my own page</html>"


def test_report_writes_a_run_page_again_as_training_wrote_it(runs: Path) -> None:
    page = runs / "mlp-a" / "report.html"
    written = page.read_text(encoding="utf-8")
    page.unlink()
    assert main(["report", str(runs / "mlp-a")]) == 0
    assert page.read_text(encoding="utf-8") == written


def test_report_on_a_folder_that_is_not_a_run_is_a_coded_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "x").mkdir()
    assert main(["report", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "error[E749]" in err and "is not a run directory" in err and "Traceback" not in err


def test_a_page_that_cannot_be_written_does_not_fail_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import netspec.report.page

    def refuse(run: Path, *_: Any) -> Path:
        raise PermissionError(13, "Permission denied", str(run / "report.html"))

    monkeypatch.setattr(netspec.report.page, "write_report", refuse)
    (tmp_path / "mlp.net").write_text(MLP, encoding="utf-8")
    command = ["train", str(tmp_path / "mlp.net"), "--epochs", "1", "--runs", str(tmp_path)]
    assert main([*command, "--run-dir", str(tmp_path / "run")]) == 0
    assert "note: skipped report.html: [Errno 13] Permission denied" in capsys.readouterr().err
    assert not (tmp_path / "run" / "report.html").exists()


BUILD_WITHOUT_TORCH = """
import sys
from pathlib import Path
import netspec
from netspec.report.compare import read_run
from netspec.report.page import run_page
run = Path(sys.argv[1])
compiled = netspec.compile_file(sys.argv[2])
html = run_page(read_run(run), compiled, "stack")
print(len(html) > 1000, "torch" in sys.modules)
"""


def test_building_a_page_imports_no_torch(runs: Path) -> None:
    spec = runs.parent / "stack.net"
    done = subprocess.run(
        [sys.executable, "-c", BUILD_WITHOUT_TORCH, str(runs / "stack"), str(spec)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.split() == ["True", "False"], done.stderr
