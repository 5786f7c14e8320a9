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

    grad_norm: float
    grad_std: float
    name: str
    dead: float
    saturated: float
    act_std: float
    act_mean: float


def saturation(h: torch.Tensor, kind: str) -> float:
    """Share of saturated entries: tanh |h| > 0.97; sigmoid |2h - 1| > 0.97."""
    if kind == "tanh":
        return (h.abs() > 0.97).float().mean().item()
    if kind == "sigmoid":
        return ((2 * h - 1).abs() > 0.97).float().mean().item()
    raise ValueError(f"unknown kind {kind!r}")


def dead_share(h: torch.Tensor) -> float:
    """Share of units (columns of h, shape (batch, units)) that are <= 0 for every example."""
    return (h <= 0).all(dim=0).float().mean().item()


def layer_stats(model: nn.Module, x: torch.Tensor,
                loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> list[LayerStats]:
    """Measure every activation output; dL/dh from torch.autograd.grad instead of retain_grad."""
    seen: list[tuple[str, nn.Module, torch.Tensor]] = []
    names = {id(m): n for n, m in model.named_modules()}
    handles = []
    for module in model.modules():
        if isinstance(module, ACTIVATIONS):
            handles.append(module.register_forward_hook(
                lambda mod, inp, out: seen.append((names[id(mod)], mod, out))))
    try:
        loss = loss_fn(model(x))
    finally:
        for h in handles:
            h.remove()
    grads = torch.autograd.grad(loss, [out for _, _, out in seen], retain_graph=True)
    loss.backward()
    result = []
    for (name, module, out), g in zip(seen, grads):
        h = out.detach()
        if isinstance(module, nn.Tanh):
            sat = saturation(h, "tanh")
        elif isinstance(module, nn.Sigmoid):
            sat = saturation(h, "sigmoid")
        else:
            sat = 0.0
        result.append(LayerStats(grad_norm=g.norm().item(), grad_std=g.std().item(),
                                 name=f"{name}:{module.__class__.__name__}",
                                 dead=dead_share(h) if type(module) is nn.ReLU else 0.0,
                                 saturated=sat, act_std=h.std().item(), act_mean=h.mean().item()))
    return result


def gradient_flow(stats: list[LayerStats]) -> float:
    """log10(||dL/dh_first|| / ||dL/dh_last||): 0 is healthy, -7 means 10^7 times weaker."""
    return math.log10(stats[0].grad_norm / stats[-1].grad_norm)


def update_to_data(before: torch.Tensor, after: torch.Tensor) -> float:
    """log10(std(after - before) / std(before)): about -3 is a healthy step (Karpathy)."""
    return math.log10((after - before).std().item() / before.std().item())


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
