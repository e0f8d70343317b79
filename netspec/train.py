"""Train a compiled network: its `train` section's stages, in order, in a run directory.

A registry maps each stage kind to an executor. Supervised stages minimise the objective (the
weighted sum of the losses) with the stage's optimizer and schedule; greedy pretraining stages
(netspec.pretrain.greedy) train one unit at a time by its own rule. Small data sets go to the device
whole, and batches are indexed from a permutation drawn with a generator of their own; with the
RNG states, optimizer, schedule and position in the checkpoint, a resumed run on the CPU ends
with exactly the weights of an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import math
import random
import shlex
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from netspec import runs
from netspec.api import Compiled
from netspec.data import Dataset
from netspec.ir import Graph
from netspec.lower import Lowered, lower
from netspec.metrics import (
    Evaluation,
    FiniteGuard,
    HeadSpec,
    Running,
    batch_metrics,
    evaluate,
    head_specs,
)
from netspec.metrics import probe as make_probe
from netspec.optim import Schedule, make_optimizer, set_lr
from netspec.plans import StagePlan, TrainPlan
from netspec.plots import TensorBoard, write_drawing, write_plots
from netspec.plots_units import write_unit_plots
from netspec.pretrain.greedy import pretrain
from netspec.progress import Reporter, reporter
from netspec.runs import Checkpoint

SPLITS = ("train", "val", "test")


class TrainError(Exception):
    """A problem the user can fix (data, device, a diverging loss): one line, exit status 1."""


class _Stopped(Exception):
    """`max_steps` reached: the run stops with a checkpoint, to be resumed."""


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
    max_steps: int | None = None  # stop, with a checkpoint, after this many optimizer steps
    checkpoint_every: int = 500  # steps between checkpoints inside step-based stages
    tensorboard: bool = False
    plots: bool = True
    drawing: bool = True
    quiet: bool = False
    overrides: Mapping[str, str] = field(default_factory=dict)  # the --set values, for the record
    argv: Sequence[str] = field(default_factory=lambda: list(sys.argv))


@dataclass
class TrainResult:
    run_dir: Path
    status: str  # done | stopped (max_steps)
    heads: tuple[HeadSpec, ...]
    split: str  # the split `metrics` were measured on: test, else val, else train
    metrics: dict[str, float]
    rows: list[dict[str, Any]]
    checkpoint: Path
    best: Path | None
    plots: list[Path]
    drawing: Path | None
    lowered: Lowered


# --- the plan -----------------------------------------------------------------------------------


def training_plan(compiled: Compiled, options: TrainOptions) -> TrainPlan:
    """The network's plan with --epochs/--steps applied; TrainError when it cannot run."""
    name = options.network or next(iter(compiled.trains), None) or next(iter(compiled.networks), "")
    if name not in compiled.trains:
        known = ", ".join(compiled.trains) or "none"
        raise TrainError(f"network `{name}` has no `train` section (trainable networks: {known})")
    plan = compiled.trains[name]
    stages = tuple(_override(s, options) for s in plan.stages)
    for stage in stages:
        if stage.kind not in EXECUTORS:
            raise TrainError(_unsupported(stage))
    return replace(plan, stages=stages)


def _override(stage: StagePlan, options: TrainOptions) -> StagePlan:
    if stage.kind != "supervised":
        return stage
    if options.epochs is not None:
        return replace(stage, epochs=options.epochs, steps=None)
    if options.steps is not None:
        return replace(stage, steps=options.steps, epochs=None)
    return stage


def _unsupported(stage: StagePlan) -> str:
    return f"stage `{stage.name}` is a {stage.kind} stage, which this version cannot run"


# --- the machine --------------------------------------------------------------------------------


def resolve_device(requested: str) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise TrainError(
            "device `cuda` was asked for, but torch finds no CUDA device; use --device cpu or auto"
        )
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # seeds every CUDA device too


def _bf16_ready(device: torch.device) -> bool:
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def _autocast(device: torch.device, bf16: bool) -> Callable[[], Any]:
    if not bf16:
        return contextlib.nullcontext
    return lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def compiled_forward(probe: torch.nn.Module) -> Callable[..., Any]:
    """torch.compile the objective; recurrent units run eagerly (cuDNN RNNs break dynamo)."""
    from netspec.nn.recurrent import Recurrent

    for module in probe.modules():
        if isinstance(module, Recurrent):
            eager = torch.compiler.disable(module.forward)  # type: ignore[no-untyped-call]
            module.forward = eager  # type: ignore[method-assign]
    return torch.compile(probe)  # type: ignore[return-value]


# --- the session --------------------------------------------------------------------------------


class Session:
    """What every stage shares: the lowered network, the data on the device, the run folder."""

    def __init__(
        self,
        compiled: Compiled,
        plan: TrainPlan,
        options: TrainOptions,
        dataset: Dataset | None = None,
        report: Reporter | None = None,
    ) -> None:
        self.plan, self.options = plan, options
        self.graph: Graph = compiled.networks[plan.network]
        self.seed = plan.seed if options.seed is None else options.seed
        self.device = resolve_device(options.device or plan.device)
        self.threads = options.threads or 1
        torch.set_num_threads(self.threads)  # one thread: busy small CPUs slow down with more
        self.notes: list[str] = []
        self.bf16 = plan.precision == "bf16" and _bf16_ready(self.device)
        if plan.precision == "bf16" and not self.bf16:
            self.notes.append(f"precision bf16 needs a CUDA GPU that has it; fp32 on {self.device}")
        self.autocast = _autocast(self.device, self.bf16)
        seed_everything(self.seed)  # before lowering: it draws the initial weights
        self.dataset = dataset if dataset is not None else _load(plan, self.graph)
        self.lowered = lower(self.graph, compiled.sources)
        self.lowered.root.to(self.device)
        self.heads = head_specs(self.lowered, self.graph)
        self.probe = make_probe(self.lowered, self.graph)
        self.forward = compiled_forward(self.probe) if options.compile else self.probe
        self.splits = self._tensors()
        self.shuffle = torch.Generator().manual_seed(self.seed)  # data order, apart from dropout
        self.global_step = 0
        self.frozen: list[torch.nn.Module] = []
        self.reporter = report or reporter(self.heads, options.quiet)
        self.tensorboard: TensorBoard | None = None

    def attach(self, run: Path, keep: int | None) -> None:
        """Write into `run`; `keep` metric rows survive from before a resume."""
        self.run, self.checkpoints = run, run / "checkpoints"
        self.checkpoints.mkdir(exist_ok=True)
        self.log = runs.MetricsLog(run, keep)
        if self.options.tensorboard:
            self.tensorboard, note = TensorBoard.open(run, len(self.log.rows))
            self.notes += [note] if note else []

    def record(self, row: dict[str, Any], epochs: int) -> None:
        self.log.append(row)
        self.reporter.epoch_end(row, epochs)
        if self.tensorboard is not None:
            self.tensorboard.log(row)

    def save_state(self, stage: int, tensors: dict[str, torch.Tensor], state: Any) -> None:
        """last.safetensors: where the run is (stage, rows, steps) and the stage's own state."""
        meta = {
            "stage": stage,
            "global_step": self.global_step,
            "rows": len(self.log.rows),
            "state": state,
        }
        path = self.checkpoints / "last.safetensors"
        runs.save_state(path, self.lowered.root, self.shuffle, meta, tensors)

    def stage_done(self, index: int, name: str) -> None:
        """The model as the stage left it (after-<stage>.safetensors: a DBN samples best from
        its pretrained weights), and a resume point at the start of the next stage."""
        runs.save_checkpoint(
            self.checkpoints / f"after-{name}.safetensors",
            runs.model_tensors(self.lowered.root),
            {"stage": name},
        )
        self.save_state(index + 1, {}, None)

    def close(self) -> None:
        self.reporter.close()
        if self.tensorboard is not None:
            self.tensorboard.close()

    def _tensors(self) -> dict[str, list[torch.Tensor]]:
        """Each split's arrays, in the objective's input order, moved to the device once."""
        out = {}
        for name in SPLITS:
            split = getattr(self.dataset, name)
            if split is None or split.size == 0:
                continue
            missing = [i for i in self.lowered.inputs if i not in split.arrays]
            if missing:
                raise TrainError(f"the data give no values for input `{missing[0]}`")
            arrays = [np.ascontiguousarray(split.arrays[i]) for i in self.lowered.inputs]
            out[name] = [torch.from_numpy(a).to(self.device) for a in arrays]
        return out

    def train_mode(self) -> None:
        """Train mode, except frozen units: their dropout and batch statistics stay fixed."""
        self.probe.train()
        for module in self.frozen:
            module.eval()

    def evaluate(self, split: str, confusion: bool = False) -> Evaluation:
        self.probe.eval()
        try:
            return evaluate(
                self.forward, self.heads, self.splits[split], self.autocast, confusion=confusion
            )
        finally:
            self.train_mode()

    def hit_max(self) -> bool:
        return self.options.max_steps is not None and self.global_step >= self.options.max_steps


def _load(plan: TrainPlan, graph: Graph) -> Dataset:
    from netspec.data import DataError, load

    try:
        return load(plan.data, graph)
    except DataError as exc:
        raise TrainError(exc.message) from None


# --- the supervised executor --------------------------------------------------------------------


class Supervised:
    """A supervised stage: epochs of shuffled batches, evaluation and a checkpoint at each end."""

    def __init__(self, session: Session, index: int, stage: StagePlan) -> None:
        s, self.session, self.index, self.stage = session, session, index, stage
        n = s.splits["train"][0].shape[0]
        self.batch = min(stage.batch, n)
        # A last batch of one sample is dropped: batch norm cannot train on it.
        self.per_epoch = max(1, math.ceil(n / self.batch) - (n % self.batch == 1 and n > 1))
        self.by_steps = stage.steps is not None
        self.total = stage.steps or (stage.epochs or 1) * self.per_epoch
        self.epochs = math.ceil(self.total / self.per_epoch)
        self.params = self._freeze()
        self.opt = make_optimizer(stage.optimizer, self.params)
        base_lr = float(stage.optimizer.params["lr"])
        self.schedule = Schedule(stage.schedule, base_lr, self.total, self.by_steps)
        self.guard = FiniteGuard(s.device)
        self.epoch = self.pos = self.step = self.bad = 0
        self.best: float | None = None
        self.best_epoch = 0
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.stopped = False
        self.perm = torch.empty(0, dtype=torch.long)
        self.running = Running()
        self.seconds = 0.0

    def _freeze(self) -> list[torch.nn.Parameter]:
        """Frozen units get no gradient and stay out of the optimizer; the rest all train."""
        s = self.session
        root = s.lowered.root
        for p in root.parameters():
            p.requires_grad_(True)
        names = [s.lowered.modules[u] for u in self.stage.freeze if u in s.lowered.modules]
        s.frozen = [root.get_submodule(n) for n in names]
        for module in s.frozen:
            module.requires_grad_(False)
        return [p for p in root.parameters() if p.requires_grad]

    # --- the loop ---
    def run(self) -> None:
        s = self.session
        s.reporter.stage_start(self.stage.name, self.total, self.epochs, self.step)
        s.train_mode()
        while not self.stopped and self.step < self.total:
            self._epoch()
            if s.hit_max() and not self.stopped and self.step < self.total:
                raise _Stopped
        self._end()

    def _epoch(self) -> None:
        s = self.session
        if self.pos == 0:
            n = s.splits["train"][0].shape[0]
            self.perm = torch.randperm(n, generator=s.shuffle).to(s.device)  # (N,)
            self.running, self.seconds = Running(), 0.0
        start = time.perf_counter()
        while self.pos < self.per_epoch and self.step < self.total:
            idx = self.perm[self.pos * self.batch : (self.pos + 1) * self.batch]  # (B,)
            self._step([t[idx] for t in s.splits["train"]])
            self.pos, self.step, s.global_step = self.pos + 1, self.step + 1, s.global_step + 1
            s.reporter.advance()
            if self.pos < self.per_epoch and self.step < self.total and self._pause_here():
                self.seconds += time.perf_counter() - start
                self.save()
                if s.hit_max():
                    raise _Stopped
                start = time.perf_counter()
        self.seconds += time.perf_counter() - start
        self._epoch_end()

    def _pause_here(self) -> bool:
        every = self.session.options.checkpoint_every
        return self.session.hit_max() or (self.by_steps and self.step % every == 0)

    def _step(self, batch: list[torch.Tensor]) -> None:
        s = self.session
        set_lr(self.opt, self.schedule.lr(self.step, self.epoch))
        with s.autocast():
            out = s.forward(*batch)
        loss = out["loss"]  # () weighted sum of the heads' losses
        if self.guard.bad(loss, self.step + 1):
            self._diverged(self.step + 1)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.stage.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.stage.clip)
        self.opt.step()
        self.running.add(batch_metrics(s.heads, out), int(batch[0].shape[0]))

    def _diverged(self, step: int) -> None:
        s = self.session
        last = s.checkpoints / "last.safetensors"
        kept = f"the last good checkpoint is {last}" if last.exists() else "no checkpoint was saved"
        epoch = (step - 1) // self.per_epoch + 1
        raise TrainError(
            f"stage `{self.stage.name}`, epoch {epoch}, step {step}: the loss became "
            f"{self.guard.value}; training stopped and {kept} "
            "(try a lower learning rate, or `clip = 1.0`)"
        )

    def _check(self) -> None:
        bad = self.guard.pending()
        if bad is not None:
            self._diverged(bad)

    # --- epoch ends ---
    def _epoch_end(self) -> None:
        s = self.session
        self._check()
        self.epoch, self.pos = self.epoch + 1, 0
        row: dict[str, Any] = {
            "stage": self.stage.name,
            "epoch": self.epoch,
            "step": self.step,
            "lr": self.opt.param_groups[0]["lr"],
        }
        row.update({f"train/{k}": v for k, v in self.running.means().items()})
        for split in ("val", "test"):
            if split in s.splits:
                row.update({f"{split}/{k}": v for k, v in s.evaluate(split).metrics.items()})
        row["seconds"] = round(self.seconds, 4)
        s.record(row, self.epochs)
        monitored = row.get(f"{self.stage.monitor}/loss", row["train/loss"])
        self.schedule.epoch_end(monitored)
        self._track(monitored)
        self.save()

    def _track(self, monitored: float) -> None:
        """Keep the best weights (best.safetensors; in memory for early stopping)."""
        s = self.session
        if self.best is None or monitored < self.best:
            self.best, self.best_epoch, self.bad = monitored, self.epoch, 0
            runs.save_checkpoint(
                s.checkpoints / "best.safetensors",
                runs.model_tensors(s.lowered.root),
                {"stage": self.stage.name, "epoch": self.epoch, "monitored": monitored},
            )
            if self.stage.early_stop is not None:
                self.best_weights = {
                    k: v.detach().clone() for k, v in s.lowered.root.state_dict().items()
                }
            return
        self.bad += 1
        if self.stage.early_stop is not None and self.bad >= self.stage.early_stop:
            self.stopped = True

    def _end(self) -> None:
        s = self.session
        if self.best_weights is not None:
            s.lowered.root.load_state_dict(self.best_weights)
            if self.stopped or self.best_epoch != self.epoch:
                s.reporter.note(
                    f"stage `{self.stage.name}`: stopped early after epoch {self.epoch}; "
                    f"restored the weights of epoch {self.best_epoch}"
                    if self.stopped
                    else f"stage `{self.stage.name}`: restored the best weights "
                    f"(epoch {self.best_epoch})"
                )
        for p in s.lowered.root.parameters():
            p.requires_grad_(True)
        s.frozen = []
        s.reporter.stage_end()
        s.stage_done(self.index, self.stage.name)

    # --- checkpoints ---
    def save(self) -> None:
        self._check()  # never checkpoint weights a non-finite loss has touched
        tensors, optim = runs.optimizer_state(self.opt)
        if self.best_weights is not None:
            tensors.update({f"best/{k}": v for k, v in self.best_weights.items()})
        if self.pos:  # inside an epoch: its order and running sums
            tensors["progress/perm"] = self.perm
            sums, _ = self.running.state()
            tensors.update({f"progress/sums/{k}": v for k, v in sums.items()})
        meta = {
            "epoch": self.epoch,
            "pos": self.pos,
            "step": self.step,
            "count": self.running.count,
            "seconds": self.seconds,
            "schedule": self.schedule.state(),
            "early": [self.best, self.best_epoch, self.bad, self.stopped],
            "optim": optim,
        }
        self.session.save_state(self.index, tensors, meta)

    def restore(self, ckpt: runs.Checkpoint) -> None:
        meta = ckpt.meta["state"]
        self.epoch, self.pos, self.step = meta["epoch"], meta["pos"], meta["step"]
        self.seconds = meta["seconds"]
        self.schedule.restore(meta["schedule"])
        self.best, self.best_epoch, self.bad, self.stopped = meta["early"]
        runs.restore_optimizer(self.opt, ckpt, meta["optim"])
        best = ckpt.group("best")
        if best:
            self.best_weights = {k: v.to(self.session.device) for k, v in best.items()}
        if self.pos:
            self.perm = ckpt.tensors["progress/perm"].to(self.session.device)
            sums = {k: v.to(self.session.device) for k, v in ckpt.group("progress/sums").items()}
            self.running.restore(sums, meta["count"])


def _supervised(session: Session, index: int, stage: StagePlan, ckpt: Checkpoint | None) -> None:
    executor = Supervised(session, index, stage)
    if ckpt is not None:
        executor.restore(ckpt)
    executor.run()


Executor = Callable[[Session, int, StagePlan, Checkpoint | None], None]
EXECUTORS: dict[str, Executor] = {"supervised": _supervised, "pretrain": pretrain}


# --- the run --------------------------------------------------------------------------------------


def train(
    compiled: Compiled,
    options: TrainOptions | None = None,
    dataset: Dataset | None = None,
    report: Reporter | None = None,
) -> TrainResult:
    """Run the network's `train` section in a new run directory, or resume one (`resume`)."""
    options = options or TrainOptions()
    plan = training_plan(compiled, options)  # before any work
    session = Session(compiled, plan, options, dataset, report)
    ckpt = _open_run(session, compiled)
    for note in session.notes:
        session.reporter.note(note)
    first = 0 if ckpt is None else int(ckpt.meta["stage"])
    status = "done"
    try:
        for index in range(first, len(plan.stages)):
            if session.hit_max():
                raise _Stopped
            stage = plan.stages[index]
            own = ckpt if ckpt is not None and index == first and ckpt.meta["state"] else None
            EXECUTORS[stage.kind](session, index, stage, own)
    except _Stopped:
        status = "stopped"
    except TrainError as exc:
        _ended(session.run, "failed", error=str(exc))
        raise
    finally:
        session.close()
    return _finish(session, compiled, status)


def _ended(run: Path, status: str, **extra: Any) -> None:
    manifest = runs.read_manifest(run)
    manifest.update(status=status, finished=runs.now(), **extra)
    runs.write_json(run / "manifest.json", manifest)


def _open_run(session: Session, compiled: Compiled) -> Checkpoint | None:
    """Create the run folder (spec, manifest), or reopen one and load its last checkpoint."""
    options, plan = session.options, session.plan
    file = plan.span.file
    text = compiled.sources.text(file) or ""
    settings = _settings(session, file, text)
    if options.resume is None:
        run = runs.new_run_dir(options.runs_root, plan.network, options.run_dir)
        session.attach(run, keep=None)
        runs.write_spec(run, text, file, options.overrides)
        sizes = {n: len(session.splits.get(n, [[]])[0]) for n in SPLITS}
        manifest = runs.manifest(settings, plan, sizes, options.argv)
        runs.write_json(run / "manifest.json", manifest)
        return None
    run = options.resume
    manifest = runs.read_manifest(run)
    runs.check_resume(manifest, settings)
    last = run / "checkpoints" / "last.safetensors"
    if not last.exists():
        raise TrainError(f"{run} stopped before its first checkpoint; start a new run instead")
    ckpt = runs.load_checkpoint(last)
    session.attach(run, keep=int(ckpt.meta["rows"]))
    session.global_step = int(ckpt.meta["global_step"])
    runs.restore_state(ckpt, session.lowered.root, session.shuffle)
    manifest.setdefault("resumed", []).append(
        {"at": runs.now(), "command": shlex.join(options.argv)}
    )
    if int(ckpt.meta["stage"]) >= len(plan.stages):
        session.notes.append(f"{run} has finished training; evaluating and plotting it again")
    runs.write_json(run / "manifest.json", manifest)
    return ckpt


def _settings(session: Session, file: str, text: str) -> dict[str, Any]:
    """What the manifest records of this run's choices (and a resume must match)."""
    options = session.options
    return {
        "network": session.plan.network,
        "spec": file,
        "spec_sha256": runs.spec_digest(text),
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
    }


def _finish(session: Session, compiled: Compiled, status: str) -> TrainResult:
    """Evaluate the final weights; write plots, the drawing and the manifest's ending."""
    split = next(s for s in ("test", "val", "train") if s in session.splits)
    final = session.evaluate(split, confusion=split == "test")
    session.probe.eval()  # the trained model is handed back ready for inference
    run, rows = session.run, session.log.rows
    plots: list[Path] = []
    drawing = None
    if status == "done":
        if session.options.plots:
            plots = write_plots(run, rows, session.heads, _confusions(session, final))
            plots += write_unit_plots(run, session.lowered, session.graph)
            plots += sorted((run / "plots").glob("samples-*.png"))  # written as stages ended
        if session.options.drawing:
            drawing = run / "network.svg"
            note = write_drawing(compiled, session.plan.network, drawing)
            if note is not None:
                session.reporter.note(note)
                drawing = None
    _ended(run, status, final={"split": split, **final.metrics})
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
    )


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
) -> tuple[tuple[HeadSpec, ...], dict[str, float]]:
    """The metrics of a checkpoint's model (`model/...` tensors) on one split."""
    options = options or TrainOptions()
    name = options.network or next(iter(compiled.trains), None)
    if name is None or name not in compiled.trains:
        raise TrainError(f"network `{name}` has no `train` section, so no data to evaluate on")
    session = Session(compiled, compiled.trains[name], options, dataset)
    ckpt = runs.load_checkpoint(checkpoint)
    runs.load_model(session.lowered.root, ckpt.group("model"))
    if split not in session.splits:
        raise TrainError(
            f"the data have no {split} split (set `{split}=` in the `data` source to hold one out)"
        )
    return session.heads, session.evaluate(split).metrics
