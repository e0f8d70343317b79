"""Greedy pretraining: CD and PCD for RBMs, reconstruction for autoencoders, dictionary learning
for sparse coding; each unit learns, fine-tuning then trains the whole stack, and a run resumed
inside a pretraining stage ends with exactly the weights of an uninterrupted one."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch

import netspec
from netspec.backend.nn.energy import RBM
from netspec.training.pretrain.rbm import CDSettings, ContrastiveDivergence, reconstruction_error
from netspec.training.run import TrainOptions, TrainResult, train
from netspec.training.runs import pack_state, unpack_state

STACK = """
network stack {
    input bits: [16]
    input kind: class(2)
    h1 = rbm(bits, 12)
    h2 = rbm(h1, 8)
    y = softmax(h2, 2)
    loss cross_entropy(y, kind)
}

train stack {
    data = bars(n=200, size=4, test=0.2, seed=3)
    batch = 10
    stage pretrain { greedy = [h1, h2]  method = METHOD  optimizer = sgd(lr=0.1)  epochs = 8 }
    stage finetune { optimizer = adam(lr=0.01)  epochs = 3 }
}
"""


def _run(spec: str, tmp: Path, **options: object) -> TrainResult:
    compiled = netspec.compile(spec, "test.net")
    opts = TrainOptions(runs_root=tmp, quiet=True, plots=False, drawing=False, argv=["test"])
    for key, value in options.items():
        setattr(opts, key, value)
    return train(compiled, opts)


def _first_last(result: TrainResult, stage: str, key: str) -> tuple[float, float]:
    rows = [r for r in result.rows if r["stage"] == stage]
    return float(rows[0][key]), float(rows[-1][key])


@pytest.mark.parametrize("method", ["cd(k=1)", "pcd(k=1)"])
def test_each_rbm_of_a_stack_learns_then_fine_tuning_trains_the_stack(
    method: str, tmp_path: Path
) -> None:
    torch.manual_seed(0)
    before = _run(
        STACK.replace("METHOD", method).replace("epochs = 3", "epochs = 1"),
        tmp_path / "a",
        max_steps=0,
    )  # lowered but untrained: the initial weights
    first_w = before.lowered.root.get_submodule("h1").W.detach().clone()
    result = _run(STACK.replace("METHOD", method), tmp_path / "b")
    for unit in ("h1", "h2"):
        start, end = _first_last(result, f"pretrain:{unit}", "train/loss")
        assert end < start, f"{unit}: reconstruction error {start:.4f} -> {end:.4f}"
    finetune = [r for r in result.rows if r["stage"] == "finetune"]
    assert len(finetune) == 3 and all(r["train/loss"] == r["train/loss"] for r in finetune)
    # Fine-tuning moves the bottom RBM too: the whole stack is trained by backpropagation.
    assert not torch.equal(first_w, result.lowered.root.get_submodule("h1").W.detach())


def test_autoencoder_and_sparse_code_pretraining_reduce_their_objectives(
    tmp_path: Path,
) -> None:
    spec = """
network feats {
    input pixels: [64]
    input digit: class(10)
    a = autoencoder(pixels, 24, noise=0.2)
    z = sparse_code(a, 32, l1=0.05, steps=10)
    y = softmax(z, 10)
    loss cross_entropy(y, digit)
}
train feats {
    data = digits(test=0.2, seed=0)
    batch = 32
    stage pre { greedy = [a, z]  optimizer = adam(lr=0.01)  epochs = 4 }
}
"""
    result = _run(spec, tmp_path)
    for unit, method in (("a", "reconstruction"), ("z", "dictionary")):
        rows = [r for r in result.rows if r["stage"] == f"pre:{unit}"]
        assert rows[0]["method"] == method
        assert rows[-1]["train/loss"] < rows[0]["train/loss"]
    atoms = result.lowered.root.get_submodule("z").D.detach()
    assert torch.allclose(atoms.norm(dim=0), torch.ones(32), atol=1e-5)


@pytest.mark.parametrize("method", ["pcd(k=2)", "pcd(k=2, average=0.9)"])
def test_resuming_inside_a_pretraining_stage_gives_the_same_weights(
    method: str, tmp_path: Path
) -> None:
    spec = STACK.replace("METHOD", method)
    whole = _run(spec, tmp_path / "whole")
    stopped = _run(spec, tmp_path / "part", max_steps=200)  # inside h2's epochs
    assert stopped.status == "stopped"
    resumed = _run(spec, tmp_path / "other", resume=stopped.run_dir)
    a, b = whole.lowered.root.state_dict(), resumed.lowered.root.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


# Each kind's rule with an optimizer of its own (Adam: moments and step counts to restore).
ADAM_STACK = """
network feats {
    input bits: [16]
    input kind: class(2)
    h = rbm(bits, 12)
    a = autoencoder(h, 8, noise=0.2)
    z = sparse_code(a, 6, l1=0.05, steps=5)
    y = softmax(z, 2)
    loss cross_entropy(y, kind)
}
train feats {
    data = bars(n=200, size=4, test=0.2, seed=3)
    batch = 10
    stage pre { greedy = [h, a, z]  optimizer = adam(lr=0.01)  epochs = 3 }
}
"""


@pytest.mark.parametrize("stop", [20, 60, 110])  # inside h's epochs, a's, z's (16 steps each)
def test_resuming_rules_that_step_an_optimizer_gives_the_same_weights(
    stop: int, tmp_path: Path
) -> None:
    whole = _run(ADAM_STACK, tmp_path / "whole")
    stopped = _run(ADAM_STACK, tmp_path / "part", max_steps=stop)
    assert stopped.status == "stopped"
    resumed = _run(ADAM_STACK, tmp_path / "other", resume=stopped.run_dir)
    a, b = whole.lowered.root.state_dict(), resumed.lowered.root.state_dict()
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_negative_statistics_are_averaged_over_the_chains_not_the_batch() -> None:
    torch.manual_seed(0)
    rbm = RBM(6, 4)
    rule = ContrastiveDivergence(rbm, CDSettings(lr=0.1, persistent=True), chains=10)
    v_short = torch.bernoulli(torch.full((3, 6), 0.5))  # a short last minibatch
    torch.manual_seed(1)
    dW, db, dc = rule.gradients(v_short)
    # Both phases are means: with every unit's input and chain zero, the scales must match so
    # that the gradient of the visible bias is the data mean minus the chain mean.
    assert db.shape == (6,) and dW.shape == (4, 6) and dc.shape == (4,)
    torch.manual_seed(1)
    rule2 = ContrastiveDivergence(rbm, CDSettings(lr=0.1, persistent=True), chains=10)
    vk = rule2._negative(v_short).vk
    assert vk.shape[0] == 10
    assert torch.allclose(db, v_short.mean(0) - vk.mean(0))


def test_a_rule_loaded_from_its_state_continues_the_same_chains_noise_and_average() -> None:
    data = torch.bernoulli(torch.full((47, 6), 0.3), generator=torch.Generator().manual_seed(0))
    settings = CDSettings(lr=0.1, persistent=True, average=0.9)
    torch.manual_seed(0)
    rbm = RBM(6, 4)
    rule = ContrastiveDivergence(rbm, settings, chains=10)
    for i in range(0, 30, 10):
        rule.step(data[i : i + 10])
    tensors, meta = pack_state(rule.state_dict())
    saved = unpack_state(json.loads(json.dumps(meta)), copy.deepcopy(tensors))  # as a checkpoint
    weights = copy.deepcopy(rbm.state_dict())
    chain = saved["chain"].clone()
    twin = RBM(6, 4)
    twin.load_state_dict(weights)
    resumed = ContrastiveDivergence(twin, settings, chains=10)
    resumed.load_state_dict(saved)
    torch.manual_seed(123)  # the global stream plays no part once the noise is restored
    for r in (rule, resumed):
        r.step(data[30:40])
        r.step(data[40:47])  # a short last minibatch
    assert torch.equal(tensors["state/chain"], chain)  # the saved chain was not stepped on
    averages = rule.state_dict()["average"], resumed.state_dict()["average"]
    assert all(torch.equal(averages[0][k], averages[1][k]) for k in ("W", "b", "c"))
    assert torch.equal(rule.chain, resumed.chain)
    for name in ("W", "b", "c"):
        assert torch.equal(getattr(rbm, name), getattr(twin, name)), name
    assert not torch.equal(rbm.W, weights["W"])  # and the two steps did train


def test_an_averaged_rbm_ends_on_the_moving_average_of_its_weights() -> None:
    torch.manual_seed(0)
    rbm = RBM(6, 4)
    rule = ContrastiveDivergence(rbm, CDSettings(lr=0.5, persistent=True, average=0.9), chains=5)
    data = torch.bernoulli(torch.full((40, 6), 0.3))
    expected = rbm.W.detach().clone()
    for step in range(1, 9):
        rule.step(data[step * 5 - 5 : step * 5])
        decay = min(0.9, (1 + step) / (10 + step))  # warm-up, then the set decay
        expected = decay * expected + (1 - decay) * rbm.W.detach()
    live = rbm.W.detach().clone()
    assert not torch.allclose(live, expected)
    with rule.averaged():
        assert torch.allclose(rbm.W, expected, atol=1e-6)
    assert torch.equal(rbm.W, live)  # monitors see the average, training goes on from live
    rule.finish()
    assert torch.allclose(rbm.W, expected, atol=1e-6)


def test_a_sparsity_target_pulls_the_mean_hidden_activity_toward_it(tmp_path: Path) -> None:
    def mean_activity(method: str) -> float:
        spec = STACK.replace("METHOD", method).replace("epochs = 3", "epochs = 1")
        result = _run(spec, tmp_path / method.replace("(", "_").replace(")", ""))
        h1 = result.lowered.root.get_submodule("h1")
        bits = torch.bernoulli(torch.full((256, 16), 0.5))
        with torch.no_grad():
            return float(h1(bits).mean())

    free = mean_activity("cd(k=1)")
    pulled = mean_activity("cd(k=1, sparsity=5.0, target=0.05)")
    assert pulled < free - 0.05, (free, pulled)


def test_a_gaussian_visible_rbm_learns_real_valued_data() -> None:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[2.0, -2.0, 0.0, 1.0], [-2.0, 2.0, 1.0, 0.0]])
    data = centres[torch.randint(2, (512,), generator=g)] + 0.3 * torch.randn(512, 4, generator=g)
    rbm = RBM(4, 8, "gaussian")
    rule = ContrastiveDivergence(rbm, CDSettings(lr=0.01, k=1), chains=32)
    before = reconstruction_error(rbm, data)
    for _ in range(30):
        for i in range(0, 512, 32):
            rule.step(data[i : i + 32])
    after = reconstruction_error(rbm, data)
    assert after < 0.5 * before, (before, after)


def test_a_pretraining_stage_that_trains_the_top_rbm_plots_its_samples(tmp_path: Path) -> None:
    spec = STACK.replace("METHOD", "pcd(k=1)").replace("epochs = 3", "epochs = 1")
    result = _run(spec, tmp_path / "both", plots=True)
    path = result.run_dir / "plots" / "samples-pretrain.png"
    assert path in result.plots
    assert path.read_bytes().startswith(b"\x89PNG")
    # Pretraining h1 alone leaves the top RBM untrained: no samples to show.
    result = _run(spec.replace("greedy = [h1, h2]", "greedy = [h1]"), tmp_path / "h1", plots=True)
    assert not list((result.run_dir / "plots").glob("samples-*"))
    assert (result.run_dir / "plots" / "filters-h1.png") in result.plots
