"""netspec's optimizers are torch's, unwrapped: the same updates, state and checkpoints, and no
import of torch._dynamo (a second of start-up) on the way; nor of matplotlib, for the plots."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from netspec.training.eager_optim import eager

ROOT = Path(__file__).resolve().parent.parent
SETTINGS: dict[type[torch.optim.Optimizer], dict[str, Any]] = {
    torch.optim.SGD: {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    torch.optim.Adam: {"lr": 0.01, "weight_decay": 1e-3},
    torch.optim.AdamW: {"lr": 0.01, "weight_decay": 0.1},
    torch.optim.RMSprop: {"lr": 0.01, "momentum": 0.5},
}


def _trained(
    cls: type[torch.optim.Optimizer], settings: dict[str, Any], steps: int = 5
) -> tuple[list[torch.Tensor], dict[str, Any]]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    opt = cls(model.parameters(), **settings)
    x, y = torch.randn(16, 4), torch.randn(16, 2)
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        opt.step()
    return [p.detach().clone() for p in model.parameters()], opt.state_dict()


@pytest.mark.parametrize("cls", list(SETTINGS), ids=lambda c: c.__name__)
def test_same_updates_and_state_as_torch(cls: type[torch.optim.Optimizer]) -> None:
    ours, our_state = _trained(eager(cls), SETTINGS[cls])
    theirs, their_state = _trained(cls, SETTINGS[cls])
    assert eager(cls) is not cls and issubclass(eager(cls), cls)
    for a, b in zip(ours, theirs, strict=True):
        assert torch.equal(a, b)
    assert our_state["param_groups"] == their_state["param_groups"]
    for key, state in their_state["state"].items():
        for name, value in state.items():
            assert torch.equal(
                torch.as_tensor(our_state["state"][key][name]), torch.as_tensor(value)
            )


def test_state_loads_across_classes() -> None:
    """A checkpoint's optimizer state moves between torch's class and ours both ways."""
    model = torch.nn.Linear(3, 1)
    plain = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(2, 3)).sum().backward()
    plain.step()
    ours = eager(torch.optim.SGD)(model.parameters(), lr=0.5, momentum=0.1)
    ours.load_state_dict(plain.state_dict())
    assert ours.param_groups[0]["lr"] == 0.1
    buffer = plain.state[model.weight]["momentum_buffer"]
    assert torch.equal(ours.state[model.weight]["momentum_buffer"], buffer)


def test_step_leaves_grad_mode_as_it_was() -> None:
    model = torch.nn.Linear(3, 1)
    opt = eager(torch.optim.SGD)(model.parameters(), lr=0.1)
    model(torch.ones(2, 3)).sum().backward()
    opt.step()
    assert torch.is_grad_enabled()
    losses = []
    opt.step(lambda: losses.append(model(torch.ones(1, 3)).sum().requires_grad))
    assert losses == [True]  # a closure runs with gradients, as torch's step runs it


def test_training_imports_neither_dynamo_nor_matplotlib(tmp_path: Path) -> None:
    """A second each, before: the optimizer's first step imported torch._dynamo, and the
    plots matplotlib (a run's plots are SVG and zlib PNG files now)."""
    script = (
        "import sys\n"
        "from netspec.cli import main\n"
        f"code = main(['train', {str(ROOT / 'specs/mlp.net')!r}, '--runs', {str(tmp_path)!r},"
        " '--quiet', '--steps', '2'])\n"
        "print(code, 'torch._dynamo' in sys.modules, 'matplotlib' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.split()[-3:] == ["0", "False", "False"], done.stderr[-2000:]
