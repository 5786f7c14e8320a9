"""Lab 3: weight initialisation written by hand (He/Kaiming and Xavier/Glorot).

Run ``python init.py`` to compare your initialisers with ``torch.nn.init``, and
``coursekit lab 3 --check`` to have them graded.
"""

from __future__ import annotations

import math

import torch
from torch import nn

_GAINS = dict(linear=1.0, sigmoid=1.0, tanh=5 / 3, relu=2 ** 0.5)


def fans(weight: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a Linear weight (out_features, in_features)."""
    return weight.size(1), weight.size(0)


def gain(nonlinearity: str) -> float:
    return _GAINS[nonlinearity]


def _fill_normal(weight: torch.Tensor, std: float) -> torch.Tensor:
    with torch.no_grad():
        weight.copy_(torch.randn_like(weight) * std)
    return weight


def _fill_uniform(weight: torch.Tensor, bound: float) -> torch.Tensor:
    with torch.no_grad():
        weight.copy_((torch.rand_like(weight) * 2 - 1) * bound)
    return weight


def he_normal_(weight, nonlinearity="relu"):
    return _fill_normal(weight, gain(nonlinearity) / math.sqrt(fans(weight)[0]))


def he_uniform_(weight, nonlinearity="relu"):
    return _fill_uniform(weight, gain(nonlinearity) * math.sqrt(3 / fans(weight)[0]))


def xavier_normal_(weight, gain=1.0):
    fi, fo = fans(weight)
    return _fill_normal(weight, gain * math.sqrt(2 / (fi + fo)))


def xavier_uniform_(weight, gain=1.0):
    fi, fo = fans(weight)
    return _fill_uniform(weight, gain * math.sqrt(6 / (fi + fo)))


def init_net(model):
    mods = list(model)
    for layer, nxt in zip(mods, mods[1:] + [None]):
        if isinstance(layer, nn.Linear):
            if isinstance(nxt, nn.Tanh):
                xavier_normal_(layer.weight, _GAINS["tanh"])
            else:
                kind = {nn.ReLU: "relu", nn.Sigmoid: "sigmoid"}.get(type(nxt), "linear")
                he_normal_(layer.weight, kind)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model


def _compare_with_torch() -> None:
    """Print your initialisers' sample std next to torch.nn.init's."""
    shape = (100, 400)  # 100 outputs, 400 inputs: fan_in 400, fan_out 100
    rows = [
        ("he_normal_ relu", he_normal_, lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"), ("relu",)),
        ("he_uniform_ relu", he_uniform_, lambda w: nn.init.kaiming_uniform_(w, nonlinearity="relu"), ("relu",)),
        ("he_normal_ sigmoid", he_normal_, lambda w: nn.init.kaiming_normal_(w, nonlinearity="sigmoid"), ("sigmoid",)),
        ("xavier_normal_ 5/3", xavier_normal_, lambda w: nn.init.xavier_normal_(w, gain=5 / 3), (5 / 3,)),
        ("xavier_uniform_ 1", xavier_uniform_, lambda w: nn.init.xavier_uniform_(w), (1.0,)),
    ]
    for name, mine, theirs, args in rows:
        a, b = mine(torch.empty(shape), *args), theirs(torch.empty(shape))
        print(f"{name:20s} yours std {a.std():.4f}  torch.nn.init std {b.std():.4f}")


if __name__ == "__main__":
    _compare_with_torch()
