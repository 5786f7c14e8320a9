"""Lab 7: residual connections for a deep network.

Run ``python residual.py`` to train a 20-block plain network and its residual version, and
``coursekit lab 7 --check`` to have your code graded.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ResidualBlock(nn.Module):
    """relu(x + scale * fc2(relu(fc1(x)))): a two-layer branch added to the skip path.

    fc1 gets He init. With ``zero_init`` the branch's last Linear (weight and bias) starts at
    zero, so the block starts as the identity (for x >= 0); without it fc2 gets He init too and
    ``scale`` (e.g. 1/sqrt(depth)) keeps the sum of the branches from growing with depth.
    """

    def __init__(self, width: int, zero_init: bool = True, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.fc2 = nn.Linear(width, width)
        self.fc1 = nn.Linear(width, width)
        nn.init.kaiming_normal_(self.fc1.weight, nonlinearity="relu")
        nn.init.zeros_(self.fc1.bias)
        if zero_init:
            nn.init.zeros_(self.fc2.weight)  # fc1 still gets a gradient once fc2 moves
        else:
            nn.init.kaiming_normal_(self.fc2.weight, nonlinearity="relu")
        nn.init.zeros_(self.fc2.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branch = self.fc2(F.relu(self.fc1(x)))
        return F.relu(x + self.scale * branch)  # the skip path: x itself, untouched


def residual_net(depth: int, width: int, in_features: int, n_classes: int, zero_init: bool = True) -> nn.Sequential:
    """Linear(in, width) + ReLU, ``depth`` ResidualBlocks, Linear(width, n_classes).

    zero_init=True: every block starts as the identity (scale 1). zero_init=False: He-initialised
    branches scaled by 1/sqrt(depth), so the output variance stays bounded.
    """
    stem = nn.Linear(in_features, width)
    nn.init.kaiming_normal_(stem.weight, nonlinearity="relu")
    nn.init.zeros_(stem.bias)
    scale = 1.0 if zero_init else 1.0 / math.sqrt(depth)
    blocks = [ResidualBlock(width, zero_init=zero_init, scale=scale) for _ in range(depth)]
    return nn.Sequential(stem, nn.ReLU(), *blocks, nn.Linear(width, n_classes))


def plain_net(depth: int, width: int, in_features: int, n_classes: int) -> nn.Sequential:
    """Finished helper: the same network without skip paths, He-initialised (lab 3)."""
    layers: list[nn.Module] = [nn.Linear(in_features, width), nn.ReLU()]
    for _ in range(2 * depth):
        layers += [nn.Linear(width, width), nn.ReLU()]
    for layer in layers:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return nn.Sequential(*layers, nn.Linear(width, n_classes))


def make_data(seed: int, n: int = 4096, in_features: int = 16, n_classes: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Finished helper: a 4-class problem a linear model can solve (labels from a random teacher)."""
    g = torch.Generator().manual_seed(1000 + seed)
    teacher = torch.randn(in_features, n_classes, generator=g)
    x = torch.randn(n, in_features, generator=g)
    return x, (x @ teacher).argmax(dim=1)


def _demo(steps: int = 60) -> None:
    """Finished helper: train the plain and the two residual networks the way the check does."""
    x, y = make_data(0)
    builds = {"plain + He": plain_net, "residual, zero-init": residual_net,
              "residual, scaled": lambda *a: residual_net(*a, zero_init=False)}
    for name, build in builds.items():
        torch.manual_seed(0)
        model = build(20, 64, 16, 4)
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        for _ in range(steps):
            idx = torch.randint(0, len(x), (128,))
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            print(f"{name:20s}: loss after {steps} steps {F.cross_entropy(model(x), y).item():.3f} (chance 1.386)")


if __name__ == "__main__":
    _demo()
