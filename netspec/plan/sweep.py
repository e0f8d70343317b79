"""A train section's `sweep` block: its space of `--set` values, checked point by point before any
trial runs (torch-free; netspec.training.sweep runs the trials)."""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from netspec.build.program import Program
from netspec.diagnostics.core import Diagnostic, Label, NetspecError, did_you_mean, error
from netspec.lang import ast
from netspec.lang.printer import format_expr
from netspec.lang.source import Span
from netspec.plan.catalog import SECTION_KEYS, SHARED_KEYS, STAGE_KEYS
from netspec.plan.plans import TrainPlan

Kind = Literal["choice", "range", "uniform", "logrange"]
KINDS: tuple[Kind, ...] = ("choice", "range", "uniform", "logrange")
SAMPLERS = ("tpe", "random")
PRUNERS = ("median", "none")
SPLITS = ("train", "val", "test")
# The sweep's own settings; every other name in the block is a dimension.
OWN_SETTINGS = ("trials", "seeds", "sampler", "pruner")
# More points than this are refused (E524): checking each costs one compile (milliseconds).
MAX_POINTS = 10_000


@dataclass(frozen=True)
class Dimension:
    """One swept `--set` target: `choice` values (as `--set` text), or `range` (integers, both
    ends included), `uniform` or `logrange` (floats) between two bounds."""

    name: str
    kind: Kind
    choices: tuple[str, ...]  # choice only
    low: float
    high: float
    span: Span  # the dimension's setting

    @property
    def discrete(self) -> bool:
        return self.kind in ("choice", "range")

    def values(self) -> tuple[str, ...]:
        """Every value of a discrete dimension, as `--set` text."""
        if self.kind == "choice":
            return self.choices
        return tuple(str(v) for v in range(int(self.low), int(self.high) + 1))

    def bounds(self) -> tuple[str, ...]:
        """The values a check tries: all choices, else the two bounds."""
        if self.kind == "choice":
            return self.choices
        if self.kind == "range":
            return (str(int(self.low)), str(int(self.high)))
        return (number_text(self.low), number_text(self.high))


@dataclass(frozen=True)
class SweepPlan:
    network: str
    dimensions: tuple[Dimension, ...]
    trials: int
    seeds: int
    direction: Literal["min", "max"]
    metric: str  # `val/loss`: a split and a metric of its epoch rows
    sampler: str
    pruner: str
    span: Span  # the `sweep` block

    def describe(self) -> dict[str, object]:
        """The plan as JSON-ready data (the sweep folder's sweep.json)."""
        dims = [
            {
                "name": d.name,
                "kind": d.kind,
                "choices": list(d.choices),
                "low": d.low,
                "high": d.high,
            }
            for d in self.dimensions
        ]
        return {
            "network": self.network,
            "dimensions": dims,
            "trials": self.trials,
            "seeds": self.seeds,
            "objective": f"{self.direction} {self.metric}",
            "sampler": self.sampler,
            "pruner": self.pruner,
        }


def number_text(value: float) -> str:
    """A float as `--set` text that reads back as a number: 6 significant digits.

    >>> number_text(0.00031622776), number_text(2.0), number_text(1e-05)
    ('0.000316228', '2.0', '1e-05')
    """
    text = f"{value:.6g}"
    return text if any(c in text for c in ".e") else text + ".0"


# --- the plan --------------------------------------------------------------------------------


def plan_sweep(
    program: Program, train: ast.Train, plan: TrainPlan | None, diags: list[Diagnostic]
) -> SweepPlan | None:
    """The section's sweep, checked; None without one or with errors (reported to `diags`)."""
    blocks = [item for item in train.body if isinstance(item, ast.Sweep)]
    if not blocks:
        return None
    start = len(diags)
    for extra in blocks[1:]:
        diags.append(
            error(
                "E507",
                f"`train {train.network.text}` has a second `sweep` block",
                extra.span,
                "swept again here",
                secondary=[(blocks[0].span, "first sweep here")],
                help="put every dimension in one `sweep` block",
            )
        )
    block = blocks[0]
    settings: dict[str, ast.Setting] = {}
    objective: ast.Objective | None = None
    for item in block.body:
        key = item.key.text if isinstance(item, ast.Setting) else "objective"
        earlier = objective if isinstance(item, ast.Objective) else settings.get(key)
        if earlier is not None:
            diags.append(
                error(
                    "E507",
                    f"`{key}` is set twice in the sweep",
                    item.span,
                    "set again here",
                    secondary=[(earlier.span, "first set here")],
                    help="keep one of them",
                )
            )
        elif isinstance(item, ast.Objective):
            objective = item
        else:
            settings[key] = item
    dims = [
        _dimension(program, train, s, diags) for k, s in settings.items() if k not in OWN_SETTINGS
    ]
    if not dims and not diags[start:]:
        diags.append(
            error(
                "E522",
                "the sweep has no dimensions",
                block.span,
                "nothing to sweep",
                help="name a `let` or a train setting, as in `lr = logrange(1e-4, 1e-1)`",
            )
        )
    trials = _count(settings.get("trials"), 20, diags)
    seeds = _count(settings.get("seeds"), 1, diags)
    sampler = _name(settings.get("sampler"), SAMPLERS, diags)
    pruner = _name(settings.get("pruner"), PRUNERS, diags)
    direction, metric = _objective(objective, plan, block.span, diags)
    if diags[start:]:
        return None
    checked = tuple(d for d in dims if d is not None)
    return SweepPlan(
        train.network.text, checked, trials, seeds, direction, metric, sampler, pruner, block.span
    )


def sweep_of(program: Program, network: str, plan: TrainPlan | None) -> SweepPlan | None:
    """The sweep of a compiled program's network (already checked when it compiled)."""
    for train in program.trains:
        if train.network.text == network:
            return plan_sweep(program, train, plan, [])
    return None


def sweeps_of(program: Program, plans: Mapping[str, TrainPlan]) -> list[SweepPlan]:
    """Every checked sweep of a program whose train sections compiled."""
    found = (sweep_of(program, name, plan) for name, plan in plans.items())
    return [s for s in found if s is not None]


def _targets(program: Program, train: ast.Train) -> tuple[list[str], list[str], list[str]]:
    """What a dimension may name: top-level lets, this section's stages, the named losses."""
    stages = [s.name.text for s in train.body if isinstance(s, ast.Stage)]
    network = program.networks.get(train.network.text)
    losses = [
        s.name.text
        for s in (network.body if network is not None else ())
        if isinstance(s, ast.Loss) and s.name is not None
    ]
    return list(program.lets), stages, losses


def _dimension(
    program: Program, train: ast.Train, s: ast.Setting, diags: list[Diagnostic]
) -> Dimension | None:
    name = s.key.text
    lets, stages, losses = _targets(program, train)
    owner, dot, key = name.partition(".")
    settings = SECTION_KEYS + SHARED_KEYS
    if dot:
        known = (owner in stages and key in SHARED_KEYS + STAGE_KEYS) or owner in losses
    else:
        known = name in lets or name in settings
    if not known:
        candidates = [*lets, *settings, *OWN_SETTINGS]
        candidates += [f"{st}.{k}" for st in stages for k in SHARED_KEYS] + [
            f"{loss}.weight" for loss in losses
        ]
        hint = did_you_mean(name, candidates) or (
            "a dimension names what `--set` can: a top-level `let`"
            + (f" ({', '.join(f'`{n}`' for n in lets)})" if lets else "")
            + ", a train setting (`epochs`), a stage's (`STAGE.epochs`) or a named loss's "
            "parameter (`LOSS.weight`)"
        )
        diags.append(
            error(
                "E521",
                f"the sweep names `{name}`, which `--set` cannot set",
                s.key.span,
                "not a let or a setting",
                help=hint,
            )
        )
        return None
    return _space(name, s, diags)


def _space(name: str, s: ast.Setting, diags: list[Diagnostic]) -> Dimension | None:
    """`choice(...)`, `range(a, b)`, `uniform(a, b)` or `logrange(a, b)`."""
    value = s.value
    example = f"`{name} = choice(...)` or `{name} = logrange(1e-4, 1e-1)`"
    if not isinstance(value, ast.Call) or value.callee.text not in KINDS:
        shown = value.callee.text if isinstance(value, ast.Call) else format_expr(value)
        hint = did_you_mean(shown, KINDS) if isinstance(value, ast.Call) else None
        diags.append(
            error(
                "E522",
                f"sweep dimension `{name}` is `{format_expr(value)}`, not a space",
                value.span,
                "not choice, range, uniform or logrange",
                help=hint or f"a dimension spans values: {example}",
            )
        )
        return None
    kind: Kind = value.callee.text  # type: ignore[assignment]
    named = [a for a in value.args if a.name is not None]
    if named:
        return _bad(f"`{kind}` takes its values by position", named[0].span, diags)
    args = [a.value for a in value.args]
    if kind == "choice":
        if not args:
            return _bad("`choice()` needs at least one value", value.span, diags)
        texts = tuple(format_expr(a) for a in args)
        return Dimension(name, kind, texts, 0.0, 0.0, s.span)
    numbers = [a.value for a in args if isinstance(a, ast.Number)]
    if len(args) != 2 or len(numbers) != 2:
        return _bad(
            f"`{kind}` takes two numbers, its bounds: `{kind}(low, high)`", value.span, diags
        )
    low, high = float(numbers[0]), float(numbers[1])
    if kind == "range" and not all(isinstance(n, int) for n in numbers):
        return _bad("`range` takes two integers; `uniform` spans floats", value.span, diags)
    if not low < high:
        return _bad(f"`{kind}` needs low < high, but got {format_expr(value)}", value.span, diags)
    if kind == "logrange" and low <= 0:
        return _bad("`logrange` needs bounds above 0", value.span, diags)
    return Dimension(name, kind, (), low, high, s.span)


def _bad(message: str, span: Span, diags: list[Diagnostic]) -> Dimension | None:
    """Report a bad space; no dimension."""
    diags.append(error("E522", message, span, "bad sweep value"))
    return None


def _count(s: ast.Setting | None, default: int, diags: list[Diagnostic]) -> int:
    if s is None:
        return default
    if isinstance(s.value, ast.Number) and isinstance(s.value.value, int) and s.value.value >= 1:
        return s.value.value
    message = f"`{s.key.text}` is a whole number of at least 1, but got `{format_expr(s.value)}`"
    diags.append(error("E522", message, s.value.span, "not a count"))
    return default


def _name(s: ast.Setting | None, allowed: tuple[str, ...], diags: list[Diagnostic]) -> str:
    if s is None:
        return allowed[0]
    if isinstance(s.value, ast.Ref) and s.value.name.text in allowed:
        return s.value.name.text
    shown = ", ".join(f"`{a}`" for a in allowed)
    diags.append(
        error(
            "E522",
            f"`{s.key.text}` is one of {shown}, but got `{format_expr(s.value)}`",
            s.value.span,
            "not one of the choices",
            help=f"the default is `{allowed[0]}`",
        )
    )
    return allowed[0]


def _objective(
    objective: ast.Objective | None, plan: TrainPlan | None, span: Span, diags: list[Diagnostic]
) -> tuple[Literal["min", "max"], str]:
    """`min val/loss`: the direction and a metric of a split the data has; by default the
    validation loss, or the training loss without a validation split."""
    has = {"train": True, "val": plan is None or plan.data.val > 0}
    has["test"] = plan is None or plan.data.test > 0
    if objective is None:
        return "min", "val/loss" if has["val"] else "train/loss"
    words = objective.text.split(" ")
    split = words[1].partition("/")[0] if len(words) == 2 else ""
    if (
        len(words) != 2
        or words[0] not in ("min", "max")
        or "/" not in words[1]
        or split not in SPLITS
    ):
        diags.append(
            error(
                "E522",
                f"cannot read the objective `{objective.text}`",
                objective.span,
                "not `min SPLIT/METRIC` or `max SPLIT/METRIC`",
                help="write the direction and a metric of the epoch rows, as in "
                "`objective = min val/loss` or `objective = max val/acc`",
            )
        )
        return "min", "val/loss"
    if not has[split]:
        diags.append(
            error(
                "E522",
                f"the objective `{objective.text}` reads the {split} split, which "
                "the data does not hold out",
                objective.span,
                f"no {split} split",
                help=f"give the data source `{split}=0.1`, or use another split",
            )
        )
    return words[0], words[1]  # type: ignore[return-value]


# --- the points checked before any trial -----------------------------------------------------

Point = dict[str, str]


def points_to_check(plan: SweepPlan) -> list[Point] | None:
    """Every point of a discrete space; with a continuous dimension, every corner (each
    `range`, `uniform` and `logrange` at its bounds) crossed with every choice. None beyond
    MAX_POINTS."""
    axes = _axes(plan)
    if math.prod(len(a) for a in axes) > MAX_POINTS:
        return None
    names = [d.name for d in plan.dimensions]
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes)]


def _axes(plan: SweepPlan) -> list[tuple[str, ...]]:
    discrete = all(d.discrete for d in plan.dimensions)
    return [d.values() if discrete else d.bounds() for d in plan.dimensions]


def point_text(point: Mapping[str, str]) -> str:
    """`lr=0.0001, hidden=512`."""
    return ", ".join(f"{k}={v}" for k, v in point.items())


_CHECKING = contextvars.ContextVar("sweep_points_checking", default=False)


@contextlib.contextmanager
def points_unchecked() -> Iterator[None]:
    """Compile without checking sweep points: inside a point's own check, and for a trial (its
    sweep was checked when it started)."""
    token = _CHECKING.set(True)
    try:
        yield
    finally:
        _CHECKING.reset(token)


def check_points(
    sweeps: Sequence[SweepPlan],
    overrides: Mapping[str, str],
    compile_point: Callable[[Mapping[str, str]], object],
) -> list[Diagnostic]:
    """Compile the spec at each sweep's points (`compile_point` raises NetspecError); one
    diagnostic for the first point that breaks it, or for a space too large to check."""
    if _CHECKING.get():
        return []
    found: list[Diagnostic] = []
    with points_unchecked():
        for sweep in sweeps:
            points = points_to_check(sweep)
            if points is None:
                found.append(_too_many(sweep))
                continue
            for point in points:
                try:
                    compile_point({**overrides, **point})
                except NetspecError as exc:
                    found.append(_breaks(sweep, point, exc.diagnostics))
                    break
    return found


def _too_many(sweep: SweepPlan) -> Diagnostic:
    axes = [len(a) for a in _axes(sweep)]
    return error(
        "E524",
        f"the sweep has {math.prod(axes):,} points, too many to check before the first trial "
        f"(at most {MAX_POINTS:,})",
        sweep.span,
        " x ".join(str(a) for a in axes) + " points",
        help="fewer choices, or a `uniform`/`logrange` dimension (checked at its bounds)",
    )


def _breaks(sweep: SweepPlan, point: Point, causes: Sequence[Diagnostic]) -> Diagnostic:
    """`sweep point ... breaks the spec`, at the dimensions, with each cause's place labelled."""
    labels = [
        Label(d.span, f"{d.name} = {point[d.name]}", primary=i == 0)
        for i, d in enumerate(sweep.dimensions)
    ]
    unplaced = []
    for cause in causes:
        span = cause.primary_span
        if span is not None and span.file != "<--set>":
            labels.append(Label(span, f"{cause.code}: {cause.message}"))
        else:
            unplaced.append(f"at this point: error[{cause.code}]: {cause.message}")
    return Diagnostic(
        "E523",
        f"sweep point {point_text(point)} breaks the spec",
        tuple(labels),
        help="leave the value out of the sweep, or change the spec so that it fits",
        note="\n".join(unplaced) or None,
    )
