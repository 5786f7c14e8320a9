"""Lab 4: saturating and non-saturating activations, measured.

Run ``python activations.py`` to see saturation, dead units and gradient flow for each
activation, and ``coursekit lab 4 --check`` to have your code graded.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn


class Activation(nn.Module):
    """A module that applies an element-wise function (finished helper: use it as it is)."""

    def __init__(self, func: Callable[[torch.Tensor], torch.Tensor], name: str) -> None:
        super().__init__()
        self.func, self.name = func, name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.func(x)

    def extra_repr(self) -> str:
        return self.name


def leaky_relu(x: torch.Tensor, negative_slope: float = 0.01) -> torch.Tensor:
    """x where x > 0, negative_slope * x elsewhere (by hand, no torch.nn.functional)."""
    return torch.maximum(x, negative_slope * x)  # slope < 1: the larger of x and slope*x


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere (by hand, no torch.nn.functional)."""
    # clamp before exp: torch.where evaluates both branches, and exp of a large x is inf.
    negative = alpha * torch.expm1(torch.clamp(x, max=0.0))
    return torch.where(x > 0, x, negative)


def make_activation(name: str) -> nn.Module:
    """A module for 'sigmoid', 'tanh', 'relu', 'leaky_relu' (slope 0.01) or 'elu' (alpha 1)."""
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return Activation(leaky_relu, "leaky_relu")
    if name == "elu":
        return Activation(elu, "elu")
    raise ValueError(f"unknown activation {name!r}")


def saturated_share(h: torch.Tensor, kind: str) -> float:
    """Share of the entries of ``h`` (outputs of tanh or sigmoid) that are saturated.

    tanh: |h| > 0.97 (tanh' = 1 - h^2 < 0.06). sigmoid = (1 + tanh(z/2)) / 2, so the same
    rule on the rescaled output: |2h - 1| > 0.97, i.e. h < 0.015 or h > 0.985.
    """
    if kind == "tanh":
        flat = h.abs() > 0.97
    elif kind == "sigmoid":
        flat = (h < 0.015) | (h > 0.985)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return flat.float().mean()  # a 0-dim tensor


def dead_share(activation: nn.Module, z: torch.Tensor) -> float:
    """Share of units that pass no gradient: the slope of ``activation`` at ``z`` is <= 1e-3
    on every probe. ``z`` holds the pre-activations, shape (probes, units).
    """
    z = z.detach().clone().requires_grad_(True)
    (slope,) = torch.autograd.grad(activation(z).sum(), z)
    alive = (slope.abs() > 1e-3).any(dim=0)
    return 1.0 - alive.float().mean().item()


class _Block(nn.Module):
    def __init__(self, n_in: int, n_out: int) -> None:
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)
        self.act = make_activation("leaky_relu")
        nn.init.kaiming_normal_(self.fc.weight, a=0.01, nonlinearity="leaky_relu")
        nn.init.zeros_(self.fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.fc(x))


def healthy_mlp(depth: int, width: int, in_features: int) -> nn.Sequential:
    """Blocks of (Linear -> LeakyReLU), He init for a leaky slope of 0.01, zero biases."""
    sizes = [in_features] + [width] * depth
    return nn.Sequential(*[_Block(i, o) for i, o in zip(sizes, sizes[1:])])


def _pre_and_post(model: nn.Sequential, x: torch.Tensor) -> list[tuple[nn.Module, torch.Tensor, torch.Tensor]]:
    """Finished helper: (activation module, its input z, its output h) for every activation."""
    found = []
    with torch.no_grad():
        for layer in model:
            z, x = x, layer(x)
            if not isinstance(layer, nn.Linear):
                found.append((layer, z, x))
    return found


def _report() -> None:
    """Finished helper: print saturation and dead units for a few set-ups, with your functions."""
    torch.manual_seed(0)
    for name in ("sigmoid", "tanh"):
        model = nn.Sequential(*[m for i in range(5) for m in (nn.Linear(30 if i == 0 else 200, 200),
                                                               make_activation(name))])
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight)  # N(0, 1): far too large
        shares = [saturated_share(h, name) for _, _, h in _pre_and_post(model, torch.randn(512, 30))]
        print(f"{name:8s} N(0,1) weights: saturated share per layer", [f"{s:.2f}" for s in shares])
    for name in ("relu", "leaky_relu", "elu"):
        model = nn.Sequential(*[m for i in range(4) for m in (nn.Linear(32 if i == 0 else 128, 128),
                                                               make_activation(name))])
        with torch.no_grad():
            for layer in model:
                if isinstance(layer, nn.Linear):
                    layer.bias.fill_(-1.0)  # as if a large update had pushed every bias down
        dead = [dead_share(act, z) for act, z, _ in _pre_and_post(model, torch.randn(2048, 32))]
        print(f"{name:10s} biases -1: dead share per layer", [f"{d:.2f}" for d in dead])
    model = healthy_mlp(10, 128, 32)
    hs = [h for _, _, h in _pre_and_post(model, torch.randn(256, 32))]
    ratio = math.log10(hs[-1].std().item() / hs[0].std().item())
    print(f"healthy_mlp: activation std first {hs[0].std():.3f}, last {hs[-1].std():.3f} (log10 ratio {ratio:+.2f})")


if __name__ == "__main__":
    _report()
