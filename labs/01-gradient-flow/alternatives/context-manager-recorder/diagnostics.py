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
        return (h.abs() > 0.97).float().mean().item()
    if kind == "sigmoid":
        return ((2 * h - 1).abs() > 0.97).float().mean().item()
    raise ValueError(f"unknown kind {kind!r}")


def dead_share(h: torch.Tensor) -> float:
    """Share of units (columns of h, shape (batch, units)) that are <= 0 for every example."""
    return (h <= 0).all(dim=0).float().mean().item()


class _Recorder:
    """Hooks every activation module while inside ``with``; removes them on the way out."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.records: list[tuple[str, nn.Module, torch.Tensor]] = []
        self.handles: list[torch.utils.hooks.RemovableHandle] = []

    def _hook(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, inputs: object, output: torch.Tensor) -> None:
            output.retain_grad()
            self.records.append((name, module, output))
        return hook

    def __enter__(self) -> _Recorder:
        for name, module in self.model.named_modules():
            if isinstance(module, ACTIVATIONS):
                self.handles.append(module.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc: object) -> None:
        while self.handles:
            self.handles.pop().remove()


def layer_stats(model: nn.Module, x: torch.Tensor,
                loss_fn: Callable[[torch.Tensor], torch.Tensor]) -> list[LayerStats]:
    """Run ``loss_fn(model(x)).backward()`` and measure every activation module's output."""
    with _Recorder(model) as rec:
        out = model(x)
    loss_fn(out).backward()
    stats = []
    for name, module, h in rec.records:
        grad = h.grad
        h = h.detach()
        kind = {nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}.get(type(module))
        stats.append(LayerStats(f"{name}:{type(module).__name__}", h.mean().item(),
                                h.std().item(), grad.std().item(),
                                torch.linalg.vector_norm(grad).item(),
                                saturation(h, kind) if kind else 0.0,
                                dead_share(h) if isinstance(module, nn.ReLU) else 0.0))
    return stats


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
