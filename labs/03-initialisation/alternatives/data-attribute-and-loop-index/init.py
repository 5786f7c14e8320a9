"""Lab 3: weight initialisation written by hand (He/Kaiming and Xavier/Glorot).

Run ``python init.py`` to compare your initialisers with ``torch.nn.init``, and
``coursekit lab 3 --check`` to have them graded.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# The gains PyTorch uses (torch.nn.init.calculate_gain): the factor that undoes what the
# nonlinearity does to the variance. ReLU zeroes half its inputs, so it halves the second
# moment and needs sqrt(2) (He et al. 2015, Sec. 2.2); tanh squashes, 5/3 keeps it alive.
_GAINS = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0)}


def fans(weight: torch.Tensor) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a Linear weight of shape ``(out_features, in_features)``."""
    fan_out, fan_in = weight.shape
    return fan_in, fan_out


def gain(nonlinearity: str) -> float:
    """The gain for ``nonlinearity``: 'linear' and 'sigmoid' 1, 'tanh' 5/3, 'relu' sqrt(2)."""
    return _GAINS[nonlinearity]


def he_normal_(weight: torch.Tensor, nonlinearity: str = "relu") -> torch.Tensor:
    """Fill ``weight`` in place from N(0, std^2) with std = gain / sqrt(fan_in); return it."""
    fan_in, _ = fans(weight)
    std = gain(nonlinearity) / math.sqrt(fan_in)
    return weight.data.normal_(0.0, std)  # .data: no autograd history, same storage


def he_uniform_(weight: torch.Tensor, nonlinearity: str = "relu") -> torch.Tensor:
    """Fill ``weight`` in place from U(-b, b) with b = gain * sqrt(3 / fan_in); return it."""
    fan_in, _ = fans(weight)
    bound = gain(nonlinearity) * math.sqrt(3.0 / fan_in)  # U(-b, b) has variance b^2 / 3
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


def xavier_normal_(weight: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Fill ``weight`` in place from N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(weight)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    with torch.no_grad():
        return weight.normal_(0.0, std)


def xavier_uniform_(weight: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
    """Fill ``weight`` in place from U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = fans(weight)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return weight.uniform_(-bound, bound)


def init_net(model: nn.Sequential) -> nn.Sequential:
    """Initialise every Linear of ``model`` for the activation that follows it; biases to zero.

    ReLU -> He normal (gain sqrt 2); Tanh -> Xavier normal with the tanh gain 5/3;
    Sigmoid -> He normal with nonlinearity='sigmoid' (gain 1); nothing -> 'linear' (gain 1).
    """
    n = len(model)
    for i in range(n):
        layer = model[i]
        if type(layer) is not nn.Linear:
            continue
        after = model[i + 1] if i < n - 1 else None
        if isinstance(after, nn.ReLU):
            he_normal_(layer.weight, "relu")
        elif isinstance(after, nn.Tanh):
            fan_in, fan_out = fans(layer.weight)
            with torch.no_grad():
                layer.weight.normal_(0.0, gain("tanh") * math.sqrt(2.0 / (fan_in + fan_out)))
        elif isinstance(after, nn.Sigmoid):
            he_normal_(layer.weight, "sigmoid")
        else:
            he_normal_(layer.weight, "linear")
        if layer.bias is not None:
            layer.bias.data.fill_(0.0)
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
