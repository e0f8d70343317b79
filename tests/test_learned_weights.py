"""`weight=auto`: a loss weighted by a learned exp(-s) plus s (Kendall, Gal & Cipolla 2018). The
parameter is counted, taught, trained, checkpointed, drawn and exported like any other."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import netspec
from netspec.api import total_params
from netspec.backend.export import python_source
from netspec.backend.lower import lower
from netspec.backend.nn.losses import LearnedWeight
from netspec.diagnostics.core import NetspecError
from netspec.training.run import TrainOptions, train
from netspec.views.draw import draw
from netspec.views.equations import listing

NET = """
network twotask {
    input point: [2]
    input cluster: class(3)
    h = point -> dense(8, act=relu)
    y = softmax(h, 3)
    back = h -> linear(2)
    loss classify = cross_entropy(y, cluster, weight=auto)
    loss rebuild = mse(back, point, weight=WEIGHT)
}
"""

TRAIN = """
train twotask {
    data = blobs(n=120, classes=3, test=0.25, seed=1)
    batch = 16
    optimizer = adam(lr=0.05)
    epochs = 4
}
"""


def _spec(weight: str = "auto", train_section: bool = False) -> str:
    return NET.replace("WEIGHT", weight) + (TRAIN if train_section else "")


def test_a_learned_weight_is_one_counted_parameter_of_its_loss() -> None:
    fixed = netspec.compile(_spec("0.5"), "t.net").network()
    learned = netspec.compile(_spec("auto"), "t.net").network()
    assert total_params(learned) == total_params(fixed) + 1
    lowered = lower(learned)
    assert sum(p.numel() for p in lowered.root.parameters()) == total_params(learned)
    assert [h.weight for h in lowered.heads] == [None, None]


def test_the_objective_is_exp_minus_s_times_the_loss_plus_s() -> None:
    lowered = lower(netspec.compile(_spec("0.5"), "t.net").network())
    classify = lowered.root.get_submodule(lowered.modules["loss:classify"])
    with torch.no_grad():
        classify.log_variance.fill_(0.7)
    batch = {"point": torch.randn(5, 2), "cluster": torch.tensor([0, 1, 2, 0, 1])}
    out = lowered.objective(**batch)
    ce, mse = out["losses"]["classify"], out["losses"]["rebuild"]
    want = math.exp(-0.7) * ce + 0.7 + 0.5 * mse
    assert torch.allclose(out["loss"], want)


def test_gradient_descent_on_s_settles_where_the_weight_is_one_over_the_loss() -> None:
    weight = LearnedWeight()
    optimizer = torch.optim.SGD(weight.parameters(), lr=0.1)
    for _ in range(500):
        optimizer.zero_grad()
        weight(torch.tensor(0.25)).backward()
        optimizer.step()
    assert math.exp(-weight.log_variance.item()) == pytest.approx(4.0, rel=1e-3)


def test_explain_teaches_the_learned_weight_and_its_gradient() -> None:
    compiled = netspec.compile(_spec(), "t.net")
    text = listing(compiled.network(), compiled.sources, backward=True)
    assert "classify = exp(-s_classify) * L_classify + s_classify" in text
    assert "dL/ds_classify = 1 - exp(-s_classify) * L_classify" in text
    assert "s_classify: scalar" in text


def test_a_weight_that_is_neither_a_number_nor_auto_is_refused() -> None:
    with pytest.raises(NetspecError) as caught:
        netspec.compile(_spec("learned"), "t.net")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.code == "E403"
    assert "a number or `auto`" in str(caught.value)


def test_the_drawing_says_the_weight_is_learned() -> None:
    for view in ("units", "neurons"):
        assert "weight learned" in str(draw(netspec.compile(_spec(), "t.net"), view=view))


def test_training_moves_the_weights_and_reports_them(tmp_path: Path) -> None:
    compiled = netspec.compile(_spec(train_section=True), "t.net")
    options = TrainOptions(runs_root=tmp_path, quiet=True, plots=False, drawing=False)
    result = train(compiled, options)
    assert result.status == "done"
    for head in ("classify", "rebuild"):
        assert result.metrics[f"{head}/weight"] != pytest.approx(1.0, abs=1e-3)
    from safetensors.torch import load_file

    saved = load_file(str(result.checkpoint))
    assert any(key.endswith("log_variance") for key in saved)


def test_the_exported_python_carries_the_learned_weight() -> None:
    lowered = lower(netspec.compile(_spec(), "t.net").network())
    source = python_source(lowered)
    assert "class LearnedWeight(nn.Module):" in source
    scope: dict[str, object] = {}
    exec(compile(source, "exported.py", "exec"), scope)  # the file a user would import
    exported = scope["Twotask"]()  # type: ignore[operator]
    exported.load_state_dict(lowered.root.state_dict())
    batch = {"point": torch.randn(4, 2), "cluster": torch.tensor([0, 1, 2, 1])}
    ours = lowered.objective(**batch)["loss"]
    theirs = exported.objective(**batch)["loss"]
    assert torch.allclose(ours, theirs)
