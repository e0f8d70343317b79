"""The house in figures: modules per package and the longest functions of `netspec/`.

    .venv/bin/python bench/house.py                 # this checkout
    .venv/bin/python bench/house.py --tree OTHER    # another checkout's netspec/, to compare

Reported before and after a restructuring in CONTRIBUTING.md.
"""

from __future__ import annotations

import argparse
import ast
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def modules_per_package(package: Path) -> Counter[str]:
    """`.py` files under each folder of the package (`.` for its top level)."""
    counts: Counter[str] = Counter()
    for path in package.rglob("*.py"):
        folder = path.parent.relative_to(package)
        counts[str(folder) if folder.parts else "."] += 1
    return counts


def longest_functions(package: Path, top: int) -> list[tuple[int, str]]:
    """The `top` longest functions and methods, as (lines, `file:name`)."""
    found: list[tuple[int, str]] = []
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                lines = node.end_lineno - node.lineno + 1
                found.append((lines, f"{path.relative_to(package.parent)}:{node.name}"))
    return sorted(found, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="a checkout (default: this one)")
    parser.add_argument("--top", type=int, default=8)
    args = parser.parse_args()
    package = args.tree / "netspec"
    counts = modules_per_package(package)
    print(f"{sum(counts.values())} modules in {len(counts)} folders")
    for folder, n in sorted(counts.items()):
        print(f"  {folder:<20} {n}")
    print("longest functions (lines):")
    for lines, name in longest_functions(package, args.top):
        print(f"  {lines:>4}  {name}")


if __name__ == "__main__":
    main()
