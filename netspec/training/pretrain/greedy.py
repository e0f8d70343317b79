"""The greedy pretraining stage: each listed unit in turn, bottom-up, trained by its own rule
on the values its input takes under the units below it (computed once, under no_grad, with the
lower units fixed). Checkpoints at epoch ends as the run's cadence asks (`checkpoint_seconds`,
`--checkpoint-every`) and after each unit; a resumed run continues in the same unit and epoch with
the same chains, optimizer state and random streams."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import torch

from netspec.plan.plans import GreedyStep, StagePlan
from netspec.report.sample import SampleError, find_stack, sample, write_samples
from netspec.training import runs
from netspec.training.optim import Schedule
from netspec.training.pretrain.rules import Rule, make_rule
from netspec.training.runs import Checkpoint
from netspec.training.session import Stopped

if TYPE_CHECKING:
    from netspec.training.session import Session


class Greedy:
    def __init__(self, session: Session, index: int, stage: StagePlan) -> None:
        self.session, self.index, self.stage = session, index, stage
        self.unit = 0  # which greedy step is training
        self.epoch = 0  # epochs done in that step
        self.rule: Rule | None = None  # the training unit's rule
        self.saved: dict[str, Any] | None = None  # a resumed rule's `state_dict()`

    def run(self) -> None:
        s = self.session
        for i in range(self.unit, len(self.stage.greedy)):
            self.unit = i
            self._train_unit(self.stage.greedy[i])
            self.epoch, self.saved, self.rule = 0, None, None
        if s.options.plots and s.main:
            self._write_samples()
        s.stage_done(self.index, self.stage.name)

    def _train_unit(self, step: GreedyStep) -> None:
        s = self.session
        module = s.lowered.root.get_submodule(s.lowered.modules[step.unit])
        features = {split: s.unit_inputs(module, split) for split in s.splits}
        train = features["train"]  # (N, V) the unit's input on the training data
        held = features.get("val", features.get("test"))
        n = train.shape[0]
        batch = min(self.stage.batch, n)
        per_epoch = math.ceil(n / batch)
        total = self.stage.steps or (self.stage.epochs or 1) * per_epoch
        epochs = math.ceil(total / per_epoch)
        node = s.graph.node(step.unit)
        rule = make_rule(module, node.params, step.method, self.stage.optimizer, batch)
        if self.saved is not None:
            rule.load_state_dict(self.saved)
        self.rule = rule
        base_lr = float(self.stage.optimizer.params["lr"])
        schedule = Schedule(self.stage.schedule, base_lr, total, self.stage.steps is not None)
        name = f"{self.stage.name}:{step.name}"
        s.reporter.stage_start(name, total, epochs, self.epoch * per_epoch)
        for epoch in range(self.epoch, epochs):
            start = time.perf_counter()
            done = epoch * per_epoch
            order = torch.randperm(n, generator=s.shuffle).to(train.device)  # (N,)
            shuffled = train[order]  # one gather an epoch; each minibatch is then a view
            for j in range(min(per_epoch, total - done)):
                rule.step(shuffled[j * batch : (j + 1) * batch], schedule.lr(done + j, epoch))
                s.global_step += 1
                s.reporter.advance()
            self.epoch = epoch + 1
            self._record(name, step, rule, train, held, done + per_epoch, start, epochs)
            stop = s.should_stop() and self.epoch < epochs
            if stop or self.epoch == epochs or s.checkpoint_due(s.global_step):
                self.save()
            if stop:
                raise Stopped
        rule.finish()
        s.reporter.stage_end()

    def _write_samples(self) -> None:
        """plots/samples-<stage>.png when this stage trained the top of the network's RBM
        stack: its dreams, from the pretrained weights that fine-tuning will move."""
        s = self.session
        try:
            stack = find_stack(s.graph)
        except SampleError:
            return  # no RBM: nothing to dream with
        if stack.top not in {step.unit for step in self.stage.greedy}:
            return
        path = s.run / "plots" / f"samples-{self.stage.name}.png"
        try:
            write_samples(sample(s.graph, s.lowered, seed=s.seed), s.graph, path)
        except SampleError as exc:
            s.reporter.note(f"no samples plot: {exc}")
        finally:
            s.train_mode()

    def _record(
        self,
        name: str,
        step: GreedyStep,
        rule: Rule,
        train: torch.Tensor,
        held: torch.Tensor | None,
        steps: int,
        start: float,
        epochs: int,
    ) -> None:
        monitors = rule.monitors(train, held)
        row: dict[str, Any] = {
            "stage": name,
            "epoch": self.epoch,
            "step": steps,
            "unit": step.name,
            "method": step.method.name,
            "objective": rule.objective,  # what `train/loss` measures, for the console line
            "train/loss": monitors.pop("loss"),
        }
        row.update({f"train/{k}": v for k, v in monitors.items()})
        row["seconds"] = round(time.perf_counter() - start, 4)
        self.session.record(row, epochs)

    def save(self) -> None:
        tensors, state = runs.pack_state(self.state_dict())
        self.session.save_state(self.index, tensors, state)

    def state_dict(self) -> dict[str, Any]:
        """Which unit trains, the epochs it has done, and its rule's own state."""
        rule = self.saved if self.rule is None else self.rule.state_dict()
        return {"unit": self.unit, "epoch": self.epoch, "rule": rule}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.unit, self.epoch = int(state["unit"]), int(state["epoch"])
        self.saved = state["rule"]  # for the rule, once built; it moves its tensors itself


def pretrain(session: Session, index: int, stage: StagePlan, ckpt: Checkpoint | None) -> None:
    executor = Greedy(session, index, stage)
    if ckpt is not None:
        executor.load_state_dict(ckpt.stage_state())
    executor.run()
