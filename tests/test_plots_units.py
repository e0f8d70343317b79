"""netspec.report.unit_plots: filters of RBMs and autoencoders (a higher layer's seen through the
weights below it), atoms of dictionaries."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.image import imread

from netspec.api import compile
from netspec.backend.lower import Lowered, lower
from netspec.backend.nn.energy import RBM
from netspec.backend.nn.sparse_coding import SparseCode
from netspec.ir import Graph
from netspec.report.unit_plots import (
    GAP,
    MAX_CELLS,
    grid_layout,
    image_shape,
    scale_for,
    write_unit_plots,
)
from netspec.types import TensorType
from netspec.units import REGISTRY

SPEC = """network units {
    input image: [1, 8, 8]
    input pixels: [64]
    input chem: [13]

    low = image -> flatten -> rbm(20)
    high = rbm(low, 6)
    code = autoencoder(pixels, 150)
    z = sparse_code(pixels, 12, steps=2)
    wide = rbm(chem, 7)
    deep = sparse_code(high, 5, steps=2)

    output high
    output code
    output z
    output wide
    output deep
}
"""


def _lowered() -> tuple[Lowered, Graph]:
    compiled = compile(SPEC)
    graph = compiled.network()
    return lower(graph, compiled.sources), graph


def _size(n: int, side: int = 8) -> tuple[int, int]:
    rows, cols = grid_layout(n)
    cell = side * scale_for((side, side))
    return rows * (cell + GAP) + GAP, cols * (cell + GAP) + GAP


def test_first_layer_filters_and_atoms_are_written(tmp_path: Path) -> None:
    lowered, graph = _lowered()
    paths = write_unit_plots(tmp_path, lowered, graph)
    names = [p.name for p in paths]
    assert names == [
        "filters-low.png",
        "filters-high.png",  # an RBM on another RBM's codes: seen through that RBM's weights
        "filters-code.png",
        "atoms-z.png",
        "filters-wide.png",
        "atoms-deep.png",
    ]
    assert all(p.parent == tmp_path / "plots" and p.is_file() for p in paths)
    by_name = {p.name: imread(p) for p in paths}
    assert by_name["filters-low.png"].shape[:2] == _size(20)  # [1, 8, 8] through flatten
    assert by_name["filters-high.png"].shape[:2] == _size(6)  # in the pixels, as `low`'s
    assert by_name["filters-code.png"].shape[:2] == _size(MAX_CELLS)  # 150 filters: 100 shown
    assert by_name["atoms-z.png"].shape[:2] == _size(12)
    for name in ("filters-wide.png", "atoms-deep.png"):  # not image-like: a heat map instead
        height, width = by_name[name].shape[:2]
        assert 150 < height < 1200 and 200 < width < 1200


def test_the_kinds_hooks_decide_what_is_drawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lowered, graph = _lowered()
    # `flatten` no longer seen through: `low` is not fed by a network input, so has no filters.
    monkeypatch.setitem(REGISTRY, "flatten", replace(REGISTRY["flatten"], layout_only=False))
    names = [p.name for p in write_unit_plots(tmp_path / "opaque", lowered, graph)]
    assert names == ["filters-code.png", "atoms-z.png", "filters-wide.png", "atoms-deep.png"]
    # RBMs no longer drawing filters: `high` is not seen through `low`'s weights either.
    monkeypatch.setitem(REGISTRY, "flatten", replace(REGISTRY["flatten"], layout_only=True))
    monkeypatch.setitem(REGISTRY, "rbm", replace(REGISTRY["rbm"], pictures=""))
    names = [p.name for p in write_unit_plots(tmp_path / "none", lowered, graph)]
    assert names == ["filters-code.png", "atoms-z.png", "atoms-deep.png"]
    # RBMs drawing atoms: drawn wherever they are, `high` on `low`'s codes too.
    monkeypatch.setitem(REGISTRY, "rbm", replace(REGISTRY["rbm"], pictures="atoms"))
    names = [p.name for p in write_unit_plots(tmp_path / "atoms", lowered, graph)]
    assert names[:2] == ["atoms-low.png", "atoms-high.png"]


def test_each_filter_has_its_own_symmetric_grey_scale(tmp_path: Path) -> None:
    lowered, graph = _lowered()
    rbm = lowered.root.get_submodule(lowered.modules["low"])
    assert isinstance(rbm, RBM)
    with torch.no_grad():
        rbm.W.zero_()
        rbm.W[0, 0], rbm.W[0, 9] = 0.5, -0.25  # the filter's extremes: +0.5 white, -0.5 black
        rbm.W[1, 0] = -3.0  # another filter, scaled on its own
    path = write_unit_plots(tmp_path, lowered, graph)[0]
    image = imread(path)[..., :3].mean(axis=-1)
    s = scale_for((8, 8))
    cell = 8 * s

    def pixel(index: int, row: int, col: int) -> float:
        left = GAP + index * (cell + GAP) + col * s
        return float(image[GAP + row * s, left])

    assert pixel(0, 0, 0) > 0.99  # +0.5, the largest magnitude
    assert abs(pixel(0, 1, 1) - 0.25) < 0.02  # -0.25: halfway to black
    assert abs(pixel(0, 4, 4) - 0.5) < 0.02  # zero is mid-grey
    assert pixel(1, 0, 0) < 0.01  # -3.0 is the other filter's extreme
    assert abs(pixel(2, 0, 0) - 0.5) < 0.02  # an all-zero filter stays grey


def test_dictionary_atoms_are_the_columns_of_d(tmp_path: Path) -> None:
    lowered, graph = _lowered()
    code = lowered.root.get_submodule(lowered.modules["z"])
    assert isinstance(code, SparseCode)
    with torch.no_grad():
        code.D.zero_()
        code.D[63, 0] = 1.0  # atom 0: the bottom-right pixel
    paths = write_unit_plots(tmp_path, lowered, graph)
    path = next(p for p in paths if p.name == "atoms-z.png")
    image = imread(path)[..., :3].mean(axis=-1)
    s = scale_for((8, 8))
    assert image[GAP + 7 * s, GAP + 7 * s] > 0.99
    assert abs(image[GAP, GAP] - 0.5) < 0.02


def test_image_shapes() -> None:
    assert image_shape(TensorType((784,)), 784) == (28, 28)
    assert image_shape(TensorType((8, 8)), 64) == (8, 8)
    assert image_shape(TensorType((3, 8, 8)), 192) is None  # colour: not a grey image
    assert image_shape(TensorType((40,)), 40, loose=True) == (5, 8)
    assert image_shape(TensorType((2,)), 2, loose=True) is None
    assert image_shape(None, 64) == (8, 8)
    assert np.prod(image_shape(TensorType((96,)), 96, loose=True) or (0,)) == 96
