"""Gradients you can see: the recorder's measures against torch computed by hand, which steps
it measures, gradients.json through training and resume, plots/gradients.svg, the drawing
coloured by a run's gradients (`netspec draw --run`), and the zoo's deep sigmoid network whose
lower layers get almost no gradient until they are pretrained."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import netspec
from netspec.backend.lower import lower
from netspec.cli import main as cli_main
from netspec.diagnostics.core import NetspecError
from netspec.training.gradients import FILE, GradientRecorder, saturation, tracked_units
from netspec.training.run import TrainOptions, TrainResult, train
from netspec.views.draw import draw
from netspec.views.gradient_colors import (
    NO_GRADIENT,
    RAMP,
    GradientError,
    GradientRecord,
    LogScale,
    read_gradients,
)

ROOT = Path(__file__).resolve().parent.parent

NET = """
network blob {
    input point: [2]
    input cluster: class(3)
    h = point -> dense(8, act=relu)
    t = h -> dense(8) -> tanh
    s = dense(t, 8, act=sigmoid)
    y = softmax(s, 3)
    loss cross_entropy(y, cluster)
}
"""

TRAIN = """
train blob {
    data = blobs(n=120, classes=3, spread=2.0, test=0.2, seed=1)
    batch = 16
    grad_stats_every = EVERY
    stage first { optimizer = sgd(lr=0.1, momentum=0.9)  epochs = 2 }
    stage second { freeze = [h]  optimizer = adam(lr=0.01)  epochs = 2 }
}
"""


def spec(every: int = 2) -> str:
    return NET + TRAIN.replace("EVERY", str(every))


def lowered_blob() -> tuple[Any, Any]:
    graph = netspec.compile(NET).network()
    torch.manual_seed(0)
    return lower(graph), graph


def norm(tensors: list[torch.Tensor]) -> float:
    """The L2 norm of several tensors together, by hand."""
    return math.sqrt(sum(float((t.detach() ** 2).sum()) for t in tensors))


def run(text: str, tmp: Path, **options: Any) -> TrainResult:
    opts = TrainOptions(runs_root=tmp, quiet=True, plots=False, drawing=False, argv=["test"])
    for key, value in options.items():
        setattr(opts, key, value)
    return train(netspec.compile(text, "test.net"), opts)


# ---- the measures ------------------------------------------------------------------------------


def test_each_weighted_unit_is_tracked_with_the_activation_that_reads_it() -> None:
    lowered, graph = lowered_blob()
    found = {u.id: u.activation for u in tracked_units(lowered, graph)}
    # dense(act=relu) ends in its own post; `dense(8) -> tanh` is read by a tanh unit; softmax
    # is no saturating activation
    assert found == {"h": "relu", "t.dense": "tanh", "s": "sigmoid", "y": ""}
    rbm = netspec.compile("network r { input v: [6]  h = rbm(v, 4)  output h }").network()
    (unit,) = tracked_units(lower(rbm), rbm)
    assert (unit.activation, unit.post) == ("sigmoid", None)  # its forward ends in the sigmoid


def test_one_measured_step_gives_the_norms_the_update_ratio_and_saturation() -> None:
    lowered, graph = lowered_blob()
    recorder = GradientRecorder(lowered, graph, every=1)
    opt = torch.optim.SGD(lowered.root.parameters(), lr=0.5)
    x, y = torch.randn(16, 2) * 3, torch.randint(0, 3, (16,))
    seen: dict[str, torch.Tensor] = {}

    def keep(module: torch.nn.Module, args: Any, out: torch.Tensor) -> None:
        seen["s"] = torch.sigmoid(out.detach())  # the sigmoid unit's outputs, by hand

    lowered.root.get_submodule("s").register_forward_hook(keep)
    probe = recorder.probe(0)
    assert probe is not None
    loss = lowered.objective(point=x, cluster=y)["loss"]
    loss.backward()
    probe.gradients()
    units = {u.id: u for u in recorder.units}
    grads = {k: norm([p.grad for p in u.params if p.grad is not None]) for k, u in units.items()}
    before = {k: [p.detach().clone() for p in u.params] for k, u in units.items()}
    opt.step()
    probe.update()
    assert recorder.epoch_end("main", 1, 1, row=1)
    (entry,) = recorder.epochs
    for unit_id, unit in units.items():
        assert entry["grad_norm"][unit_id] == pytest.approx(grads[unit_id], rel=1e-5)
        moved = norm([p.detach() - b for p, b in zip(unit.params, before[unit_id], strict=True)])
        ratio = moved / norm(before[unit_id])
        assert entry["update_ratio"][unit_id] == pytest.approx(ratio, rel=1e-4)
    s = seen["s"]
    near_a_bound = ((s < 0.01) | (s > 0.99)).float().mean()
    assert entry["saturation"]["s"] == pytest.approx(float(near_a_bound))
    assert entry["saturation"]["y"] is None  # softmax: no known bounds
    assert entry["measured_steps"] == 1 and entry["row"] == 1


def test_saturation_counts_outputs_near_a_bound_or_dead_rectifiers() -> None:
    assert saturation(torch.tensor([[-0.995, 0.0, 0.995, 0.5]]), (-1.0, 1.0)).item() == 0.5
    # a relu unit is dead only if it is 0 for every sample of the batch
    batch = torch.tensor([[0.0, 0.0, 1.0], [0.0, 3.0, 0.0]])  # (B=2, 3 units)
    assert saturation(batch, None).item() == pytest.approx(1 / 3)


def test_every_nth_step_and_each_epochs_first_are_measured_and_nothing_when_off() -> None:
    lowered, graph = lowered_blob()
    recorder = GradientRecorder(lowered, graph, every=3)
    measured = []
    for step in range(2, 9):  # an epoch that starts at stage step 2
        if recorder.probe(step) is not None:
            recorder.add(torch.zeros(3, len(recorder.units)))  # as a finished measurement
            measured.append(step)
    assert measured == [2, 3, 6]
    off = GradientRecorder(lowered, graph, every=0)
    assert off.units == [] and off.probe(0) is None and not off.epoch_end("main", 1, 1, 1)


# ---- through training --------------------------------------------------------------------------


def test_training_writes_gradients_per_epoch_and_the_plot(tmp_path: Path) -> None:
    result = run(spec(), tmp_path, plots=True)
    record = read_gradients(result.run_dir)
    assert [u.id for u in record.units] == ["h", "t.dense", "s", "y"]  # inputs first
    assert [(e["stage"], e["epoch"], e["row"]) for e in record.epochs] == [
        ("first", 1, 1),
        ("first", 2, 2),
        ("second", 1, 3),
        ("second", 2, 4),
    ]
    per_epoch = 6  # 96 training samples in batches of 16
    assert all(e["measured_steps"] == per_epoch // 2 for e in record.epochs)  # every 2nd step
    for entry in record.epochs:
        frozen = entry["stage"] == "second"  # h is frozen there: no gradient, no update
        assert (entry["grad_norm"]["h"] is None) == frozen
        assert (entry["update_ratio"]["h"] is None) == frozen
        assert all(v > 0 for k, v in entry["grad_norm"].items() if k != "h")
        assert 0 <= entry["saturation"]["t.dense"] <= 1
    assert "plots/gradients.svg" in {p.relative_to(result.run_dir).as_posix() for p in result.plots}


def test_grad_stats_every_zero_records_nothing(tmp_path: Path) -> None:
    result = run(spec(every=0), tmp_path, plots=True)
    assert not (result.run_dir / FILE).exists()
    assert not (result.run_dir / "plots" / "gradients.svg").exists()


def test_a_resumed_run_records_the_same_gradients(tmp_path: Path) -> None:
    whole = run(spec(), tmp_path / "whole")
    first = run(spec(), tmp_path / "parts", max_steps=12)  # the end of stage one
    assert first.status == "stopped"
    rest = run(spec(), tmp_path / "parts", resume=first.run_dir)
    assert read_gradients(rest.run_dir).epochs == read_gradients(whole.run_dir).epochs


def test_grad_stats_every_is_a_checked_section_setting() -> None:
    assert netspec.compile(spec(every=5)).trains["blob"].grad_stats_every == 5
    with pytest.raises(NetspecError) as negative:
        netspec.compile(spec().replace("grad_stats_every = 2", "grad_stats_every = -1"))
    assert [d.code for d in negative.value.diagnostics] == ["E508"]
    staged = spec().replace("epochs = 2 }", "epochs = 2  grad_stats_every = 4 }", 1)
    with pytest.raises(NetspecError) as in_stage:
        netspec.compile(staged)
    (diag,) = in_stage.value.diagnostics
    assert diag.code == "E501" and "cannot be set in a stage" in diag.message


# ---- the drawing -------------------------------------------------------------------------------


def record_file(run_dir: Path, norms: list[dict[str, float | None]]) -> Path:
    """A hand-made gradients.json for network blob, one epoch per entry of `norms`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    units = [{"id": u, "label": u, "activation": ""} for u in ("h", "t.dense", "s", "y")]
    epochs = [
        {"stage": "main", "epoch": i + 1, "row": i + 1, "grad_norm": n}
        | {"update_ratio": {}, "saturation": {}}
        for i, n in enumerate(norms)
    ]
    document = {"format": "netspec-gradients/1", "network": "blob", "every": 5}
    (run_dir / FILE).write_text(json.dumps({**document, "units": units, "epochs": epochs}))
    return run_dir


def test_units_are_coloured_by_gradient_norm_on_a_log_scale(tmp_path: Path) -> None:
    norms = {"h": 1e-6, "t.dense": 1e-4, "s": None, "y": 1e-2}
    record = read_gradients(record_file(tmp_path, [norms]))
    dot = draw(netspec.compile(NET), gradients=record)
    assert isinstance(dot, str)
    lines = {line.split(" [")[0].strip(): line for line in dot.splitlines() if " [" in line}
    assert f'fillcolor="{RAMP[0]}"' in lines['"h"']  # the smallest: palest
    assert f'fillcolor="{RAMP[4]}"' in lines['"t.dense"']  # halfway, in log terms
    assert f'fillcolor="{RAMP[-1]}"' in lines['"y"'] and 'fontcolor="white"' in lines['"y"']
    assert f'fillcolor="{NO_GRADIENT}"' in lines['"s"'] and "no gradient" in lines['"s"']
    assert f'color="{RAMP[0]}"' in lines['"point" -> "h"']  # an edge takes the unit it feeds
    assert "grad norm 1.00e-02" in lines['"y"']
    assert "gradient norm in epoch 1 (stage main, its epoch 1); the run: 1.0e-06" in dot
    assert "1.0e-02" in dot and LogScale(1e-6, 1e-2).index(1e-4) == 4


def test_the_colours_span_the_whole_run_so_epochs_compare(tmp_path: Path) -> None:
    record = read_gradients(record_file(tmp_path, [{"h": 1e-6, "y": 1e-4}, {"h": 1e-4, "y": 1e-2}]))
    dot = draw(netspec.compile(NET), gradients=record, epoch=1)
    assert isinstance(dot, str)
    lines = {line.split(" [")[0].strip(): line for line in dot.splitlines() if " [" in line}
    assert f'fillcolor="{RAMP[0]}"' in lines['"h"'] and f'fillcolor="{RAMP[4]}"' in lines['"y"']


def test_cli_draw_run_picks_an_epoch_and_refuses_what_it_cannot_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = tmp_path / "blob.net"
    net.write_text(NET)
    grads = record_file(tmp_path / "run", [{"h": 1.0, "y": 2.0}, {"h": 3.0, "y": 1.0}])
    base = ["draw", str(net), "--format", "dot", "-o", "-", "--run", str(grads)]
    assert cli_main([*base, "--epoch", "1"]) == 0
    first = capsys.readouterr().out
    assert "epoch 1 (stage main" in first
    assert cli_main(base) == 0 and "epoch 2 (stage main" in capsys.readouterr().out  # the last
    for extra, message in [
        (["--epoch", "3"], "recorded gradients for epochs 1 to 2"),
        (["--view", "neurons"], "--run colours the units view"),
    ]:
        assert cli_main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    assert cli_main(["draw", str(net), "--epoch", "1", "-o", "-"]) == 2
    assert "give the run too" in capsys.readouterr().err
    assert cli_main(["draw", str(net), "--run", str(tmp_path), "-o", "-"]) == 2
    assert f"has no {FILE}" in capsys.readouterr().err
    other = tmp_path / "other.net"
    other.write_text(NET.replace("network blob", "network other"))
    assert cli_main(["draw", str(other), "--run", str(grads), "-o", "-"]) == 2
    assert "the run trained network `blob`, not `other`" in capsys.readouterr().err


def test_reading_gradients_imports_no_torch(tmp_path: Path) -> None:
    grads = record_file(tmp_path, [{"h": 1.0}])
    code = (
        "import sys; from pathlib import Path\n"
        "from netspec.views.gradient_colors import read_gradients\n"
        "from netspec.report.curve_data import gradient_plots\n"
        "from netspec.report.svg_curves import document\n"
        f"record = read_gradients(Path({str(grads)!r}))\n"
        "rows = [{'stage': 'main'}] * len(record.epochs)\n"
        "svg = document(gradient_plots(record, rows), 'g')\n"
        f"Path({str(tmp_path / 'g.svg')!r}).write_text(svg)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
    assert (tmp_path / "g.svg").read_text().count('class="plot"') == 3


def test_an_epoch_outside_the_record_is_an_error() -> None:
    with pytest.raises(GradientError, match="recorded no gradients"):
        GradientRecord("n", 1, (), ()).epoch()


# ---- the zoo: vanishing gradients --------------------------------------------------------------


def lowest_over_top(with_pretraining: bool, tmp: Path) -> float:
    """h1's gradient norm over the softmax's in deep_sigmoid's first fine-tuning epoch, after
    one epoch of pretraining per layer (or none)."""
    compiled = netspec.compile_file(ROOT / "specs" / "deep_sigmoid.net", {"pretrain_epochs": "1"})
    skip = () if with_pretraining else ("pretrain",)
    options = TrainOptions(runs_root=tmp, quiet=True, plots=False, drawing=False, argv=["test"])
    options.epochs, options.skip_stages = 1, skip
    (epoch,) = read_gradients(train(compiled, options).run_dir).epochs
    norms = epoch["grad_norm"]
    assert norms["h1"] < norms["h2"] < norms["h3"] < norms["h4"] < norms["h5"] < norms["y"]
    return float(norms["h1"] / norms["y"])


def test_deep_sigmoid_lower_layers_get_almost_no_gradient_until_pretrained(tmp_path: Path) -> None:
    """What specs/deep_sigmoid.net's comment says: from small random weights the lowest layer
    gets a few millionths of the top's gradient; greedy pretraining gives it a thousand times
    more in the first epoch of fine-tuning (one pretraining epoch per layer already does)."""
    without = lowest_over_top(False, tmp_path / "without")
    pretrained = lowest_over_top(True, tmp_path / "with")
    assert 1e-7 < without < 1e-5
    assert pretrained > 1000 * without
