"""A training step's metrics on the CPU (`host_metrics`, summed by `Running.add_host`) are the
device path's (`batch_metrics`, `Running.add`), read as Python floats: same keys, order and
values, for every kind of head, and across a resume in the middle of an epoch."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from netspec.api import compile
from netspec.backend.lower import lower
from netspec.training.metrics import (
    HeadSpec,
    Running,
    batch_metrics,
    head_specs,
    host_metrics,
    probe,
)

HEADS = {
    "one class head": (
        "input x: [4]\n input c: class(3)",
        "y = softmax(x, 3)\n loss cross_entropy(y, c)",
    ),
    "two heads": (
        "input x: [4]\n input c: class(3)\n input t: [2]",
        "y = softmax(x, 3)\n z = dense(x, 2)\n loss cross_entropy(y, c)\n"
        " loss mse(z, t, weight=0.5)",
    ),
    "binary head": ("input x: [4]\n input t: binary", "y = logistic(x)\n loss bce(y, t)"),
}


def _batch(name: str) -> tuple[tuple[HeadSpec, ...], list[torch.Tensor], dict[str, Any]]:
    inputs, body = HEADS[name]
    graph = compile(f"network n {{\n {inputs}\n {body}\n}}").networks["n"]
    torch.manual_seed(0)
    lowered = lower(graph)
    forward = probe(lowered, graph)
    values = {
        "x": torch.randn(8, 4),
        "c": torch.randint(3, (8,)),
        "t": torch.randn(8, 2) if name == "two heads" else torch.randint(2, (8,)).float(),
    }
    args = [values[i] for i in lowered.inputs]
    return head_specs(lowered, graph), args, forward(*args)


@pytest.mark.parametrize("name", list(HEADS))
def test_host_metrics_are_batch_metrics_read(name: str) -> None:
    heads, _, out = _batch(name)
    on_device = batch_metrics(heads, out)
    on_host = host_metrics(heads, out)
    assert list(on_host) == list(on_device)
    for key, value in on_device.items():
        assert on_host[key] == pytest.approx(float(value), rel=1e-6), key


def test_host_sums_match_device_sums_and_resume_in_order() -> None:
    heads, _, out = _batch("two heads")
    device, host = Running(), Running()
    for n in (8, 8, 5):
        device.add(batch_metrics(heads, out), n)
        host.add_host(host_metrics(heads, out), n)
    assert host.means() == pytest.approx(device.means(), rel=1e-6)
    # A checkpoint mid-epoch saves the sums in sorted order; the resumed run adds in step order.
    saved = host.state_dict()
    saved["sums"] = dict(sorted(saved["sums"].items()))
    resumed = Running()
    resumed.load_state_dict(saved)
    resumed.add_host(host_metrics(heads, out), 8)
    host.add_host(host_metrics(heads, out), 8)
    assert list(resumed.means()) == list(host.means())
    assert resumed.means() == pytest.approx(host.means(), rel=1e-12)
    assert resumed.count == host.count == 29
