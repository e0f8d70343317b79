"""netspec sample: Gibbs chains in the top RBM of a stack, carried down to the input, as a PNG."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from netspec.api import Compiled, compile
from netspec.backend.lower import Lowered, lower
from netspec.backend.nn.energy import RBM
from netspec.cli import main
from netspec.report.sample import (
    SampleError,
    find_stack,
    gibbs,
    sample,
    training_inputs,
    write_samples,
)
from netspec.report.unit_plots import GAP, GAP_COLOUR, scale_for
from netspec.training import runs
from netspec.units import REGISTRY

STACK = """network tiny {
    input pixels: [16]
    input orientation: class(2)

    h1 = rbm(pixels, 8)
    h2 = rbm(h1, 6)
    y = softmax(h2, 2)

    loss cross_entropy(y, orientation)
}

train tiny {
    data = bars(n=40, size=4, test=0.25, seed=1)
}
"""

JOINT = """network joint {
    input top: [32]
    input bottom: [32]

    top_h = rbm(top, 6)
    bottom_h = rbm(bottom, 5)
    both = concat(top_h, bottom_h) -> rbm(4)

    output both
}
"""

NO_RBM = """network plain {
    input x: [4]
    input y: class(2)

    h = dense(x, 3)
    p = softmax(h, 2)

    loss cross_entropy(p, y)
}
"""


def _lowered(text: str, scale: float = 2.0, seed: int = 0) -> tuple[Compiled, Lowered]:
    """The spec's network, lowered, with random weights large enough to matter."""
    compiled = compile(text, "tiny.net")
    lowered = lower(compiled.network(), compiled.sources)
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in lowered.root.parameters():
            p.copy_(torch.randn_like(p) * scale)
    return compiled, lowered


def _files(tmp_path: Path, text: str) -> tuple[Path, Path]:
    """The spec and a checkpoint of random weights for it, saved as the trainer saves them."""
    _, lowered = _lowered(text)
    tmp_path.mkdir(parents=True, exist_ok=True)
    spec = tmp_path / "tiny.net"
    spec.write_text(text, encoding="utf-8")
    ckpt = tmp_path / "last.safetensors"
    runs.save_checkpoint(ckpt, runs.model_tensors(lowered.root), {"stage": 1})
    return spec, ckpt


def _grid_size(rows: int, cols: int, side: int) -> tuple[int, int]:
    cell = side * scale_for((side, side))
    return rows * (cell + GAP) + GAP, cols * (cell + GAP) + GAP


# --- the stack ---------------------------------------------------------------------------------


def test_the_top_rbm_is_the_one_no_other_rbm_reads() -> None:
    compiled, _ = _lowered(STACK)
    stack = find_stack(compiled.network())
    assert (stack.top, stack.units) == ("h2", ("h1", "h2"))
    assert stack.describe(compiled.network()) == "h1 -> h2"


def test_a_joint_rbm_over_a_concat_tops_both_branches() -> None:
    compiled, _ = _lowered(JOINT)
    graph = compiled.network()
    stack = find_stack(graph)
    assert graph.node(stack.top).kind == "rbm" and set(stack.units) >= {"top_h", "bottom_h"}
    assert stack.describe(graph) == f"top_h, bottom_h -> {graph.node(stack.top).label}"


def test_the_stack_follows_the_kinds_sampling_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    graph = compile(JOINT).network()
    monkeypatch.setitem(REGISTRY, "concat", replace(REGISTRY["concat"], sampling=""))
    stack = find_stack(graph)  # the concat no longer joins: the joint RBM stands alone
    assert stack.units == ("both",)
    monkeypatch.setitem(REGISTRY, "rbm", replace(REGISTRY["rbm"], sampling=""))
    with pytest.raises(SampleError, match="no RBM"):
        find_stack(graph)


def test_a_network_without_rbms_names_its_units() -> None:
    with pytest.raises(SampleError, match=r"no RBM .*h \(dense\), p \(softmax\)"):
        find_stack(compile(NO_RBM).network())


# --- the chains --------------------------------------------------------------------------------


def test_chain_samples_are_visible_means_in_the_unit_range() -> None:
    compiled, lowered = _lowered(STACK)
    samples = sample(compiled.network(), lowered, n=20, steps=30, seed=3)
    assert samples.values.shape == (20, 16)
    assert samples.values.min() >= 0.0 and samples.values.max() <= 1.0
    assert samples.reached == ("pixels",) and samples.shape == (4, 4)
    assert samples.values.std(axis=0).max() > 0  # the chains differ


def test_samples_are_determined_by_the_seed() -> None:
    compiled, lowered = _lowered(STACK)
    graph = compiled.network()
    a, b = (sample(graph, lowered, n=8, steps=10, seed=5).values for _ in range(2))
    c = sample(graph, lowered, n=8, steps=10, seed=6).values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def _unit(lowered: Lowered, name: str) -> RBM:
    module = lowered.root.get_submodule(lowered.modules[name])
    assert isinstance(module, RBM)
    return module


def test_a_step_draws_h_then_v_and_returns_the_visible_means() -> None:
    _, lowered = _lowered(STACK)
    h2 = _unit(lowered, "h2")
    start = torch.bernoulli(torch.full((4, 8), 0.5), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        means = gibbs(h2, start, 1, torch.Generator().manual_seed(1))
        h = torch.bernoulli(h2(start), generator=torch.Generator().manual_seed(1))
        torch.testing.assert_close(means, h2.visible_mean(h))
    torch.testing.assert_close(gibbs(h2, start, 0, torch.Generator()), start)


def test_the_down_pass_is_the_lower_rbms_visible_mean() -> None:
    """With no steps the top's random visible states go down through h1's visible mean."""
    compiled, lowered = _lowered(STACK)
    h1 = _unit(lowered, "h1")
    start = torch.bernoulli(torch.full((5, 8), 0.5), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = h1.visible_mean(start).numpy()
    got = sample(compiled.network(), lowered, n=5, steps=0, seed=7).values
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_the_down_pass_samples_each_lower_rbms_hidden_states(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ancestral sampling through the directed layers: each lower RBM turns binary hidden
    states, drawn from the probabilities above it, into its visible means."""
    compiled, lowered = _lowered(STACK)
    h1 = _unit(lowered, "h1")
    seen: list[torch.Tensor] = []
    original = RBM.visible_mean

    def recording(self: RBM, h: torch.Tensor) -> torch.Tensor:
        if self is h1:
            seen.append(h.clone())
        return original(self, h)

    monkeypatch.setattr(RBM, "visible_mean", recording)
    sample(compiled.network(), lowered, n=16, steps=3, seed=2)
    assert len(seen) == 1 and seen[0].shape == (16, 8)
    assert set(seen[0].unique().tolist()) == {0.0, 1.0}  # states, not the means above


def test_a_concat_splits_the_joint_sample_between_its_branches() -> None:
    compiled, lowered = _lowered(JOINT)
    samples = sample(compiled.network(), lowered, n=6, steps=5)
    assert samples.reached == ("top", "bottom")
    assert samples.values.shape == (6, 64) and samples.shape == (8, 8)
    assert samples.values.min() >= 0.0 and samples.values.max() <= 1.0


def test_chains_can_start_from_the_training_data() -> None:
    compiled, lowered = _lowered(STACK)
    data = training_inputs(compiled, "tiny")
    assert set(data) >= {"pixels"} and len(data["pixels"]) == 30
    samples = sample(compiled.network(), lowered, n=50, steps=3, data=data)  # n > 30: drawn again
    assert samples.start == "data" and samples.values.shape == (50, 16)
    assert samples.values.min() >= 0.0 and samples.values.max() <= 1.0


def test_gaussian_visible_units_and_flat_inputs_are_drawn_as_curves(tmp_path: Path) -> None:
    text = "network g {\n    input x: [10]\n    h = rbm(x, 4, visible=gaussian)\n    output h\n}\n"
    compiled, lowered = _lowered(text, scale=0.5)
    samples = sample(compiled.network(), lowered, n=5, steps=4)
    assert samples.values.shape == (5, 10) and samples.shape is None
    path = write_samples(samples, compiled.network(), tmp_path / "curves.png")
    height, width = imread(path).shape[:2]
    assert 100 < height < 1000 and 100 < width < 1000


# --- the command -------------------------------------------------------------------------------


def test_sample_writes_a_grid_with_a_cell_per_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, ckpt = _files(tmp_path, STACK)
    out = tmp_path / "dreams.png"
    argv = ["sample", str(spec), "--checkpoint", str(ckpt), "-o", str(out)]
    assert main([*argv, "--n", "12", "--steps", "20", "--seed", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    image = imread(out)[..., :3]
    assert image.shape[:2] == _grid_size(3, 4, 4)  # 12 samples: 3 rows of 4, each 4x4 pixels
    cell = 4 * scale_for((4, 4))
    gap = np.asarray(GAP_COLOUR)
    for k in range(4):  # the gap lines between and around the cells, and nothing else
        assert np.abs(image[k * (cell + GAP)] - gap).max() < 0.01
        assert np.abs(image[:, k * (cell + GAP)] - gap).max() < 0.01
    inside = image[GAP : GAP + cell, GAP : GAP + cell]
    assert np.abs(inside - gap).max(axis=-1).min() > 0.01  # no gap colour inside a cell
    assert np.allclose(inside[..., 0], inside[..., 1])  # grey

    default = tmp_path / "default.png"
    assert main([*argv[:-1], str(default), "--steps", "2"]) == 0
    assert imread(default).shape[:2] == _grid_size(8, 8, 4)  # 64 by default
    assert main([*argv, "--n", "3", "--steps", "2", "--start", "data"]) == 0


def test_sample_of_a_network_without_rbms_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, ckpt = _files(tmp_path, NO_RBM)
    out = tmp_path / "none.png"
    assert main(["sample", str(spec), "--checkpoint", str(ckpt), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "network `plain` has no RBM" in err and "h (dense)" in err and "p (softmax)" in err
    assert not out.exists()


def test_sample_usage_and_checkpoint_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec, ckpt = _files(tmp_path, STACK)
    out = str(tmp_path / "x.png")
    missing = str(tmp_path / "missing.safetensors")
    assert main(["sample", str(spec), "--checkpoint", missing, "-o", out]) == 2
    assert main(["sample", str(spec), "--checkpoint", str(ckpt), "--network", "nope"]) == 2
    assert main(["sample", str(spec), "--checkpoint", str(ckpt), "--n", "0"]) == 2
    assert "error[E730]: argument --n: expected an integer of at least 1" in capsys.readouterr().err
    other, wrong = _files(tmp_path / "other", JOINT)
    assert main(["sample", str(spec), "--checkpoint", str(wrong), "-o", out]) == 1
    assert "does not fit" in capsys.readouterr().err
    no_train = ["sample", str(other), "--checkpoint", str(wrong), "-o", out, "--start", "data"]
    assert main(no_train) == 1
    assert "no `train` section" in capsys.readouterr().err
