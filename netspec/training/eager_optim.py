"""torch's optimizers, without the wrappers that let torch.compile trace them.

torch.optim decorates `step`, `zero_grad`, `add_param_group`, `state_dict` and `load_state_dict`
for torch.compile's sake, and on their first call those decorators import torch._dynamo: about
1.2 s of a run's start-up, more than a short run's training. `step`'s two wrappers also cost
about 15 us a call (graph breaks and a profiler label), 5% of a small network's step. netspec
compiles the model, never the optimizer, so it builds subclasses that hold torch's own methods
unwrapped: the same update code, the same state and checkpoint format, and `step` still runs
under no_grad as torch's wrapper makes it. Optimizer step hooks are not called (netspec
registers none). Where a torch version does not wrap these methods, its class is used as is.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

import torch

# torch.optim.Optimizer's methods that import torch._dynamo on their first call
_WRAPPED = ("add_param_group", "zero_grad", "state_dict", "load_state_dict")

Opt = TypeVar("Opt", bound=torch.optim.Optimizer)
_made: dict[type[Any], type[Any]] = {}


def eager(cls: type[Opt]) -> type[Opt]:
    """`cls` (torch.optim.SGD, Adam, ...) with its methods unwrapped; one class per `cls`."""
    made = _made.get(cls)
    if made is None:
        made = _made[cls] = _unwrapped(cls)
    return made


def _unwrapped(cls: type[Opt]) -> type[Opt]:
    methods: dict[str, Any] = {}
    for name in _WRAPPED:
        wrapped = getattr(torch.optim.Optimizer, name)
        raw = inspect.unwrap(wrapped)
        if raw is not wrapped:
            methods[name] = raw
    step = inspect.unwrap(cls.__dict__["step"]) if "step" in cls.__dict__ else None
    if step is not None and step is not cls.__dict__["step"]:
        methods["step"] = _no_grad_step(step)
    if not methods:
        return cls
    return type(cls.__name__, (cls,), {"__module__": __name__, **methods})


def _no_grad_step(step: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: torch.optim.Optimizer, closure: Callable[[], Any] | None = None) -> Any:
        previous = torch.is_grad_enabled()
        torch.set_grad_enabled(False)
        try:
            return step(self, closure)
        finally:
            torch.set_grad_enabled(previous)

    run.__doc__ = step.__doc__
    run.hooked = True  # type: ignore[attr-defined]  # torch wraps an unhooked step in __init__
    return run
