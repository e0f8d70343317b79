"""Plots that show what each unit stands for, written into `run/plots` as a run ends: a
regression unit's weights as templates in the layout of the image it reads (one per class), a
convolution's kernels and one example's feature maps after each convolution, and an autoencoder's
input, corrupted input and reconstruction for a few examples. Which units are drawn is their
kind's hooks: `pictures` ("templates", "kernels") and `drawing.reconstruction` (a unit pretrained
to rebuild its input). Each plot costs one forward pass of a few examples at most.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from netspec.backend.lower import Lowered
from netspec.ir import Graph, Node, Role
from netspec.report.unit_plots import (
    MAX_CELLS,
    SEAM_COLOUR,
    Piece,
    Shape,
    carry_down,
    composed,
    file_name,
    input_layouts,
    is_layout_only,
    network_input,
    picture_rows,
    pieces_plot,
    unit_kind,
    write_unit_plots,
)
from netspec.training.pretrain.rules import corrupt

if TYPE_CHECKING:  # the session is built by training.run, which calls this module
    from netspec.training.session import Session

LABELLED = 16  # templates up to this many are drawn one labelled panel each, beyond as a grid
KERNEL_ROWS = 8  # output channels drawn per convolution (when it reads several channels)
KERNEL_INS = 8  # input channels drawn per output channel
MAPS = 16  # feature maps drawn per convolution
COLUMNS = 8  # panels a row in the kernel and feature-map figures
EXAMPLES = 8  # examples an autoencoder's rows show
Figure = Any  # a matplotlib Figure; matplotlib is imported only when a plot is drawn


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    _pyplot().close(fig)
    return path


def _module(lowered: Lowered, node_id: str) -> Any:
    return lowered.root.get_submodule(lowered.modules[node_id])


def _units(graph: Graph, lowered: Lowered, pictures: str) -> list[Node]:
    """The units, in the graph's order, whose kind draws `pictures` and that have a module."""
    return [
        n
        for n in graph.nodes(Role.UNIT)
        if n.id in lowered.modules and (k := unit_kind(n)) is not None and k.pictures == pictures
    ]


def _seen_through_layout(node: Node) -> None:
    """Templates look through layout-only units and joins only, never through other weights."""
    return None


# --- templates ------------------------------------------------------------------------------------


def class_names(graph: Graph, node_id: str, names: Mapping[str, Sequence[str]]) -> list[str]:
    """The names of the classes a unit scores: those of the class target of a loss it feeds
    (`names`: target input id -> class names), else none."""
    for user in graph.users_of(node_id):
        if graph.node(user).role is Role.LOSS:
            for target in graph.inputs_of(user):
                if target != node_id and target in names:
                    return list(names[target])
    return []


def template_figure(
    pieces: list[Piece], layouts: Mapping[str, Shape], titles: list[str]
) -> Figure | None:
    """One panel per weight row in its input's layout, on one colour scale shared by all rows
    (red: a pixel that raises the class's score, blue: one that lowers it); None when the
    input is not image-like."""
    cells = composed(pieces, layouts, scaled=False)
    if cells is None:
        return None
    plt = _pyplot()
    n = len(cells)
    cols = min(n, 5)
    rows = -(-n // cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(1.6 * cols + 1.2, 1.7 * rows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    top = float(np.nanmax(np.abs(cells))) or 1.0
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad=SEAM_COLOUR)
    image = None
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.set_axis_off()
            continue
        image = ax.imshow(cells[i], cmap=cmap, vmin=-top, vmax=top, interpolation="nearest")
        ax.set_title(titles[i], fontsize=9)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="weight")
    return fig


def write_templates(
    run_dir: Path,
    lowered: Lowered,
    graph: Graph,
    layouts: Mapping[str, Shape],
    names: Mapping[str, Sequence[str]],
) -> list[Path]:
    """templates-<unit>.png for each regression unit that reads an image-like network input
    (through layout-only units and joins): its weight rows as images, labelled by class when
    there are few, else as a grid as filters are."""
    written = []
    for node in _units(graph, lowered, "templates"):
        rows = picture_rows(_module(lowered, node.id))  # (outputs, input size)
        pieces = carry_down(graph, graph.inputs_of(node.id)[0], rows, _seen_through_layout)
        if composed(pieces, layouts) is None:
            continue  # not image-like (30 measurements of a cell): no picture to see
        path = run_dir / "plots" / f"templates-{file_name(node.id)}.png"
        if len(rows) > LABELLED:
            cut = [Piece(p.input, p.values[:MAX_CELLS]) for p in pieces]
            written.append(pieces_plot(cut, layouts, path, f"{node.label}: templates", len(rows)))
            continue
        titles = _titles(node, class_names(graph, node.id, names), len(rows))
        fig = template_figure(pieces, layouts, titles)
        assert fig is not None
        fig.suptitle(f"{node.label}: each output's weights, laid out as the image it reads")
        written.append(_save(fig, path))
    return written


def _titles(node: Node, classes: list[str], n: int) -> list[str]:
    if len(classes) == n:
        return [f"class {c}" for c in classes]
    if len(classes) == 2 and n == 1:  # one logistic output: the probability of the second
        return [f"p({classes[1]})"]
    return [f"{node.label}[{i}]" for i in range(n)]


# --- convolutions ---------------------------------------------------------------------------------


def kernel_figure(weight: np.ndarray, label: str) -> Figure:
    """A convolution's weight (out, in, *k), each output channel's filter on its own colour
    scale centred on zero (red: a positive weight, blue: a negative one). A 1-D filter is one
    (in, k) cell; a 2-D filter on one channel one (kh, kw) cell; on several, a row of cells,
    one per input channel: the first KERNEL_ROWS output and KERNEL_INS input channels. The cells
    are tiled into one picture (grey seams between them), which draws far faster than a panel
    each."""
    out, ins = weight.shape[:2]
    if weight.ndim == 3 or ins == 1:
        shown = weight[: MAPS * 2].reshape(-1, *weight.shape[-2:])  # (filters, rows, columns)
        cols = min(len(shown), COLUMNS)
        gap = max(1, -(-shown.shape[1] // 5))  # room for each cell's label above it
        tiles = Tiles(list(shown), cols, [float(np.abs(c).max()) for c in shown], gap + 1)
        fig, ax = _tiled_figure(tiles)
        for j in range(len(shown)):
            x, y = tiles.corner(j)
            ax.text(x + (tiles.width - 1) / 2, y - 0.7, f"out {j}", fontsize=6, ha="center")
        what = f"{list(weight.shape[1:])}" + (" (input channels, taps)" if weight.ndim == 3 else "")
        count = f"{len(shown)} of {out}" if out > len(shown) else str(out)
        fig.suptitle(f"{label}: {count} filters {what}, one per output channel", fontsize=9)
        return fig
    rows, cols = min(out, KERNEL_ROWS), min(ins, KERNEL_INS)
    tops = [float(np.abs(weight[j]).max()) for j in range(rows) for _ in range(cols)]
    tiles = Tiles([weight[j, c] for j in range(rows) for c in range(cols)], cols, tops)
    fig, ax = _tiled_figure(tiles)
    ax.set_xticks([tiles.corner(c)[0] + (tiles.width - 1) / 2 for c in range(cols)])
    ax.set_xticklabels([f"in {c}" for c in range(cols)], fontsize=7)
    ax.xaxis.tick_top()
    ax.set_yticks([tiles.corner(j * cols)[1] + (tiles.height - 1) / 2 for j in range(rows)])
    ax.set_yticklabels([f"out {j}" for j in range(rows)], fontsize=7)
    ax.tick_params(length=0)
    fig.suptitle(
        f"{label}: a row per output channel ({rows} of {out}),\n"
        f"a column per input channel it reads ({cols} of {ins})",
        fontsize=9,
        y=0.02,
        va="bottom",
    )
    return fig


@dataclass(frozen=True)
class Tiles:
    """Equal-sized 2-D cells laid `cols` a row with a one-pixel seam, each divided by its own
    colour scale (`tops`) so that one picture on a -1..1 scale shows them all."""

    cells: list[np.ndarray]
    cols: int
    tops: list[float]
    gap: int = 1  # pixels between rows of cells (more where each cell has a label above it)

    @property
    def height(self) -> int:
        return int(self.cells[0].shape[0])

    @property
    def width(self) -> int:
        return int(self.cells[0].shape[1])

    def corner(self, i: int) -> tuple[int, int]:
        """(x, y) of cell i's top-left pixel in the picture."""
        return (i % self.cols) * (self.width + 1), self.gap - 1 + (i // self.cols) * (
            self.height + self.gap
        )

    def picture(self) -> np.ndarray:
        rows = -(-len(self.cells) // self.cols)
        tall = self.gap - 1 + rows * (self.height + self.gap) - self.gap
        out = np.full((tall, self.cols * (self.width + 1) - 1), np.nan)
        for i, (cell, top) in enumerate(zip(self.cells, self.tops, strict=True)):
            x, y = self.corner(i)
            out[y : y + self.height, x : x + self.width] = cell / (top or 1.0)
        return out


def _tiled_figure(tiles: Tiles, size: float = 0.8) -> tuple[Figure, Any]:
    """A figure of one axes showing the tiles, about `size` inches a cell (a long, thin cell,
    such as a 1-D filter's (in, taps), stretched to a readable shape)."""
    plt = _pyplot()
    rows = -(-len(tiles.cells) // tiles.cols)
    ratio = tiles.height / tiles.width
    stretched = not 0.5 <= ratio <= 2
    w, h = (size * 0.75, size) if stretched else (size / max(1, ratio), size * min(1, ratio))
    fig = plt.figure(figsize=(max(4.0, tiles.cols * w + 1.2), rows * h + 1.1))
    ax = fig.add_axes((0.1, 0.06, 0.8, 0.8))
    _show_tiles(ax, tiles, aspect="auto" if stretched else "equal")
    return fig, ax


def _show_tiles(ax: Any, tiles: Tiles, aspect: str = "equal") -> None:
    plt = _pyplot()
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad=(0.85, 0.85, 0.85))
    picture = tiles.picture()
    ax.imshow(picture, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest", aspect=aspect)
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)


def write_kernels(run_dir: Path, lowered: Lowered, graph: Graph) -> list[Path]:
    """kernels-<unit>.png for each convolution."""
    written = []
    for node in _units(graph, lowered, "kernels"):
        weight = _module(lowered, node.id).weight.detach().float().cpu().numpy()
        path = run_dir / "plots" / f"kernels-{file_name(node.id)}.png"
        written.append(_save(kernel_figure(weight, node.label), path))
    return written


@torch.no_grad()
def captured(
    lowered: Lowered, nodes: Sequence[Node], inputs: Mapping[str, torch.Tensor], inward: bool
) -> dict[str, torch.Tensor]:
    """What the nodes' modules receive (`inward`) or return on one forward pass of `inputs`
    (network input id -> (n, ...)), by node id."""
    seen: dict[str, torch.Tensor] = {}
    handles = []
    for node in nodes:
        module = _module(lowered, node.id)

        def keep(_: Any, args: Any, out: Any = None, key: str = node.id) -> None:
            seen[key] = (args[0] if inward else out).detach()

        handles.append(
            module.register_forward_pre_hook(keep) if inward else module.register_forward_hook(keep)
        )
    was_training = lowered.root.training
    lowered.root.eval()
    try:
        lowered.model(*[inputs[name] for name in lowered.model_inputs])
    finally:
        for handle in handles:
            handle.remove()
        lowered.root.train(was_training)
    return seen


@dataclass(frozen=True)
class Maps:
    """One convolution's output for the example: (channels, ...)."""

    label: str
    values: np.ndarray


def feature_map_figure(example: np.ndarray, title: str, maps: Sequence[Maps]) -> Figure:
    """The example, then each convolution's maps for it, each convolution on its own colour
    scale centred on zero (red: a positive response, blue: a negative one): up to MAPS 2-D maps,
    COLUMNS a row, after the example's first channel; or, for a 1-D signal, its channels as
    curves, then each convolution's maps as one (channels, length) panel."""
    if example.ndim == 2:
        return _signal_maps(example, title, maps)
    plt = _pyplot()
    tiles = []
    for m in maps:
        panels = list(m.values[:MAPS])
        top = float(np.abs(m.values).max())  # one scale a convolution: its maps compare
        tiles.append(Tiles(panels, min(len(panels), COLUMNS), [top] * len(panels)))
    heights = [1] + [-(-len(t.cells) // t.cols) for t in tiles]
    fig, axes = plt.subplots(
        len(heights),
        1,
        figsize=(COLUMNS * 1.0 + 0.8, sum(heights) + 0.4 * len(heights)),
        height_ratios=heights,
        squeeze=False,
        layout="constrained",
    )
    axes = list(axes.flat)
    axes[0].imshow(example[0], cmap="gray_r", interpolation="nearest")
    axes[0].set_anchor("W")
    axes[0].set_axis_off()
    axes[0].set_title(title, fontsize=8, loc="left")
    for ax, m, t in zip(axes[1:], maps, tiles, strict=True):
        _show_tiles(ax, t)
        ax.set_anchor("W")
        label = f"{m.label}: {len(t.cells)} of {len(m.values)} maps {list(m.values.shape)}"
        ax.set_title(label, fontsize=8, loc="left")
    return fig


def _signal_maps(example: np.ndarray, title: str, maps: Sequence[Maps]) -> Figure:
    """A 1-D example (channels, length) as curves, then a (channels, length) panel per
    convolution."""
    plt = _pyplot()
    fig, axes = plt.subplots(
        1 + len(maps), 1, figsize=(7.0, 1.3 + 1.5 * len(maps)), layout="constrained"
    )
    axes = np.atleast_1d(axes)
    for channel in example[:3]:
        axes[0].plot(channel, color="black", linewidth=1.0)
    axes[0].set_title(title, fontsize=8, loc="left")
    for ax, m in zip(axes[1:], maps, strict=True):
        top = float(np.abs(m.values).max()) or 1.0
        ax.imshow(m.values, cmap="RdBu_r", vmin=-top, vmax=top, aspect="auto")
        ax.set_title(f"{m.label}: {list(m.values.shape)}", fontsize=8, loc="left")
        ax.set_ylabel("channel", fontsize=8)
    axes[-1].set_xlabel("position along the signal")
    return fig


def write_feature_maps(
    run_dir: Path,
    lowered: Lowered,
    graph: Graph,
    inputs: Mapping[str, torch.Tensor],
    describe: Callable[[int], str],
) -> list[Path]:
    """feature-maps.png: the first example of `inputs`, as the first convolution reads it,
    and each convolution's maps for it; `describe(0)` names the example (its class)."""
    convs = _units(graph, lowered, "kernels")
    if not convs:
        return []
    one = {k: v[:1] for k, v in inputs.items()}
    outs = captured(lowered, convs, one, inward=False)
    read = captured(lowered, convs[:1], one, inward=True)
    if convs[0].id not in read:
        return []  # the forward pass does not reach the convolutions
    maps = [Maps(n.label, outs[n.id][0].float().cpu().numpy()) for n in convs if n.id in outs]
    example = read[convs[0].id][0].float().cpu().numpy()  # (channels, ...)
    source = network_input(graph, convs[0].id) or graph.inputs_of(convs[0].id)[0]
    title = f"{graph.node(source).label} {describe(0)}".strip()
    fig = feature_map_figure(example, title, maps)
    fig.suptitle("one example's feature maps after each convolution", fontsize=10)
    return [_save(fig, run_dir / "plots" / "feature-maps.png")]


# --- autoencoders ---------------------------------------------------------------------------------


def _rebuilds(node: Node) -> bool:
    """A unit pretrained to rebuild its input (its drawing shows the reconstruction)."""
    kind = unit_kind(node)
    return kind is not None and kind.drawing.reconstruction is not None


def decoded_down(
    graph: Graph, lowered: Lowered, node_id: str, values: torch.Tensor
) -> tuple[str, torch.Tensor] | None:
    """`values` of `node_id`'s output carried down to a network input: through layout-only
    units, and through the decoder of each autoencoder below (a code as the image it stands
    for); None when another unit is in the way."""
    node = graph.node(node_id)
    if node.role is Role.INPUT:
        return node.id, values
    if node.role is not Role.UNIT or len(graph.inputs_of(node_id)) != 1:
        return None
    below = graph.inputs_of(node_id)[0]
    if is_layout_only(node):
        return decoded_down(graph, lowered, below, values)
    if _rebuilds(node) and node.id in lowered.modules:
        return decoded_down(graph, lowered, below, _module(lowered, node.id).decode(values))
    return None


@dataclass(frozen=True)
class Rebuilt:
    """An autoencoder's rows for a few examples, in the space of the network input `input`."""

    unit: str
    input: str
    rows: tuple[tuple[str, np.ndarray], ...]  # (what the row shows, (n, input size))
    decoded: bool  # carried down through the decoders of the autoencoders below


@torch.no_grad()
def reconstructions(
    graph: Graph, lowered: Lowered, inputs: Mapping[str, torch.Tensor], seed: int = 0
) -> list[Rebuilt]:
    """For each autoencoder: its input, the input corrupted as its pretraining corrupts it (the
    unit's `noise` and `corruption`), and the reconstruction from the corrupted input's code,
    for the examples of `inputs`, carried down to a network input (`decoded_down`)."""
    units = [n for n in graph.nodes(Role.UNIT) if _rebuilds(n) and n.id in lowered.modules]
    seen = captured(lowered, units, inputs, inward=True)
    generator = torch.Generator().manual_seed(seed)  # the same corruption in every run
    out = []
    for node in units:
        x = seen[node.id].reshape(len(seen[node.id]), -1)  # (n, D) on the model's device
        noise = float(node.params.get("noise", 0.0))
        how = str(node.params.get("corruption", "mask"))
        noisy = corrupt(x.cpu(), noise, how, generator).to(x.device)
        ae = _module(lowered, node.id)
        below = graph.inputs_of(node.id)[0]
        rows = [(graph.node(below).label, x)]
        names = _reconstruction(node, graph.node(below).label)
        if noise:
            rows.append((f"{names.corrupted} = {names.corruption}", noisy))
        rows.append(
            (f"{names.reconstructed}, rebuilt from {names.corrupted or 'it'}", ae.decode(ae(noisy)))
        )
        carried = [decoded_down(graph, lowered, below, v) for _, v in rows]
        if any(c is None for c in carried):
            continue  # another unit is in the way: its values have no picture
        shown = tuple(
            (label, c[1].float().cpu().numpy())
            for (label, _), c in zip(rows, carried, strict=True)
            if c is not None
        )
        reached = carried[0][0] if carried[0] is not None else below
        out.append(Rebuilt(node.label, reached, shown, network_input(graph, node.id) is None))
    return out


def _reconstruction(node: Node, below: str) -> Any:
    """The unit's drawing hook's names: `pixels~`, `mask(pixels, 0.3)`, `pixels^`."""
    kind = unit_kind(node)
    assert kind is not None and kind.drawing.reconstruction is not None
    return kind.drawing.reconstruction(node.label, below, node.params)


def reconstruction_figure(rebuilt: Rebuilt, shape: Shape | None) -> Figure:
    """A row per stage (input, corrupted input, reconstruction), a column per example: images
    of `shape` (ink dark, values clipped to [0, 1]), or line plots when the input is not
    image-like."""
    plt = _pyplot()
    n = len(rebuilt.rows[0][1])
    fig, axes = plt.subplots(
        len(rebuilt.rows),
        n,
        figsize=(1.1 * n + 0.4, 1.3 * len(rebuilt.rows) + 0.6),
        squeeze=False,
        layout="constrained",
    )
    for row, (label, values) in zip(axes, rebuilt.rows, strict=True):
        for ax, value in zip(row, values, strict=True):
            if shape is not None:
                ax.imshow(value.reshape(shape), cmap="gray_r", vmin=0.0, vmax=1.0)
            else:
                ax.plot(value, color="black", linewidth=0.8)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_title(label, fontsize=8, loc="left")
    title = f"{rebuilt.unit}: its input, the corrupted input, and the reconstruction"
    if rebuilt.decoded:  # a code has no picture of its own: the decoders below give it one
        title += f"\n(each row decoded down to `{rebuilt.input}` by the autoencoders below)"
    fig.suptitle(title, fontsize=10)
    return fig


def write_reconstructions(
    run_dir: Path,
    lowered: Lowered,
    graph: Graph,
    inputs: Mapping[str, torch.Tensor],
    layouts: Mapping[str, Shape],
) -> list[Path]:
    """reconstructions-<unit>.png for each autoencoder, on the first EXAMPLES of `inputs`."""
    few = {k: v[:EXAMPLES] for k, v in inputs.items()}
    written = []
    for rebuilt in reconstructions(graph, lowered, few):
        fig = reconstruction_figure(rebuilt, layouts.get(rebuilt.input))
        path = run_dir / "plots" / f"reconstructions-{file_name(rebuilt.unit)}.png"
        written.append(_save(fig, path))
    return written


# --- the run --------------------------------------------------------------------------------------


def write_concept_plots(run_dir: Path, session: Session) -> list[Path]:
    """Every picture of what the units learned, as a run ends: the filters and atoms
    (report/unit_plots), the templates, kernels and feature maps, and the reconstructions, on
    the first examples of the test split (else val, else train)."""
    lowered, graph = session.lowered, session.graph
    layouts = input_layouts(graph, session.plan.data.bindings)
    names = session.dataset.class_names
    split = next(s for s in ("test", "val", "train") if s in session.splits)
    inputs = {k: v[:EXAMPLES] for k, v in zip(lowered.inputs, session.splits[split], strict=True)}
    written = write_unit_plots(run_dir, lowered, graph, layouts)
    written += write_templates(run_dir, lowered, graph, layouts, names)
    written += write_kernels(run_dir, lowered, graph)
    written += write_feature_maps(run_dir, lowered, graph, inputs, _describer(graph, inputs, names))
    written += write_reconstructions(run_dir, lowered, graph, inputs, layouts)
    return written


def _describer(
    graph: Graph, inputs: Mapping[str, torch.Tensor], names: Mapping[str, Sequence[str]]
) -> Callable[[int], str]:
    """`(digit 3)`: example i's class, by the first class target's names; "" without one."""
    target = next((t for t in names if t in inputs), None)

    def describe(i: int) -> str:
        if target is None:
            return ""
        k = int(inputs[target][i])
        label = names[target][k] if k < len(names[target]) else str(k)
        return f"({graph.node(target).label} {label})"

    return describe


__all__ = [
    "Maps",
    "Rebuilt",
    "captured",
    "class_names",
    "decoded_down",
    "feature_map_figure",
    "kernel_figure",
    "reconstruction_figure",
    "reconstructions",
    "template_figure",
    "write_concept_plots",
    "write_feature_maps",
    "write_kernels",
    "write_reconstructions",
    "write_templates",
]
