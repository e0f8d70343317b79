"""Pictures of what units learned: the filters of RBMs and autoencoders and the atoms of
sparse-coding dictionaries, as grids of small grey images; and the grid writer that `netspec
sample` and report/concept_plots share, which writes its PNG without matplotlib (report/png.py);
matplotlib, for the heat maps, is imported lazily, with the Agg backend, so no display is needed.

Which units are drawn is their registry entry's `pictures` ("filters" or "atoms"; report/
concept_plots draws "templates" and "kernels"); what is drawn is their module's `pictures()`, a
(pictures, input features) tensor, one picture a row. A row is drawn as an image in the layout of
the network input it reaches (`input_layouts`): a declared [H, W] or [1, H, W] input, a flat
vector whose size is a square, such as [64] (8x8 digits), or a slice of such a data field
(the top half of the digits, [32]: 4x8). Rows reach the inputs through layout-only units
(`flatten`, `reshape`, `dropout`), through concats of flat vectors (each filter drawn as its
parts, one per input, in each input's own layout), and, for a higher layer's filters, through the
weights of the filters below it (`carry_down`: a linear view that ignores the nonlinearities).
What reaches no image-like input is drawn as one heat map, a row per picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from netspec.ir import Graph, Node, Role
from netspec.plan.databind import Binding
from netspec.report.png import rgb_bytes, write_png
from netspec.types import TensorType
from netspec.units import REGISTRY, UnitKind

MAX_CELLS = 100  # filters or atoms drawn per unit, at most
CELL_PIXELS = 48  # a cell's longer side is scaled up by a whole factor to at least this
GAP = 2  # pixels between cells, and around the grid
GAP_COLOUR = (0.55, 0.62, 0.75)  # slate blue: apart from every grey
SEAM_COLOUR = (0.9, 0.55, 0.2)  # orange: where one picture's parts (one per input) meet


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
    """A PNG mosaic of (n, H, W) values in [0, 1], one cell per image, in grey levels (`gray`:
    0 black, 1 white; `gray_r`: the reverse, ink on paper), each pixel a square of whole
    pixels, cells apart by GAP pixels of GAP_COLOUR: the file's size follows from the layout
    alone (see `Grid.size`). NaN values, the seams of a picture made of parts (`composed`), are
    drawn in SEAM_COLOUR."""
    if cmap not in ("gray", "gray_r"):
        raise ValueError(f"image_grid draws in `gray` or `gray_r`, not `{cmap}`")
    n, h, w = cells.shape
    rows, cols = grid_layout(n)
    s = scale_for((h, w))
    cell = (h * s, w * s)
    height, width = grid_pixels(rows, cols, cell)
    mosaic = np.empty((height, width, 3))
    mosaic[:] = GAP_COLOUR
    grey = np.clip(np.nan_to_num(cells, nan=0.0), 0.0, 1.0)
    grey = 1.0 - grey if cmap == "gray_r" else grey
    colours = np.repeat(grey[..., None], 3, axis=-1)  # (n, H, W, 3)
    colours[np.isnan(cells)] = SEAM_COLOUR
    big = colours.repeat(s, axis=1).repeat(s, axis=2)  # (n, H*s, W*s, 3)
    for i in range(n):
        r, c = divmod(i, cols)
        top, left = GAP + r * (cell[0] + GAP), GAP + c * (cell[1] + GAP)
        mosaic[top : top + cell[0], left : left + cell[1]] = big[i]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_png(path, rgb_bytes(mosaic))
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


def is_flat_join(graph: Graph, node: Node) -> bool:
    """A join (concat) whose flat output holds each input's values in one piece, in order (flat
    inputs, or a join along the first axis): a picture over it splits into one per input."""
    kind = unit_kind(node)
    if kind is None or kind.sampling != "join":
        return False
    types = [graph.node(b).type for b in graph.inputs_of(node.id)]
    flat = all(t is not None and t.is_static and t.rank == 1 for t in types)
    return flat or (node.params.get("axis") == 0 and all(t and t.is_static for t in types))


def size_of(node: Node) -> int:
    """Values per sample of a node of static type."""
    assert node.type is not None and node.type.is_static, f"`{node.id}` has no static size"
    return math.prod(int(d) for d in node.type.dims)


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


Shape = tuple[int, int]


def input_layouts(graph: Graph, bindings: Iterable[Binding] = ()) -> dict[str, Shape]:
    """Each network input's image shape (rows, columns), where it has one: a slice `part` of a
    data field that is one image keeps that image's width (the digits' [64] is 8x8, so its
    slice [0, 32) is 4x8), else the input's own type decides (`image_shape`).

    >>> from netspec.lang.source import NOWHERE
    >>> g = Graph("n")
    >>> _ = g.add(Node("top", Role.INPUT, "input", NOWHERE, type=TensorType((32,))))
    >>> input_layouts(g), input_layouts(g, [Binding("pixels", "top", "features",
    ...     TensorType((64,)), part=(0, 32))])
    ({}, {'top': (4, 8)})
    """
    parts = {b.input: b for b in bindings if b.part is not None and b.type is not None}
    out: dict[str, Shape] = {}
    for node in graph.nodes(Role.INPUT):
        if node.type is None or not node.type.is_static:
            continue
        shape = image_shape(node.type, size_of(node))
        if node.id in parts:
            shape = _slice_shape(parts[node.id]) or shape
        if shape is not None:
            out[node.id] = shape
    return out


def _slice_shape(binding: Binding) -> Shape | None:
    """Whole rows of the field's image that a binding's `part` takes, as (rows, columns)."""
    assert binding.type is not None and binding.part is not None
    whole = image_shape(binding.type, int(binding.type.numel()))  # type: ignore[arg-type]
    start, stop = binding.part
    if whole is None or start % whole[1] or stop % whole[1]:
        return None
    return (stop - start) // whole[1], whole[1]


@dataclass(frozen=True)
class Piece:
    """A picture's part over one network input: (pictures, that input's size)."""

    input: str
    values: np.ndarray


Project = Callable[[Node], "np.ndarray | None"]  # a unit's (out, in) weights to look through


def carry_down(graph: Graph, node_id: str, values: np.ndarray, project: Project) -> list[Piece]:
    """`values`, (n, size of `node_id`), as pieces over the network inputs: through layout-only
    units, split at flat joins, and through each unit that `project` gives (out, in) weights
    for (values @ W: how strongly each input value drives the picture, nonlinearities aside);
    [] where a unit is none of these. An input reached twice gets the sum of both."""
    node = graph.node(node_id)
    below = graph.inputs_of(node_id)
    if node.role is Role.INPUT:
        return [Piece(node.id, values)]
    if node.role is not Role.UNIT:
        return []
    if is_layout_only(node):
        return carry_down(graph, below[0], values, project)
    if is_flat_join(graph, node):
        cuts = np.cumsum([size_of(graph.node(b)) for b in below])[:-1]
        found = [
            carry_down(graph, b, part, project)
            for b, part in zip(below, np.split(values, cuts, axis=1), strict=True)
        ]
        return _merged([p for f in found for p in f]) if all(found) else []
    weights = project(node)
    if weights is None or len(below) != 1:
        return []
    return carry_down(graph, below[0], values @ weights, project)


def _merged(pieces: list[Piece]) -> list[Piece]:
    totals: dict[str, np.ndarray] = {}
    for p in pieces:
        totals[p.input] = totals[p.input] + p.values if p.input in totals else p.values
    return [Piece(k, v) for k, v in totals.items()]


def composed(
    pieces: list[Piece], layouts: Mapping[str, Shape], scaled: bool = True
) -> np.ndarray | None:
    """The pieces' pictures, each piece in its input's layout, as one (n, H, W) image each:
    stacked top to bottom when the layouts are equally wide (the two halves of a digit), else
    side by side, apart by a seam of NaN; with `scaled`, the values of each picture scaled
    together (`symmetric`). None when some input has no image layout."""
    if not pieces or any(p.input not in layouts for p in pieces):
        return None
    values = np.concatenate([p.values for p in pieces], axis=1)
    scaled_values = symmetric(values) if scaled else values
    cuts = np.cumsum([p.values.shape[1] for p in pieces])[:-1]
    parts = [
        part.reshape(-1, *layouts[p.input])
        for p, part in zip(pieces, np.split(scaled_values, cuts, axis=1), strict=True)
    ]
    axis = 1 if len({part.shape[2] for part in parts}) == 1 else 2
    return _with_seams(parts, axis)


def _with_seams(parts: list[np.ndarray], axis: int) -> np.ndarray:
    """(n, h_i, w_i) parts joined along `axis` (1: rows, 2: columns), NaN-padded to one size
    across it, with a NaN line between neighbours."""
    across = 3 - axis
    size = max(p.shape[across] for p in parts)
    joined: list[np.ndarray] = []
    for i, part in enumerate(parts):
        pad = [(0, 0), (0, 0), (0, 0)]
        pad[across] = (0, size - part.shape[across])
        if i:
            seam = list(part.shape)
            seam[axis], seam[across] = 1, size
            joined.append(np.full(seam, np.nan))
        joined.append(np.pad(part, pad, constant_values=np.nan))
    return np.concatenate(joined, axis=axis)


def picture_rows(module: Any) -> np.ndarray:
    """What a unit's module shows, one picture a row: its `pictures()` (RBM, autoencoder,
    dictionary), else, for torch's own layers (nn.Linear), its `weight` (out, in)."""
    tensor = module.pictures() if hasattr(module, "pictures") else module.weight
    values: np.ndarray = tensor.detach().float().cpu().numpy()
    return values.reshape(len(values), -1)


def through_filters(lowered: Any) -> Project:
    """The weights of every unit whose kind draws `filters`: a higher layer's filters are seen
    through them."""

    def project(node: Node) -> np.ndarray | None:
        kind = unit_kind(node)
        if kind is None or kind.pictures != "filters" or node.id not in lowered.modules:
            return None
        return picture_rows(lowered.root.get_submodule(lowered.modules[node.id]))

    return project


def write_unit_plots(
    run_dir: Path, lowered: Any, graph: Graph, layouts: Mapping[str, Shape] | None = None
) -> list[Path]:
    """filters-<unit>.png for every unit whose kind draws `filters` (RBMs, autoencoders) and
    whose filters reach the network inputs (`carry_down`), atoms-<unit>.png for every unit whose
    kind draws `atoms` (sparse_code), in its input's space, in `run_dir/plots`; the paths
    written, in the graph's order. `layouts`: the inputs' image shapes (default: from their
    types, `input_layouts`).

    Each picture is a row of the module's `pictures()`; they are drawn as images when the input
    is image-like, else as a heat map (a row each).
    """
    folder = run_dir / "plots"
    shapes = input_layouts(graph) if layouts is None else layouts
    project = through_filters(lowered)
    written: list[Path] = []
    for node in graph.nodes(Role.UNIT):
        what = REGISTRY[node.kind].pictures
        if node.id not in lowered.modules or what not in ("filters", "atoms"):
            continue
        module = lowered.root.get_submodule(lowered.modules[node.id])
        values = picture_rows(module)[:MAX_CELLS]  # (pictures, input size)
        below = graph.inputs_of(node.id)[0]
        if what == "filters":
            pieces = carry_down(graph, below, values, project)
            if not pieces:
                continue  # its filters live in some other unit's code, not in any input
        else:  # atoms are drawn wherever the dictionary is, over its input's values
            pieces = [Piece(below, values)]
        seen = {**_own_layout(graph, below, values.shape[1]), **shapes}
        path = folder / f"{what}-{file_name(node.id)}.png"
        total = len(picture_rows(module))
        written.append(pieces_plot(pieces, seen, path, f"{node.label}: {what}", total))
    return written


def _own_layout(graph: Graph, node_id: str, size: int) -> dict[str, Shape]:
    """Atoms over a unit's values are drawn as images where that unit's type is image-like."""
    shape = image_shape(graph.node(node_id).type, size)
    return {node_id: shape} if shape is not None else {}


def pieces_plot(
    pieces: list[Piece], layouts: Mapping[str, Shape], path: Path, title: str, total: int
) -> Path:
    """The pictures as a grid of images (`composed`), or as a heat map when they are not
    image-like; `total`: how many the unit has (the title says when only the first are shown)."""
    cells = composed(pieces, layouts)
    if cells is not None:
        image_grid(cells, path, cmap="gray")
        return path
    values = np.concatenate([p.values for p in pieces], axis=1)
    count = f"first {len(values)} of {total}" if total > len(values) else str(total)
    return heat_map(values, path, f"{title} ({count})", "input feature", title.split(": ")[-1])


def file_name(node_id: str) -> str:
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
    "Piece",
    "carry_down",
    "composed",
    "file_name",
    "grid_layout",
    "image_grid",
    "image_shape",
    "input_layouts",
    "is_flat_join",
    "is_layout_only",
    "network_input",
    "picture_rows",
    "pieces_plot",
    "size_of",
    "through_filters",
    "unit_kind",
    "write_grid",
    "write_unit_plots",
]
