"""Recurrent layers (batch first) that return every step or the last state, and embeddings."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from netspec.nn.base import LowerContext, Lowering

_LAYERS: dict[str, Any] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class Recurrent(nn.Module):
    """An RNN, LSTM or GRU over (B, T, D); `last` returns the final hidden state of the top
    layer (both directions joined), else every step's output (B, T, N * directions)."""

    def __init__(
        self,
        cell: str,
        inputs: int,
        hidden: int,
        layers: int,
        bidirectional: bool,
        last: bool,
        dropout: float,
    ) -> None:
        super().__init__()
        self.last = last
        self.directions = 2 if bidirectional else 1
        self.rnn = _LAYERS[cell](
            inputs,
            hidden,
            layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if layers > 1 else 0.0,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor
        out, state = self.rnn(x)  # out: (B, T, N * dirs)
        if not self.last:
            return out
        h = state[0] if isinstance(state, tuple) else state  # (layers * dirs, B, N)
        return torch.cat(tuple(h[-self.directions :]), dim=-1)  # (B, N * dirs)


def _recurrent(ctx: LowerContext, cell: str) -> Lowering:
    p = ctx.params
    return Lowering(
        module=Recurrent(
            cell,
            ctx.features,
            int(p["n"]),
            int(p["layers"]),
            bool(p["bidirectional"]),
            p["steps"] == "last",
            float(p["dropout"]),
        )
    )


def rnn(ctx: LowerContext) -> Lowering:
    return _recurrent(ctx, "rnn")


def lstm(ctx: LowerContext) -> Lowering:
    return _recurrent(ctx, "lstm")


def gru(ctx: LowerContext) -> Lowering:
    return _recurrent(ctx, "gru")


def embed(ctx: LowerContext) -> Lowering:
    return Lowering(module=nn.Embedding(int(ctx.in_types[0].classes or 0), int(ctx.params["n"])))
