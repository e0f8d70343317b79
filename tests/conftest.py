"""Shared test fixtures: `--bless` rewrites golden files instead of comparing with them."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--bless", action="store_true", help="rewrite golden files from current output"
    )


class Golden:
    def __init__(self, bless: bool) -> None:
        self.bless = bless

    def check(self, path: Path, actual: str) -> None:
        """Compare with the golden file, or write it when blessing; a person reads the diff."""
        if self.bless or not path.exists():
            path.write_text(actual, encoding="utf-8")
            if not self.bless:
                pytest.fail(
                    f"{path.relative_to(ROOT)} did not exist; wrote it, review and commit it"
                )
            return
        expected = path.read_text(encoding="utf-8")
        assert actual == expected, f"{path.relative_to(ROOT)} differs; rerun with --bless to accept"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(bool(request.config.getoption("--bless")))
