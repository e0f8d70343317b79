"""The style sheet and the script of the report pages, kept in the page itself so that it
opens from file:// with no request: plain CSS, and plain JavaScript for the drawing's pan and
zoom, its stage tabs and the links between source lines and the drawing's units."""

from netspec.report.svg_curves import STYLE as PLOT_STYLE

CSS = """
:root { --ink: #222; --muted: #666; --rule: #ddd; --mark: #fff3b0; --accent: #1f77b4; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
       color: var(--ink); background: #fafafa; }
main { max-width: 1400px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid var(--rule); }
h3 { font-size: 14px; margin: 16px 0 6px; }
h4 { font: 600 13px ui-monospace, Menlo, Consolas, monospace; margin: 10px 0 2px; }
.summary { color: var(--muted); margin: 0 0 8px; }
.pair { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 16px; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
pre { font: 12.5px/1.5 ui-monospace, Menlo, Consolas, monospace; margin: 0; }
#source { background: #fff; border: 1px solid var(--rule); padding: 8px 0; overflow: auto;
          max-height: 75vh; }
#source .line { display: block; padding: 0 12px 0 0; white-space: pre; }
#source .line::before { content: attr(data-n); display: inline-block; width: 3.2em;
                        padding-right: 1em; text-align: right; color: #aaa; }
#source .line.highlight { background: var(--mark); }
a.unit-link { color: var(--accent); text-decoration: none; border-bottom: 1px dotted; }
#drawing { background: #fff; border: 1px solid var(--rule); padding: 6px; }
.stage-tabs { display: flex; gap: 4px; flex-wrap: wrap; margin-bottom: 4px; }
.stage-tab { border: 1px solid var(--rule); background: #f3f3f3; padding: 3px 10px;
             border-radius: 4px; cursor: pointer; font: inherit; }
.stage-tab.active { background: var(--accent); color: #fff; border-color: var(--accent); }
.hint { color: var(--muted); font-size: 12px; margin: 0 0 4px; }
.stage-drawing svg.network { width: 100%; height: 64vh; cursor: grab; user-select: none; }
.stage-drawing svg.network.dragging { cursor: grabbing; }
g.unit { cursor: pointer; }
g.unit.highlight > path, g.unit.highlight > ellipse, g.unit.highlight > polygon,
g.unit.highlight path, g.unit.highlight ellipse, g.unit.highlight polygon {
  stroke: #d62728; stroke-width: 3; }
#equations .unit-eq { background: #fff; border-left: 3px solid var(--rule); padding: 2px 10px;
                      margin: 4px 0; }
#equations .unit-eq.highlight { border-left-color: #d62728; background: var(--mark); }
#equations pre.eq { white-space: pre-wrap; }
#equations .eq-line { margin: 2px 0; font-size: 15px; }
#equations .eq-line[data-depth="1"] { margin-left: 1.5em; }
#equations .eq-line[data-depth="2"] { margin-left: 3em; }
#equations .eq-line[data-depth="3"] { margin-left: 4.5em; }
#equations .eq-note { color: var(--muted); font-size: 12.5px; margin-left: 1.5em; }
#equations .stage-rule { font-weight: 600; }
#curves { display: flex; flex-wrap: wrap; gap: 12px; }
svg.plot { background: #fff; border: 1px solid var(--rule); }
#pictures { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; background: #fff; border: 1px solid var(--rule); padding: 6px;
         max-width: 100%; }
img.picture { max-width: 560px; width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 12px; margin-top: 4px; max-width: 560px; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid var(--rule); padding: 3px 8px; text-align: left;
         vertical-align: top; }
#manifest pre { white-space: pre-wrap; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
"""
CSS += PLOT_STYLE  # the curves look as they do in the run folder's plots/*.svg

SCRIPT = """
(function () {
  "use strict";
  function highlightLine(unit) {
    document.querySelectorAll("#source .line.highlight").forEach(function (l) {
      l.classList.remove("highlight");
    });
    var selector = '#source a.unit-link[data-target="' + CSS.escape(unit) + '"]';
    var link = document.querySelector(selector);
    if (link) {
      var line = link.closest(".line");
      line.classList.add("highlight");
      line.scrollIntoView({block: "center", behavior: "smooth"});
    }
    document.querySelectorAll("#equations .unit-eq").forEach(function (e) {
      e.classList.toggle("highlight", e.getAttribute("data-eq-unit") === unit);
    });
  }
  function highlightUnit(unit) {
    document.querySelectorAll("#drawing g.unit.highlight").forEach(function (g) {
      g.classList.remove("highlight");
    });
    document.querySelectorAll('#drawing g.unit[data-unit="' + CSS.escape(unit) + '"]')
      .forEach(function (g) { g.classList.add("highlight"); });
  }
  function panZoom(svg) {
    var box = svg.viewBox.baseVal;
    if (!box) { return; }
    var home = [box.x, box.y, box.width, box.height];
    var drag = null;
    svg.moved = false;
    function point(event) {
      var rect = svg.getBoundingClientRect();
      var scale = Math.max(box.width / rect.width, box.height / rect.height);
      return {scale: scale, x: event.clientX, y: event.clientY, rect: rect};
    }
    svg.addEventListener("wheel", function (event) {
      event.preventDefault();
      var p = point(event);
      var factor = event.deltaY > 0 ? 1.15 : 1 / 1.15;
      var cx = box.x + (p.x - p.rect.left) * p.scale;
      var cy = box.y + (p.y - p.rect.top) * p.scale;
      box.x = cx - (cx - box.x) * factor;
      box.y = cy - (cy - box.y) * factor;
      box.width *= factor;
      box.height *= factor;
    }, {passive: false});
    svg.addEventListener("mousedown", function (event) {
      drag = point(event);
      drag.bx = box.x;
      drag.by = box.y;
      svg.moved = false;
      svg.classList.add("dragging");
    });
    window.addEventListener("mousemove", function (event) {
      if (!drag) { return; }
      var dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) { svg.moved = true; }
      box.x = drag.bx - dx * drag.scale;
      box.y = drag.by - dy * drag.scale;
    });
    window.addEventListener("mouseup", function () {
      drag = null;
      svg.classList.remove("dragging");
    });
    svg.addEventListener("dblclick", function () {
      box.x = home[0]; box.y = home[1]; box.width = home[2]; box.height = home[3];
    });
  }
  document.querySelectorAll("#drawing svg.network").forEach(panZoom);
  document.querySelectorAll("#drawing g.unit").forEach(function (g) {
    g.addEventListener("click", function (event) {
      var svg = g.closest("svg");
      if (svg && svg.moved) { return; }
      event.preventDefault();
      var unit = g.getAttribute("data-unit");
      highlightUnit(unit);
      highlightLine(unit);
    });
  });
  document.querySelectorAll("#source a.unit-link").forEach(function (a) {
    a.addEventListener("click", function (event) {
      event.preventDefault();
      var unit = a.getAttribute("data-target");
      highlightUnit(unit);
      highlightLine(unit);
    });
  });
  document.querySelectorAll(".stage-tab").forEach(function (tab) {
    tab.addEventListener("click", function () {
      var stage = tab.getAttribute("data-stage");
      document.querySelectorAll(".stage-tab").forEach(function (t) {
        t.classList.toggle("active", t === tab);
      });
      document.querySelectorAll(".stage-drawing").forEach(function (d) {
        d.hidden = d.getAttribute("data-stage") !== stage;
      });
    });
  });
})();
"""
