"""The supervised stage: epochs of shuffled minibatches minimising the objective (the weighted sum
of the losses) with the stage's optimizer and schedule, frozen units aside; an evaluation of the
held-out splits every `eval_every` epochs (and at the stage's end), which the best weights, early
stopping and a `plateau` schedule follow; checkpoints every `checkpoint_seconds` (or every
`checkpoint_every` steps), at the stage's end and when the run is asked to stop; and a NaN guard
that stops the run with the last good checkpoint kept. Nothing runs per step that a hand-written
loop would not: the running metrics stay on a GPU until the epoch ends, and on the CPU are read
as Python floats at once, as a hand-written loop reads its loss."""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from netspec.plan.plans import StagePlan
from netspec.training import runs
from netspec.training.distributed import shard, summed
from netspec.training.metrics import FiniteGuard, Running, batch_metrics, host_metrics
from netspec.training.optim import Schedule, make_optimizer, set_lr
from netspec.training.runs import Checkpoint
from netspec.training.session import Session, Stopped, TrainError


class Supervised:
    """A supervised stage: epochs of shuffled batches, evaluation and a checkpoint at each end."""

    def __init__(self, session: Session, index: int, stage: StagePlan) -> None:
        s, self.session, self.index, self.stage = session, session, index, stage
        n = s.splits["train"][0].shape[0]
        self.batch = min(stage.batch, n)
        if self.batch < s.world.size:
            raise TrainError(
                f"stage `{stage.name}`: a batch of {self.batch} cannot be split between "
                f"{s.world.size} processes; use a batch of at least {s.world.size}"
            )
        # A last batch too short to give every process two samples is dropped: batch norm cannot
        # train on one sample, and a process with none would have no loss.
        short = n % self.batch
        drop = 0 < short < 2 * s.world.size and n > self.batch
        self.per_epoch = max(1, math.ceil(n / self.batch) - drop)
        self.by_steps = stage.steps is not None
        self.total = stage.steps or (stage.epochs or 1) * self.per_epoch
        self.epochs = math.ceil(self.total / self.per_epoch)
        self.params = self._freeze()
        self.forward = s.train_forward()  # after freezing: DDP syncs only what trains
        self.opt = make_optimizer(stage.optimizer, self.params)
        base_lr = float(stage.optimizer.params["lr"])
        self.schedule = Schedule(stage.schedule, base_lr, self.total, self.by_steps)
        self.guard = FiniteGuard(s.device)
        self.on_host = s.device.type == "cpu"  # where a step's metrics are read at once
        self.eval_every = stage.evaluation_interval(self.epochs)
        self.epoch = self.pos = self.step = self.bad = 0
        self.best: float | None = None
        self.best_epoch = 0
        # the best weights so far, kept in memory: best.safetensors is written at checkpoints
        self.best_weights: dict[str, torch.Tensor] | None = None
        self.best_unwritten = False
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
            if s.should_stop() and not self.stopped and self.step < self.total:
                raise Stopped
        self._end()

    def _epoch(self) -> None:
        s = self.session
        if self.pos == 0:
            n = s.splits["train"][0].shape[0]
            self.perm = torch.randperm(n, generator=s.shuffle).to(s.device)  # (N,)
            self.running, self.seconds = Running(), 0.0
        start = time.perf_counter()
        # Each step's indices, this process's share of them: (B / processes,) each.
        chunks = [self.perm[p * self.batch : (p + 1) * self.batch] for p in range(self.per_epoch)]
        batches = s.batches.epoch([shard(idx, s.world) for idx in chunks[self.pos :]])
        while self.pos < self.per_epoch and self.step < self.total:
            self._step(next(batches))
            self.pos, self.step, s.global_step = self.pos + 1, self.step + 1, s.global_step + 1
            s.reporter.advance()
            if self.pos < self.per_epoch and self.step < self.total and self._pause_here():
                self.seconds += time.perf_counter() - start
                self.save()
                if s.should_stop():
                    raise Stopped
                start = time.perf_counter()
        self.seconds += time.perf_counter() - start
        self._epoch_end()

    def _pause_here(self) -> bool:
        """Whether to checkpoint inside the epoch: a stop was asked for, or one is due."""
        return self.session.should_stop() or self.session.checkpoint_due(self.step, mid_epoch=True)

    def _step(self, batch: list[torch.Tensor]) -> None:
        s = self.session
        set_lr(self.opt, self.schedule.lr(self.step, self.epoch))
        probe = s.gradients.probe(self.step)  # None on the steps that measure no gradients
        with s.autocast():
            out = self.forward(*batch)
        loss = out["loss"]  # () weighted sum of the heads' losses
        # Every process judges the summed loss, so all stop at the same step if one diverges.
        if self.guard.bad(summed(loss, s.world), self.step + 1):
            self._diverged(self.step + 1)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if probe is not None:
            probe.gradients()  # as backward left them, before clipping
        if self.stage.clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.stage.clip)
        self.opt.step()
        if probe is not None:
            probe.update()
        if self.on_host:  # reading values costs less than a kernel
            self.running.add_host(host_metrics(s.heads, out), int(batch[0].shape[0]))
        else:  # summed on the device, so no step waits for it
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
        row.update({f"train/{k}": v for k, v in self._running_total().means().items()})
        last = self.step >= self.total
        evaluated = self.epoch % self.eval_every == 0 or last
        if evaluated:
            for split in ("val", "test"):
                if split in s.splits:
                    row.update({f"{split}/{k}": v for k, v in s.evaluate(split).metrics.items()})
        row["seconds"] = round(self.seconds, 4)
        s.record(row, self.epochs)
        s.record_gradients(self.stage.name, self.epoch, self.step)
        if evaluated:  # early stopping and `plateau` count evaluations
            monitored = row.get(f"{self.stage.monitor}/loss", row["train/loss"])
            self.schedule.epoch_end(monitored)
            self._track(monitored)
        if not last and (s.checkpoint_due(self.step) or s.should_stop()):
            self.save()  # the stage's end is saved by `_end`
        if s.options.on_epoch is not None:
            s.options.on_epoch(self.stage.name, self.epoch, row)

    def _running_total(self) -> Running:
        """The running sums of every process's share of the epoch."""
        if not self.session.world.parallel:
            return self.running
        sums, count = self.running.sums, self.running.count
        total = Running()
        world, device = self.session.world, self.session.device
        total.load_state_dict(
            {
                "sums": {k: summed(sums[k], world) for k in sorted(sums)},  # same order everywhere
                "count": int(summed(torch.tensor(count, device=device), world)),
            }
        )
        return total

    def _track(self, monitored: float) -> None:
        """Keep the best weights in memory (best.safetensors is written at the next checkpoint);
        count the evaluations without one for early stopping."""
        if self.best is None or monitored < self.best:
            self.best, self.best_epoch, self.bad = monitored, self.epoch, 0
            root = self.session.lowered.root
            self.best_weights = {k: v.detach().clone() for k, v in root.state_dict().items()}
            self.best_unwritten = True
            return
        self.bad += 1
        if self.stage.early_stop is not None and self.bad >= self.stage.early_stop:
            self.stopped = True

    def _write_best(self) -> None:
        """best.safetensors, when the best weights changed since it was written."""
        s = self.session
        if self.best_unwritten and self.best_weights is not None and s.main:
            runs.save_checkpoint(
                s.checkpoints / "best.safetensors",
                {f"model/{k}": v for k, v in self.best_weights.items()},
                {"stage": self.stage.name, "epoch": self.best_epoch, "monitored": self.best},
            )
        self.best_unwritten = False

    def _end(self) -> None:
        s = self.session
        self._check()
        self._write_best()
        if self.best_weights is not None and self.stage.early_stop is not None:
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
        self._write_best()
        tensors, state = runs.pack_state(self.state_dict())
        self.session.save_state(self.index, tensors, state)

    def state_dict(self) -> dict[str, Any]:
        """Where the stage is, its schedule, early stopping and optimizer; inside an epoch also
        the epoch's order and the running sums of every process."""
        return {
            "epoch": self.epoch,
            "pos": self.pos,
            "step": self.step,
            "seconds": self.seconds,
            "schedule": self.schedule.state_dict(),
            "early": {
                "best": self.best,
                "best_epoch": self.best_epoch,
                "bad": self.bad,
                "stopped": self.stopped,
                # restored at the stage's end only by early stopping; best.safetensors holds them
                "best_weights": self.best_weights if self.stage.early_stop is not None else None,
            },
            "optimizer": runs.optimizer_state(self.opt),
            "in_epoch": self._epoch_state() if self.pos else None,
        }

    def _epoch_state(self) -> dict[str, Any]:
        running = self._running_total()  # every process's sums
        return {"perm": self.perm, **running.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        device = self.session.device
        self.epoch, self.pos, self.step = state["epoch"], state["pos"], state["step"]
        self.seconds = state["seconds"]
        self.schedule.load_state_dict(state["schedule"])
        early = state["early"]
        self.best, self.best_epoch = early["best"], early["best_epoch"]
        self.bad, self.stopped = early["bad"], early["stopped"]
        if early["best_weights"] is not None:
            self.best_weights = {k: v.to(device) for k, v in early["best_weights"].items()}
        runs.load_optimizer_state(self.opt, state["optimizer"])
        in_epoch = state["in_epoch"]
        if in_epoch is not None:
            self.perm = in_epoch["perm"].to(device)
            sums = {k: v.to(device) for k, v in in_epoch["sums"].items()}
            if self.session.main:  # the saved sums are every process's: counted once, here
                self.running.load_state_dict({"sums": sums, "count": in_epoch["count"]})


def supervised(session: Session, index: int, stage: StagePlan, ckpt: Checkpoint | None) -> None:
    executor = Supervised(session, index, stage)
    if ckpt is not None:
        executor.load_state_dict(ckpt.stage_state())
    executor.run()
