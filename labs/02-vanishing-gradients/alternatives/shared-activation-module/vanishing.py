"""Lab 2: vanishing gradients in a deep MLP, and the fix.

Run ``python vanishing.py`` to measure the four networks yourself.
"""

from __future__ import annotations

from torch import nn

ACTIVATION = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}


def make_mlp(depth: int, width: int, in_features: int, activation: str, init: str) -> nn.Sequential:
    """``depth`` hidden layers, each ``Linear -> activation``; the first takes ``in_features``.

    activation: "sigmoid" or "relu".
    init: "default" keeps PyTorch's own initialisation; "normal" draws every weight from
    N(0, 1); "he" uses He (Kaiming) normal initialisation for ReLU, fan_in mode.
    With "normal" and "he" every bias is set to zero.
    """
    layers: list[nn.Module] = []
    act = ACTIVATION[activation]()
    for i in range(depth):
        linear = nn.Linear(in_features if i == 0 else width, width)
        if init == "normal":
            nn.init.normal_(linear.weight, mean=0.0, std=1.0)
            nn.init.zeros_(linear.bias)
        elif init == "he":
            nn.init.kaiming_normal_(linear.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(linear.bias)
        elif init != "default":
            raise ValueError(f"unknown init {init!r}")
        layers += [linear, act]
    return nn.Sequential(*layers)


if __name__ == "__main__":
    import torch
    from flowtools import gradient_flow, layer_stats

    torch.manual_seed(0)
    x, readout = torch.randn(256, 256), torch.randn(256, 1) / 16
    for activation, init in (("sigmoid", "normal"), ("sigmoid", "default"), ("relu", "default"),
                             ("relu", "he")):
        stats = layer_stats(make_mlp(20, 256, 256, activation, init), x,
                            lambda out: (out @ readout).sum())
        saturated = sum(s.saturated for s in stats) / len(stats)
        print(f"{activation:>7} + {init:<7}  flow {gradient_flow(stats):+7.2f}   "
              f"saturated {saturated:.2f}   last-layer act std {stats[-1].act_std:.3f}")
