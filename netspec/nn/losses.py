"""Loss functions. Classification losses read logits when the prediction exposes them (a softmax
or sigmoid unit), else treat the prediction itself as logits, as PyTorch does."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from netspec.nn.base import LowerContext, Lowering


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
    return Lowering(
        function=cross_entropy_loss,
        kwargs={"smoothing": float(ctx.params["smoothing"])},
        reads_logits=True,
    )


def bce(ctx: LowerContext) -> Lowering:
    return Lowering(function=bce_loss, reads_logits=True)


def mse(ctx: LowerContext) -> Lowering:
    return Lowering(function=mse_loss)


def l1(ctx: LowerContext) -> Lowering:
    return Lowering(function=l1_loss)
