"""Lab 6: exploding gradients and gradient clipping.

Run ``python clipping.py`` to watch an identity-initialised ReLU RNN blow up without clipping
and train with it, and ``coursekit lab 6 --check`` to have your code graded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import nn


def _grads(parameters: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """Finished helper: the .grad of every parameter that has one."""
    return [p.grad for p in parameters if p.grad is not None]


def clip_by_global_norm_(parameters: Iterable[torch.Tensor], max_norm: float) -> float:
    """Scale all gradients together so that their global L2 norm is at most ``max_norm``.

    Returns the global norm *before* clipping, like torch.nn.utils.clip_grad_norm_
    (scale = max_norm / (norm + 1e-6), never above 1).
    """
    grads = _grads(parameters)
    total = math.sqrt(sum(g.detach().pow(2).sum().item() for g in grads))
    scale = min(1.0, max_norm / (total + 1e-6))  # only ever scale down; direction unchanged
    with torch.no_grad():
        for g in grads:
            g.mul_(scale)
    return total


def clip_by_value_(parameters: Iterable[torch.Tensor], clip_value: float) -> None:
    """Clamp every gradient entry to [-clip_value, clip_value], like clip_grad_value_."""
    with torch.no_grad():
        for g in _grads(parameters):
            g.clamp_(-clip_value, clip_value)  # entry by entry: the direction changes


def keras_clip_(parameters: Iterable[torch.Tensor], clipnorm: float | None = None,
                clipvalue: float | None = None, global_clipnorm: float | None = None) -> None:
    """Clip gradients the way a Keras optimizer with these arguments would, in PyTorch.

    clipnorm: each variable's gradient separately to that norm; clipvalue: every entry;
    global_clipnorm: all gradients together (PyTorch's clip_grad_norm_). Keras refuses more
    than one of them with a ValueError, and so does this function.
    """
    given = [name for name, v in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                                  ("global_clipnorm", global_clipnorm)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"only one of clipnorm, clipvalue, global_clipnorm may be set, got {given}")
    params = list(parameters)
    if clipnorm is not None:
        for p in params:  # one variable at a time
            clip_by_global_norm_([p], clipnorm)
    elif clipvalue is not None:
        clip_by_value_(params, clipvalue)
    elif global_clipnorm is not None:
        clip_by_global_norm_(params, global_clipnorm)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
               max_norm: float = 1.0) -> float:
    """One MSE training step with global-norm clipping; return the loss as a float."""
    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
        return loss

    return float(optimizer.step(closure).detach())


class IRNN(nn.Module):
    """Finished helper: a ReLU RNN with identity recurrent weights (Le et al. 2015) and a read-out."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.rnn = nn.RNN(1, hidden, nonlinearity="relu", batch_first=True)
        self.out = nn.Linear(hidden, 1)
        with torch.no_grad():
            self.rnn.weight_hh_l0.copy_(torch.eye(hidden))
            self.rnn.bias_hh_l0.zero_()
            self.rnn.bias_ih_l0.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.rnn(x)[0])


def running_sum_batch(n: int = 64, steps: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """Finished helper: inputs x_t ~ N(0, 1); targets are the running sums x_1 + ... + x_t."""
    x = torch.randn(n, steps, 1)
    return x, x.cumsum(dim=1)


def _demo(steps: int = 100) -> None:
    """Finished helper: train the IRNN with and without clipping."""
    for max_norm in (math.inf, 1.0):
        torch.manual_seed(0)
        model = IRNN()
        opt = torch.optim.SGD(model.parameters(), lr=0.01)
        for step in range(steps):
            x, y = running_sum_batch()
            loss = train_step(model, opt, x, y, max_norm)
            if not math.isfinite(loss) or step % 50 == 0 or step == steps - 1:
                print(f"max_norm={max_norm}: step {step:3d} loss {loss:.3f}")
            if not math.isfinite(loss):
                break


if __name__ == "__main__":
    _demo()
