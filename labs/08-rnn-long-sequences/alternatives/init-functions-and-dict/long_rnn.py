"""Lab 8: how far back the gradient reaches in a vanilla RNN, an LSTM and a GRU.

Run ``python long_rnn.py`` to measure the gradient reach of each model, and
``coursekit lab 8 --check`` to have your code graded.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def gradient_reach(rnn: nn.Module, x: torch.Tensor) -> float:
    """log10(||dL/dx_1|| / ||dL/dx_T||) for L = rnn(x)[0][:, -1].sum(): the loss on the last output.

    ``rnn`` is an nn.RNN, nn.LSTM or nn.GRU with batch_first=True; ``x`` has shape
    (batch, T, input_size). 0 means the first input matters as much as the last; -10 means
    the gradient from the last step is 10^10 times weaker by the time it reaches step 1.
    """
    x = x.detach().clone().requires_grad_(True)
    out, _ = rnn(x)
    out[:, -1].sum().backward()
    first, last = x.grad[:, 0].norm().item(), x.grad[:, -1].norm().item()
    return math.log10(max(first, 1e-38) / max(last, 1e-38))


def set_forget_bias_(lstm: nn.LSTM, value: float) -> nn.LSTM:
    """Make the forget gate's bias ``value`` in every layer of ``lstm``; leave the other gates alone.

    PyTorch stacks the gates as (input, forget, cell, output), so the forget gate is rows
    H:2H of bias_ih_l{k} and bias_hh_l{k}; the two biases are added, so set one to ``value``
    and the other to 0.
    """
    h = lstm.hidden_size
    with torch.no_grad():
        for layer in range(lstm.num_layers):
            getattr(lstm, f"bias_ih_l{layer}")[h:2 * h].fill_(value)
            getattr(lstm, f"bias_hh_l{layer}")[h:2 * h].zero_()
    return lstm


def set_update_bias_(gru: nn.GRU, value: float) -> nn.GRU:
    """Make the update gate's bias ``value`` in every layer of ``gru``; leave the other gates alone.

    PyTorch's GRU stacks (reset, update, new) and computes h' = (1 - z) * n + z * h, so a
    large update-gate bias (z near 1) keeps the old state: long memory.
    """
    h = gru.hidden_size
    with torch.no_grad():
        for layer in range(gru.num_layers):
            getattr(gru, f"bias_ih_l{layer}")[h:2 * h].fill_(value)
            getattr(gru, f"bias_hh_l{layer}")[h:2 * h].zero_()
    return gru


def long_memory(kind: str, input_size: int, hidden_size: int) -> nn.Module:
    """An nn.RNN ('rnn'), nn.LSTM ('lstm') or nn.GRU ('gru'), batch_first, whose gradient reaches
    50 steps back at initialisation (gradient_reach >= -2).

    rnn: ReLU units with identity recurrent weights and zero biases (the IRNN, Le et al. 2015);
    lstm: forget bias 3 (sigmoid(3) = 0.95 of the cell kept per step); gru: update bias 3.
    """
    def irnn() -> nn.Module:
        rnn = nn.RNN(input_size, hidden_size, nonlinearity="relu", batch_first=True)
        nn.init.eye_(rnn.weight_hh_l0)
        nn.init.zeros_(rnn.bias_ih_l0)
        nn.init.zeros_(rnn.bias_hh_l0)
        return rnn

    def gated(cls: type) -> nn.Module:
        model = cls(input_size, hidden_size, batch_first=True)
        h = hidden_size
        with torch.no_grad():  # the gate adds bias_ih and bias_hh: 1.5 + 1.5 = 3
            nn.init.constant_(model.bias_ih_l0[h:2 * h], 1.5)
            nn.init.constant_(model.bias_hh_l0[h:2 * h], 1.5)
        return model

    builders = {"rnn": irnn, "lstm": lambda: gated(nn.LSTM), "gru": lambda: gated(nn.GRU)}
    if kind not in builders:
        raise ValueError(f"kind must be one of {sorted(builders)}, not {kind!r}")
    return builders[kind]()


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               max_norm: float = 1.0) -> float:
    """One MSE step for a recurrent model, clipping the global gradient norm; return the loss."""
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)  # after backward, before step
    optimizer.step()
    return loss.item()


class EveryStep(nn.Module):
    """Finished helper: a recurrent layer and a Linear read-out at every time step."""

    def __init__(self, rnn: nn.Module, out_features: int = 1) -> None:
        super().__init__()
        self.rnn = rnn
        self.out = nn.Linear(rnn.hidden_size, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0])


def _demo() -> None:
    """Finished helper: gradient reach at T = 50 for the default models and yours."""
    torch.manual_seed(0)
    x = torch.randn(32, 50, 8)
    defaults = {"rnn": nn.RNN(8, 64, batch_first=True), "lstm": nn.LSTM(8, 64, batch_first=True),
                "gru": nn.GRU(8, 64, batch_first=True)}
    for kind, default in defaults.items():
        print(f"{kind:4s}: default {gradient_reach(default, x):+6.2f}   "
              f"long_memory {gradient_reach(long_memory(kind, 8, 64), x):+6.2f}   (log10, T = 50)")


if __name__ == "__main__":
    _demo()
