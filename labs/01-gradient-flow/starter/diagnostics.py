"""Lab 1 (starter): tools that measure how the gradient flows through a network.

Every later lab uses these (each ships its own copy as ``flowtools.py``).
"""

from __future__ import annotations

import math  # math.log10: gradient_flow() and update_to_data() need it
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

# The modules whose outputs are the hidden activations h_l we measure.
ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.Tanh,
                                            nn.Sigmoid)


@dataclass
class LayerStats:
    """What we measure at one activation module (one hidden layer)."""

    name: str          # e.g. "3:ReLU" (the module's name in the model, then its class)
    act_mean: float    # mean of h
    act_std: float     # std of h
    grad_std: float    # std of dL/dh
    grad_norm: float   # ||dL/dh|| (Frobenius norm over the batch)
    saturated: float   # Tanh/Sigmoid: share of saturated entries (see saturation); else 0.0
    dead: float        # ReLU: share of dead units (see dead_share); else 0.0


def saturation(h: torch.Tensor, kind: str) -> float:
    """Share of saturated entries: tanh |h| > 0.97; sigmoid |2h - 1| > 0.97."""
    # TODO: share of entries with |h| > 0.97 (tanh) or |2h - 1| > 0.97 (sigmoid), as a float.
    raise NotImplementedError


def dead_share(h: torch.Tensor) -> float:
    """Share of units (columns of h, shape (batch, units)) that are <= 0 for every example."""
    # TODO: a unit is dead when its column of h is <= 0 for EVERY example of the batch.
    raise NotImplementedError


def layer_stats(model: nn.Module, x: torch.Tensor,
                loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> list[LayerStats]:
    """Run ``loss_fn(model(x)).backward()`` and measure every activation module's output."""
    # TODO 1: register a forward hook on every module that is an instance of ACTIVATIONS
    #         (model.named_modules()); in the hook call output.retain_grad() and keep the output.
    # TODO 2: run loss_fn(model(x)).backward().
    # TODO 3: remove every hook (keep the handles; use try/finally).
    # TODO 4: one LayerStats per recorded output, in forward order: h.mean(), h.std(),
    #         h.grad.std(), h.grad.norm(); saturation() for Tanh/Sigmoid, dead_share() for ReLU.
    raise NotImplementedError


def gradient_flow(stats: list[LayerStats]) -> float:
    """log10(||dL/dh_first|| / ||dL/dh_last||): 0 is healthy, -7 means 10^7 times weaker."""
    # TODO: log10 of the first layer's grad_norm over the last layer's grad_norm.
    raise NotImplementedError


def update_to_data(before: torch.Tensor, after: torch.Tensor) -> float:
    """log10(std(after - before) / std(before)): about -3 is a healthy step (Karpathy)."""
    # TODO: log10 of std(after - before) over std(before).
    raise NotImplementedError


if __name__ == "__main__":
    # Try it: a 20-layer ReLU MLP with PyTorch's default init.
    torch.manual_seed(0)
    layers: list[nn.Module] = []
    for _ in range(20):
        layers += [nn.Linear(256, 256), nn.ReLU()]
    net = nn.Sequential(*layers)
    readout = torch.randn(256, 1) / 16
    for s in layer_stats(net, torch.randn(256, 256), lambda out: (out @ readout).sum()):
        print(f"{s.name:>10}  act std {s.act_std:.2e}  grad norm {s.grad_norm:.2e}  dead {s.dead:.2f}")
    stats = layer_stats(net, torch.randn(256, 256), lambda out: (out @ readout).sum())
    print(f"gradient flow (log10 first/last): {gradient_flow(stats):+.2f}")
