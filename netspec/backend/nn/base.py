"""What a unit kind's lowering builds: a module or a function to call on the unit's inputs, and
the activation whose input a loss reads as logits."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from netspec.types import TensorType


@dataclass(frozen=True)
class LowerContext:
    """What a builder sees: the node id, its bound parameters, input and output types."""

    id: str
    params: Mapping[str, Any]
    in_types: tuple[TensorType, ...]
    out_type: TensorType

    @property
    def features(self) -> int:
        """The size of the input's last axis (the one weights act on)."""
        return int(self.in_types[0].dims[-1])

    @property
    def channels(self) -> int:
        """The size of the input's first axis (channels of a [C, ...] signal)."""
        return int(self.in_types[0].dims[0])


@dataclass
class Lowering:
    """Call `module(*inputs)` or `function(*inputs, *args, **kwargs)`, then `post` if given.

    With neither module nor function the value is the input itself (an activation unit).
    `logits` marks the value before `post` as what a loss reads (softmax -> cross_entropy), and
    `link` names the link `post` is (`softmax`, `sigmoid`). `listed` passes the inputs as one list
    (torch.cat); `fold` combines variadic inputs pairwise (operator.add). `reads_logits` marks
    losses that take logits when there are some; a loss with a `link` reads only the logits of
    that link (cross_entropy those of a softmax, bce those of a sigmoid), and otherwise the
    prediction itself. An empty `link` matches any. Lowering records each unit whose `post` is
    such a link in `Lowered.links`, so the trainer scores its value as probabilities.

    `module` becomes a leaf of the lowered network, which export rebuilds from its constructor's
    arguments: it must offer what CONTRIBUTING.md ("What a leaf module must offer") lists.
    """

    module: nn.Module | None = None
    function: Callable[..., Any] | None = None
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    post: Callable[..., Any] | None = None
    post_kwargs: dict[str, Any] = field(default_factory=dict)
    logits: bool = False
    link: str = ""
    listed: bool = False
    fold: Callable[[Any, Any], Any] | None = None
    reads_logits: bool = False
