"""netspec.report.concept_plots and the loss panels of report/plots: templates, kernels, feature
maps, reconstructions, filters made of parts, and stage labels that do not overprint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from netspec.api import compile
from netspec.backend.lower import Lowered, lower
from netspec.ir import Graph
from netspec.report.concept_plots import (
    Maps,
    captured,
    class_names,
    feature_map_figure,
    kernel_figure,
    reconstruction_figure,
    reconstructions,
    template_figure,
    write_feature_maps,
    write_kernels,
    write_reconstructions,
    write_templates,
)
from netspec.report.curve_data import run_plots
from netspec.report.plots import _pyplot, stage_levels
from netspec.report.unit_plots import (
    Piece,
    carry_down,
    composed,
    grid_pixels,
    input_layouts,
    scale_for,
    through_filters,
    write_unit_plots,
)

DIGITS = [str(k) for k in range(10)]


def _lowered(spec: str) -> tuple[Lowered, Graph]:
    compiled = compile(spec)
    graph = compiled.network()
    torch.manual_seed(0)
    return lower(graph, compiled.sources), graph


def _images(ax_list: list[Any]) -> int:
    """How many panels show an image."""
    return sum(1 for ax in ax_list if ax.images)


def _close(fig: Any) -> None:
    _pyplot().close(fig)


# --- templates ------------------------------------------------------------------------------------

TEMPLATES = """network t {
    input image: [1, 8, 8]
    input cells: [30]
    input digit: class(10)
    y = image -> flatten -> softmax(10)
    h = image -> flatten -> dense(20, act=relu)
    p = logistic(cells)
    loss cross_entropy(y, digit)
    output h
    output p
}
"""


def test_regression_weights_are_drawn_as_templates_of_the_image_they_read(
    tmp_path: Path,
) -> None:
    lowered, graph = _lowered(TEMPLATES)
    layouts = input_layouts(graph)
    paths = write_templates(tmp_path, lowered, graph, layouts, {"digit": DIGITS})
    # `p` reads 30 measurements, not an image: no templates for it.
    assert [p.name for p in paths] == ["templates-y.png", "templates-h.png"]
    assert class_names(graph, "y", {"digit": DIGITS}) == DIGITS
    assert class_names(graph, "h", {"digit": DIGITS}) == []
    # 20 hidden units: a grid of 8x8 cells, as filters are drawn
    rows, cols = 4, 5
    cell = 8 * scale_for((8, 8))
    assert imread(tmp_path / "plots" / "templates-h.png").shape[:2] == grid_pixels(
        rows, cols, (cell, cell)
    )


def test_a_template_figure_has_a_labelled_panel_per_class() -> None:
    lowered, _ = _lowered(TEMPLATES)
    weight = lowered.root.get_submodule(lowered.modules["y"]).weight.detach().numpy()
    fig = template_figure([Piece("image", weight)], {"image": (8, 8)}, DIGITS)
    assert fig is not None
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 10 and [ax.get_title() for ax in panels] == DIGITS
    assert panels[3].images[0].get_array().shape == (8, 8)
    np.testing.assert_allclose(panels[3].images[0].get_array(), weight[3].reshape(8, 8))
    assert template_figure([Piece("cells", weight)], {}, DIGITS) is None  # no image layout
    _close(fig)


# --- convolutions ---------------------------------------------------------------------------------

CNN = """network c {
    input image: [1, 8, 8]
    input digit: class(10)
    a = image -> conv2d(3, 3, pad=1) -> relu -> maxpool(2)
    b = a -> conv2d(10, 3, pad=1) -> relu
    y = b -> flatten -> softmax(10)
    loss cross_entropy(y, digit)
}
"""


def _picture(fig: Any) -> np.ndarray:
    """The one tiled picture a kernel figure draws."""
    (ax,) = [ax for ax in fig.axes if ax.images]
    (image,) = ax.images
    return np.ma.filled(image.get_array(), np.nan)


def test_kernels_show_each_output_channel_and_the_channels_it_reads() -> None:
    weight = np.random.default_rng(0).normal(size=(5, 1, 3, 3))
    one = _picture(kernel_figure(weight, "a"))
    # five 3x3 cells in a row, one-pixel seams, each on its own scale: its largest weight is +-1
    assert one.shape == (3 + 1, 5 * 4 - 1)  # and a row above the cells for their labels
    cell = one[1:4, 4:7]
    np.testing.assert_allclose(cell, weight[1, 0] / np.abs(weight[1, 0]).max())
    assert np.isnan(one[:, 3]).all()  # the seam between filters 0 and 1
    fig = kernel_figure(np.random.default_rng(0).normal(size=(10, 3, 3, 3)), "b")
    several = _picture(fig)
    assert several.shape == (8 * 4 - 1, 3 * 4 - 1)  # the first 8 output channels, by 3 inputs
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["in 0", "in 1", "in 2"]
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["out 0", "out 1"]
    top = np.nanmax(np.abs(several[4:7]))  # output channel 1: one scale over its inputs
    assert top == pytest.approx(1.0)
    wide = _picture(kernel_figure(np.random.default_rng(0).normal(size=(4, 6, 5)), "c1d"))
    assert wide.shape == (2 + 6, 4 * 6 - 1)  # four (in, k) = (6, 5) cells, room for labels
    for f in list(_pyplot().get_fignums()):
        _pyplot().close(f)


def test_feature_maps_show_one_example_after_each_convolution(tmp_path: Path) -> None:
    lowered, graph = _lowered(CNN)
    inputs = {"image": torch.rand(4, 1, 8, 8), "digit": torch.zeros(4, dtype=torch.long)}
    convs = [graph.node("a.conv2d"), graph.node("b.conv2d")]
    outs = captured(lowered, convs, {k: v[:1] for k, v in inputs.items()}, inward=False)
    assert outs["a.conv2d"].shape == (1, 3, 8, 8) and outs["b.conv2d"].shape == (1, 10, 4, 4)
    maps = [Maps("a", outs["a.conv2d"][0].numpy()), Maps("b", outs["b.conv2d"][0].numpy())]
    fig = feature_map_figure(inputs["image"][0].numpy(), "image", maps)
    assert len(fig.axes) == 3  # the example, then `a`'s 3 maps, `b`'s 10 tiled on two rows of 8
    b = np.ma.filled(fig.axes[2].images[0].get_array(), np.nan)
    assert b.shape == (2 * 5 - 1, 8 * 5 - 1)  # 4x4 maps with seams
    np.testing.assert_allclose(b[:4, :4], maps[1].values[0] / np.abs(maps[1].values).max())
    _close(fig)
    signal = feature_map_figure(np.zeros((1, 40)), "signal", [Maps("c", np.ones((25, 19)))])
    assert len(signal.axes) == 2 and signal.axes[0].lines  # the signal as a curve, then the maps
    assert signal.axes[1].images[0].get_array().shape == (25, 19)
    _close(signal)
    paths = write_feature_maps(tmp_path, lowered, graph, inputs, lambda i: "(digit 0)")
    paths += write_kernels(tmp_path, lowered, graph)
    assert [p.name for p in paths] == [
        "feature-maps.png",
        "kernels-a.conv2d.png",
        "kernels-b.conv2d.png",
    ]
    assert all(p.is_file() for p in paths)


# --- autoencoders ---------------------------------------------------------------------------------

STACK = """network s {
    input pixels: [64]
    h1 = autoencoder(pixels, 16, noise=0.5)
    h2 = autoencoder(h1, 8)
    output h2
}
"""


def test_reconstructions_corrupt_as_pretraining_does_and_reach_the_pixels(
    tmp_path: Path,
) -> None:
    lowered, graph = _lowered(STACK)
    x = torch.rand(6, 64) + 0.1  # no zeros of its own: every zero is the mask's
    first, second = reconstructions(graph, lowered, {"pixels": x})
    assert [label for label, _ in first.rows] == [
        "pixels",
        "pixels~ = mask(pixels, 0.5)",
        "pixels^, rebuilt from pixels~",
    ]
    clean, noisy, rebuilt = (values for _, values in first.rows)
    np.testing.assert_allclose(clean, x.numpy())
    dropped = noisy == 0
    assert 0.3 < dropped.mean() < 0.7  # noise=0.5 masks about half the pixels
    np.testing.assert_allclose(noisy[~dropped], clean[~dropped])
    assert rebuilt.shape == (6, 64) and not first.decoded
    # h2 has no noise: its input and its reconstruction, decoded down to the pixels by h1
    assert len(second.rows) == 2 and second.decoded and second.input == "pixels"
    assert all(values.shape == (6, 64) for _, values in second.rows)
    fig = reconstruction_figure(first, (8, 8))
    assert _images(fig.axes) == 3 * 6
    _close(fig)
    paths = write_reconstructions(tmp_path, lowered, graph, {"pixels": x}, {"pixels": (8, 8)})
    assert [p.name for p in paths] == ["reconstructions-h1.png", "reconstructions-h2.png"]


# --- filters made of parts ------------------------------------------------------------------------

HALVES = """network m {
    input top: [32]
    input bottom: [32]
    input digit: class(10)
    top_h = rbm(top, 5)
    bottom_h = rbm(bottom, 6)
    joint = concat(top_h, bottom_h) -> rbm(7)
    y = softmax(joint, 10)
    loss cross_entropy(y, digit)
}

train m {
    data = digits(test=0.2, seed=0)
    epochs = 1
}
"""


def test_each_input_of_a_concat_keeps_its_own_layout(tmp_path: Path) -> None:
    compiled = compile(HALVES)
    graph = compiled.network()
    lowered = lower(graph, compiled.sources)
    layouts = input_layouts(graph, compiled.trains["m"].data.bindings)
    assert layouts == {"top": (4, 8), "bottom": (4, 8)}  # the halves of the 8x8 digits
    assert input_layouts(graph) == {}  # a flat [32] alone is no image
    joint = lowered.root.get_submodule(lowered.modules["joint"]).W.detach().numpy()  # (7, 11)
    pieces = carry_down(graph, "joint.concat", joint, through_filters(lowered))
    assert [p.input for p in pieces] == ["top", "bottom"]
    top_w = lowered.root.get_submodule(lowered.modules["top_h"]).W.detach().numpy()  # (5, 32)
    np.testing.assert_allclose(pieces[0].values, joint[:, :5] @ top_w, rtol=1e-5)
    cells = composed(pieces, layouts)
    assert cells is not None and cells.shape == (7, 9, 8)  # 4 rows, a seam, 4 rows
    assert np.isnan(cells[:, 4]).all() and not np.isnan(cells[:, :4]).any()
    paths = write_unit_plots(tmp_path, lowered, graph, layouts)
    assert [p.name for p in paths] == [
        "filters-top_h.png",
        "filters-bottom_h.png",
        "filters-joint.png",
    ]
    height, width = imread(tmp_path / "plots" / "filters-joint.png").shape[:2]
    s = scale_for((9, 8))
    assert (height, width) == grid_pixels(3, 3, (9 * s, 8 * s))  # 7 filters on a 3x3 grid


# --- the loss panels ------------------------------------------------------------------------------


def _rows(stages: list[tuple[str, int]], objective: str | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, epochs in stages:
        for _ in range(epochs):
            row: dict[str, Any] = {"stage": name, "train/loss": 0.5}
            if name.startswith("pretrain") and objective:
                row |= {"objective": objective, "train/held_loss": 0.6, "train/pseudo_ll": -20.0}
            else:
                row |= {"test/loss": 0.7, "train/y/loss": 0.5}
            rows.append(row)
    return rows


def test_pretraining_objectives_get_their_own_plots() -> None:
    """plots/curves.svg and the report page: a reconstruction error or a pseudo-likelihood is
    not on the cross-entropy's scale, so each gets a plot of its own."""
    rows = _rows([("pretrain:h1", 3), ("pretrain:h2", 3), ("finetune", 4)], "reconstruction_mse")
    plots = {p.metric: p for p in run_plots(rows)}
    assert set(plots) == {"loss", "pretrain/reconstruction_mse", "pretrain/pseudo_ll"}
    xs = {s.label: [x for x, _ in s.points] for s in plots["loss"].series}
    assert xs == {"train": [7, 8, 9, 10], "test": [7, 8, 9, 10]}  # nothing while pretraining
    held = {s.label: [x for x, _ in s.points] for s in plots["pretrain/reconstruction_mse"].series}
    assert held["held-out"] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    ("spans", "levels"),
    [([(0, 1), (1, 2), (2, 3)], [0, 0, 0]), ([(0, 3), (1, 4), (2, 5), (3.5, 6)], [0, 1, 2, 0])],
)
def test_stage_levels(spans: list[tuple[float, float]], levels: list[int]) -> None:
    assert stage_levels(spans) == levels


# --- at the end of a run --------------------------------------------------------------------------

RUN = """network r {
    input pixels: [64]
    input digit: class(10)
    code = autoencoder(pixels, 12, noise=0.3)
    a = pixels -> reshape([1, 8, 8]) -> conv2d(2, 3, pad=1) -> relu
    y = concat(code, a -> flatten) -> softmax(10)
    s = softmax(pixels, 10)
    loss cross_entropy(y, digit)
    loss cross_entropy(s, digit)
}

train r {
    data = digits(test=0.2, seed=0)
    batch = 32
    stage pretrain { greedy = [code]  method = reconstruction(loss=bce)  epochs = 1 }
    stage finetune { epochs = 1 }
}
"""


def test_a_run_ends_with_every_concept_plot(tmp_path: Path) -> None:
    from netspec.training.run import TrainOptions, train

    opts = TrainOptions(runs_root=tmp_path, quiet=True, smoke=True, drawing=False, argv=["t"])
    result = train(compile(RUN, "run.net"), opts)
    names = {p.name for p in result.plots}
    concept = {
        "filters-code.png",
        "templates-s.png",
        "kernels-a.conv2d.png",
        "feature-maps.png",
        "reconstructions-code.png",
    }
    assert concept <= names, names
    assert all((result.run_dir / "plots" / n).is_file() for n in concept)
    # `y` reads a concat of a code and feature maps: no image to lay its weights out in
    assert "templates-y.png" not in names
