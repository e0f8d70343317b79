"""runs/index.html: the runs of a folder in one table (spec, network, status, key metrics and a
link to each report.html), newest first. Reads only the runs' manifests; torch-free."""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from netspec.report.html_page import GENERATOR, html_page, number, write_text

INDEX = "index.html"
REPORT = "report.html"
KEY_METRICS = 4  # final metrics shown per run


def run_folders(root: Path) -> list[tuple[Path, Mapping[str, Any]]]:
    """The folders under `root` that hold a readable run manifest, newest first."""
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict):
            found.append((folder, manifest))
    return sorted(found, key=lambda f: str(f[1].get("started", "")), reverse=True)


def index_page(root: Path) -> str:
    """The page listing `root`'s runs: `<table id="runs">`, one `<tr class="run">` each."""
    runs = run_folders(root)
    head = "".join(
        f"<th>{h}</th>"
        for h in ("run", "spec", "network", "status", "started", "key metrics", "report")
    )
    rows = [_row(folder, manifest) for folder, manifest in runs]
    body = (
        f"<h1>runs in {escape(root.resolve().name or str(root))}</h1>\n"
        f'<p class="summary">{len(runs)} run{"s" if len(runs) != 1 else ""}; '
        "`netspec report A B` compares runs on one page</p>\n"
        f'<table id="runs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )
    return html_page(f"runs in {root}", body, len(runs))


def _row(folder: Path, manifest: Mapping[str, Any]) -> str:
    name = escape(folder.name)
    has_page = (folder / REPORT).exists()
    link = f'<a href="{name}/{REPORT}">{REPORT}</a>' if has_page else "-"
    cells = [
        f'<a href="{name}/{REPORT}">{name}</a>' if has_page else name,
        escape(str(manifest.get("spec", "-"))),
        escape(str(manifest.get("network", "-"))),
        escape(str(manifest.get("status", "running"))),
        escape(str(manifest.get("started", "-"))),
        _key_metrics(manifest.get("final") or {}),
        link,
    ]
    return '<tr class="run">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _key_metrics(final: Mapping[str, Any]) -> str:
    """The first few final metrics (`test: loss 0.08, y/acc 0.97`)."""
    shown = [(k, v) for k, v in final.items() if k not in ("split", "by_split")][:KEY_METRICS]
    split = f"{final['split']}: " if "split" in final else ""
    return escape(split + ", ".join(f"{k} {number(v)}" for k, v in shown)) if shown else "-"


def write_index(root: Path) -> Path | None:
    """Write `root`/index.html, unless a file of that name is there that netspec did not write
    (a folder of other things); the path written, or None."""
    path = root / INDEX
    if path.exists():
        with path.open(encoding="utf-8", errors="replace") as f:
            if GENERATOR not in f.read(2048):
                return None
    return write_text(path, index_page(root))
