"""Recurrent layers (batch first) that return every step or the last state, and embeddings."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from netspec.backend.nn.base import LowerContext, Lowering


class Recurrent(nn.Module):
    """An RNN, LSTM or GRU over (B, T, D); `last` returns the final hidden state of the top
    layer (both directions joined), else every step's output (B, T, N * directions).

    Self-contained (it names only torch), so `netspec export` can copy its source."""

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
        self.cell = cell
        self.last = last
        self.directions = 2 if bidirectional else 1
        layer: Callable[..., nn.RNNBase] = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = layer(
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
        h: torch.Tensor = state[0] if isinstance(state, tuple) else state  # (layers * dirs, B, N)
        if self.directions == 1:
            return h[-1]  # (B, N)
        return torch.cat((h[-2], h[-1]), dim=-1)  # (B, 2N): forward, then backward

    def extra_repr(self) -> str:
        """The constructor's arguments, as Python (export rebuilds the module from them)."""
        r = self.rnn
        return (
            f"cell={self.cell!r}, inputs={r.input_size}, hidden={r.hidden_size}, "
            f"layers={r.num_layers}, bidirectional={r.bidirectional}, last={self.last}, "
            f"dropout={r.dropout}"
        )


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
