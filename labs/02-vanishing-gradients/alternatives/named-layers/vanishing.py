"""Lab 2: layers with names (fc1, act1, ...) in an OrderedDict."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


def make_mlp(depth: int, width: int, in_features: int, activation: str, init: str) -> nn.Sequential:
    named: OrderedDict[str, nn.Module] = OrderedDict()
    for i in range(1, depth + 1):
        fc = nn.Linear(width if i > 1 else in_features, width)
        if init in ("normal", "he"):
            std = 1.0 if init == "normal" else (2.0 / fc.in_features) ** 0.5
            with torch.no_grad():
                fc.weight.copy_(torch.randn_like(fc.weight) * std)
                fc.bias.fill_(0.0)
        named[f"fc{i}"] = fc
        named[f"act{i}"] = nn.ReLU() if activation == "relu" else nn.Sigmoid()
    return nn.Sequential(named)
