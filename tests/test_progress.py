"""The console line of each epoch: a supervised stage's loss and scores, a greedy stage's rule's
own objective by name (and an RBM's pseudo-likelihood), from rows and from a real run."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

import netspec
from netspec.training.metrics import HeadSpec
from netspec.training.progress import PlainReporter, epoch_line
from netspec.training.run import TrainOptions, train

DIGIT = HeadSpec("y", "cross_entropy", "class", classes=10)


def test_a_supervised_line_reads_loss_then_the_held_out_scores() -> None:
    row = {"stage": "main", "epoch": 3, "train/loss": 0.412, "val/loss": 0.398}
    row |= {"val/y/acc": 0.951, "seconds": 1.234}
    assert epoch_line(row, 30, [DIGIT]) == (
        "stage main  epoch 3/30  loss 0.412  val_loss 0.398  val_acc 0.951  1.23s"
    )


@pytest.mark.parametrize("objective", ["reconstruction_mse", "reconstruction_bce", "energy"])
def test_a_greedy_line_names_its_rule_objective_not_loss(objective: str) -> None:
    row = {"stage": "pre:h", "epoch": 1, "objective": objective, "train/loss": 0.313}
    row["seconds"] = 0.5
    line = epoch_line(row, 2, [DIGIT])
    assert line == f"stage pre:h  epoch 1/2  {objective} 0.313  0.50s"
    assert " loss " not in line


def test_the_plain_reporter_prints_an_rbm_pseudo_likelihood() -> None:
    out = io.StringIO()
    row = {"stage": "pre:h", "epoch": 2, "objective": "reconstruction_mse", "train/loss": 0.0312}
    row |= {"train/pseudo_ll": -5.4321, "train/free_energy_gap": 0.25, "seconds": 0.1}
    PlainReporter([DIGIT], out).epoch_end(row, 4)
    assert out.getvalue() == (
        "stage pre:h  epoch 2/4  reconstruction_mse 0.031  pseudo_ll -5.432  0.10s\n"
    )


# Three greedy units, one of each rule, under a classifier: every line names its own objective.
STACK = """
network stack {
    input bits: [16]
    input kind: class(2)
    h1 = rbm(bits, 8)
    h2 = autoencoder(h1, 6, noise=0.2)
    h3 = sparse_code(h2, 4, steps=5)
    y = softmax(h3, 2)
    loss cross_entropy(y, kind)
}
train stack {
    data = bars(n=60, size=4)
    batch = 20
    stage pre { greedy = [h1, h2, h3]  optimizer = sgd(lr=0.1)  epochs = 1 }
    stage tune { optimizer = adam(lr=0.01)  epochs = 1 }
}
"""


def test_a_greedy_run_prints_each_rule_objective(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    compiled = netspec.compile(STACK, "stack.net")
    options = TrainOptions(runs_root=tmp_path, quiet=False, plots=False, drawing=False)
    options.argv = ["test"]
    train(compiled, options)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("stage ")]
    assert [line.split("  ")[2].split()[0] for line in lines] == [
        "reconstruction_mse",
        "reconstruction_mse",  # the autoencoder's method defaults to loss=mse
        "energy",
        "loss",
    ]
    assert re.search(r"^stage pre:h1  epoch 1/1  reconstruction_mse \S+  pseudo_ll -", lines[0])
    assert "pseudo_ll" not in "".join(lines[1:])
