"""Every invalid spec under tests/cases/invalid names its expected code on its first line
(`# E301: what is wrong`); compiling it must fail with that code, rendered as its golden .txt."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netspec.api import compile
from netspec.diagnostics.core import NetspecError
from netspec.diagnostics.render import render_text

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT / "tests" / "cases" / "invalid").glob("*.net"))
HEADER = re.compile(r"^# (E\d{3}): \S")


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_invalid_spec_reports_its_code(case: Path, golden) -> None:  # type: ignore[no-untyped-def]
    text = case.read_text(encoding="utf-8")
    header = HEADER.match(text)
    assert header, f"{case.name} must start with `# E###: description`"
    rel = case.relative_to(ROOT).as_posix()
    with pytest.raises(NetspecError) as caught:
        compile(text, rel)
    codes = [d.code for d in caught.value.diagnostics]
    assert header.group(1) in codes, f"expected {header.group(1)}, got {codes}"
    for diag in caught.value.diagnostics:
        span = diag.primary_span
        assert span is None or span.file == rel or span.file.startswith("tests/")
    golden.check(
        case.with_suffix(".txt"), render_text(caught.value.diagnostics, caught.value.sources)
    )


def test_there_are_at_least_forty_invalid_cases() -> None:
    assert len(CASES) >= 40
