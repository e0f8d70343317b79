"""`netspec draw`: golden DOT of every zoo spec (both views, every stage) and golden SVG from the
pinned graphviz-pure; the drawing conventions on small specs and on plugin kinds; determinism; no
torch import; SVG and PNG with no system Graphviz; the CLI's PDF fallback, usage errors and
stdout output."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Callable, Iterator
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import pytest

from netspec.api import Compiled, compile
from netspec.cli import main as cli_main
from netspec.units import REGISTRY, Drawing, UnitKind, register
from netspec.views.dot import OBSERVED
from netspec.views.draw import FROZEN, IDLE, TRAINED, draw
from netspec.views.render_dot import PURE, find_renderer

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.net"))
GOLDEN_DOT = ROOT / "tests" / "golden" / "dot"
GOLDEN_SVG = ROOT / "tests" / "golden" / "svg"
BIN = Path(sysconfig.get_path("scripts"))  # the venv's bin folder: python and graphviz-pure
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def zoo(spec: Path) -> Compiled:
    """A zoo spec compiled under its relative name, so tooltips (file:line) are portable."""
    return compile(spec.read_text(encoding="utf-8"), spec.relative_to(ROOT).as_posix())


def dot_of(compiled: Compiled, **options: str | None) -> str:
    text = draw(compiled, **options)  # type: ignore[arg-type]
    assert isinstance(text, str)
    return text


def stages(compiled: Compiled) -> list[str]:
    train = compiled.trains.get(compiled.network().name)
    return [stage.name for stage in train.stages] if train else []


def drawings() -> list[tuple[Path, str, str | None]]:
    """(spec, view, stage) for every golden DOT file."""
    out: list[tuple[Path, str, str | None]] = []
    for spec in SPECS:
        out += [(spec, "units", None), (spec, "neurons", None)]
        out += [(spec, "units", stage) for stage in stages(zoo(spec))]
    return out


def golden_name(spec: Path, view: str, stage: str | None) -> str:
    return f"{spec.stem}.stage-{stage}.dot" if stage else f"{spec.stem}.{view}.dot"


def pure_renderer() -> list[str]:
    """The graphviz-pure command; skip when it is not installed, fail when it is not the pin."""
    command = find_renderer("svg")
    if command is None or not Path(command[0]).name.startswith(PURE):
        pytest.skip("the pinned graphviz-pure is not installed")
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    pinned = re.search(rf'"{PURE}==([^"]+)"', pyproject)
    assert pinned, f"pyproject.toml does not pin {PURE}"
    installed = metadata.version(PURE)
    assert installed == pinned.group(1), f"golden SVGs need {PURE} {pinned.group(1)}: {installed}"
    return command


# ---- (a) goldens -------------------------------------------------------------------------------


DRAWINGS = drawings()


@pytest.mark.parametrize(
    ("spec", "view", "stage"),
    DRAWINGS,
    ids=[golden_name(s, v, st).removesuffix(".dot") for s, v, st in DRAWINGS],
)
def test_dot_matches_golden(spec: Path, view: str, stage: str | None, golden) -> None:  # type: ignore[no-untyped-def]
    golden.check(
        GOLDEN_DOT / golden_name(spec, view, stage), dot_of(zoo(spec), view=view, stage=stage)
    )


@pytest.mark.parametrize("spec", SPECS, ids=[s.stem for s in SPECS])
def test_svg_matches_golden(spec: Path, golden) -> None:  # type: ignore[no-untyped-def]
    pure_renderer()
    svg = draw(zoo(spec), fmt="svg")
    assert isinstance(svg, bytes)
    golden.check(GOLDEN_SVG / f"{spec.stem}.svg", svg.decode("utf-8"))


def test_no_stale_goldens() -> None:
    """Every golden file belongs to a zoo drawing; a renamed spec or stage leaves none behind."""
    assert {p.name for p in GOLDEN_DOT.glob("*.dot")} == {golden_name(*d) for d in DRAWINGS}
    assert {p.name for p in GOLDEN_SVG.glob("*.svg")} == {f"{s.stem}.svg" for s in SPECS}


def test_zoo_covers_every_stage_kind() -> None:
    """The stage goldens include greedy pretraining and a supervised stage with `freeze`."""
    names = [golden_name(*d) for d in DRAWINGS]
    assert "dbn.stage-pretrain.dot" in names and "rbm.stage-classify.dot" in names


# ---- (b) conventions, on small specs -----------------------------------------------------------


def node_attrs(dot: str, node: str) -> str:
    """The attribute list of one node statement."""
    match = re.search(rf'^\s*"{re.escape(node)}" (\[.*\]);$', dot, re.MULTILINE)
    assert match, f"no node {node!r} in:\n{dot}"
    return match.group(1)


def edge_attrs(dot: str, src: str, dst: str) -> str:
    match = re.search(rf'^\s*"{re.escape(src)}" -> "{re.escape(dst)}"( \[.*\])?;$', dot, re.M)
    assert match, f"no edge {src} -> {dst} in:\n{dot}"
    return match.group(1) or ""


def clusters(dot: str) -> dict[str, tuple[int, str]]:
    """Cluster name -> (nesting depth, its graph attributes), from the writer's indentation."""
    found: dict[str, tuple[int, str]] = {}
    lines = dot.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r'^( *)subgraph "cluster_(.*)" \{$', line)
        if match:
            found[match.group(2)] = (len(match.group(1)) // 2 - 1, lines[i + 1])
    return found


STACK = """
network st {
    input pixels: [64]
    input digit: class(10)
    h1 = rbm(pixels, 32)
    h2 = rbm(h1, 16)
    y = softmax(h2, 10)
    loss cross_entropy(y, digit)
}

train st {
    data = digits(test=0.2, seed=0)
    batch = 32
    stage pretrain {
        greedy = [h1, h2]
        method = cd(k=1)
        optimizer = sgd(lr=0.05)
        epochs = 1
    }
    stage tune {
        freeze = [h1]
        optimizer = sgd(lr=0.1)
        epochs = 1
    }
}
"""

NESTED = """
block inner(n) {
    input x
    y = x -> dense(n)
    output y
}

block outer(n) {
    input x
    a = inner(x, n)
    b = a -> relu
    output b
}

network nest {
    input v: [4]
    input t: real[3]
    z = outer(v, 3)
    w = outer(z, 3)
    loss mse(w, t, weight=0.3)
    output w
}
"""


def test_rbm_coupling_is_undirected_and_feed_forward_is_directed() -> None:
    dot = dot_of(compile(STACK))
    assert 'dir="none"' in edge_attrs(dot, "pixels", "h1")
    assert 'dir="none"' in edge_attrs(dot, "h1", "h2")
    assert "dir=" not in edge_attrs(dot, "h2", "y")
    assert 'shape="ellipse"' in node_attrs(dot, "h1")  # a latent unit
    assert 'shape="box"' in node_attrs(dot, "y") and "rounded" in node_attrs(dot, "y")


def test_recurrent_units_have_a_self_loop() -> None:
    for kind in ("gru", "lstm", "rnn"):
        dot = dot_of(compile(f"network r {{ input s: [T, 3]  h = s -> {kind}(8, steps=last) }}"))
        assert 'label="t-1"' in edge_attrs(dot, "h", "h"), kind
    dot = dot_of(compile("network d { input x: [3]  h = x -> dense(4) }"))
    assert "t-1" not in dot


def test_merges_are_junctions() -> None:
    dot = dot_of(
        compile("network m { input a: [4]  input b: [4]  s = add(a, b)  c = concat(a, s) }")
    )
    assert 'label="+"' in node_attrs(dot, "s") and 'shape="circle"' in node_attrs(dot, "s")
    assert 'label="||"' in node_attrs(dot, "c") and "[8]</font>" in node_attrs(dot, "c")


def test_block_calls_are_nested_clusters_named_by_call_site() -> None:
    dot = dot_of(compile(NESTED))
    found = clusters(dot)
    assert set(found) == {"z", "z.a", "w", "w.a"}
    assert found["z"][0] == 0 and 'label="z: outer"' in found["z"][1]
    assert found["z.a"][0] == 1 and 'label="z.a: inner"' in found["z.a"][1]
    assert found["w"][0] == 0 and found["w.a"][0] == 1
    inner = dot.index('subgraph "cluster_z.a"')
    assert dot.index('subgraph "cluster_z"') < inner < dot.index('subgraph "cluster_w"')


def test_inputs_are_shaded_and_hidden_units_plain() -> None:
    dot = dot_of(compile(STACK))
    for name in ("pixels", "digit"):
        attrs = node_attrs(dot, name)
        assert 'style="filled"' in attrs and f'fillcolor="{OBSERVED}"' in attrs
    for name in ("h1", "h2", "y"):
        assert "fillcolor" not in node_attrs(dot, name)


def test_loss_heads_are_dashed_with_their_weight() -> None:
    dot = dot_of(compile(NESTED))
    attrs = node_attrs(dot, "loss:mse")
    assert 'style="dashed"' in attrs and "weight 0.3" in attrs
    assert 'style="dashed"' in edge_attrs(dot, "w.b", "loss:mse")
    assert "weight" not in node_attrs(dot_of(compile(STACK)), "loss:cross_entropy")


def test_outputs_have_a_double_border() -> None:
    dot = dot_of(compile(NESTED))
    assert 'peripheries="2"' in node_attrs(dot, "w.b")
    assert "peripheries" not in node_attrs(dot, "z.b")


def test_units_are_labelled_with_kind_shape_params_and_tooltips() -> None:
    dot = dot_of(compile(NESTED, "nested.net"))
    attrs = node_attrs(dot, "z.a.y")
    assert "dense  [3]" in attrs and "15 params" in attrs
    assert 'tooltip="z.a.y = W v + b    W: 3x4, b: 3\\nnested.net:4"' in attrs


def test_pretrain_stage_numbers_greedy_steps_and_greys_the_rest() -> None:
    dot = dot_of(compile(STACK), stage="pretrain")
    assert "network st: stage pretrain" in dot
    for name, step in (("h1", 1), ("h2", 2)):
        attrs = node_attrs(dot, name)
        assert f"step {step}" in attrs and f'color="{TRAINED.color}"' in attrs
    for name in ("y", "loss:cross_entropy"):
        assert f'color="{IDLE.color}"' in node_attrs(dot, name)
    assert f'color="{IDLE.color}"' in edge_attrs(dot, "h2", "y")
    assert "color" not in edge_attrs(dot, "pixels", "h1")
    assert 'fillcolor="#d9d9d9"' in node_attrs(dot, "pixels")  # inputs stay observed


def test_supervised_stage_marks_frozen_units() -> None:
    dot = dot_of(compile(STACK), stage="tune")
    frozen = node_attrs(dot, "h1")
    assert "frozen" in frozen and "dashed" in frozen and f'color="{FROZEN.color}"' in frozen
    for name in ("h2", "y"):
        attrs = node_attrs(dot, name)
        assert "frozen" not in attrs and f'color="{TRAINED.color}"' in attrs


def test_unknown_stage_and_view_raise() -> None:
    with pytest.raises(KeyError, match="stages: pretrain, tune"):
        draw(compile(STACK), stage="nope")
    with pytest.raises(ValueError, match="unknown view"):
        draw(compile(STACK), view="pixels")


def test_neuron_view_elides_large_layers() -> None:
    dot = dot_of(
        compile("network n { input x: [3]  h = x -> dense(256)  y = h -> dense(2) }"),
        view="neurons",
    )
    assert 'label="... 251 more"' in dot
    shown = re.findall(r'^\s*"h#(\d+)" \[', dot, re.MULTILINE)
    assert shown == ["0", "1", "2", "3", "255"]
    assert len(re.findall(r'"x#\d" -> "h#\d+"', dot)) == 3 * 5  # all to all, the gap left out
    assert 'splines="line"' in dot  # straight lines where no edge skips a layer


def test_neuron_view_conventions() -> None:
    """Inputs shaded; RBM couplings undirected; a concat of rows is those rows side by side;
    an add of rows is a row of junctions wired one to one; activations fold into their layer."""
    dot = dot_of(
        compile(
            "network n { input a: [2]  input b: [2]  ha = rbm(a, 2)  hb = rbm(b, 2)"
            "  j = concat(ha, hb) -> rbm(3)  s = add(ha, hb) -> relu }"
        ),
        view="neurons",
    )
    assert f'fillcolor="{OBSERVED}"' in node_attrs(dot, "a#0")
    assert 'dir="none"' in edge_attrs(dot, "a#0", "ha#1")
    assert 'dir="none"' in edge_attrs(dot, "hb#1", "j#2")  # concat is not drawn: rows feed j
    assert '"j.concat' not in dot
    assert 'label="+"' in node_attrs(dot, "s.add#0")
    assert "dir=" not in edge_attrs(dot, "hb#1", "s.add#1")
    assert re.findall(r'"(\w+#\d)" -> "s.add#0"', dot) == ["ha#0", "hb#0"]  # one to one
    assert "add -&gt; relu" in node_attrs(dot, "s.add#label")


# ---- (b) the same for plugin kinds: the views ask the registry, never a kind's name --------


@pytest.fixture
def plugin() -> Iterator[Callable[[UnitKind], UnitKind]]:
    """Registers unit kinds for one test and removes them after it."""
    added: list[str] = []

    def add(kind: UnitKind) -> UnitKind:
        added.append(kind.name)
        return register(kind)

    try:
        yield add
    finally:
        for name in added:
            REGISTRY.pop(name, None)


def test_plugin_merge_is_a_junction_with_its_symbol(plugin: Callable[[UnitKind], UnitKind]) -> None:
    plugin(
        replace(
            REGISTRY["add"],  # an elementwise merge of same-shape branches, like `add`
            name="maxof_test",
            doc="Elementwise maximum of branches of the same shape.",
            equation=lambda c: f"{c.name} = max({', '.join(c.inputs)})    -> {c.out_type}",
            example="input x: [4]\ninput z: [4]\ny = maxof_test(x, z)",
            drawing=Drawing(junction="max", neurons="junction"),
            lower="netspec.backend.nn.merges:add",
        )
    )
    compiled = compile("network m { input a: [3]  input b: [3]  s = maxof_test(a, b) }")
    units = node_attrs(dot_of(compiled), "s")
    assert 'label="max"' in units and 'shape="circle"' in units
    assert "s = max(a, b)" in units
    neurons = dot_of(compiled, view="neurons")
    for i in range(3):
        assert 'label="max"' in node_attrs(neurons, f"s#{i}")
    assert re.findall(r'"(\w+#\d)" -> "s#1";', neurons) == ["a#1", "b#1"]  # one to one


def test_plugin_latent_kind_is_an_ellipse_and_a_row(plugin: Callable[[UnitKind], UnitKind]) -> None:
    plugin(
        replace(
            REGISTRY["dense"],
            name="code_test",
            family="plugins",
            example="input x: [4]\ny = code_test(x, 2)",
            drawing=Drawing(latent=True, neurons="row"),
        )
    )
    compiled = compile("network c { input x: [3]  h = code_test(x, 2) }")
    units = node_attrs(dot_of(compiled), "h")
    assert 'shape="ellipse"' in units and "rounded" not in units
    neurons = dot_of(compiled, view="neurons")
    assert 'shape="circle"' in node_attrs(neurons, "h#1")
    assert len(re.findall(r'"x#\d" -> "h#\d"', neurons)) == 3 * 2  # fully connected


# ---- (c) determinism ---------------------------------------------------------------------------


def attr_keys(statement: str) -> list[list[str]]:
    """The keys of each attribute list in a DOT statement, skipping quoted and HTML values."""
    lists: list[list[str]] = []
    i = statement.find("[")
    while i != -1:
        keys: list[str] = []
        i += 1
        while statement[i] != "]":
            eq = statement.index("=", i)
            keys.append(statement[i:eq].strip(" ,"))
            i = eq + 1
            if statement[i] == '"':
                i += 1
                while statement[i] != '"':
                    i += 2 if statement[i] == "\\" else 1
                i += 1
            elif statement[i] == "<":
                depth = 0
                while True:
                    depth += {"<": 1, ">": -1}.get(statement[i], 0)
                    i += 1
                    if depth == 0:
                        break
            while statement[i] in ", ":
                i += 1
        lists.append(keys)
        i = statement.find("[", i)
    return lists


def test_drawing_is_deterministic() -> None:
    spec = ROOT / "specs" / "multimodal.net"
    for view in ("units", "neurons"):
        assert dot_of(zoo(spec), view=view) == dot_of(zoo(spec), view=view)
    pure_renderer()
    assert draw(zoo(spec), fmt="svg") == draw(zoo(spec), fmt="svg")
    assert draw(zoo(spec), fmt="png") == draw(zoo(spec), fmt="png")


def test_dot_attributes_are_sorted() -> None:
    checked = 0
    for golden in sorted(GOLDEN_DOT.glob("*.dot")):
        for line in golden.read_text(encoding="utf-8").splitlines():
            for keys in attr_keys(line):
                assert keys == sorted(keys), f"{golden.name}: {line}"
                checked += 1
    assert checked > 500


def test_labels_are_ascii() -> None:
    """graphviz-pure lacks glyph widths for some non-ASCII characters."""
    for golden in GOLDEN_DOT.glob("*.dot"):
        assert golden.read_text(encoding="utf-8").isascii(), golden.name


# ---- (d)-(f) processes ---------------------------------------------------------------------------


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, check=False
    )


def bare_env() -> dict[str, str]:
    """The environment with PATH cut down to the venv's bin folder: no system Graphviz."""
    path = str(BIN)
    if shutil.which("dot", path=path) is not None:
        pytest.skip(f"a `dot` is installed in {path}")
    return {k: v for k, v in os.environ.items() if k != "PATH"} | {"PATH": path}


def test_draw_never_imports_torch() -> None:
    code = (
        "import sys\n"
        "import netspec\n"
        "from netspec.views.draw import draw\n"
        "svg = draw(netspec.compile_file('specs/dbn.net'), fmt='svg')\n"
        "assert svg.startswith(b'<?xml'), svg[:40]\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    done = run("-c", code)
    assert done.returncode == 0, done.stderr.decode()


def test_cli_draws_every_zoo_spec_without_system_graphviz(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pure_renderer()
    env = bare_env()
    first = SPECS[0]  # one whole process, as a user runs it; the rest in this one
    for fmt in ("svg", "png"):
        out = tmp_path / f"process-{first.stem}.{fmt}"
        done = run("-m", "netspec", "draw", str(first.relative_to(ROOT)), "-o", str(out), env=env)
        assert done.returncode == 0, (out.name, done.stderr.decode())
        assert done.stdout.decode().strip() == f"wrote {out}"
        _assert_image(out)
    monkeypatch.setenv("PATH", env["PATH"])
    for spec in SPECS:
        for fmt in ("svg", "png"):
            out = tmp_path / f"{spec.stem}.{fmt}"
            assert cli_main(["draw", str(spec), "-o", str(out)]) == 0, capsys.readouterr().err
            assert capsys.readouterr().out.strip() == f"wrote {out}"
            _assert_image(out)


def _assert_image(out: Path) -> None:
    data = out.read_bytes()
    if out.suffix == ".svg":
        assert data.startswith(b"<?xml") and b"<svg" in data[:400], out.name
    else:
        assert data.startswith(PNG_MAGIC), out.name


def test_pdf_without_system_dot_writes_dot_and_hint(tmp_path: Path) -> None:
    out = tmp_path / "dbn.pdf"
    done = run(
        "-m", "netspec", "draw", "specs/dbn.net", "--format", "pdf", "-o", str(out), env=bare_env()
    )
    assert done.returncode == 1
    assert not out.exists()
    assert (tmp_path / "dbn.dot").read_text(encoding="utf-8").startswith('digraph "dbn"')
    err = done.stderr.decode()
    assert "install Graphviz" in err and "apt install graphviz" in err
    assert f"wrote {tmp_path / 'dbn.dot'} instead" in err


@pytest.mark.parametrize(
    ("option", "message"),
    [(("--stage", "nope"), "no stage `nope`"), (("--network", "nope"), "nope")],
)
def test_cli_usage_errors_exit_2(option: tuple[str, str], message: str, tmp_path: Path) -> None:
    done = run("-m", "netspec", "draw", str(ROOT / "specs" / "dbn.net"), *option, cwd=tmp_path)
    assert done.returncode == 2, done.stderr.decode()
    assert message in done.stderr.decode()
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_to_stdout() -> None:
    pure_renderer()
    done = run("-m", "netspec", "draw", "specs/rbm.net", "-o", "-")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.startswith(b"<?xml") and done.stdout.rstrip().endswith(b"</svg>")
    done = run("-m", "netspec", "draw", "specs/rbm.net", "--format", "dot", "-o", "-")
    assert done.stdout.decode() == dot_of(
        compile((ROOT / "specs/rbm.net").read_text(), "specs/rbm.net")
    )


def test_repr_svg_for_notebooks() -> None:
    pure_renderer()
    svg = compile(STACK)._repr_svg_()
    assert isinstance(svg, str)
    assert svg.startswith("<?xml") and "<svg" in svg and "network st" in svg
