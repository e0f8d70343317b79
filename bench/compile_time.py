"""Compile time against spec size: each phase of `netspec check` on generated specs of 1k, 5k
and 20k units in six shapes, and the whole `python -m netspec check` process.

    .venv/bin/python bench/compile_time.py [--sizes 1000 5000 20000] [--runs 3] [--quick]

Prints a table of seconds per phase (CPU time, best of --runs), units per second and the
process's wall and CPU time (best of --process-runs), then each phase's growth exponent between
the two largest sizes (log(t2 / t1) / log(n2 / n1); 1.0 is linear). Exits 1 if a process at 20k
units or more takes 3 s of wall time or longer. `--keep DIR` writes the generated specs, to
profile one (`python -m cProfile -s cumtime -m netspec check DIR/chain_20000.net`).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from timing import ROOT, pin_to_one_core

from netspec.build import overrides
from netspec.build.network import build, evaluate_lets
from netspec.build.program import gather
from netspec.build.values import Env
from netspec.check import check
from netspec.diagnostics.core import Diagnostic, Severity
from netspec.ir import Role
from netspec.lang.parser import parse
from netspec.lang.source import Sources
from netspec.plan.trainspec import plan_training

PROCESS_TARGET_S = 3.0  # one `netspec check` of a 20,000-unit spec, start to exit
TARGET_UNITS = 20_000  # the size the target applies to
PHASES = ("parse", "gather", "lets", "build", "check", "plan")
MAX_REPEAT = 1_000  # the language's largest `* n`

# Every shape ends in the same head, so the train section (digits: 64 pixels, 10 classes) binds.
HEAD = "network n {{\n    input pixels: [64]\n    input digit: class(10)\n    x = pixels\n{body}"
TAIL = (
    "    y = softmax({last}, 10)\n"
    "    loss cross_entropy(y, digit)\n"
    "}}\n\n"
    "train n {{\n    data = digits(test=0.2, seed=0)\n    batch = 32\n    epochs = 1\n}}\n"
)


def _spec(body: str, last: str, before: str = "") -> str:
    return before + HEAD.format(body=body) + TAIL.format(last=last)


def statements(n: int) -> str:
    """`h1 = x -> dense(8)`, `h2 = h1 -> dense(8)`, ...: one statement per unit."""
    body = "".join(f"    h{i} = h{i - 1} -> dense(8)\n" for i in range(1, n)).replace("h0", "x")
    return _spec(body, f"h{n - 1}" if n > 1 else "x")


def chain(n: int) -> str:
    """One chain of n - 1 links, four to a line."""
    links = ["dense(8)"] * (n - 1)
    lines = [" -> ".join(links[i : i + 4]) for i in range(0, len(links), 4)]
    return _spec("    h = x\n" + "".join(f"        -> {line}\n" for line in lines), "h")


def blocks(n: int) -> str:
    """A one-unit `block` defined once, called n - 1 times in statements."""
    cell = "block cell(width) {\n    input x\n    y = x -> dense(width)\n    output y\n}\n\n"
    body = "".join(f"    c{i} = cell(c{i - 1}, 8)\n" for i in range(1, n)).replace("c0", "x")
    return _spec(body, f"c{n - 1}" if n > 1 else "x", before=cell)


def repetition(n: int) -> str:
    """`(dense(8) * 1000) * k` (a repetition count is at most 1,000), plus the remainder."""
    copies = n - 1
    parts = []
    if copies >= MAX_REPEAT:
        parts.append(f"(dense(8) * {MAX_REPEAT}) * {copies // MAX_REPEAT}")
    if copies % MAX_REPEAT:
        parts.append(f"dense(8) * {copies % MAX_REPEAT}")
    return _spec("    h = x -> " + " -> ".join(parts) + "\n", "h")


def wide_merge(n: int) -> str:
    """n - 2 branches `x -> dense(8)` joined by one `concat`."""
    branches = ",\n".join("        x -> dense(8)" for _ in range(n - 2))
    return _spec(f"    m = concat(\n{branches}\n    )\n", "m")


def lets(n: int) -> str:
    """A top-level `let` per unit, each naming the last, and a statement using it."""
    before = "let w1 = 8\n" + "".join(f"let w{i} = w{i - 1}\n" for i in range(2, n))
    body = "".join(f"    h{i} = h{i - 1} -> dense(w{i})\n" for i in range(1, n)).replace("h0", "x")
    return _spec(body, f"h{n - 1}" if n > 1 else "x", before=before + "\n")


SHAPES: dict[str, Callable[[int], str]] = {
    "statements": statements,
    "chain": chain,
    "blocks": blocks,
    "repetition": repetition,
    "wide merge": wide_merge,
    "lets": lets,
}


def compile_phases(text: str, file: str = "<bench>") -> tuple[dict[str, float], int]:
    """CPU seconds of each phase of `netspec.api.compile_module`, and the units built."""
    times: dict[str, float] = {}
    clock = time.process_time
    sources = Sources()
    sources.add(file, text)
    diags: list[Diagnostic] = []
    start = clock()
    module = parse(text, file)
    times["parse"], start = clock() - start, clock()
    program = gather(module, sources, diags)
    times["gather"], start = clock() - start, clock()
    env = Env()
    overrides.apply(program, {}, env, diags)
    evaluate_lets(list(program.lets.values()), env, diags)
    times["lets"], start = clock() - start, clock()
    networks = build(program, env, diags)
    times["build"], start = clock() - start, clock()
    for graph in networks.values():
        check(graph, sources, diags)
        assert not graph.lint()
    times["check"], start = clock() - start, clock()
    plan_training(program, networks, env, diags)
    times["plan"] = clock() - start
    errors = [d.message for d in diags if d.severity is Severity.ERROR]
    if errors:
        raise SystemExit(f"the generated spec does not check: {errors[:3]}")
    units = sum(1 for g in networks.values() for node in g.nodes() if node.role is Role.UNIT)
    return times, units


def best_phases(texts: list[str], runs: int) -> list[tuple[dict[str, float], int]]:
    """Each text's best time per phase over `runs` compiles, and its units. The texts take
    turns, so a busy spell of the machine slows every size alike and the growth stays true."""
    best: list[dict[str, float]] = [{} for _ in texts]
    units = [0] * len(texts)
    for _ in range(runs):
        for i, text in enumerate(texts):
            times, units[i] = compile_phases(text)
            for phase, seconds in times.items():
                best[i][phase] = min(seconds, best[i].get(phase, math.inf))
    return list(zip(best, units, strict=True))


def process_seconds(path: Path, runs: int) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of `python -m netspec check PATH`, each the best
    of `runs`. On a shared machine the wall time includes waiting for a core; the CPU time
    does not. Bytecode caching is switched back on (an installed netspec has its bytecode
    written by pip), so the first run compiles the modules and the best run reuses them."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    cmd = [sys.executable, "-m", "netspec", "check", str(path)]
    wall = cpu = math.inf
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        wall = min(wall, time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        cpu = min(cpu, used)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    return wall, cpu


def exponent(n1: int, t1: float, n2: int, t2: float) -> float:
    """The k in t ~ n^k through two measurements."""
    return math.log(max(t2, 1e-9) / max(t1, 1e-9)) / math.log(n2 / n1)


# shape, size, phases, units, and the process's wall and CPU seconds (None: not timed)
Row = tuple[str, int, dict[str, float], int, tuple[float, float] | None]


def measure(
    shapes: list[str], sizes: list[int], runs: int, process_runs: int, keep: Path
) -> list[Row]:
    rows: list[Row] = []
    for shape in shapes:
        texts = [SHAPES[shape](size) for size in sizes]
        timed = best_phases(texts, runs)
        for size, text, (phases, units) in zip(sizes, texts, timed, strict=True):
            path = keep / f"{shape.replace(' ', '_')}_{size}.net"
            path.write_text(text, encoding="utf-8")
            process = process_seconds(path, process_runs) if process_runs else None
            rows.append((shape, size, phases, units, process))
    return rows


def growth(rows: list[Row], shape: str) -> dict[str, float] | None:
    """Each phase's (and the total's and the process's) exponent between the two largest sizes."""
    mine = sorted((r for r in rows if r[0] == shape), key=lambda r: r[1])
    if len(mine) < 2:
        return None
    (_, _, p1, u1, w1), (_, _, p2, u2, w2) = mine[-2], mine[-1]
    out = {phase: exponent(u1, p1[phase], u2, p2[phase]) for phase in PHASES}
    out["total"] = exponent(u1, sum(p1.values()), u2, sum(p2.values()))
    if w1 is not None and w2 is not None:
        out["process"] = exponent(u1, w1[1], u2, w2[1])
    return out


def table(rows: list[Row]) -> str:
    head = ["shape", "units", *PHASES, "total", "units/s", "process wall", "process CPU"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for shape, _, phases, units, process in rows:
        total = sum(phases.values())
        cells = [shape, f"{units:,}", *(f"{phases[p]:.3f}" for p in PHASES), f"{total:.2f}"]
        cells.append(f"{units / total:,.0f}")
        cells += ["-", "-"] if process is None else [f"{process[0]:.2f} s", f"{process[1]:.2f} s"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def growth_table(rows: list[Row], shapes: list[str]) -> str:
    sizes = sorted({r[1] for r in rows})
    if len(sizes) < 2:
        return ""
    head = ["shape", *PHASES, "total", "process"]  # the process's CPU time
    lines = [
        f"growth exponent, {sizes[-2]:,} to {sizes[-1]:,} units (1.0 is linear):",
        "| " + " | ".join(head) + " |",
        "|" + " --- |" * len(head),
    ]
    for shape in shapes:
        g = growth(rows, shape)
        if g is not None:
            cells = [f"{g[k]:.2f}" if k in g else "-" for k in head[1:]]
            lines.append("| " + " | ".join([shape, *cells]) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    ap.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES))
    ap.add_argument("--runs", type=int, default=3, help="compiles per size; the best is kept")
    ap.add_argument("--process-runs", type=int, default=3, help="0 skips the process timing")
    ap.add_argument("--quick", action="store_true", help="sizes 500 and 2000, one run each")
    ap.add_argument("--keep", metavar="DIR", help="write the generated specs here")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.runs, args.process_runs = [500, 2000], 1, 1
    sizes = sorted(set(args.sizes))
    if min(sizes) < 3:
        ap.error("--sizes must be at least 3 units")

    where = pin_to_one_core()
    with tempfile.TemporaryDirectory() as scratch:
        keep = Path(args.keep) if args.keep else Path(scratch)
        keep.mkdir(parents=True, exist_ok=True)
        compile_phases(statements(10))  # loads the grammar, so the first row does not pay it
        rows = measure(args.shapes, sizes, args.runs, args.process_runs, keep)

    print(
        f"compile time (python {sys.version.split()[0]}, {where}; phases: CPU seconds, best of "
        f"{args.runs}; process: `netspec check` wall and CPU time, best of {args.process_runs}; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    print(table(rows))
    print()
    print(growth_table(rows, args.shapes))
    missed = [
        f"{shape} {units:,} units: {process[0]:.2f} s"
        for shape, _, _, units, process in rows
        if process is not None and units >= TARGET_UNITS and process[0] >= PROCESS_TARGET_S
    ]
    if missed:
        print(f"MISSED (target < {PROCESS_TARGET_S:g} s): " + "; ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
