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
    variant = ("batch 8", ("--set", "batch=8"))
    row = ZOO.Row("softmax_regression", "softmax", "-", reference=0.99, variants=(variant,))
    (result,) = ZOO.run([row], 1, True, jobs=2)
    assert 0.0 <= result.reached[0] <= 1.0 and result.seconds > 0
    assert len(result.variants["batch 8"]) == 1
    assert result.missed(), "one step cannot reach 99 %"
    text = ZOO.table([result])
    assert "`softmax_regression.net`" in text and "**MISS**" in text and "batch 8: " in text
    ZOO.chart([result], tmp_path / "zoo.png")
    assert (tmp_path / "zoo.png").stat().st_size > 0


def test_the_readme_keeps_its_prose_around_the_zoo_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# The zoo\n\nClimb it in order.\n")
    ZOO.into_readme(readme, "| old |\n")
    readme.write_text(readme.read_text() + "\nMore prose.\n")
    ZOO.into_readme(readme, "| new |\n")
    text = readme.read_text()
    assert text.startswith("# The zoo\n\nClimb it in order.\n") and text.endswith("More prose.\n")
    assert "| new |" in text and "| old |" not in text


def test_a_failed_run_is_flagged_and_the_others_are_still_reported() -> None:
    bad = ZOO.Row("softmax_regression", "softmax", "-", baseline=("--set", "nothing.weight=0"))
    (result,) = ZOO.run([bad], 1, True)
    assert result.failed and result.missed() and len(result.reached) == 1
    assert "**FAILED**" in ZOO.table([result])


def test_a_fitted_reference_is_scored_on_the_spec_s_own_test_split() -> None:
    accuracy = ZOO.fitted("softmax_regression", "logistic")
    assert 0.9 < accuracy < 1.0  # a linear model on the 8x8 digits
    assert ZOO.fitted("autoencoder", "mean_image_bce") > 0.1  # the mean image rebuilds nothing
