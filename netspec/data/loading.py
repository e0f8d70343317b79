"""Load a `train` section's data source into arrays for the network's inputs.

`load(plan, graph)` reads or generates the source, splits it, and gives each bound network input
its field's values (its `part` of the features when several inputs share them), reshaped to the
input's declared shape with symbolic sizes such as `T` read from the data: float32 for `real` and
`binary` inputs, int64 class ids 0..K-1 for `class(K)` ones (and NO_LABEL, -1, at the padded
steps of a sequence target `class(K)[T]`, which losses and accuracies leave out).

Splits: the samples are shuffled once with `default_rng(plan.seed)`; the first `test` fraction
is the test split, the next `val` fraction the validation split, the rest the training split.
A split over the host's memory budget (`netspec.data.budget.host_budget`) is not copied: its
arrays are `RowView`s (`netspec.data.rows`), the source's rows read as they are asked for.
When the target feeds a class (or binary) input, the shuffled order is interleaved by class first,
so every split keeps the classes' proportions (to within one sample per class).

Sources: `digits` pixels are divided by 16 into [0, 1]; with `nudge=true` the 1,797 digits are
followed by four shifted copies, as in scikit-learn's RBM gallery example (8,985 images, labels
repeated; the split then draws from all of them, so a digit and its shifts may land in different
splits, as in the gallery); `iris`, `wine` and `breast_cancer` come as scikit-learn ships
them, unscaled: a section declares `normalize = standard` to have every real feature input
standardized with the TRAINING split's mean and standard deviation (computed after splitting,
applied to every split, so no statistic leaks from the held-out samples; `netspec.data.scaling`
keeps them on the Dataset and in the run folder); `diabetes` comes as scikit-learn ships it
(already centred and scaled), its target a float. `mnist1d` is made by the package's own
generator with its fixed seed 42, so the signals match the published set whatever the plan's
seed (which only splits them).

Each source is its catalogue entry's `impl`: a function of the source's parameters but the
split's, returning `Samples`, here for the read sets and in `netspec.data.synthetic` for the
generated ones. The samples are cached by exactly those arguments (and the files' sizes and
times). Only numpy is imported here; each source's own library is imported when that source is
loaded. Problems with the user's files, and samples that break the data contracts
(`netspec.data.contracts`: nan, text in numbers, labels outside `class(N)`...), raise DataError;
`check_files` collects them as diagnostics for `netspec check`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from math import prod
from types import MappingProxyType
from typing import Any

import numpy as np

from netspec.data import contracts
from netspec.data.budget import host_budget
from netspec.data.contracts import DataError
from netspec.data.rows import Convert, RowView
from netspec.data.scaling import statistics
from netspec.diagnostics.core import Diagnostic
from netspec.diagnostics.failure import at
from netspec.ir import Graph, Node, Role
from netspec.lang.source import NOWHERE, Span
from netspec.plan.catalog import FEATURES, SOURCES, TARGET, Source
from netspec.plan.databind import Binding
from netspec.plan.plans import DataPlan
from netspec.types import NO_LABEL, TensorType

__all__ = ["Column", "DataError", "Dataset", "Samples", "Split", "check_files", "load"]


@dataclass(frozen=True)
class Split:
    """One split: network input id -> array, samples on axis 0, then the input's shape. A split
    over the memory budget (`netspec.data.budget.host_budget`) holds `RowView`s instead: the
    rows of its source, read as they are asked for (by the batch, or all with `np.asarray`)."""

    arrays: Mapping[str, np.ndarray | RowView]

    @property
    def size(self) -> int:
        return len(next(iter(self.arrays.values()))) if self.arrays else 0


@dataclass(frozen=True)
class Dataset:
    source: str
    train: Split
    val: Split | None  # None when the plan's val fraction is 0
    test: Split | None  # None when the plan's test fraction is 0
    class_names: Mapping[str, tuple[str, ...]]  # target input id -> class names
    # `normalize = standard`: input id -> the training split's (mean, std) it was scaled with
    normalization: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True)
class Column:
    """Where a further target (or an archive's array) lies in the user's file, for messages:
    what names it ("column `stay` of `a.csv`"), the file, its 1-based CSV column (0: an array,
    whose samples are numbered), and whether it held text labels."""

    origin: str
    file: str
    column: int
    text: bool


@dataclass(frozen=True)
class Samples:
    """What a data source's implementation returns: its samples before splitting. The loader
    makes the arrays read-only, as it caches them."""

    x: np.ndarray  # (N, ...) features
    y: np.ndarray | None = None  # (N, ...) targets; None: the source gives features only
    names: tuple[str, ...] = ()  # class names of y, when it holds classes
    x_from: str = ""  # what gave x and y, for messages: "`data.csv`"; "": the source's name
    y_from: str = ""
    y_text: bool = False  # y holds ids of text labels
    # The source's own held-out rows (a benchmark's official test set): the test split, when
    # the plan holds out any; validation is then drawn from the other rows.
    test_rows: np.ndarray | None = None
    # A group per sample (a speaker): the test and validation splits hold out whole groups.
    groups: np.ndarray | None = None
    # Further targets, by field name, with their class names: another task's labels of the
    # same samples (a word's phones, beside the word in y).
    more: Mapping[str, tuple[np.ndarray, tuple[str, ...]]] = field(default_factory=dict)
    # Where each sample came from, for messages that point into the user's files: the files
    # of x and y, the file line of each sample (a CSV's; None: sample i is the array's i-th),
    # and the target's 1-based column in a CSV.
    x_file: str = ""
    y_file: str = ""
    lines: np.ndarray | None = None
    y_column: int = 0
    columns: tuple[str, ...] = ()  # the names of x's columns (a CSV's), for fields that pick some
    more_columns: Mapping[str, Column] = field(default_factory=dict)  # where `more` lies


def check_files(plan: DataPlan, graph: Graph) -> list[Diagnostic]:
    """Every problem with the local files of `plan`'s source (a `csv` or `npy` one) that
    loading would meet, as diagnostics: what `netspec check` reports. Nothing for sources
    that read no file of the user's, which `train` checks as it loads them."""
    entry = SOURCES.get(plan.source)
    if entry is None or not entry.files:
        return []
    try:
        load(plan, graph)
    except DataError as exc:
        return [p.diagnostic for p in exc.problems or (exc,)]
    return []


def load(plan: DataPlan, graph: Graph) -> Dataset:
    """The plan's data, split and shaped for `graph`'s inputs; DataError for bad user files."""
    try:
        return _loaded(plan, graph)
    except DataError as exc:
        if plan.span is not NOWHERE:  # a problem with no place in a file: the spec's `data`
            for problem in (exc, *exc.problems):
                problem.span = problem.span or plan.span
        raise


def _loaded(plan: DataPlan, graph: Graph) -> Dataset:
    entry = SOURCES.get(plan.source)
    if entry is None:
        raise DataError(f"no loader for the data source `{plan.source}`")
    missing = (
        contracts.missing_file(path, name, plan.source, plan.span)
        for name in entry.files
        if isinstance(path := plan.params.get(name), str)
    )
    contracts.problems_raised([m for m in missing if m is not None])
    raw = _raw(entry, _arguments(plan, entry), _stats(plan, entry))
    nodes = {b.input: _input_node(graph, b.input) for b in plan.bindings}
    strata = None
    for b in plan.bindings:
        t = nodes[b.input].type
        if b.role == TARGET and t is not None and t.dtype != "real":
            strata = raw.more[b.field][0] if b.field in raw.more else raw.y
    problems: list[DataError] = []  # raised together once the labels and shapes are seen
    try:
        test_idx, val_idx, train_idx = _split(len(raw.x), plan, strata, raw)
    except DataError as exc:
        problems.append(exc)
        test_idx = val_idx = np.arange(0)
        train_idx = np.arange(len(raw.x))
    arrays: dict[str, RowView] = {}  # every sample's values, read when a split is taken
    class_names: dict[str, tuple[str, ...]] = {}
    widths: dict[str, int] = {}  # values per sample of each field that inputs share
    for b in plan.bindings:
        node, target = nodes[b.input], b.role == TARGET
        data = _field(raw, b)
        if data is None:
            raise DataError(f"`{plan.source}` gives no `{b.field}` for input `{node.label}`")
        widths[b.field] = prod(data.shape[1:])
        where = raw.more_columns.get(b.field)
        if where is not None:  # a further target or an array of the user's file
            origin, text, numbered = where.origin, where.text, raw.more[b.field][1]
        else:
            origin = raw.x_from if not target else raw.y_from
            text = raw.y_text and target
            numbered = raw.names if target and raw.y_file else ()  # a file's labels, as ids
        try:
            arrays[node.id] = _shape(
                data, b.part, node, origin, text, target, _locator(raw, target, where), numbered
            )
        except DataError as exc:
            problems.extend(exc.problems or (exc,))
            continue
        if node.type is not None and node.type.dtype != "real" and target:
            k = node.type.classes or 2  # binary: 2
            names = raw.more[b.field][1][:k] if b.field in raw.more else raw.names[:k]
            class_names[node.id] = names + tuple(str(i) for i in range(len(names), k))

    for name, width in widths.items():
        ends = [b.part[1] for b in plan.bindings if b.part is not None and b.field == name]
        if ends and max(ends) != width:
            problems.append(
                DataError(
                    f"{raw.x_from} gives {width} feature values per sample, but the "
                    f"inputs that share them take {max(ends)}",
                    code=contracts.BAD_SHAPE,
                    span=plan.span,
                    help="make the inputs' sizes add up to the values each sample has",
                )
            )
    contracts.problems_raised(problems)
    budget = host_budget()
    row_bytes = sum(a.nbytes // max(1, len(a)) for a in arrays.values())

    def held(idx: np.ndarray) -> bool:  # read into memory, not left as rows of the source
        return budget is None or len(idx) * row_bytes <= budget

    stats: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if plan.normalize == "standard":  # with the training split's statistics only
        for b in plan.bindings:
            node = nodes[b.input]
            if b.role == FEATURES and node.type is not None and node.type.is_real:
                mean, std = statistics(arrays[node.id].take(train_idx), held(train_idx))
                arrays[node.id] = arrays[node.id].scaled(mean, std)
                stats[node.id] = (mean.astype(np.float32), std.astype(np.float32))

    def take(idx: np.ndarray) -> Split:
        views = {k: a.take(idx) for k, a in arrays.items()}
        kept = {k: v.values() for k, v in views.items()} if held(idx) else views
        return Split(MappingProxyType(kept))

    return Dataset(
        plan.source,
        take(train_idx),
        take(val_idx) if plan.val > 0 else None,
        take(test_idx) if plan.test > 0 else None,
        MappingProxyType(class_names),
        MappingProxyType(stats),
    )


def _field(raw: Samples, b: Binding) -> np.ndarray | None:
    """The samples' values of the field `b` takes: a further target or array by name, else
    the features (the columns it names, when it names some) or the target."""
    if b.field in raw.more:
        return raw.more[b.field][0]
    if b.role == TARGET:
        return raw.y
    if b.columns and raw.columns:
        return raw.x[:, [raw.columns.index(c) for c in b.columns]]
    return raw.x


# --- splitting and shaping ---------------------------------------------------------------------


def _split(
    n: int, plan: DataPlan, strata: np.ndarray | None, raw: Samples | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the test, validation and training samples, each in shuffled order: the
    source's own test rows if it has them, whole groups if it groups its samples, else a
    random split, stratified by class when the target is one class per sample."""
    if raw is not None and raw.test_rows is not None and plan.test > 0:
        test = np.random.default_rng(plan.seed).permutation(np.sort(raw.test_rows))
        rest = np.setdiff1d(np.arange(n), test)
        no_test = replace(plan, test=0.0, val=plan.val * n / len(rest))
        sub = None if strata is None else strata[rest]
        _, val, train = _split(len(rest), no_test, sub)
        return test, rest[val], rest[train]
    if raw is not None and raw.groups is not None:
        return _split_groups(raw.groups, plan)
    perm = np.random.default_rng(plan.seed).permutation(n)
    n_test, n_val = _count(plan.test, n), _count(plan.val, n)
    _enough(n, n_test, n_val, plan)
    positions = np.arange(n)
    if strata is not None and strata.ndim == 1:
        _, cls = np.unique(strata[perm], return_inverse=True)
        counts = np.bincount(cls)
        by_class = np.argsort(cls, kind="stable")
        rank = np.empty(n)
        rank[by_class] = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)
        positions = np.argsort((rank + 0.5) / counts[cls], kind="stable")
    parts = np.split(positions, [n_test, n_test + n_val])
    test, val, train = (perm[np.sort(p)] for p in parts)
    return test, val, train


def _split_groups(groups: np.ndarray, plan: DataPlan) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Whole groups (speakers) held out: groups in a seeded order, the first ones for testing
    until they hold the test fraction of the samples, the next for validation."""
    n = len(groups)
    names = np.random.default_rng(plan.seed).permutation(np.unique(groups))
    sizes = np.array([np.count_nonzero(groups == g) for g in names])
    ends = np.cumsum(sizes)
    n_test = int(np.searchsorted(ends, _count(plan.test, n))) + 1 if plan.test > 0 else 0
    n_val = 0
    if plan.val > 0:
        taken = ends[n_test - 1] if n_test else 0
        n_val = int(np.searchsorted(ends - taken, _count(plan.val, n))) + 1 - n_test
        n_val = max(1, n_val)
    if n_test + n_val >= len(names):
        raise DataError(
            f"`{plan.source}` has {len(names)} groups of samples (speakers): too few to hold out "
            f"test={plan.test:g} and val={plan.val:g} as whole groups and still train on some",
            code=contracts.TOO_FEW,
            span=plan.span,
            help="give more groups, or hold out smaller `test` and `val` fractions",
        )
    test_g, val_g = names[:n_test], names[n_test : n_test + n_val]
    rows = np.random.default_rng(plan.seed).permutation(n)
    test = rows[np.isin(groups[rows], test_g)]
    val = rows[np.isin(groups[rows], val_g)]
    train = rows[~np.isin(groups[rows], np.concatenate([test_g, val_g]))]
    return test, val, train


def _enough(n: int, n_test: int, n_val: int, plan: DataPlan) -> None:
    """E516 when the training split would be empty."""
    if n_test + n_val < n:
        return
    path = plan.params.get("path")
    what = f"`{path}`" if isinstance(path, str) else f"`{plan.source}`"
    if n == 0:
        message = f"{what} has no samples: the training split would be empty"
    else:
        message = (
            f"{what} has {n} sample{'s' * (n != 1)}: too few to hold out test={plan.test:g} "
            f"({n_test}) and val={plan.val:g} ({n_val}) and still train on some, so the "
            "training split would be empty"
        )
    raise DataError(
        message,
        code=contracts.TOO_FEW,
        span=plan.span,
        label="leaves no training samples",
        help="give more samples, or hold out smaller `test` and `val` fractions",
    )


def _count(fraction: float, n: int) -> int:
    return 0 if fraction <= 0 else max(1, round(fraction * n))


def _input_node(graph: Graph, name: str) -> Node:
    if name in graph:
        return graph.node(name)
    for node in graph.nodes(Role.INPUT):
        if node.label == name:
            return node
    raise DataError(f"network `{graph.name}` has no input `{name}`")


Locate = contracts.Locate


def _shape(
    data: np.ndarray,
    part: tuple[int, int] | None,
    node: Node,
    origin: str,
    text: bool = False,
    target: bool = False,
    locate: Locate | None = None,
    names: tuple[str, ...] = (),
) -> RowView:
    """`data` (or its `part`) as the values of input `node`: its shape, its element type, as a
    view that converts rows as they are read (nothing is copied here). A sequence target
    class(K)[T] may hold NO_LABEL at steps without a label (padding). `text`: `data` holds the
    ids of text labels; `names`: the labels of a file that its ids stand for (text, or integers
    numbered in sorted order); `locate` names a sample and where it is in the user's file, for
    messages."""
    n = len(data)
    if part is not None:
        flat = data.reshape(n, -1)
        if part[1] > flat.shape[1]:
            raise DataError(
                f"{origin} gives {flat.shape[1]} values per sample, too few for input "
                f"`{node.label}`, which takes values {part[0]} to {part[1] - 1} of them",
                code=contracts.BAD_SHAPE,
                help="give each sample as many values as the inputs that share them take",
            )
        data = flat[:, part[0] : part[1]]
    t = node.type
    if t is None:
        kept = np.dtype(np.float32) if data.dtype.kind == "f" else data.dtype
        return RowView.whole(data, Convert(data.shape[1:], kept))
    count = prod(data.shape[1:])
    dims = _dims(t, count)
    if dims is None:
        raise DataError(
            f"{origin} gives {count} value{'s' * (count != 1)} per sample, but input "
            f"`{node.label}` takes `{t}` ({_takes(t)})",
            code=contracts.BAD_SHAPE,
            help=f"declare `input {node.label}` with the data's shape, or reshape the data",
        )
    if t.dtype == "real":
        if text:
            raise DataError(
                f"{origin} holds text labels, but input `{node.label}` is `real`",
                code=contracts.NOT_A_NUMBER,
                help=f"declare `input {node.label}: class({len(names) or 'N'})`, or give numbers",
            )
        # integers that `_labels` numbered as classes: a real target wants them back
        table = np.array([float(v) for v in names]) if names else None
        return RowView.whole(data, Convert(dims, np.dtype(np.float32), table))
    k = 2 if t.dtype == "binary" else int(t.classes or 0)
    padded = target and t.dtype == "class" and t.rank > 0
    ids = "0 or 1" if t.dtype == "binary" else f"class ids 0 to {k - 1}"
    ids += f" ({NO_LABEL} at unlabelled steps)" if padded else ""
    where = f"{origin} for input `{node.label}`"
    found = contracts.labels(
        data,
        k,
        NO_LABEL if padded else 0,
        f"`{t}` takes {ids}",
        where,
        locate or contracts.sample_number,
        names,
    )
    contracts.problems_raised(found)
    kind = np.float32 if t.dtype == "binary" else np.int64
    return RowView.whole(data, Convert(dims, np.dtype(kind)))


def _locator(raw: Samples, target: bool, where: Column | None = None) -> Locate:
    """Where sample i of the features (or the target, or the further field `where`) lies in
    the user's file, for messages: "line 4, column `label`" in a CSV, "sample 4" in an array."""
    file = where.file if where else raw.y_file if target else raw.x_file
    if not file:
        return contracts.sample_number
    lines = raw.lines
    column = where.column if where else raw.y_column if target else 0

    def locate(i: int) -> tuple[str, Span | None]:
        if lines is None:
            return f"sample {i + 1}", at(file, i + 1)
        line = int(lines[i])
        return f"line {line}", at(file, line, max(column, 1))

    return locate


def _dims(t: TensorType, count: int) -> tuple[int, ...] | None:
    """The input's dims with its one symbolic size read from `count`; None when none fit."""
    fixed = prod(d for d in t.dims if isinstance(d, int))
    symbolic = [d for d in t.dims if not isinstance(d, int)]
    if not symbolic:
        return tuple(int(d) for d in t.dims) if fixed == count else None
    if len(symbolic) > 1 or fixed == 0 or count % fixed or count == 0:
        return None
    return tuple(d if isinstance(d, int) else count // fixed for d in t.dims)


def _takes(t: TensorType) -> str:
    fixed = prod(d for d in t.dims if isinstance(d, int))
    if t.is_static:
        return f"{fixed} value{'s' * (fixed != 1)}"
    return f"a multiple of {fixed} values" if fixed > 1 else "its one size read from the data"


# --- sources -----------------------------------------------------------------------------------

_SPLIT_ONLY = frozenset({"test", "val"})  # the split's parameters, which no source is given


def _arguments(plan: DataPlan, entry: Source) -> tuple[tuple[str, Any], ...]:
    """What the source's implementation is given, and so what its samples depend on: its
    parameters less the split's, the seed too unless the source draws its samples from it."""
    skip = _SPLIT_ONLY if entry.seeded else _SPLIT_ONLY | {"seed"}
    return tuple((k, v) for k, v in sorted(plan.params.items()) if k not in skip)


def _stats(plan: DataPlan, entry: Source) -> tuple[tuple[str, Any], ...]:
    """The size and time of each file the source reads, so the cache sees edits."""
    paths = ((name, plan.params.get(name)) for name in entry.files)
    return tuple((name, _stat(path)) for name, path in paths if isinstance(path, str))


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


@lru_cache(maxsize=32)
def _raw(
    entry: Source, arguments: tuple[tuple[str, Any], ...], stats: tuple[tuple[str, Any], ...]
) -> Samples:
    """The source's samples, read or drawn once for each set of arguments and file versions."""
    raw: Samples = entry.resolve()(**dict(arguments))
    name = f"`{entry.name}`"
    raw = replace(raw, x_from=raw.x_from or name, y_from=raw.y_from or name)
    _finite(raw)  # here, so the cache holds only samples that passed
    for a in (raw.x, raw.y, *(array for array, _ in raw.more.values())):
        if a is not None:
            a.setflags(write=False)
    return raw


def _finite(raw: Samples) -> None:
    """E514 for nan or inf in any array a source gave: a generated set is checked as a file
    is, before the first step, so a nan never reaches the loss (whose message would blame the
    learning rate)."""
    arrays = [(raw.x, raw.x_from, raw.x_file), (raw.y, raw.y_from, raw.y_file)]
    arrays += [(a, f"`{name}` of {raw.x_from}", "") for name, (a, _) in raw.more.items()]
    found = [
        p
        for a, origin, file in arrays
        if a is not None
        for p in contracts.non_finite(a, origin, file or None)
    ]
    contracts.problems_raised(found)


def _sklearn(source: str) -> Samples:
    from sklearn import datasets  # type: ignore[import-untyped]

    bunch = getattr(datasets, f"load_{source}")()
    x = np.asarray(bunch.data, dtype=np.float64)
    y = np.asarray(bunch.target)
    names = tuple(str(c) for c in getattr(bunch, "target_names", ()))  # none for diabetes
    return Samples(x, y, names)


def digits(nudge: bool) -> Samples:
    raw = _sklearn("digits")
    raw = replace(raw, x=raw.x / 16.0)  # pixels from 0..16 to [0, 1]
    return _nudged(raw) if nudge else raw


def iris() -> Samples:
    return _sklearn("iris")


def wine() -> Samples:
    return _sklearn("wine")


def breast_cancer() -> Samples:
    return _sklearn("breast_cancer")


def diabetes() -> Samples:
    return _sklearn("diabetes")


# scikit-learn's gallery kernels (plot_rbm_logistic_classification), in its order: convolving an
# image with one moves it by a pixel up, left, right or down; what moves in is zero.
NUDGES = (
    ((0, 1, 0), (0, 0, 0), (0, 0, 0)),  # up
    ((0, 0, 0), (1, 0, 0), (0, 0, 0)),  # left
    ((0, 0, 0), (0, 0, 1), (0, 0, 0)),  # right
    ((0, 0, 0), (0, 0, 0), (0, 1, 0)),  # down
)


def nudge(x: np.ndarray) -> np.ndarray:
    """(N, 64) 8x8 images -> (5N, 64): the images, then all of them moved up, left, right, down."""
    from scipy.ndimage import convolve  # type: ignore[import-untyped]

    images = x.reshape(-1, 8, 8)
    moved = [convolve(images, np.array(w, dtype=x.dtype)[None], mode="constant") for w in NUDGES]
    return np.concatenate([images, *moved]).reshape(-1, 64)


def _nudged(raw: Samples) -> Samples:
    assert raw.y is not None
    x, y = nudge(raw.x), np.tile(raw.y, len(NUDGES) + 1)
    return Samples(x, y, raw.names, "`digits(nudge=true)`", "`digits(nudge=true)`")


def mnist1d(n: int, official: bool = False) -> Samples:
    """`n` signals of the package's own set: it makes them 10 classes at a time, so we ask for
    `n` rounded up to a multiple of 10 and keep the first `n` (all of them when n divides).
    `official`: the MNIST-1D paper's exact set, its 4,000 training and 1,000 test signals, with
    those 1,000 as the test split."""
    from mnist1d.data import get_dataset_args, make_dataset  # type: ignore[import-untyped]

    args = get_dataset_args()
    if official and n != args.num_samples:
        raise DataError(
            f"`mnist1d(official=true)` is the paper's {args.num_samples:,} signals: leave out n={n}"
        )
    args.num_samples = -(-n // 10) * 10
    np_state, py_state = np.random.get_state(), random.getstate()
    try:  # make_dataset reseeds both global generators with the package's seed (42)
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.concatenate([data["x"], data["x_test"]])[:n].astype(np.float64)
    y = np.concatenate([data["y"], data["y_test"]])[:n].astype(np.int64)
    test_rows = np.arange(len(data["x"]), n) if official else None
    return Samples(x, y, tuple(str(i) for i in range(10)), test_rows=test_rows)


def from_npy(path: str, target: str | None) -> Samples:
    """A .npy file's array as the samples (along its first axis), another's as the targets."""
    x = _read_npy(path, "features")
    problems: list[DataError] = []
    if x.dtype.kind not in "biuf":
        problems.append(
            DataError(
                f"`{path}` holds {x.dtype} values: the features must be numbers",
                code=contracts.NOT_A_NUMBER,
                help="save the features as a numeric array (`np.save(path, x.astype(float))`)",
            )
        )
    if target is None:
        contracts.problems_raised(problems + contracts.non_finite(x, f"`{path}`", path))
        return Samples(x, None, x_from=f"`{path}`", x_file=path)
    y = _read_npy(target, "targets")
    names: tuple[str, ...] = ()
    text = False
    if len(y) != len(x):
        problems.append(
            DataError(
                f"`{target}` has {len(y)} targets, but `{path}` has {len(x)} samples",
                code=contracts.BAD_SHAPE,
                help="give one target per sample, in the same order",
            )
        )
    if y.dtype.kind in "US":
        unique, ids = np.unique(y, return_inverse=True)
        y, names, text = ids.reshape(y.shape).astype(np.int64), tuple(map(str, unique)), True
    elif y.dtype.kind not in "biuf":
        problems.append(
            DataError(
                f"`{target}` holds {y.dtype} values: the targets must be numbers or text",
                code=contracts.NOT_A_NUMBER,
                help="save the targets as numbers (class ids) or strings",
            )
        )
    problems += contracts.non_finite(x, f"`{path}`", path) + contracts.non_finite(
        y, f"`{target}`", target
    )
    contracts.problems_raised(problems)
    return Samples(x, y, names, f"`{path}`", f"`{target}`", text, x_file=path, y_file=target)


NPY_MAGIC = b"\x93NUMPY"  # how every file that np.save writes begins


def _read_npy(path: str, what: str) -> np.ndarray:
    try:
        with open(path, "rb") as f:
            magic = f.read(len(NPY_MAGIC))
        if magic != NPY_MAGIC:  # else numpy takes it for a pickle and suggests loading that
            raise ValueError("it is not a NumPy .npy file (it does not start with the .npy header)")
        # Memory-mapped: pages are read as the samples are taken, not all at load time.
        a = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        if "allow_pickle" in reason or "Python objects" in reason:  # never advise a pickle
            reason = "it holds Python objects (a pickle), and netspec reads only numeric arrays"
        elif "mmap length" in reason:  # mapping a file shorter than its header's shape
            reason = "it is shorter than its header says (cut off while written or copied?)"
        raise DataError(
            f"cannot read the {what} file `{path}`: {reason}",
            code=contracts.UNREADABLE,
            help="give a file written by `np.save` holding one numeric (or text) array",
        ) from None
    if not isinstance(a, np.ndarray) or a.ndim == 0:
        raise DataError(
            f"`{path}` must hold one array with the samples along its first axis",
            code=contracts.BAD_SHAPE if isinstance(a, np.ndarray) else contracts.UNREADABLE,
            help="save an array of shape (samples, ...), not a scalar or an `.npz` archive",
        )
    return a
