"""The house: the torch boundary is a folder boundary, no stage outside the registry compares
unit kind names, and a new kind is one entry (here a `maxof` merge, checked, drawn, lowered and
trained with no edit anywhere else)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from netspec.backend.nn.base import LowerContext, Lowering
from netspec.units import REGISTRY, Drawing, Signature, UnitKind, register
from netspec.units.merges import KINDS as MERGES

PACKAGE = Path(__file__).resolve().parent.parent / "netspec"

# Above the boundary (never import torch) and below it, as README's layout lists them.
TORCH_FREE = ("lang", "build", "diagnostics", "equations", "units", "plan", "views", "editor")
TORCH_FREE_MODULES = ("ir.py", "check.py", "types.py", "api.py")
TORCH_SIDE = ("backend", "training", "data", "report")
# Where kind-specific knowledge belongs: the entries and their torch builders.
REGISTRY_HOME = ("units", "backend/nn")


def _modules(*parts: str) -> Iterator[Path]:
    for part in parts:
        path = PACKAGE / part
        yield from sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every module `path` imports, at the top or inside a function, with its line."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module
            if node.module == "netspec":  # from netspec import training
                yield from ((node.lineno, f"netspec.{a.name}") for a in node.names)


def test_the_torch_free_packages_import_no_torch_side_package() -> None:
    # Both folder lists together must cover the package, or a new folder escapes the test.
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(TORCH_FREE) | set(TORCH_SIDE)
    below = tuple(f"netspec.{p}" for p in TORCH_SIDE)
    bad = [
        f"{path.relative_to(PACKAGE)}:{line} imports {name}"
        for path in _modules(*TORCH_FREE, *TORCH_FREE_MODULES)
        for line, name in _imports(path)
        if name.split(".")[0] == "torch" or name.startswith(below)
    ]
    assert not bad, "\n".join(bad)


def _names() -> set[str]:
    return {k.name for k in REGISTRY.values()} | {k.family for k in REGISTRY.values()}


def _strings(node: ast.expr) -> list[str]:
    """The string constants of a literal: "rbm", ("add", "mul"), {"rbm"}, frozenset({...})."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and len(node.args) == 1:
        return _strings(node.args[0]) if node.func.id in ("frozenset", "set", "tuple") else []
    if isinstance(node, ast.Dict):
        return [s for k in node.keys if k is not None for s in _strings(k)]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        found = [s for e in node.elts for s in _strings(e)]
        return found if len(found) == len(node.elts) else []
    return []


def _kind_tests(tree: ast.Module, names: set[str]) -> Iterator[tuple[int, str]]:
    """`x.kind == "rbm"`, `x.family in ("merges", ...)`, and module tables of kind names."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            asks = any(isinstance(s, ast.Attribute) and s.attr in ("kind", "family") for s in sides)
            named = [s for side in sides for s in _strings(side) if s in names]
            if asks and named:
                yield node.lineno, f"compares a kind with {named}"
    for stmt in tree.body:
        value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
        found = _strings(value) if value is not None else []
        if len(found) > 1 and all(s in names for s in found):
            yield stmt.lineno, f"a table of kind names {found}"


def test_no_stage_outside_the_registry_compares_unit_kind_names() -> None:
    names = _names()
    home = tuple(PACKAGE / h for h in REGISTRY_HOME)
    bad = [
        f"{path.relative_to(PACKAGE)}:{line}: {what}"
        for path in _modules(".")
        if not any(path.is_relative_to(h) for h in home)
        for line, what in _kind_tests(ast.parse(path.read_text("utf-8")), names)
    ]
    assert not bad, "ask the kind's entry (a hook on UnitKind) instead:\n" + "\n".join(bad)


def test_the_kind_test_finds_what_it_must() -> None:
    source = (
        'POOLS = ("maxpool", "avgpool")\n'
        'if node.kind == "rbm": pass\n'
        'if kind.family in {"merges"}: pass\n'
        'if stage.kind == "pretrain": pass\n'  # a stage's kind, not a unit's: allowed
    )
    found = [line for line, _ in _kind_tests(ast.parse(source), _names())]
    assert found == [2, 3, 1]


# --- a new merge kind is one entry ----------------------------------------------------------------


def maxof_lowering(ctx: LowerContext) -> Lowering:
    """The torch side of the test's `maxof` kind: the elementwise maximum of its inputs."""
    return Lowering(fold=torch.maximum)


def _maxof() -> UnitKind:
    add = next(k for k in MERGES if k.name == "add")  # the same shape rule: equal shapes
    return UnitKind(
        name="maxof",
        family="merges",
        doc="Elementwise maximum of branches of the same shape.",
        signature=Signature(inputs=("a", "b"), variadic=True),
        shape=add.shape,
        equation=lambda c: f"{c.name} = max(" + ", ".join(c.inputs) + f")    -> {c.out_type}",
        example="input x: [4]\ninput z: [4]\ny = maxof(x, z)",
        drawing=Drawing(junction="max", neurons="junction"),
        lower=f"{__name__}:maxof_lowering",
    )


@pytest.fixture
def maxof() -> Iterator[UnitKind]:
    kind = register(_maxof())
    try:
        yield kind
    finally:
        del REGISTRY[kind.name]


SPEC = """
network mx {
    input point: [4]
    input cluster: class(3)
    a = point -> dense(5)
    b = point -> dense(5, act=tanh)
    m = maxof(a, b, point -> dense(5))
    y = m -> softmax(3)
    loss cross_entropy(y, cluster)
    output y
}
train mx {
    data = blobs(n=64, features=4, classes=3, seed=0)
    batch = 16
    optimizer = sgd(lr=0.1)
    steps = 2
}
"""


def test_a_new_merge_kind_is_checked_drawn_lowered_and_trained(
    maxof: UnitKind, tmp_path: Path
) -> None:
    import netspec
    from netspec.backend.lower import lower
    from netspec.training.run import TrainOptions, train
    from netspec.views.draw import draw

    compiled = netspec.compile(SPEC)
    graph = compiled.network("mx")
    assert str(graph.node("m").type) == "[5]"
    units_view = draw(compiled, "mx", view="units", fmt="dot")
    assert isinstance(units_view, str)
    junction = next(line for line in units_view.splitlines() if line.lstrip().startswith('"m" ['))
    assert 'label="max"' in junction and 'shape="circle"' in junction
    neurons_view = draw(compiled, "mx", view="neurons", fmt="dot")
    assert isinstance(neurons_view, str) and 'label="max"' in neurons_view  # a row of junctions

    lowered = lower(graph)
    x = torch.randn(7, 4)
    out = lowered.model(point=x)  # (7, 3) class probabilities
    root = lowered.root
    branches = [root.get_submodule(lowered.modules[n])(x) for n in ("a", "b")]
    branches[1] = torch.tanh(branches[1])
    third = next(n for n in graph.inputs_of("m") if n not in ("a", "b"))
    branches.append(root.get_submodule(lowered.modules[third])(x))
    expected = torch.maximum(torch.maximum(branches[0], branches[1]), branches[2])
    logits = torch.log_softmax(root.get_submodule(lowered.modules["y"])(expected), -1)
    assert torch.allclose(out.log(), logits, atol=1e-5)

    result = train(compiled, TrainOptions(runs_root=tmp_path, quiet=True, drawing=False))
    assert result.status == "done" and result.rows[-1]["step"] == 2
