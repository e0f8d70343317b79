"""The report pages in headless Chromium: no console error or request; drawing and plots render.

Screenshots go to tests/artifacts/ and, when NETSPEC_SCREENSHOTS=DIR is set, to DIR as well.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse
from urllib.request import url2pathname

import pytest
from browser import Browser, BrowserError, PageLog, find_chromium

from netspec.cli import main

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (.ci/run installs Debian's chromium)"
)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

DBN = """network dbn {
    input pixels: [16]
    input orientation: class(2)

    h1 = rbm(pixels, 8)
    h2 = rbm(h1, 6)
    y = softmax(h2, 2)

    loss cross_entropy(y, orientation)
}

train dbn {
    data = bars(n=40, size=4, test=0.25, seed=1)
    batch = 10
    stage pretrain {
        greedy = [h1, h2]
        method = cd(k=1)
        optimizer = sgd(lr=0.1)
        epochs = 3
    }
    stage finetune {
        optimizer = adam(lr=0.01)
        epochs = 3
    }
}
"""

MLP = """network mlp {
    input bits: [16]
    input kind: class(2)

    h = dense(bits, 8, act=relu)
    y = softmax(h, 2)

    loss cross_entropy(y, kind)
}

train mlp {
    data = bars(n=40, size=4, test=0.25, seed=1)
    batch = 10
    optimizer = adam(lr=0.01)
    epochs = 3
}
"""

# The drawing's visible <svg> elements: their size, and their markup as a signature of what shows.
VISIBLE_DRAWING = """(() => {
    const shown = [...document.querySelectorAll('#drawing svg')]
        .filter(svg => !svg.parentElement.closest('svg') && svg.getClientRects().length > 0);
    return shown.map(svg => {
        const box = svg.getBBox();
        return {width: box.width, height: box.height, markup: svg.outerHTML};
    });
})()"""

# Per `svg.plot`: its metric, the runs of its drawn series and how many stage boundaries it marks.
PLOTS = """[...document.querySelectorAll('#curves svg.plot')].map(svg => {
    const drawn = [...svg.querySelectorAll('path.series')].filter(path => {
        const box = path.getBBox();
        return (path.getAttribute('d') || '').trim() !== '' && (box.width > 0 || box.height > 0);
    });
    return {
        metric: svg.dataset.metric,
        series: drawn.length,
        runs: [...new Set(drawn.map(path => path.dataset.run))],
        stageMarks: svg.querySelectorAll('line.stage-mark').length,
    };
})"""

PICTURES = """[...document.querySelectorAll('#pictures img.picture')].map(img => ({
    src: img.getAttribute('src').slice(0, 30),
    width: img.complete ? img.naturalWidth : 0,
    caption: (img.closest('figure')?.querySelector('figcaption')?.textContent || '').trim(),
}))"""

# Click the first visible unit of the drawing that a source line links to; its node id, or null.
CLICK_UNIT = """(() => {
    const linked = new Set([...document.querySelectorAll('#source a.unit-link')]
        .map(a => a.getAttribute('href').replace(/^#unit-/, '')));
    const unit = [...document.querySelectorAll('#drawing [data-unit]')]
        .find(el => linked.has(el.dataset.unit) && el.getClientRects().length > 0);
    if (!unit) return null;
    unit.dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, view: window}));
    return unit.dataset.unit;
})()"""

HIGHLIGHTED_LINES = """[...document.querySelectorAll('#source .line.highlight')].map(line => ({
    id: line.id,
    links: [...line.querySelectorAll('a.unit-link')].map(a => a.getAttribute('href')),
}))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert CHROMIUM is not None
    with Browser(CHROMIUM) as running:
        yield running


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runs folder with a two-stage DBN run and two MLP runs, and a page comparing the MLPs."""
    root = tmp_path_factory.mktemp("browser")
    (root / "dbn.net").write_text(DBN, encoding="utf-8")
    (root / "mlp.net").write_text(MLP, encoding="utf-8")
    folder = root / "runs"
    trained = [("dbn", "dbn", 0), ("mlp", "mlp-a", 1), ("mlp", "mlp-b", 2)]
    for spec, name, seed in trained:
        command = ["train", str(root / f"{spec}.net"), "--quiet", "--seed", str(seed)]
        assert main([*command, "--runs", str(folder), "--run-dir", str(folder / name)]) == 0
    compare = ["report", str(folder / "mlp-a"), str(folder / "mlp-b")]
    assert main([*compare, "-o", str(root / "cmp.html")]) == 0
    return root


def _open(browser: Browser, page: Path, shot: str | None = None) -> PageLog:
    """Load the page, save its screenshot as `shot`, and fail on any console error or request."""
    assert page.is_file(), f"{page.name} was not written"
    log = browser.open(page)
    if shot:
        saved = browser.screenshot(ARTIFACTS / shot)
        if wanted := os.environ.get("NETSPEC_SCREENSHOTS"):
            Path(wanted).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(saved, Path(wanted) / shot)
    assert log.errors == [], f"console errors on {page.name}"
    assert log.requests == [], f"{page.name} requested more than itself"
    return log


def _assert_drawing(browser: Browser, page: str) -> list[dict[str, Any]]:
    shown: list[dict[str, Any]] = browser.evaluate(VISIBLE_DRAWING)
    assert shown, f"{page}: no visible #drawing svg"
    assert all(s["width"] > 0 and s["height"] > 0 for s in shown), f"{page}: an empty drawing"
    return shown


def _assert_plots(browser: Browser, page: str) -> list[dict[str, Any]]:
    plots: list[dict[str, Any]] = browser.evaluate(PLOTS)
    assert plots, f"{page}: no svg.plot in #curves"
    empty = [p["metric"] for p in plots if p["series"] == 0]
    assert empty == [], f"{page}: plots with no drawn path.series"
    return plots


def test_the_harness_catches_console_errors_and_requests(browser: Browser, tmp_path: Path) -> None:
    clean = tmp_path / "clean.html"
    clean.write_text(
        '<!doctype html><title>ok</title><img src="data:image/gif;base64,'
        'R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==">'
        "<script>document.title = 'ran'</script>",
        encoding="utf-8",
    )
    log = browser.open(clean)
    assert (log.errors, log.requests) == ([], [])
    assert browser.evaluate("document.title") == "ran"
    with pytest.raises(BrowserError, match="script failed: ReferenceError"):
        browser.evaluate("no_such_name")

    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!doctype html><title>broken</title>"
        '<img src="http://example.invalid/x.png">'
        "<script>console.error('deliberate', 42); null.oops;</script>",
        encoding="utf-8",
    )
    log = browser.open(broken)
    assert log.requests == ["http://example.invalid/x.png"]
    assert "console.error: deliberate 42" in log.errors
    assert any(e.startswith("uncaught exception: TypeError") for e in log.errors)
    shot = browser.screenshot(tmp_path / "broken.png")
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_run_page_renders_its_drawing_curves_and_pictures(browser: Browser, runs: Path) -> None:
    _open(browser, runs / "runs" / "dbn" / "report.html", "dbn.png")
    assert browser.evaluate("document.querySelector('main#report').dataset.runs") == "1"
    _assert_drawing(browser, "dbn")
    plots = _assert_plots(browser, "dbn")
    assert any(p["stageMarks"] > 0 for p in plots), "dbn: no plot marks the stage boundary"
    pictures: list[dict[str, Any]] = browser.evaluate(PICTURES)
    assert pictures, "dbn: no img.picture"
    assert [p for p in pictures if p["width"] == 0 or not p["caption"]] == []
    kinds = {p["src"].split(";")[0] for p in pictures}  # filters and samples; the confusion
    assert kinds == {"data:image/png", "data:image/svg+xml"}, kinds
    equations = browser.evaluate("document.querySelector('#equations').textContent")
    assert all(unit in equations for unit in ("h1", "h2", "y")), "dbn: units lack equations"
    assert browser.evaluate("document.querySelector('#manifest').textContent.trim().length") > 0


def test_the_stage_tabs_switch_the_drawing(browser: Browser, runs: Path) -> None:
    _open(browser, runs / "runs" / "dbn" / "report.html")
    tabs = browser.evaluate("document.querySelectorAll('#drawing .stage-tab').length")
    assert tabs >= 2, f"dbn: {tabs} stage tabs for its two stages"
    first = _assert_drawing(browser, "dbn, first stage")
    browser.evaluate("document.querySelectorAll('#drawing .stage-tab')[1].click()")
    browser.settle()
    second = _assert_drawing(browser, "dbn, second stage")
    shown = [s["markup"] for s in second]
    assert shown != [s["markup"] for s in first], "dbn: the second stage tab left the drawing as is"
    assert browser.log.errors == []


def test_clicking_a_unit_highlights_its_source_line(browser: Browser, runs: Path) -> None:
    _open(browser, runs / "runs" / "dbn" / "report.html")
    assert browser.evaluate("document.querySelectorAll('#source .line.highlight').length") == 0
    unit = browser.evaluate(CLICK_UNIT)
    assert unit, "dbn: no drawn unit that a #source line links to"
    browser.settle()
    lines: list[dict[str, Any]] = browser.evaluate(HIGHLIGHTED_LINES)
    linked = any(f"#unit-{unit}" in line["links"] for line in lines)
    assert linked, f"dbn: clicking unit {unit} highlighted {lines}, not its line"
    assert browser.log.errors == []


def test_the_comparison_page_draws_each_run_on_every_plot(browser: Browser, runs: Path) -> None:
    _open(browser, runs / "cmp.html", "compare.png")
    assert browser.evaluate("document.querySelector('main#report').dataset.runs") == "2"
    if browser.evaluate("document.querySelector('#drawing') !== null"):  # optional here
        _assert_drawing(browser, "compare")
    plots = _assert_plots(browser, "compare")
    lacking = [p for p in plots if sorted(p["runs"]) != ["mlp-a", "mlp-b"]]
    assert lacking == [], "compare: plots without a series of each run"
    columns = browser.evaluate(
        "[...document.querySelectorAll('#finals tr')].map(row => row.children.length)"
    )
    assert columns and min(columns) >= 3, f"#finals wants a label and one column per run: {columns}"


def test_the_index_lists_every_run_with_a_working_link(browser: Browser, runs: Path) -> None:
    index = runs / "runs" / "index.html"
    _open(browser, index, "index.png")
    links = browser.evaluate(
        "[...document.querySelectorAll('#runs tr.run')]"
        ".map(row => row.querySelector('a[href$=\"report.html\"]')?.getAttribute('href'))"
    )
    assert len(links) == 3 and all(links), links
    targets = [Path(url2pathname(urlparse(urljoin(index.as_uri(), link)).path)) for link in links]
    assert all(target.is_file() for target in targets), targets
