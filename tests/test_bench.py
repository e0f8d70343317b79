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


def _step_time() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_step_time", ROOT / "bench" / "step_time.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


STEP_TIME = _step_time()


@pytest.mark.parametrize("case", STEP_TIME.CASES, ids=lambda c: c.name)
def test_each_hand_baseline_computes_its_spec(case: object) -> None:
    *_, gap = STEP_TIME._sides(case, "cpu", False)
    assert gap < 1e-5
