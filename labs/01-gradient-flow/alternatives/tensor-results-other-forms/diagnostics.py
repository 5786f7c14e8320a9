"""Lab 1: tools that measure how the gradient flows through a network.

Every later lab uses these (each ships its own copy as ``flowtools.py``).
"""

from __future__ import annotations

import math
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
    if kind == "tanh":
        return torch.mean((torch.abs(h) > 0.97).to(torch.float32))
    if kind == "sigmoid":
        return torch.logical_or(h < 0.015, h > 0.985).float().mean()  # both ends
    raise ValueError(f"unknown kind {kind!r}")


def dead_share(h: torch.Tensor) -> float:
    """Share of units (columns of h, shape (batch, units)) that are <= 0 for every example."""
    never_positive = h.max(dim=0).values <= 0
    return never_positive.sum() / h.shape[1]


def layer_stats(model: nn.Module, x: torch.Tensor,
                loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> list[LayerStats]:
    """Run ``loss_fn(model(x)).backward()`` and measure every activation module's output."""
    outputs: list[tuple[str, nn.Module, torch.Tensor]] = []

    def hook(name: str) -> Callable[..., None]:
        def record(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
            output.retain_grad()  # keep dL/dh for this non-leaf tensor
            outputs.append((name, module, output))
        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules()
               if isinstance(m, ACTIVATIONS)]
    try:
        loss_fn(model(x)).backward()
    finally:
        for handle in handles:
            handle.remove()
    stats = []
    for name, module, h in outputs:
        g = h.grad
        h = h.detach()
        kind = "tanh" if isinstance(module, nn.Tanh) else "sigmoid" if isinstance(
            module, nn.Sigmoid) else None
        stats.append(LayerStats(
            name=f"{name}:{type(module).__name__}", act_mean=h.mean().item(), act_std=h.std().item(),
            grad_std=g.std().item(), grad_norm=g.norm().item(),
            saturated=saturation(h, kind) if kind else 0.0,
            dead=dead_share(h) if isinstance(module, nn.ReLU) else 0.0))
    return stats


def gradient_flow(stats: list[LayerStats]) -> float:
    """log10(||dL/dh_first|| / ||dL/dh_last||): 0 is healthy, -7 means 10^7 times weaker."""
    first, last = stats[0].grad_norm, stats[-1].grad_norm
    return math.log10(first) - math.log10(last)


def update_to_data(before: torch.Tensor, after: torch.Tensor) -> float:
    """log10(std(after - before) / std(before)): about -3 is a healthy step (Karpathy)."""
    return torch.log10(torch.std(after - before) / torch.std(before))


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
