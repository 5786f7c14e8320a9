"""Lab 2: vanishing gradients in a deep MLP, and the fix (blocks, weights drawn by hand)."""

from __future__ import annotations

import math

import torch
from torch import nn


def _block(n_in: int, n_out: int, activation: str, init: str) -> nn.Sequential:
    linear = nn.Linear(n_in, n_out)
    with torch.no_grad():
        if init == "normal":
            linear.weight.normal_()  # N(0, 1)
            linear.bias.zero_()
        elif init == "he":
            linear.weight.normal_(0.0, math.sqrt(2.0 / n_in))  # He: std sqrt(2 / fan_in)
            linear.bias.zero_()
        elif init != "default":
            raise ValueError(f"unknown init {init!r}")
    act = nn.Sigmoid() if activation == "sigmoid" else nn.ReLU()
    return nn.Sequential(linear, act)


def make_mlp(depth: int, width: int, in_features: int, activation: str, init: str) -> nn.Sequential:
    """``depth`` blocks of (Linear -> activation), each block its own small Sequential."""
    sizes = [in_features] + [width] * depth
    return nn.Sequential(*(_block(a, b, activation, init) for a, b in zip(sizes, sizes[1:])))
