"""Loss functions. Classification losses read logits when the prediction exposes those of their
link (cross_entropy a softmax's, bce a sigmoid's), else treat the prediction itself as logits, as
PyTorch does. The helpers use only torch, so an exported model can copy them."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from netspec.backend.nn.base import LowerContext, Lowering
from netspec.types import NO_LABEL


def cross_entropy_loss(
    logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.0, no_label: int = -1
) -> torch.Tensor:
    """Mean over every labelled position: (B, K) with (B,), or (B, T, K) with (B, T); a
    position whose class id is `no_label` (netspec.types.NO_LABEL: padding) is left out of
    the sum and the count (0 when a batch has no labelled position)."""
    classes = logits.shape[-1]
    if target.dtype.is_floating_point:  # soft targets of the prediction's shape
        return F.cross_entropy(
            logits.reshape(-1, classes), target.reshape(-1, classes), label_smoothing=smoothing
        )
    flat = target.reshape(-1)  # (B * T,)
    total = F.cross_entropy(
        logits.reshape(-1, classes),
        flat,
        ignore_index=no_label,
        label_smoothing=smoothing,
        reduction="sum",
    )
    return total / (flat != no_label).sum().clamp(min=1)


class LearnedWeight(nn.Module):
    """A loss's learned weight (Kendall, Gal & Cipolla 2018, with s = log sigma^2): the loss L
    enters the total as exp(-s) L + s. The log-variance s starts at 0, a weight of 1."""

    def __init__(self) -> None:
        super().__init__()
        self.log_variance = nn.Parameter(torch.zeros(()))

    def forward(self, loss: torch.Tensor) -> torch.Tensor:
        s = self.log_variance.to(loss.dtype)
        return torch.exp(-s) * loss + s


def bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(logits, target.reshape(logits.shape).to(logits.dtype))


def mse_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(prediction, target.reshape(prediction.shape).to(prediction.dtype))


def l1_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(prediction, target.reshape(prediction.shape).to(prediction.dtype))


def cross_entropy(ctx: LowerContext) -> Lowering:
    smoothing = float(ctx.params["smoothing"])
    prediction, target = ctx.in_types
    if prediction.rank == 1 and target.dtype == "class" and target.rank == 0:
        # (B, K) scores and (B,) labels: torch's own function, no reshapes in the step
        kwargs = {"label_smoothing": smoothing} if smoothing else {}
        return Lowering(function=F.cross_entropy, kwargs=kwargs, reads_logits=True, link="softmax")
    return Lowering(
        function=cross_entropy_loss,
        kwargs={"smoothing": smoothing, "no_label": NO_LABEL},
        reads_logits=True,
        link="softmax",
    )


def bce(ctx: LowerContext) -> Lowering:
    return Lowering(function=bce_loss, reads_logits=True, link="sigmoid")


def mse(ctx: LowerContext) -> Lowering:
    return Lowering(function=mse_loss)


def l1(ctx: LowerContext) -> Lowering:
    return Lowering(function=l1_loss)
