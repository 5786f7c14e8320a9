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
    return torch.where(x > 0, x, negative_slope * x)


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere (by hand, no torch.nn.functional)."""
    # clamp before exp: torch.where evaluates both branches, and exp of a large x is inf.
    return torch.where(x > 0, x, alpha * (torch.exp(x.clamp(max=0.0)) - 1.0))


_FACTORY = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": lambda: Activation(lambda x: leaky_relu(x, 0.01), "leaky_relu"),
    "elu": lambda: Activation(lambda x: elu(x, 1.0), "elu"),
}


def make_activation(name: str) -> nn.Module:
    """A fresh module for each name (a dict of factories)."""
    try:
        return _FACTORY[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}") from None


def saturated_share(h: torch.Tensor, kind: str) -> float:
    """Share of the entries of ``h`` (outputs of tanh or sigmoid) that are saturated.

    tanh: |h| > 0.97 (tanh' = 1 - h^2 < 0.06). sigmoid = (1 + tanh(z/2)) / 2, so the same
    rule on the rescaled output: |2h - 1| > 0.97, i.e. h < 0.015 or h > 0.985.
    """
    if kind == "tanh":
        return (h.abs() > 0.97).float().mean().item()
    if kind == "sigmoid":
        return ((2 * h - 1).abs() > 0.97).float().mean().item()
    raise ValueError(f"unknown kind {kind!r}")


def dead_share(activation: nn.Module, z: torch.Tensor) -> float:
    """Share of units that pass no gradient: the slope of ``activation`` at ``z`` is <= 1e-3
    on every probe. ``z`` holds the pre-activations, shape (probes, units).
    """
    z = z.detach().requires_grad_(True)
    activation(z).sum().backward()  # element-wise: z.grad is each entry's local slope
    slope = z.grad.abs()
    return (slope <= 1e-3).all(dim=0).float().mean().item()


def healthy_mlp(depth: int, width: int, in_features: int) -> nn.Sequential:
    """ELU (torch's module) with He init: a slope everywhere, the scale kept across depth."""
    from collections import OrderedDict

    parts: OrderedDict[str, nn.Module] = OrderedDict()
    for i in range(depth):
        fc = nn.Linear(width if i else in_features, width)
        with torch.no_grad():
            fc.weight.normal_(0.0, math.sqrt(2.0 / fc.in_features))
            fc.bias.zero_()
        parts[f"fc{i}"] = fc
        parts[f"elu{i}"] = nn.ELU()
    return nn.Sequential(parts)


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
