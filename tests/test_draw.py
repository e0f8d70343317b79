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
from netspec.check import equation
from netspec.cli import main as cli_main
from netspec.units import REGISTRY, Drawing, UnitKind, register
from netspec.views.dot import OBSERVED, html
from netspec.views.draw import FROZEN, IDLE, TRAINED, caption_lines, draw
from netspec.views.legend import EDGES as LEGEND_EDGES
from netspec.views.legend import OBJECTIVE
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


def test_a_lone_rbm_is_an_undirected_coupling() -> None:
    dot = dot_of(compile("network r { input v: [6]  h = rbm(v, 3)  y = softmax(h, 2) }"))
    assert 'dir="none"' in edge_attrs(dot, "v", "h")
    assert "generative" not in dot
    assert "dir=" not in edge_attrs(dot, "h", "y")


def test_dbn_top_pair_is_undirected_and_the_layers_below_point_down() -> None:
    """A stack of RBMs is a deep belief net: the top pair an undirected coupling, each lower
    coupling an arrow from the layer above to the one below (`dir=back` on the IR's bottom-up
    edge), with recognition, the bottom-up pass the network computes, in its tooltip."""
    dot = dot_of(compile(STACK))
    lower = edge_attrs(dot, "pixels", "h1")
    assert 'dir="back"' in lower and "generative, top-down" in lower
    assert "Recognition" in lower and "h1 = p(h1 = 1 | pixels)" in lower
    top = edge_attrs(dot, "h1", "h2")
    assert 'dir="none"' in top and "top pair of a deep belief net" in top
    assert "dir=" not in edge_attrs(dot, "h2", "y")  # computation above the stack
    assert 'shape="ellipse"' in node_attrs(dot, "h1")  # a latent unit
    assert 'shape="box"' in node_attrs(dot, "y") and "rounded" in node_attrs(dot, "y")


def test_a_deeper_stack_points_every_coupling_below_the_top_down() -> None:
    dot = dot_of(
        compile(
            "network d { input v: [8]  h1 = rbm(v, 6)  h2 = v -> flatten -> rbm(5)"
            "  h3 = rbm(h1, 4)  h4 = rbm(h3, 3) }"
        )
    )
    assert 'dir="back"' in edge_attrs(dot, "v", "h1")
    assert 'dir="back"' in edge_attrs(dot, "h1", "h3")
    assert 'dir="none"' in edge_attrs(dot, "h3", "h4")  # the top pair
    assert 'dir="none"' in edge_attrs(dot, "h2.flatten", "h2")  # a second, lone RBM


def test_a_joined_stack_splits_on_the_way_down() -> None:
    """Two towers joined by a concat under one top RBM (a multimodal DBN): the top coupling
    undirected; the edges from each tower's top up into the concat drawn top-down too."""
    dot = dot_of(zoo(ROOT / "specs" / "multimodal.net"))
    assert 'dir="none"' in edge_attrs(dot, "joint.concat", "joint")
    for tower in ("image", "sound"):
        assert 'dir="back"' in edge_attrs(dot, f"{tower}_h2", "joint.concat")
        assert 'dir="back"' in edge_attrs(dot, f"{tower}_h1", f"{tower}_h2")
        assert 'dir="back"' in edge_attrs(dot, tower, f"{tower}_h1")
    assert "dir=" not in edge_attrs(dot, "joint", "y")


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
    assert set(found) == {"z", "z.a", "w", "w.a", "legend"}
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


def test_units_are_labelled_with_call_shape_params_and_tooltips() -> None:
    compiled = compile(NESTED, "nested.net")
    dot = dot_of(compiled)
    attrs = node_attrs(dot, "z.a.y")
    assert "<b>y</b><br/>dense(n)<br/>" in attrs and "[3], 15 params" in attrs
    graph = compiled.network()
    tip = equation(graph, graph.node("z.a.y"))
    assert tip and f'tooltip="{tip}\\nnested.net:4"' in attrs


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
    assert 'dir="back"' in edge_attrs(dot, "a#0", "ha#1")  # under the top pair: top-down
    assert 'dir="none"' in edge_attrs(dot, "hb#1", "j#2")  # concat is not drawn: rows feed j
    assert '"j.concat' not in dot
    assert 'label="+"' in node_attrs(dot, "s.add#0")
    assert "dir=" not in edge_attrs(dot, "hb#1", "s.add#1")
    assert re.findall(r'"(\w+#\d)" -> "s.add#0"', dot) == ["ha#0", "hb#0"]  # one to one
    assert "add -&gt; relu" in node_attrs(dot, "s.add#label")


# ---- (b) the graphical model: generative arrows, objectives, statements, legend, caption -----


def edges_between(dot: str, src: str, dst: str) -> list[str]:
    """The attribute lists of every edge from `src` to `dst`, in order."""
    pattern = rf'^\s*"{re.escape(src)}" -> "{re.escape(dst)}"( \[.*\])?;$'
    return [m.group(1) or "" for m in re.finditer(pattern, dot, re.M)]


def test_sparse_coding_arrow_is_generative_and_inference_is_marked() -> None:
    """`x = D z`: the solid arrow runs from the code to the input it generates; the network's
    computation of z from x is the dashed inference edge, named by its solver."""
    dot = dot_of(zoo(ROOT / "specs" / "sparse_coding.net"))
    generative, inference = edges_between(dot, "pixels", "z")
    assert 'dir="back"' in generative and 'label="D z"' in generative
    assert "style=" not in generative
    assert 'style="dashed"' in inference and 'label="infer (FISTA, 20 steps)"' in inference
    assert "dir=" not in inference


AUTOENCODER = "network a { input x: [6]  h = autoencoder(x, 3, %s)  output h }"


def test_autoencoder_draws_corruption_code_decoder_and_reconstruction_loss() -> None:
    dot = dot_of(zoo(ROOT / "specs" / "autoencoder.net"))
    assert "style=" not in edges_between(dot, "pixels", "code")[0]  # the encoder reads clean x
    corrupted = node_attrs(dot, "code:corrupted")
    assert "<b>pixels~</b>" in corrupted and "mask(pixels, 0.3)" in corrupted
    rebuilt = node_attrs(dot, "code:reconstructed")
    assert "<b>pixels^</b>" in rebuilt and "sigmoid(W_code^T code + b_code)" in rebuilt
    loss = node_attrs(dot, "code:objective")
    assert 'style="dashed"' in loss and "reconstruction(loss=bce)" in loss
    path = [
        ("pixels", "code:corrupted"),
        ("code:corrupted", "code"),
        ("code", "code:reconstructed"),
        ("code:reconstructed", "code:objective"),
        ("pixels", "code:objective"),  # held against the clean input
    ]
    for src, dst in path:
        (attrs,) = edges_between(dot, src, dst)
        assert 'style="dashed"' in attrs and f'color="{OBJECTIVE}"' in attrs, (src, dst)
    found = clusters(dot)
    assert "pretraining objective of code" in found["objective:code"][1]
    assert "loss:" not in dot  # the network itself has no loss


def test_autoencoder_objective_follows_its_parameters() -> None:
    plain = dot_of(compile(AUTOENCODER % "tied=false"))
    assert '"h:corrupted"' not in plain  # no noise: the encoder reads x itself
    assert edges_between(plain, "h", "h:reconstructed")
    assert "sigmoid(V_h h + b_h)" in node_attrs(plain, "h:reconstructed")
    sparse = dot_of(compile(AUTOENCODER % "noise=0.1, corruption=gaussian, sparsity=0.5"))
    assert "gaussian(x, 0.1)" in node_attrs(sparse, "h:corrupted")
    assert "+ 0.5 KL(0.05 || mean h)" in node_attrs(sparse, "h:objective")
    assert "KL" not in dot_of(compile(AUTOENCODER % "noise=0.1"))


def test_objective_fades_in_a_stage_that_does_not_pretrain_it() -> None:
    spec = ROOT / "specs" / "stacked_autoencoder.net"
    pretrain = dot_of(zoo(spec), stage="pretrain")
    assert f'color="{OBJECTIVE}"' in node_attrs(pretrain, "h1:objective")
    finetune = dot_of(zoo(spec), stage="finetune")
    assert f'color="{IDLE.color}"' in node_attrs(finetune, "h1:objective")


def test_chain_ops_are_named_by_their_statement() -> None:
    """`h = pixels -> dense(128, act=relu) -> dropout(0.2) -> dense(64, act=relu)`: one cluster
    for the statement; each op titled by its call as written (activations included), the
    last one under the name `h`; a one-op statement gets no cluster."""
    dot = dot_of(zoo(ROOT / "specs" / "mlp.net"))
    found = clusters(dot)
    assert set(found) - {"legend"} == {"statement:h"}
    statement = found["statement:h"][1]
    whole = "h = pixels -> dense(128, act=relu) -> dropout(0.2) -> dense(64, act=relu)"
    lines = (ROOT / "specs" / "mlp.net").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, 1) if text.strip().startswith(whole))
    assert "h = ..." in statement and f"line {line}" in statement  # short: edges miss it
    assert f'tooltip="{whole}\\nspecs/mlp.net:{line}"' in statement
    assert "<b>dense(128, act=relu)</b>" in node_attrs(dot, "h.dense")
    assert "<b>dropout(0.2)</b>" in node_attrs(dot, "h.dropout")
    assert "<b>h</b><br/>dense(64, act=relu)" in node_attrs(dot, "h")
    assert "<b>y</b><br/>softmax(h, 10)" in node_attrs(dot, "y")
    inside = dot[dot.index('subgraph "cluster_statement:h"') :].split("}")[0]
    assert re.findall(r'^\s*"([\w.]+)" \[', inside, re.M) == ["h.dense", "h.dropout", "h"]


def test_statements_inside_blocks_and_losses_are_clusters_too() -> None:
    found = clusters(dot_of(zoo(ROOT / "specs" / "residual.net")))
    for site in ("deep", "deep.residual"):  # each block call: its statements inside it
        assert found[site][0] == 0
        assert found[f"statement:{site}.f"][0] == found[f"statement:{site}.out"][0] == 1
        assert "f = x -> dense(n, act=relu) -> dense(n)" in found[f"statement:{site}.f"][1]
    spec = "network m { input x: [3]  input t: real[2]  loss l1(x -> dense(2), t) }"
    loss = clusters(dot_of(compile(spec)))["statement:loss:l1"][1]
    assert "loss ..." in loss and "loss l1(x -> dense(2), t)" in loss


def test_bidirectional_recurrence_draws_both_directions() -> None:
    """Two self-loops, t-1 and t+1; with steps=last the label says where each direction ends:
    the forward one at T, the backward one at step 1, the first token."""
    spec = "network b {{ input s: [T, 3]  h = s -> lstm(4, bidirectional=true, steps={}) }}"
    dot = dot_of(compile(spec.format("last")))
    loops = edges_between(dot, "h", "h")
    assert [re.search(r'label="([^"]*)"', a).group(1) for a in loops] == ["t-1", "t+1"]  # type: ignore[union-attr]
    assert "first token x_1" in loops[1] and "keeps its h_T" in loops[0]
    label = node_attrs(dot, "h")
    assert "forward: ends at T" in label and "backward: ends at 1, the first token" in label
    every = dot_of(compile(spec.format("all")))
    assert len(edges_between(every, "h", "h")) == 2 and "ends at" not in every
    one = dot_of(compile("network u { input s: [T, 3]  h = s -> gru(4, steps=last) }"))
    (loop,) = edges_between(one, "h", "h")
    assert "keeps h_T" in loop and "ends at" not in node_attrs(one, "h")


def test_neuron_view_keeps_a_lone_rbm_undirected_and_draws_both_loops() -> None:
    dot = dot_of(compile("network r { input v: [3]  h = rbm(v, 2) }"), view="neurons")
    assert 'dir="none"' in edge_attrs(dot, "v#0", "h#1")
    dot = dot_of(
        compile("network b { input s: [T, 3]  h = s -> rnn(4, bidirectional=true) }"),
        view="neurons",
    )
    assert len(edges_between(dot, "h", "h")) == 2


# The conventions a drawing uses, read back from its DOT text (outside the legend), to compare
# with the legend's entries.
def drawn_conventions(dot: str) -> set[str]:
    used: set[str] = set()
    nodes = dict(re.findall(r'^\s*"([^"]+)" (\[.*\]);$', dot, re.M))
    edges = re.findall(r'^\s*"([^"]+)" -> "([^"]+)"( \[.*\])?;$', dot, re.M)
    nodes = {n: a for n, a in nodes.items() if not n.startswith("legend:") and n != "caption"}
    edges = [(s, d, a) for s, d, a in edges if not s.startswith("legend:") and d != "caption"]
    loops = {s: sum(1 for a, b, _ in edges if a == b == s) for s in nodes}
    for node, attrs in nodes.items():
        if f'fillcolor="{OBSERVED}"' in attrs:
            used.add("observed")
        elif 'shape="ellipse"' in attrs:
            used.add("latent")
        elif 'shape="circle"' in attrs:
            used.add("junction")
        elif "rounded" in attrs:
            used.add("recurrent" if loops[node] else "unit")
        elif 'style="dashed"' in attrs or "dashed" in attrs:
            used.add("loss")
        if 'peripheries="2"' in attrs:
            used.add("output")
        if loops[node] > 1:
            used.add("backward")
        for key, style in (("trained", TRAINED), ("frozen", FROZEN), ("idle", IDLE)):
            if f'color="{style.color}"' in attrs:
                used.add(key)
    for src, dst, attrs in edges:
        objective = any(":" in n and not n.startswith("loss:") for n in (src, dst))
        if src == dst:
            continue
        elif 'dir="none"' in attrs:
            used.add("coupling")
        elif 'dir="back"' in attrs:
            used.add("generative")
        elif objective:
            used.add("objective")
        elif 'label="infer' in attrs:
            used.add("inference")
        elif 'style="dashed"' in attrs:
            used.add("loss_edge")
        else:
            used.add("computation")
    return used


def legend_entries(dot: str) -> set[str]:
    start = dot.index('subgraph "cluster_legend"')
    inside = dot[start:].split("\n  }")[0]
    keys = set(re.findall(r'^\s*"legend:(\w+)" \[', inside, re.M))
    keys = {k for k in keys if not k.startswith("end")}  # the points that end a column
    labels = set(re.findall(r'^\s*"legend:\w+" -> "legend:\w+" \[.*label="([^"]*)"', dot, re.M))
    by_text = {e.text: e.key for e in LEGEND_EDGES}
    keys |= {by_text[t] for t in labels if t in by_text}
    if "t+1" in labels:
        keys.add("backward")
    return keys


LEGEND_CASES = [
    *[(spec.stem, zoo(spec), stage) for spec, view, stage in DRAWINGS if view == "units"],
    (
        "bidirectional",
        compile("network b { input s: [T, 3]  h = s -> gru(4, bidirectional=true) }"),
        None,
    ),
    (
        "merges",
        compile("network m { input a: [4]  input b: [4]  s = add(a, b)  c = concat(a, s) }"),
        None,
    ),
    ("autoencoder-plain", compile(AUTOENCODER % "tied=false"), None),
]


@pytest.mark.parametrize(
    ("name", "compiled", "stage"),
    LEGEND_CASES,
    ids=[f"{n}-{s}" if s else n for n, _, s in LEGEND_CASES],
)
def test_legend_shows_exactly_the_conventions_drawn(
    name: str, compiled: Compiled, stage: str | None
) -> None:
    dot = dot_of(compiled, stage=stage)
    assert legend_entries(dot) == drawn_conventions(dot)


def test_legend_samples_look_like_what_they_explain() -> None:
    dot = dot_of(compile(STACK), stage="tune")
    assert f'fillcolor="{OBSERVED}"' in node_attrs(dot, "legend:observed")
    assert 'shape="ellipse"' in node_attrs(dot, "legend:latent")
    assert 'peripheries="2"' in node_attrs(dot, "legend:output")
    assert f'color="{FROZEN.color}"' in node_attrs(dot, "legend:frozen")
    assert "dashed" in node_attrs(dot, "legend:frozen")
    assert f'color="{TRAINED.color}"' in node_attrs(dot, "legend:trained")
    undirected = re.search(r'"legend:\w+" -> "legend:\w+" (\[.*label="undirected.*\]);', dot)
    assert undirected and 'dir="none"' in undirected.group(1)


def test_legend_can_be_left_out() -> None:
    assert "legend" in dot_of(compile(STACK))
    assert "legend" not in dot_of(compile(STACK), legend=False)  # type: ignore[arg-type]


def test_small_networks_get_their_equations_as_a_caption() -> None:
    compiled = compile(STACK)
    graph = compiled.network()
    dot = draw(compiled, caption=True)
    assert isinstance(dot, str)
    caption = node_attrs(dot, "caption")
    for name in ("h1", "h2", "y"):
        first = caption_lines(equation(graph, graph.node(name)) or "")[0]
        assert html(first) in caption, name
    assert 'style="invis"' in edge_attrs(dot, "loss:cross_entropy", "caption")  # at the foot
    assert '"caption"' not in dot_of(compiled)  # DOT and SVG keep tooltips instead
    big = draw(zoo(ROOT / "specs" / "cnn.net"), caption=True)
    assert isinstance(big, str) and '"caption"' not in big  # 11 units: too many to list


def test_cli_captions_png_but_not_svg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rendered: dict[str, str] = {}

    def fake_render(dot: str, fmt: str, prefer_system: bool = False) -> bytes:
        rendered[fmt] = dot
        return b""

    monkeypatch.setattr("netspec.cli.render", fake_render)
    for fmt in ("png", "svg"):
        assert cli_main(["draw", "specs/dbn.net", "-o", str(tmp_path / f"d.{fmt}")]) == 0
    assert '"caption"' in rendered["png"] and '"caption"' not in rendered["svg"]
    assert cli_main(["draw", "specs/dbn.net", "--no-legend", "-o", str(tmp_path / "d.svg")]) == 0
    assert "cluster_legend" not in rendered["svg"]
    capsys.readouterr()


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
