"""Run a spec's `sweep` with Optuna (imported here only): a sweep folder holding the study
(SQLite, so an interrupted sweep resumes), sweep.json, and one ordinary run folder per trial
and seed; the pruner hears the objective after each epoch of the last supervised stage."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netspec.api import Compiled, compile
from netspec.diagnostics.failure import Failure
from netspec.plan.sweep import Dimension, SweepPlan, number_text, points_unchecked
from netspec.report.seeds import Spread, spread
from netspec.training.run import TrainOptions, TrainResult, train

FINISHED = ("COMPLETE", "PRUNED")


class SweepError(Failure):
    """A sweep that cannot start or go on: no optuna, a folder that is not a sweep's."""

    code = "E791"


class Pruned(Exception):
    """Raised from the epoch hook when the pruner stops a trial."""


@dataclass
class SweepOptions:
    network: str
    file: str  # the spec's path, as given
    text: str  # the spec's text, compiled again at each point
    runs_root: Path = Path("runs")
    sweep_dir: Path | None = None  # default runs_root/<network>-sweep-<time>
    resume: Path | None = None  # continue the sweep in this folder
    trials: int | None = None  # default the sweep's `trials`
    overrides: Mapping[str, str] = field(default_factory=dict)  # --set, under every point
    allow_paths: tuple[str, ...] = ()
    quiet: bool = False


@dataclass(frozen=True)
class TrialRow:
    number: int
    point: dict[str, str]  # the --set values of the trial
    objective: Spread | None
    state: str  # COMPLETE, PRUNED, FAIL, RUNNING
    runs: tuple[str, ...]


@dataclass(frozen=True)
class SweepResult:
    folder: Path
    plan: SweepPlan
    rows: list[TrialRow]
    best: TrialRow | None
    ran: int  # trials run by this call (not those a resumed sweep had finished)


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise SweepError(
            "`netspec sweep` needs Optuna, which is not installed",
            code="E790",
            help="pip install 'netspec[sweep]'",
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def digest(compiled: Compiled, overrides: Mapping[str, str]) -> str:
    """The sha256 of every source the spec read and the --set values: a resumed sweep's must
    match."""
    h = hashlib.sha256()
    for name in sorted(compiled.sources.files()):
        h.update(name.encode() + b"\0" + (compiled.sources.text(name) or "").encode() + b"\0")
    h.update(json.dumps(dict(overrides), sort_keys=True).encode())
    return h.hexdigest()


def run_sweep(compiled: Compiled, plan: SweepPlan, options: SweepOptions) -> SweepResult:
    """Run (or resume) the sweep until it has `trials` finished trials (complete or pruned)."""
    optuna = _optuna()
    spec_digest = digest(compiled, options.overrides)
    folder = _folder(options, plan, spec_digest)
    study = optuna.create_study(
        study_name="sweep",
        storage=f"sqlite:///{folder / 'study.db'}",
        load_if_exists=True,
        direction="minimize" if plan.direction == "min" else "maximize",
    )
    _fail_interrupted(optuna, study)
    done = len(study.get_trials(deepcopy=False))
    # Seeded by the trials already told, so a resumed sweep does not draw its first points again.
    study.sampler = _sampler(optuna, plan.sampler, seed=done)
    study.pruner = optuna.pruners.NopPruner()
    if plan.pruner == "median":
        study.pruner = optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
    target = options.trials or plan.trials
    finished = sum(t.state.name in FINISHED for t in study.get_trials(deepcopy=False))
    ran = 0
    for _ in range(max(0, target - finished)):
        _trial(optuna, study, compiled, plan, options, folder)
        ran += 1
    rows = trial_rows(study)
    complete = [r for r in rows if r.state == "COMPLETE" and r.objective is not None]
    best = None
    if complete:
        sign = 1 if plan.direction == "min" else -1
        best = min(complete, key=lambda r: sign * r.objective.mean)  # type: ignore[union-attr]
    return SweepResult(folder, plan, rows, best, ran)


def _folder(options: SweepOptions, plan: SweepPlan, spec_digest: str) -> Path:
    if options.resume is not None:
        folder = options.resume
        try:
            recorded = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SweepError(
                f"{folder} is not a sweep folder (no readable sweep.json)",
                help="--resume takes the folder `netspec sweep` printed as `sweep:`",
            ) from None
        if recorded.get("digest") != spec_digest:
            raise SweepError(
                f"the spec or its --set values changed since the sweep in {folder} started",
                help="undo the change, or start a new sweep",
            )
        return folder
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = options.sweep_dir or options.runs_root / f"{plan.network}-sweep-{stamp}"
    if (folder / "sweep.json").exists():
        raise SweepError(
            f"{folder} already holds a sweep",
            help=f"continue it with --resume {folder}, or give a new folder",
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        record = {
            **plan.describe(),
            "file": options.file,
            "overrides": dict(options.overrides),
            "digest": spec_digest,
        }
        (folder / "sweep.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SweepError(f"cannot write the sweep folder {folder}: {exc.strerror}") from None
    return folder


def _sampler(optuna: Any, name: str, seed: int) -> Any:
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=4)


def _fail_interrupted(optuna: Any, study: Any) -> None:
    """Trials left RUNNING by a killed sweep: marked failed, and their points run again."""
    running = optuna.trial.TrialState.RUNNING
    for trial in study.get_trials(deepcopy=False, states=(running,)):
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
        if trial.params:
            study.enqueue_trial(trial.params, skip_if_exists=False)


def _suggest(trial: Any, d: Dimension) -> str:
    """The trial's value of one dimension, as `--set` text."""
    if d.kind == "choice":
        return str(trial.suggest_categorical(d.name, list(d.choices)))
    if d.kind == "range":
        return str(trial.suggest_int(d.name, int(d.low), int(d.high)))
    value = trial.suggest_float(d.name, d.low, d.high, log=d.kind == "logrange")
    return number_text(value)


def _trial(
    optuna: Any,
    study: Any,
    compiled: Compiled,
    plan: SweepPlan,
    options: SweepOptions,
    folder: Path,
) -> None:
    trial = study.ask()
    point = {d.name: _suggest(trial, d) for d in plan.dimensions}
    trial.set_user_attr("point", point)
    merged = {**options.overrides, **point}
    with points_unchecked():  # the sweep's points were checked when the spec compiled
        at_point = compile(options.text, options.file, merged, allow_paths=options.allow_paths)
    base_seed = at_point.trains[plan.network].seed
    values: list[float] = []
    runs: list[str] = []
    for k in range(plan.seeds):
        run_dir = folder / f"trial-{trial.number:04d}-seed-{k}"
        runs.append(run_dir.name)
        trial.set_user_attr("runs", runs)
        hook = _pruning_hook(trial, at_point, plan) if k == 0 else None
        train_options = TrainOptions(
            network=plan.network,
            run_dir=run_dir,
            seed=base_seed + k,
            overrides=merged,
            allow_paths=options.allow_paths,
            quiet=True,
            plots=False,
            drawing=False,
            on_epoch=hook,
        )
        try:
            result = train(at_point, train_options)
        except Pruned:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            return
        except Failure:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        values.append(objective_value(result, plan.metric))
        trial.set_user_attr("values", values)
    study.tell(trial, spread(values).mean)


def _pruning_hook(trial: Any, compiled: Compiled, plan: SweepPlan) -> Any:
    """Report the objective after each epoch of the last supervised stage; raise Pruned when
    the pruner says so."""
    stages = compiled.trains[plan.network].stages
    last = next((s.name for s in reversed(stages) if s.kind == "supervised"), None)
    step = 0

    def on_epoch(stage: str, epoch: int, row: Mapping[str, Any]) -> None:
        nonlocal step
        value = row.get(plan.metric)
        if stage != last or not isinstance(value, (int, float)):
            return
        step += 1
        trial.report(float(value), step)
        if trial.should_prune():
            raise Pruned

    return on_epoch


def objective_value(result: TrainResult, metric: str) -> float:
    """The metric in the run's last epoch row that has it, else in its final evaluation."""
    for row in reversed(result.rows):
        if isinstance(row.get(metric), (int, float)):
            return float(row[metric])
    final = {f"{result.split}/{k}": v for k, v in result.metrics.items()}
    if metric in final:
        return float(final[metric])
    known = sorted({k for r in result.rows for k in r if "/" in k} | set(final))
    raise SweepError(
        f"the objective's metric `{metric}` is not among the run's metrics",
        code="E792",
        help="the run has: " + ", ".join(f"`{k}`" for k in known),
    )


def trial_rows(study: Any) -> list[TrialRow]:
    """Every trial of the study, in order, with its point and objective over seeds."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        values = t.user_attrs.get("values") or []
        objective = spread(values) if values and t.state.name == "COMPLETE" else None
        point = t.user_attrs.get("point") or {k: str(v) for k, v in t.params.items()}
        runs = tuple(t.user_attrs.get("runs") or ())
        rows.append(TrialRow(t.number, dict(point), objective, t.state.name, runs))
    return rows


def table(result: SweepResult) -> list[list[str]]:
    """The trials as rows of text: number, each dimension's value, objective, state."""
    names = [d.name for d in result.plan.dimensions]
    objective = f"{result.plan.direction} {result.plan.metric}"
    rows = [["trial", *names, objective, "state"]]
    for r in result.rows:
        shown = r.objective.text() if r.objective is not None else "-"
        rows.append([str(r.number), *(r.point.get(n, "-") for n in names), shown, r.state.lower()])
    return rows


def best_line(result: SweepResult, file: str) -> str | None:
    """`netspec train FILE --set lr=0.0031 --set hidden=128`: the best trial's settings."""
    if result.best is None:
        return None
    sets = " ".join(f"--set {k}={v}" for k, v in result.best.point.items())
    return f"netspec train {file} {sets}"
