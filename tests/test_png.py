"""The PNG writer the picture grids use (no matplotlib): files other readers decode to the same
pixels, and grids whose grey levels say what the values are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from netspec.report.png import read_png, rgb_bytes, write_png
from netspec.report.unit_plots import GAP, GAP_COLOUR, SEAM_COLOUR, image_grid


def test_pixels_come_back_and_matplotlib_reads_them(tmp_path: Path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    path = write_png(tmp_path / "p.png", pixels)
    assert np.array_equal(read_png(path), pixels)
    from matplotlib.image import imread  # an independent decoder (libpng through Pillow)

    assert np.array_equal(np.rint(imread(path) * 255).astype(np.uint8), pixels)


def test_only_rgb_bytes_are_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="uint8"):
        write_png(tmp_path / "p.png", np.zeros((2, 2, 3)))


def test_grid_grey_levels_gaps_and_seams(tmp_path: Path) -> None:
    cells = np.array([[[0.0, 1.0], [0.5, np.nan]]])  # one 2x2 cell
    grid = image_grid(cells, tmp_path / "ink.png", cmap="gray_r")
    pixels = read_png(grid.path)
    s = grid.cell[0] // 2  # each value is an s x s square
    at = [pixels[GAP + r * s, GAP + c * s] for r, c in ((0, 0), (0, 1), (1, 0), (1, 1))]
    assert [tuple(p) for p in at[:3]] == [(255, 255, 255), (0, 0, 0), (128, 128, 128)]
    assert tuple(at[3]) == tuple(rgb_bytes(np.array(SEAM_COLOUR)))  # a seam, not a value
    assert tuple(pixels[0, 0]) == tuple(rgb_bytes(np.array(GAP_COLOUR)))
    light = read_png(image_grid(cells, tmp_path / "light.png", cmap="gray").path)
    assert tuple(light[GAP, GAP]) == (0, 0, 0)  # `gray`: 0 is black
