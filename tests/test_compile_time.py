"""Compile time stays linear in the spec: every phase of `netspec check` on the compile-time
benchmark's shapes (statements, a chain, block calls, repetition, a wide merge, lets) at two
small sizes, and specs deep enough to break anything that recurses once per statement or link."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from netspec.api import compile

ROOT = Path(__file__).resolve().parent.parent
SMALL, LARGE = 200, 1600
# A linear phase measures about 1.0, a quadratic one 2.0; the margin absorbs a busy machine
# (and caches, which make each unit a little dearer in a larger spec).
MAX_EXPONENT = 1.3
# Below this much CPU time at the large size a phase is fixed cost and timer noise.
MEASURABLE_S = 0.005


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    sys.path.insert(0, str(ROOT / "bench"))  # the script imports its sibling `timing`
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_compile_time", ROOT / "bench" / "compile_time.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "bench"))
    module.compile_phases(module.statements(10))  # the grammar loads outside the timings
    return module


@pytest.mark.parametrize(
    "shape", ["statements", "chain", "blocks", "repetition", "wide merge", "lets"]
)
def test_every_phase_grows_linearly(bench: ModuleType, shape: str) -> None:
    texts = [bench.SHAPES[shape](n) for n in (SMALL, LARGE)]
    for _ in range(3):  # a busy spell can spoil one measurement; a quadratic step spoils all
        (small, n_small), (large, n_large) = bench.best_phases(texts, 3)
        assert (n_small, n_large) == (SMALL, LARGE)  # the generators make the units they say
        growth = {
            phase: bench.exponent(n_small, small[phase], n_large, large[phase])
            for phase in bench.PHASES
            if large[phase] >= MEASURABLE_S
        }
        assert growth, "nothing measurable: the sizes are too small"
        if max(growth.values()) < MAX_EXPONENT:
            return
    raise AssertionError(f"{shape}: a phase grows faster than linearly: {growth}")


def test_names_used_before_their_statements_do_not_recurse_per_statement() -> None:
    n = 3 * sys.getrecursionlimit()  # each name is built when first used: h1 needs h2 needs ...
    body = "".join(f"    h{i} = h{i + 1} -> dense(4)\n" for i in range(1, n))
    text = f"network n {{\n    y = h1 -> softmax(3)\n{body}    h{n} = x -> dense(4)\n"
    text += "    input x: [4]\n}\n"
    graph = compile(text).network()
    assert graph.node("h1").type is not None and len(graph) == n + 3  # x, y, output


def test_a_long_chain_compiles_and_prints(bench: ModuleType) -> None:
    from netspec.lang.parser import parse
    from netspec.lang.printer import format_module

    text = bench.chain(3 * sys.getrecursionlimit())
    graph = compile(text).network()
    assert graph.node("h").type is not None
    printed = format_module(parse(text))
    assert format_module(parse(printed)) == printed
