"""Teaching-layer speed: for every zoo spec, the in-process time of what `check`, `explain`
(forward and `--backward`) and `draw` (DOT, no renderer) compute after start-up, and the whole
`python -m netspec explain --backward` process.

    .venv/bin/python bench/explain.py [--runs 5]

Prints one line per spec (best of --runs) and exits 1 if a target is missed: each spec's check +
explain + draw under 0.3 s in-process, and each explain process under 1 s. Runs on one CPU core
where the OS allows it. torch must stay unimported throughout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from timing import ROOT, best_of, pin_to_one_core, report_zoo, zoo_processes

from netspec.api import compile_file
from netspec.views.draw import draw
from netspec.views.equations import listing

IN_PROCESS_TARGET_S = 0.3


def teach(spec: Path) -> None:
    """What `check`, `explain`, `explain --backward` and `draw` do for one spec."""
    compiled = compile_file(spec)
    for name, graph in compiled.networks.items():
        plan = compiled.trains.get(name)
        listing(graph, compiled.sources, backward=False, plan=plan)
        listing(graph, compiled.sources, backward=True, plan=plan)
        draw(compiled, name, fmt="dot")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    pin_to_one_core()
    specs = sorted((ROOT / "specs").glob("*.net"))
    teach(specs[0])  # warm the imports, as a process has them before it compiles
    missed: list[str] = []
    slowest = ("", 0.0)
    for spec in specs:
        seconds = best_of(args.runs, lambda spec=spec: teach(spec))
        print(f"  check + explain + explain --backward + draw {spec.name}: {seconds * 1e3:.0f} ms")
        slowest = max(slowest, (spec.name, seconds), key=lambda r: r[1])
    print(
        f"slowest in-process: {slowest[1] * 1e3:.0f} ms, {slowest[0]} "
        f"(target < {IN_PROCESS_TARGET_S * 1e3:.0f} ms, {len(specs)} specs)"
    )
    if slowest[1] >= IN_PROCESS_TARGET_S:
        missed.append("in-process teaching views")
    if "torch" in sys.modules:
        missed.append("torch imported")
        print("torch was imported")
    zoo = zoo_processes(
        lambda spec: ["explain", str(spec.relative_to(ROOT)), "--backward"], min(args.runs, 3)
    )
    report_zoo(zoo, "explain --backward", missed)
    if missed:
        print("missed: " + ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
