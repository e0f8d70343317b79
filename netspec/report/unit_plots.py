"""Pictures of what units learned: the filters of first-layer RBMs and autoencoders and the atoms of
sparse-coding dictionaries, as grids of small grey images; and the grid writer that `netspec
sample` shares. matplotlib is imported lazily, with the Agg backend, so no display is needed.

Which units are drawn is their registry entry's `pictures` ("filters" or "atoms"); what is drawn
is their module's `pictures()`, a (pictures, input features) tensor, one picture a row. A row is
drawn as an image when the unit's input is image-like (`image_shape`): a declared [H, W] or
[1, H, W] input (seen through layout-only units: `flatten`, `reshape`, `dropout`), or a flat
vector whose size is a square, such as [64] (8x8 digits) or [784]. Otherwise they are drawn as one
heat map, a row per picture: a flat vector plot that needs no guess about the data's layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netspec.ir import Graph, Node, Role
from netspec.types import TensorType
from netspec.units import REGISTRY, UnitKind

MAX_CELLS = 100  # filters or atoms drawn per unit, at most
CELL_PIXELS = 48  # a cell's longer side is scaled up by a whole factor to at least this
GAP = 2  # pixels between cells, and around the grid
GAP_COLOUR = (0.55, 0.62, 0.75)  # slate blue: apart from every grey


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --- layout --------------------------------------------------------------------------------------


def image_shape(t: TensorType | None, size: int, loose: bool = False) -> tuple[int, int] | None:
    """How to show `size` values of type `t` as an image (rows, columns); None: not image-like.

    A declared [H, W] or [1, H, W] type keeps its layout; a flat vector is shown square when its
    size is a square of at least 16, and, with `loose`, as the nearest-to-square a x b (b <= 2a)
    otherwise. Sequences ([T, N] with T symbolic) and columns ([T, 1]) are not images.

    >>> image_shape(TensorType((64,)), 64), image_shape(TensorType((1, 8, 8)), 64)
    ((8, 8), (8, 8))
    >>> image_shape(TensorType((32,)), 32), image_shape(TensorType((32,)), 32, loose=True)
    (None, (4, 8))
    >>> image_shape(TensorType((40, 1)), 40), image_shape(TensorType((13,)), 13, loose=True)
    (None, None)
    """
    dims = t.dims if t is not None else (size,)
    if not all(isinstance(d, int) for d in dims):
        return None
    spatial = tuple(int(d) for d in dims)
    if len(spatial) == 3 and spatial[0] == 1:
        spatial = spatial[1:]
    if len(spatial) == 2:
        h, w = spatial
        return (h, w) if h >= 2 and w >= 2 and h * w == size else None
    if len(spatial) != 1 or size < 16:
        return None
    root = math.isqrt(size)
    if root * root == size:
        return root, root
    if not loose:
        return None
    a = next(a for a in range(root, 0, -1) if size % a == 0)
    return (a, size // a) if size // a <= 2 * a else None


def grid_layout(n: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid of n cells, filled row by row.

    >>> grid_layout(64), grid_layout(12), grid_layout(1)
    ((8, 8), (3, 4), (1, 1))
    """
    cols = max(1, math.ceil(math.sqrt(n)))
    return max(1, math.ceil(n / cols)), cols


@dataclass(frozen=True)
class Grid:
    """What `image_grid` wrote: the layout, and each cell's size in PNG pixels."""

    path: Path
    rows: int
    cols: int
    cell: tuple[int, int]  # (height, width) in pixels

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the PNG in pixels."""
        return grid_pixels(self.rows, self.cols, self.cell)


def grid_pixels(rows: int, cols: int, cell: tuple[int, int]) -> tuple[int, int]:
    return rows * (cell[0] + GAP) + GAP, cols * (cell[1] + GAP) + GAP


def scale_for(shape: tuple[int, int]) -> int:
    """The whole factor a cell of `shape` is scaled up by: its longer side to >= CELL_PIXELS."""
    return max(1, math.ceil(CELL_PIXELS / max(shape)))


def image_grid(cells: np.ndarray, path: Path, cmap: str = "gray") -> Grid:
    """A PNG mosaic of (n, H, W) values in [0, 1], one cell per image, drawn with `cmap`, each
    pixel a square of whole pixels, cells apart by GAP pixels of GAP_COLOUR: the file's size
    follows from the layout alone (see `Grid.size`)."""
    import matplotlib
    from matplotlib.image import imsave

    n, h, w = cells.shape
    rows, cols = grid_layout(n)
    s = scale_for((h, w))
    cell = (h * s, w * s)
    height, width = grid_pixels(rows, cols, cell)
    mosaic = np.empty((height, width, 3))
    mosaic[:] = GAP_COLOUR
    colours = matplotlib.colormaps[cmap](np.clip(cells, 0.0, 1.0))[..., :3]  # (n, H, W, 3)
    big = colours.repeat(s, axis=1).repeat(s, axis=2)  # (n, H*s, W*s, 3)
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = GAP + r * (cell[0] + GAP), GAP + c * (cell[1] + GAP)
        mosaic[top : top + cell[0], left : left + cell[1]] = big[i]
    path.parent.mkdir(parents=True, exist_ok=True)
    imsave(path, mosaic)
    return Grid(path, rows, cols, cell)


def symmetric(values: np.ndarray) -> np.ndarray:
    """Each row scaled into [0, 1] with zero at 0.5 and its largest magnitude at 0 or 1."""
    flat = values.reshape(len(values), -1)
    top = np.abs(flat).max(axis=1, keepdims=True)
    scaled = 0.5 + 0.5 * flat / np.where(top > 0, top, 1.0)
    return scaled.reshape(values.shape)


def curve_grid(
    values: np.ndarray, path: Path, title: str, ylim: tuple[float, float] | None
) -> Path:
    """One small line plot per row of (n, D) values, on a near-square grid of panels."""
    plt = _pyplot()
    rows, cols = grid_layout(len(values))
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(1.4 * cols + 0.4, 1.0 * rows + 0.6),
        squeeze=False,
        sharex=True,
        sharey=True,
        layout="constrained",
    )
    for i, ax in enumerate(axes.flat):
        if i < len(values):
            ax.plot(values[i], linewidth=0.9, color="black")
            if ylim is not None:
                ax.set_ylim(*ylim)
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= len(values):
            ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def heat_map(values: np.ndarray, path: Path, title: str, xlabel: str, ylabel: str) -> Path:
    """(n, D) values, a row each, on a symmetric grey scale per row: the flat-vector fallback."""
    plt = _pyplot()
    n, d = values.shape
    width = min(12.0, max(4.0, 0.18 * d + 1.5))
    height = min(12.0, max(2.5, 0.12 * n + 1.2))
    fig, ax = plt.subplots(figsize=(width, height), layout="constrained")
    ax.imshow(
        symmetric(values), cmap="gray", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest"
    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


# --- the units -----------------------------------------------------------------------------------


def unit_kind(node: Node) -> UnitKind | None:
    """The registry entry of a unit node; None for inputs, outputs and losses."""
    return REGISTRY[node.kind] if node.role is Role.UNIT else None


def is_layout_only(node: Node) -> bool:
    """A unit that passes values through but for their layout (flatten, reshape; dropout is the
    identity at inference): filters and samples are seen through it down to the network input."""
    kind = unit_kind(node)
    return kind is not None and kind.layout_only


def network_input(graph: Graph, node_id: str) -> str | None:
    """The network input that feeds `node_id` through layout-only units only, or None."""
    below = graph.inputs_of(node_id)
    while len(below) == 1:
        node = graph.node(below[0])
        if node.role is Role.INPUT:
            return node.id
        if not is_layout_only(node):
            return None
        below = graph.inputs_of(node.id)
    return None


def write_unit_plots(run_dir: Path, lowered: Any, graph: Graph) -> list[Path]:
    """filters-<unit>.png for every unit whose kind draws `filters` (RBMs, autoencoders) fed by a
    network input, atoms-<unit>.png for every unit whose kind draws `atoms` (sparse_code), in
    `run_dir/plots`; the paths written, in the graph's order.

    Each picture is a row of the module's `pictures()`; they are drawn as images when the input
    is image-like, else as a heat map (a row each).
    """
    folder = run_dir / "plots"
    written: list[Path] = []
    for node in graph.nodes(Role.UNIT):
        what = REGISTRY[node.kind].pictures
        if node.id not in lowered.modules or not what:
            continue
        source = network_input(graph, node.id)
        if what == "filters" and source is None:
            continue  # a higher layer: its filters live in another layer's code, not in pixels
        module = lowered.root.get_submodule(lowered.modules[node.id])
        values = module.pictures().detach().float().cpu().numpy()  # (pictures, input size)
        t = graph.node(source).type if source is not None else None
        if source is None:  # atoms of something that is not a network input
            below = graph.inputs_of(node.id)
            t = graph.node(below[0]).type if below else None
        path = folder / f"{what}-{_file_name(node.id)}.png"
        written.append(_weights_plot(values, t, path, f"{node.label}: {what}"))
    return written


def _weights_plot(values: np.ndarray, t: TensorType | None, path: Path, title: str) -> Path:
    shown = values[:MAX_CELLS]
    shape = image_shape(t, values.shape[1])
    if shape is None:
        count = f"first {len(shown)} of {len(values)}" if len(values) > len(shown) else len(shown)
        return heat_map(shown, path, f"{title} ({count})", "input feature", title.split(": ")[-1])
    image_grid(symmetric(shown).reshape(-1, *shape), path, cmap="gray")
    return path


def _file_name(node_id: str) -> str:
    """A node id as a file name: `tower.h1` stays, `a/b` or spaces become `_`."""
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in node_id)


def write_grid(
    values: np.ndarray,
    shape: tuple[int, int] | None,
    path: Path,
    title: str,
    unit_range: bool,
) -> Path:
    """Samples as images of `shape` (ink dark on white; values clipped to [0, 1] when
    `unit_range`, else each scaled by its own range), or as curves when `shape` is None."""
    if shape is None:
        return curve_grid(values, path, title, (0.0, 1.0) if unit_range else None)
    if unit_range:
        cells = np.clip(values, 0.0, 1.0)
    else:
        low = values.min(axis=1, keepdims=True)
        span = values.max(axis=1, keepdims=True) - low
        cells = (values - low) / np.where(span > 0, span, 1.0)
    image_grid(cells.reshape(-1, *shape), path, cmap="gray_r")
    return path


__all__ = [
    "Grid",
    "grid_layout",
    "image_grid",
    "image_shape",
    "is_layout_only",
    "network_input",
    "unit_kind",
    "write_grid",
    "write_unit_plots",
]
