"""Loss functions. Classification losses read logits when the prediction exposes those of their
link (cross_entropy a softmax's, bce a sigmoid's), else treat the prediction itself as logits, as
PyTorch does. The helpers use only torch, so an exported model can copy them."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from netspec.backend.nn.base import LowerContext, Lowering


def cross_entropy_loss(
    logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.0
) -> torch.Tensor:
    """Mean over every labelled position: (B, K) with (B,), or (B, T, K) with (B, T)."""
    classes = logits.shape[-1]
    if target.dtype.is_floating_point:  # soft targets of the prediction's shape
        return F.cross_entropy(
            logits.reshape(-1, classes), target.reshape(-1, classes), label_smoothing=smoothing
        )
    return F.cross_entropy(
        logits.reshape(-1, classes), target.reshape(-1), label_smoothing=smoothing
    )


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
        kwargs={"smoothing": smoothing},
        reads_logits=True,
        link="softmax",
    )


def bce(ctx: LowerContext) -> Lowering:
    return Lowering(function=bce_loss, reads_logits=True, link="sigmoid")


def mse(ctx: LowerContext) -> Lowering:
    return Lowering(function=mse_loss)


def l1(ctx: LowerContext) -> Lowering:
    return Lowering(function=l1_loss)
