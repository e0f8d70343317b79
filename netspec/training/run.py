"""Train a compiled network: its `train` section's stages, in order, in a run directory.

A registry maps each stage kind to an executor: supervised stages (training.supervised) minimise
the objective with the stage's optimizer and schedule; greedy pretraining stages
(training.pretrain.greedy) train one unit at a time by its own rule. Both share a Session
(training.session). Small data sets go to the device whole, and batches are indexed from a
permutation drawn with a generator of their own; with the RNG states, optimizer, schedule and
position in the checkpoint, a resumed run on the CPU ends with exactly the weights of an
uninterrupted one.
"""

from __future__ import annotations

import contextlib
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netspec.api import Compiled
from netspec.backend.lower import Lowered
from netspec.data.loading import Dataset
from netspec.data.scaling import write_normalization
from netspec.diagnostics.core import did_you_mean
from netspec.diagnostics.failure import Failure
from netspec.plan.plans import StagePlan, TrainPlan
from netspec.plan.resources import host_available_bytes, refuse_unaffordable
from netspec.report.concept_plots import write_concept_plots
from netspec.report.plots import write_drawing
from netspec.report.run_curves import write_plots
from netspec.training import runs
from netspec.training.distributed import shared
from netspec.training.metrics import Evaluation, HeadSpec
from netspec.training.objectives import UnitScore, unit_scores
from netspec.training.pretrain.greedy import pretrain
from netspec.training.progress import Reporter
from netspec.training.runs import Checkpoint
from netspec.training.session import SPLITS, Session, Stopped, TrainError, resolve_device
from netspec.training.signals import stop_requests
from netspec.training.supervised import supervised

__all__ = [
    "CheckpointScores",
    "SkipError",
    "TrainError",
    "TrainOptions",
    "TrainResult",
    "evaluate_checkpoint",
    "train",
    "training_plan",
]


@dataclass
class TrainOptions:
    network: str | None = None
    runs_root: Path = Path("runs")
    run_dir: Path | None = None  # the run's folder; default runs_root/<network>-<time>
    resume: Path | None = None  # continue the run in this folder
    device: str | None = None  # auto | cpu | cuda; default the plan's
    seed: int | None = None  # default the plan's
    threads: int | None = None  # CPU threads; default 1
    compile: bool = False  # torch.compile the objective
    epochs: int | None = None  # override every supervised stage's length
    steps: int | None = None
    # one step of every stage (of each unit of a greedy stage), then the final evaluation and
    # plots: a quick check that a spec trains end to end, as Lightning's fast_dev_run
    smoke: bool = False
    max_steps: int | None = None  # stop, with a checkpoint, after this many optimizer steps
    # checkpoints (last.safetensors) every this many steps, if set; else every
    # `checkpoint_seconds` of training, checked at each step; and always at a stage's end
    checkpoint_every: int | None = None
    checkpoint_seconds: float = 60.0
    tensorboard: bool = False
    plots: bool = True
    drawing: bool = True
    quiet: bool = False
    overrides: Mapping[str, str] = field(default_factory=dict)  # the --set values, for the record
    skip_stages: tuple[str, ...] = ()  # names of `train` stages to leave out (--skip-stage)
    allow_paths: tuple[str, ...] = ()  # the --allow-path folders, so the run can be rebuilt
    argv: Sequence[str] = field(default_factory=lambda: list(sys.argv))
    # called after each supervised epoch (its checkpoint written) with the stage's name, the
    # epoch and its metrics row; a sweep reports to its pruner here, and may raise to stop
    on_epoch: Callable[[str, int, Mapping[str, Any]], None] | None = None


@dataclass
class TrainResult:
    run_dir: Path
    status: str  # done | stopped (max_steps) | interrupted (a signal)
    heads: tuple[HeadSpec, ...]
    split: str  # the split `metrics` were measured on: test, else val, else train
    metrics: dict[str, float]
    rows: list[dict[str, Any]]
    checkpoint: Path
    best: Path | None
    plots: list[Path]
    drawing: Path | None
    lowered: Lowered
    # a network without loss heads: its pretrained units' objectives on every split
    scores: list[UnitScore] = field(default_factory=list)
    signal: str = ""  # what interrupted it: SIGINT or SIGTERM


@dataclass(frozen=True)
class CheckpointScores:
    """What `evaluate_checkpoint` measured: the heads' metrics on `split`, or `scores`."""

    heads: tuple[HeadSpec, ...]
    split: str
    metrics: dict[str, float]
    scores: list[UnitScore]


class SkipError(TrainError):
    """A `skip_stages` that names no stage of the plan, or every stage (a usage error)."""


# --- the plan -----------------------------------------------------------------------------------


def training_plan(compiled: Compiled, options: TrainOptions) -> TrainPlan:
    """The network's plan without the skipped stages, with --epochs/--steps applied; TrainError
    when it cannot run."""
    name = options.network or next(iter(compiled.trains), None) or next(iter(compiled.networks), "")
    if name not in compiled.trains:
        known = ", ".join(compiled.trains) or "none"
        raise TrainError(f"network `{name}` has no `train` section (trainable networks: {known})")
    plan = compiled.trains[name]
    kept = _without(plan.stages, options.skip_stages)
    stages = tuple(_override(s, options) for s in kept)
    for stage in stages:
        if stage.kind not in EXECUTORS:
            raise TrainError(_unsupported(stage))
    return replace(plan, stages=stages)


def _without(stages: Sequence[StagePlan], skip: Sequence[str]) -> tuple[StagePlan, ...]:
    """`stages` less those named in `skip`; SkipError for a name that is no stage, or when
    nothing would be left to run."""
    names = [s.name for s in stages]
    for name in skip:
        if name not in names:
            hint = did_you_mean(name, names)
            raise SkipError(
                f"--skip-stage {name}: the `train` section has no stage `{name}` "
                f"(stages: {', '.join(names)})" + (f"; {hint}" if hint else "")
            )
    kept = tuple(s for s in stages if s.name not in skip)
    if not kept:
        raise SkipError(f"--skip-stage leaves no stage to run (stages: {', '.join(names)})")
    return kept


def _skipped(compiled: Compiled, network: str, skip: Sequence[str]) -> list[str]:
    """The skipped stages' names in the order the `train` section runs them (for the record:
    the same skips given in another order are the same run)."""
    return [s.name for s in compiled.trains[network].stages if s.name in skip]


def _override(stage: StagePlan, options: TrainOptions) -> StagePlan:
    if options.smoke:
        return replace(stage, steps=1, epochs=None)
    if stage.kind != "supervised":
        return stage
    if options.epochs is not None:
        return replace(stage, epochs=options.epochs, steps=None)
    if options.steps is not None:
        return replace(stage, steps=options.steps, epochs=None)
    return stage


def _unsupported(stage: StagePlan) -> str:
    return f"stage `{stage.name}` is a {stage.kind} stage, which this version cannot run"


# --- the stage executors, by stage kind -----------------------------------------------------------


Executor = Callable[[Session, int, StagePlan, Checkpoint | None], None]
EXECUTORS: dict[str, Executor] = {"supervised": supervised, "pretrain": pretrain}


# --- the run --------------------------------------------------------------------------------------


def _refuse_unaffordable(compiled: Compiled, plan: TrainPlan, options: TrainOptions) -> None:
    """MemoryRefusal (E602) when the memory estimate exceeds what the device has free."""
    device = resolve_device(options.device or plan.device)
    if device.type == "cuda":
        free: int | None = torch.cuda.mem_get_info(device)[0]
    else:
        free = host_available_bytes() if device.type == "cpu" else None
    refuse_unaffordable(compiled.networks[plan.network], plan, free, str(device))


def train(
    compiled: Compiled,
    options: TrainOptions | None = None,
    dataset: Dataset | None = None,
    report: Reporter | None = None,
) -> TrainResult:
    """Run the network's `train` section in a new run directory, or resume one (`resume`)."""
    options = options or TrainOptions()
    plan = training_plan(compiled, options)  # before any work
    _refuse_unaffordable(compiled, plan, options)  # E602, before the model is lowered
    session = Session(compiled, plan, options, dataset, report)
    try:
        ckpt = _open_run(session, compiled)
    except runs.WriteError as exc:
        _failed(session, exc)
        raise
    for note in session.notes:
        session.reporter.note(note)
    first = 0 if ckpt is None else int(ckpt.meta["stage"])
    status = "done"
    # One process takes SIGINT and SIGTERM as requests to stop after the current step; under
    # torchrun the processes could stop at different steps, so there they keep the defaults.
    with stop_requests(enabled=not session.world.parallel) as request:
        session.stop_request = request
        try:
            for index in range(first, len(plan.stages)):
                if session.should_stop():
                    raise Stopped
                stage = plan.stages[index]
                own = ckpt if ckpt is not None and index == first and ckpt.meta["state"] else None
                EXECUTORS[stage.kind](session, index, stage, own)
        except Stopped:
            status = "interrupted" if request else "stopped"
        except Failure as exc:  # a diverging loss, a full disk...
            _failed(session, exc)
            raise
        finally:
            session.close()
    if status == "interrupted":
        return _interrupted(session, request.signal)
    try:
        return _finish(session, compiled, status)
    except runs.WriteError as exc:
        _failed(session, exc)
        raise


def _interrupted(session: Session, signal_name: str) -> TrainResult:
    """A run a signal stopped: its checkpoint is written; say so, and end without evaluating
    (the user asked it to stop)."""
    if session.main:
        _ended(session.run, "interrupted", signal=signal_name, step=session.global_step)
    split = _final_split(session)
    return TrainResult(
        session.run,
        "interrupted",
        session.heads,
        split,
        {},
        session.log.rows,
        session.checkpoints / "last.safetensors",
        None,
        [],
        None,
        session.lowered,
        signal=signal_name,
    )


def _final_split(session: Session) -> str:
    """The split the final metrics are measured on: test, else val, else train."""
    return next(s for s in ("test", "val", "train") if s in session.splits)


def _ended(run: Path, status: str, **extra: Any) -> None:
    manifest = runs.read_manifest(run)
    manifest.update(status=status, finished=runs.now(), **extra)
    runs.write_json(run / "manifest.json", manifest)


def _failed(session: Session, exc: Failure) -> None:
    """Record `status: failed` and the reason in the manifest, as far as it can be: the disk
    that refused a checkpoint may refuse the manifest too, and then the error itself is what
    the user is told."""
    run = getattr(session, "run", None)  # None: it failed before its folder was made
    if not session.main or run is None:
        return
    with contextlib.suppress(OSError, Failure):
        _ended(run, "failed", error=exc.message, code=exc.code)


# What a manifest says of how a run ended; a resumed run is running again.
ENDING_KEYS = ("status", "finished", "signal", "step", "error", "code")


def _open_run(session: Session, compiled: Compiled) -> Checkpoint | None:
    """Create the run folder (spec, manifest), or reopen one and load its last checkpoint."""
    options, plan = session.options, session.plan
    file = plan.span.file
    text = compiled.sources.text(file) or ""
    settings = _settings(session, file, compiled)
    if options.resume is None:
        made = (
            runs.new_run_dir(options.runs_root, plan.network, options.run_dir)
            if session.main
            else None
        )
        run = shared(made, session.world)  # process 0 names the folder for all
        session.attach(run, keep=None)
        if session.main:
            runs.write_spec(run, text, file, options.overrides)
            sizes = {n: len(session.splits.get(n, [[]])[0]) for n in SPLITS}
            manifest = runs.manifest(settings, plan, sizes, options.argv)
            manifest["processes"] = session.world.size
            manifest["source"] = _source(run, compiled, options)
            manifest["normalize"] = plan.data.normalize
            runs.write_json(run / "manifest.json", manifest)
            write_normalization(run, session.dataset.normalization)
        return None
    run = options.resume
    manifest = runs.read_manifest(run)
    runs.check_resume(manifest, settings)
    if session.main:
        runs.remove_stale_temps(run)  # a kill mid-write leaves one
    for key in ENDING_KEYS:
        manifest.pop(key, None)
    manifest.setdefault("resumed", []).append(
        {"at": runs.now(), "command": shlex.join(options.argv)}
    )
    last = run / "checkpoints" / "last.safetensors"
    if not last.exists():
        # Nothing to resume from; the session is as a new run's, so it starts again in place.
        session.notes.append(
            f"{run} stopped before its first checkpoint; training it again from step 0 there"
        )
        session.attach(run, keep=None)
        if session.main:
            runs.write_spec(run, text, file, options.overrides)
            manifest["source"] = _source(run, compiled, options)
            runs.write_json(run / "manifest.json", manifest)
        return None
    ckpt = runs.resumable(runs.load_checkpoint(last))
    session.attach(run, keep=int(ckpt.meta["rows"]))
    session.global_step = int(ckpt.meta["global_step"])
    runs.restore_state(ckpt, session.lowered.root, session.shuffle, plan.network)
    if int(ckpt.meta["stage"]) >= len(plan.stages):
        session.notes.append(f"{run} has finished training; evaluating and plotting it again")
    if session.main:
        runs.write_json(run / "manifest.json", manifest)
    return ckpt


def _source(run: Path, compiled: Compiled, options: TrainOptions) -> dict[str, Any]:
    """Copy the spec and its `use`d files into the run: `netspec eval RUN` rebuilds from them."""
    from netspec.training.run_spec import source_record

    return source_record(run, compiled, options.overrides, options.allow_paths)


def _settings(session: Session, file: str, compiled: Compiled) -> dict[str, Any]:
    """What the manifest records of this run's choices (and a resume must match)."""
    options = session.options
    read = compiled.sources.files()
    return {
        "network": session.plan.network,
        "spec": file,
        "spec_uses": [f for f in read if f != file],
        "spec_sha256": runs.spec_digest([compiled.sources.text(f) or "" for f in read]),
        "overrides": dict(options.overrides),
        "seed": session.seed,
        "device": str(session.device),
        "threads": session.threads,
        "threads_note": "--threads N; default 1: small models on a busy CPU run fastest on one",
        "precision": "bf16" if session.bf16 else "fp32",
        "precision_asked": session.plan.precision,
        "compile": options.compile,
        "epochs_override": options.epochs,
        "steps_override": options.steps,
        "smoke": options.smoke,
        "skip_stages": _skipped(compiled, session.plan.network, options.skip_stages),
    }


def _finish(session: Session, compiled: Compiled, status: str) -> TrainResult:
    """Evaluate the final weights; write plots, the drawing and the manifest's ending."""
    split = _final_split(session)
    final, scores = _evaluate(session, split)
    for head, weight in session.lowered.learned_weights().items():
        final.metrics[f"{head}/weight"] = weight  # `weight=auto`: what training settled on
    session.probe.eval()  # the trained model is handed back ready for inference
    run, rows = session.run, session.log.rows
    plots: list[Path] = []
    drawing = None
    if status == "done" and session.main:
        if session.options.plots:
            plots = write_plots(run, rows, _confusions(session, final))
            plots += write_concept_plots(run, session)  # filters, templates, maps...
            plots += sorted((run / "plots").glob("samples-*.png"))  # written as stages ended
        if session.options.drawing:
            drawing = run / "network.svg"
            note = write_drawing(compiled, session.plan.network, drawing)
            if note is not None:
                session.reporter.note(note)
                drawing = None
    if session.main:
        by_split = {"by_split": {s.key: s.values for s in scores}} if scores else {}
        _ended(run, status, final={"split": split, **final.metrics, **by_split})
        from netspec.report.page import write_report  # after the ending: the page shows it

        try:  # a courtesy, as the drawing: never fail a finished run over its page
            write_report(run, compiled, session.plan.network)
        except OSError as exc:
            session.reporter.note(f"skipped report.html: {exc}")
    best = session.checkpoints / "best.safetensors"
    return TrainResult(
        run,
        status,
        session.heads,
        split,
        final.metrics,
        rows,
        session.checkpoints / "last.safetensors",
        best if best.exists() else None,
        plots,
        drawing,
        session.lowered,
        scores,
    )


def _evaluate(session: Session, split: str) -> tuple[Evaluation, list[UnitScore]]:
    """The heads' metrics on `split`; for a network with no loss head, its pretrained units'
    own objectives instead (on every split, `split`'s also as the metrics)."""
    if session.heads:
        return session.evaluate(split, confusion=split == "test"), []
    scores = unit_scores(session)
    return Evaluation({s.key: s.values[split] for s in scores if split in s.values}, {}), scores


def _confusions(session: Session, final: Evaluation) -> dict[str, tuple[np.ndarray, list[str]]]:
    names = session.dataset.class_names
    heads = {h.name: h for h in session.lowered.heads}
    return {k: (m, list(names.get(heads[k].target, ()))) for k, m in final.confusion.items()}


# --- evaluating a checkpoint ----------------------------------------------------------------------


def evaluate_checkpoint(
    compiled: Compiled,
    checkpoint: Path,
    split: str = "test",
    options: TrainOptions | None = None,
    dataset: Dataset | None = None,
) -> CheckpointScores:
    """The metrics of a checkpoint's model (`model/...` tensors) on one split; for a network
    without loss heads, its pretrained units' objectives (on every split)."""
    options = options or TrainOptions()
    name = options.network or next(iter(compiled.trains), None)
    if name is None or name not in compiled.trains:
        raise TrainError(f"network `{name}` has no `train` section, so no data to evaluate on")
    session = Session(compiled, compiled.trains[name], options, dataset)
    runs.load_weights(session.lowered.root, checkpoint, name)
    if split not in session.splits:
        raise TrainError(
            f"the data have no {split} split (set `{split}=` in the `data` source to hold one out)"
        )
    final, scores = _evaluate(session, split)
    for head, weight in session.lowered.learned_weights().items():
        final.metrics[f"{head}/weight"] = weight  # `weight=auto`: what training settled on
    return CheckpointScores(session.heads, split, final.metrics, scores)
