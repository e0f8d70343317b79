"""The model zoo under specs/: every spec compiles cleanly, prints back unchanged, opens with a
comment that teaches its concept, and matches its golden IR snapshot (tests/golden/ir/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from netspec.api import compile_file, total_params
from netspec.check import equation
from netspec.ir import Graph, Role
from netspec.lang import ast
from netspec.lang.parser import parse
from netspec.lang.printer import format_module

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.net"))
GOLDEN = ROOT / "tests" / "golden" / "ir"

# The concepts of the tree, one spec each; a missing one is a hole in the zoo.
EXPECTED = {
    "linear_regression",
    "logistic_regression",
    "softmax_regression",
    "mlp",
    "rbm",
    "dbn",
    "deep_sigmoid",
    "autoencoder",
    "stacked_autoencoder",
    "sparse_coding",
    "patch_sparse_coding",
    "patch_rbm",
    "cnn",
    "cnn1d",
    "mnist1d_logistic",
    "mnist1d_mlp",
    "mnist1d_gru",
    "rnn",
    "lstm_text",
    "tagger",
    "speech_phones",
    "speech_words",
    "residual",
    "multimodal",
    "multitask",
}


def dump_ir(graph: Graph) -> str:
    """One line per node in topological order: id, role, kind, output type, parameters, inputs.

    Parameters read `-` where a node cannot have any (inputs, outputs) and `0` for units without.
    """
    rows = [("id", "role", "kind", "type", "params", "inputs")]
    for node_id in graph.topo_order():
        node = graph.node(node_id)
        params = node.meta.get("params")
        rows.append(
            (
                node.id,
                node.role.value,
                node.kind,
                str(node.type),
                "-" if params is None else str(params),
                ", ".join(graph.inputs_of(node_id)) or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [f"network {graph.name}: {total_params(graph)} parameters"]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        lines.append("  " + "  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines) + "\n"


def test_the_zoo_has_one_spec_per_concept() -> None:
    assert {spec.stem for spec in SPECS} == EXPECTED


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_spec_compiles_without_diagnostics(spec: Path) -> None:
    compiled = compile_file(spec)
    assert compiled.diagnostics == []
    assert compiled.networks


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_every_unit_has_a_type_a_parameter_count_and_an_equation(spec: Path) -> None:
    for graph in compile_file(spec).networks.values():
        for node in graph.nodes():
            assert node.type is not None, f"{graph.name}: `{node.id}` has no type"
            if node.role in (Role.UNIT, Role.LOSS):
                count = node.meta.get("params")
                assert isinstance(count, int) and count >= 0, f"`{node.id}` has no parameter count"
                assert equation(graph, node), f"`{node.id}` has no equation"
        assert graph.lint() == []


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_every_train_section_gives_a_plan(spec: Path) -> None:
    module = parse(spec.read_text(encoding="utf-8"), spec.name)
    sections = {item.network.text for item in module.items if isinstance(item, ast.Train)}
    assert set(compile_file(spec).trains) == sections


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_spec_is_canonically_formatted(spec: Path) -> None:
    text = spec.read_text(encoding="utf-8")
    assert format_module(parse(text, spec.name)) == text


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_spec_opens_with_a_teaching_comment(spec: Path) -> None:
    lines = spec.read_text(encoding="utf-8").splitlines()
    code = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    leading = lines[:code]
    assert 3 <= len(leading) <= 8, f"{spec.name}: {len(leading)} comment lines before the code"
    assert all(line.startswith("# ") for line in leading)
    assert any("netspec explain" in line or "netspec check" in line for line in leading), (
        "the comment should say what to look at in `netspec explain` (or `check`)"
    )


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_spec_ir_matches_its_golden(spec: Path, golden) -> None:  # type: ignore[no-untyped-def]
    compiled = compile_file(spec)
    text = "\n".join(dump_ir(graph) for graph in compiled.networks.values())
    golden.check(GOLDEN / f"{spec.stem}.txt", text)


# Counts worked out by hand, so the goldens are not their own only witness.
@pytest.mark.parametrize(
    ("spec", "node", "count"),
    [
        ("softmax_regression", "y", 64 * 10 + 10),
        ("linear_regression", "y", 10 + 1),
        ("dbn", "h1", 64 * 256 + 64 + 256),  # W, visible bias b, hidden bias c
        ("cnn", "conv1.conv2d", 16 * 1 * 3 * 3 + 16),
        ("cnn", "conv2.conv2d", 32 * 16 * 3 * 3 + 32),
        ("cnn1d", "conv1.conv1d", 64 * 1 * 5 + 64),
        ("stacked_autoencoder", "h1", 64 * 128 + 128 + 64),  # tied: no decoder matrix
        ("sparse_coding", "z", 64 * 128),  # the dictionary only
        ("rnn", "h", 3 * 64 * (1 + 64) + 2 * 3 * 64),  # three gates, torch's two biases
        ("lstm_text", "h.embed", 1000 * 32),
        ("lstm_text", "h", 4 * 64 * (32 + 64) + 2 * 4 * 64),
    ],
)
def test_hand_counted_parameters(spec: str, node: str, count: int) -> None:
    graph = compile_file(ROOT / "specs" / f"{spec}.net").network()
    assert graph.node(node).meta["params"] == count


def test_residual_depth_is_overridable() -> None:
    spec = ROOT / "specs" / "residual.net"
    base = total_params(compile_file(spec).network())
    deeper = total_params(compile_file(spec, {"depth": "4"}).network())
    block = 2 * (64 * 64 + 64)  # two dense layers per residual block
    assert deeper - base == 2 * block


def test_the_examples_readme_lists_every_spec_with_its_parameter_count() -> None:
    text = (ROOT / "examples" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)\.net` \|.*\| ([\d,]+) \|$", text, flags=re.M)
    listed = {name: int(count.replace(",", "")) for name, count in rows}
    assert sorted(listed) == [spec.stem for spec in SPECS]
    for spec in SPECS:
        graph = compile_file(spec).network()
        assert listed[spec.stem] == total_params(graph), spec.stem
