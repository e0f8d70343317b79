"""What every stage of a run shares (`Session`): the lowered network on its device, the data on
the device once, the run folder, the metrics log and the checkpoints; and the machine set-up
(device, seeds, bf16 autocast, torch.compile)."""

from __future__ import annotations

import contextlib
import gc
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from netspec.api import Compiled
from netspec.backend.lower import Lowered, lower
from netspec.data import streaming
from netspec.data.loading import Dataset
from netspec.diagnostics.failure import Failure
from netspec.ir import Graph
from netspec.plan.plans import TrainPlan
from netspec.report.plots import TensorBoard
from netspec.training import runs
from netspec.training.distributed import join, leave, parallel, shared, world_from_env
from netspec.training.gradients import FILE as GRADIENTS
from netspec.training.gradients import GradientRecorder, read_document
from netspec.training.metrics import Evaluation, evaluate, head_specs
from netspec.training.metrics import probe as make_probe
from netspec.training.progress import Reporter, reporter
from netspec.training.signals import StopRequest
from netspec.units import REGISTRY

if TYPE_CHECKING:
    from netspec.training.run import TrainOptions

SPLITS = ("train", "val", "test")
FEATURE_CHUNK = 1024  # samples per forward pass when computing a unit's inputs


class TrainError(Failure):
    """A problem the user can fix (data, device, a diverging loss): one line, exit status 1."""

    code = "E750"


class Stopped(Exception):
    """`max_steps` reached or a stop signal received: the run stops with a checkpoint, to be
    resumed."""


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


def eager_modules(lowered: Lowered, graph: Graph) -> list[torch.nn.Module]:
    """The modules of the units whose kind runs eagerly under `--compile` (its `eager` hook)."""
    return [
        lowered.root.get_submodule(path)
        for node_id, path in lowered.modules.items()
        if REGISTRY[graph.node(node_id).kind].eager
    ]


def compiled_forward(probe: torch.nn.Module, lowered: Lowered, graph: Graph) -> Callable[..., Any]:
    """torch.compile the probe (or its DDP wrapper), which holds the modules of `lowered`; the
    units whose kind is `eager` run eagerly (cuDNN RNNs break dynamo)."""
    for module in eager_modules(lowered, graph):
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
        self.stop_request = StopRequest()  # train() installs the signal handlers' own
        self.world = world_from_env()  # several processes under torchrun, else one
        if self.world.parallel:
            self.device = join(self.world, self.device)  # WorldError is a coded failure
        self.main = self.world.main  # the process that writes the run folder and prints
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
        self.forward = (
            compiled_forward(self.probe, self.lowered, self.graph)
            if options.compile
            else self.probe
        )
        self.splits = self._tensors()
        self.batches = streaming.source(self.splits["train"], self.device)  # training batches
        self.shuffle = torch.Generator().manual_seed(self.seed)  # data order, apart from dropout
        self.global_step = 0
        self.frozen: list[torch.nn.Module] = []
        self.reporter = report or reporter(self.heads, options.quiet or not self.main)
        self.tensorboard: TensorBoard | None = None
        every = plan.grad_stats_every
        self.gradients = GradientRecorder(self.lowered, self.graph, every, not options.compile)
        self.gradients_unwritten = False  # epochs recorded since gradients.json was written
        self.saved_at: float | None = None  # time.monotonic() of this process's last checkpoint

    def attach(self, run: Path, keep: int | None) -> None:
        """Write into `run`; `keep` metric rows survive from before a resume."""
        self.run, self.checkpoints = run, run / "checkpoints"
        if self.main:
            self.checkpoints.mkdir(exist_ok=True)
        self.log = runs.MetricsLog(run, keep, write=self.main)
        recorded = read_document(run) if keep is not None else None
        if recorded is not None:
            self.gradients.resume(recorded, keep or 0)
        if self.options.tensorboard and self.main:
            self.tensorboard, note = TensorBoard.open(run, len(self.log.rows))
            self.notes += [note] if note else []

    def record(self, row: dict[str, Any], epochs: int) -> None:
        self.log.append(row)
        self.reporter.epoch_end(row, epochs)
        if self.tensorboard is not None:
            self.tensorboard.log(row)

    def record_gradients(self, stage: str, epoch: int, step: int) -> None:
        """The epoch's gradient statistics (after its metrics row), for gradients.json."""
        if self.gradients.epoch_end(stage, epoch, step, len(self.log.rows)):
            self.gradients_unwritten = True

    def flush(self) -> None:
        """metrics.jsonl and .csv, and gradients.json, brought up to date (at checkpoints)."""
        self.log.flush()
        if self.gradients_unwritten and self.main:
            runs.write_json(self.run / GRADIENTS, self.gradients.document())
        self.gradients_unwritten = False

    def checkpoint_due(self, step: int, mid_epoch: bool = False) -> bool:
        """Whether a checkpoint is due after `step` steps of the stage: every `checkpoint_every`
        steps when set; else at the run's first epoch end (a disk that refuses checkpoints shows
        at once) and `checkpoint_seconds` after the last one. At epoch ends process 0's clock
        decides for all processes; parallel processes cannot agree mid-epoch without a collective
        per step, so there only the step count decides."""
        every = self.options.checkpoint_every
        if every is not None:
            return step % every == 0
        if mid_epoch and (self.world.parallel or self.saved_at is None):
            return False
        since = None if self.saved_at is None else time.monotonic() - self.saved_at
        due = since is None or since >= self.options.checkpoint_seconds
        return bool(due if mid_epoch else shared(due, self.world))

    def save_state(self, stage: int, tensors: dict[str, torch.Tensor], state: Any) -> None:
        """last.safetensors: where the run is (stage, rows, steps) and the stage's own state."""
        if not self.main:
            return
        meta = {
            "network": self.plan.network,  # so a wrong checkpoint can say whose it is
            "stage": stage,
            "global_step": self.global_step,
            "rows": len(self.log.rows),
            "state": state,
        }
        self.flush()  # the rows the checkpoint counts are on disk before it
        path = self.checkpoints / "last.safetensors"
        runs.save_state(path, self.lowered.root, self.shuffle, meta, tensors)
        self.saved_at = time.monotonic()

    def stage_done(self, index: int, name: str) -> None:
        """The model as the stage left it (after-<stage>.safetensors: a DBN samples best from
        its pretrained weights), and a resume point at the start of the next stage."""
        if not self.main:
            return
        runs.save_checkpoint(
            self.checkpoints / f"after-{name}.safetensors",
            runs.model_tensors(self.lowered.root),
            {"network": self.plan.network, "stage": name},
        )
        self.save_state(index + 1, {}, None)

    def close(self) -> None:
        self.reporter.close()
        if self.tensorboard is not None:
            self.tensorboard.close()
        if self.world.parallel:
            # A stage's DDP wrapper may still be held by an exception's frames; it must go
            # before the process group does, or its threads abort the process at exit.
            gc.collect()
            leave()

    def train_forward(self) -> Callable[..., Any]:
        """The forward a stage's training steps call: across processes, DDP around the probe
        (built per stage, after its units are frozen), compiled if asked."""
        if not self.world.parallel:
            return self.forward
        wrapped = parallel(self.probe, self.world, self.device)
        compiling = self.options.compile
        return compiled_forward(wrapped, self.lowered, self.graph) if compiling else wrapped

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
            arrays = [split.arrays[i] for i in self.lowered.inputs]  # a RowView: rows not read
            if streaming.streams(arrays, self.device):  # over the memory budget: kept on host
                rows = [streaming.HostRows(a, self.device) for a in arrays]
                out[name] = cast(list[torch.Tensor], rows)  # indexed only, as evaluation does
            else:
                held = [np.ascontiguousarray(a) for a in arrays]
                out[name] = [torch.from_numpy(a).to(self.device) for a in held]
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

    @torch.no_grad()
    def unit_inputs(self, module: torch.nn.Module, split: str) -> torch.Tensor:
        """What `module` receives on a split, captured by a pre-hook on full forward passes:
        a greedy stage trains a unit on it, and evaluation scores the unit's objective on it."""
        captured: list[torch.Tensor] = []

        def hook(_: torch.nn.Module, args: tuple[Any, ...]) -> None:
            captured.append(args[0].detach())

        handle = module.register_forward_pre_hook(hook)
        self.probe.eval()
        try:
            tensors = self.splits[split]
            for i in range(0, tensors[0].shape[0], FEATURE_CHUNK):
                self.probe(*[t[i : i + FEATURE_CHUNK] for t in tensors])
        finally:
            handle.remove()
            self.train_mode()
        return torch.cat(captured)  # (N, ...) in data order

    def should_stop(self) -> bool:
        """`max_steps` reached, or a stop signal received (SIGINT, SIGTERM)."""
        if self.stop_request:
            return True
        return self.options.max_steps is not None and self.global_step >= self.options.max_steps


def _load(plan: TrainPlan, graph: Graph) -> Dataset:
    from netspec.data.loading import DataError, load

    try:
        return load(plan.data, graph)
    except DataError as exc:
        raise TrainError(
            exc.message, code=exc.code, help=exc.help, note=exc.note, span=exc.span, label=exc.label
        ) from None
