"""The step-time benchmark's hand-written baselines stay in step with the zoo specs they mirror:
each computes the same function as the lowered spec, weight for weight (a spec edit that the
baseline misses fails here, not in the next benchmark run)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


STEP_TIME = _bench("step_time")


@pytest.mark.parametrize("case", STEP_TIME.CASES, ids=lambda c: c.name)
def test_each_hand_baseline_computes_its_spec(case: object) -> None:
    *_, gap = STEP_TIME._sides(case, "cpu", False)
    assert gap < 1e-5


ZOO = _bench("zoo")


def test_the_zoo_benchmark_has_one_row_per_zoo_spec() -> None:
    specs = sorted(p.stem for p in (ROOT / "specs").glob("*.net"))
    assert sorted(row.spec for row in ZOO.TREE) == specs


def test_the_zoo_benchmark_trains_through_the_cli_and_flags_a_miss(tmp_path: Path) -> None:
    (result,) = ZOO.run([ZOO.Row("softmax_regression", "softmax", "-", reference=0.99)], 1, True)
    assert 0.0 <= result.reached[0] <= 1.0 and result.seconds > 0
    assert result.missed(), "one step cannot reach 99 %"
    text = ZOO.table([result])
    assert "`softmax_regression.net`" in text and "**MISS**" in text
    ZOO.chart([result], tmp_path / "zoo.png")
    assert (tmp_path / "zoo.png").stat().st_size > 0
