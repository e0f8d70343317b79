"""What a network with no supervised loss is evaluated by: the own objective of each unit its
greedy stages pretrain (reconstruction error, pseudo-likelihood, free-energy gap, sparse-coding
energy), on every split, from the rule that trained it.

A network with loss heads is scored by its heads (training/metrics.py); one without, such as a
lone RBM or `specs/autoencoder.net`, has only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from netspec.plan.plans import GreedyStep, StagePlan
from netspec.training.pretrain.rules import Rule, make_rule

if TYPE_CHECKING:
    from netspec.training.session import Session


@dataclass(frozen=True)
class UnitScore:
    """One measure of one pretrained unit, on each split: `values[split]`."""

    unit: str  # the unit as the spec names it
    method: str  # the pretraining method whose objective this is
    measure: str  # the rule's monitor: loss, pseudo_ll, free_energy_gap, ...
    values: dict[str, float]

    @property
    def key(self) -> str:
        return f"{self.unit}/{self.measure}"


def pretrained_units(stages: tuple[StagePlan, ...]) -> dict[str, tuple[StagePlan, GreedyStep]]:
    """Each unit some greedy stage trains, with the last stage and step that train it."""
    found: dict[str, tuple[StagePlan, GreedyStep]] = {}
    for stage in stages:
        for step in stage.greedy:
            found[step.unit] = (stage, step)
    return found


def unit_scores(session: Session) -> list[UnitScore]:
    """Every pretrained unit's measures on every split, in the order the stages train them.

    The free-energy gap of an RBM compares a held-out split with the training split, so it has
    a value on held-out splits only.
    """
    scores: list[UnitScore] = []
    for unit, (stage, step) in pretrained_units(session.plan.stages).items():
        module = session.lowered.root.get_submodule(session.lowered.modules[unit])
        rule = make_rule(
            module, session.graph.node(unit).params, step.method, stage.optimizer, stage.batch
        )
        inputs = {split: session.unit_inputs(module, split) for split in session.splits}
        by_measure: dict[str, dict[str, float]] = {}
        for split, x in inputs.items():
            measured = _measured(rule, x, None)
            if split != "train":
                gap = _measured(rule, inputs["train"], x).get("free_energy_gap")
                if gap is not None:
                    measured["free_energy_gap"] = gap
            for measure, value in measured.items():
                by_measure.setdefault(measure, {})[split] = float(value)
        scores += [UnitScore(step.name, step.method.name, m, v) for m, v in by_measure.items()]
    return scores


def _measured(rule: Rule, x: torch.Tensor, held: torch.Tensor | None) -> dict[str, float]:
    """The rule's monitors, `loss` under its objective's name (`reconstruction_mse`); with a
    fixed seed, so that stochastic ones (pseudo-likelihood flips a random bit) read the same
    at every evaluation."""
    devices = [x.device] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(0)
        measured = rule.monitors(x, held)
    return {(rule.objective if k == "loss" else k): v for k, v in measured.items()}
