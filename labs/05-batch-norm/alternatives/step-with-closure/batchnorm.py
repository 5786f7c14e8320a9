"""Lab 5: batch normalisation between the Linear layer and the activation.

Run ``python batchnorm.py`` to train a 10-layer sigmoid net with and without batch
normalisation, and ``coursekit lab 5 --check`` to have your code graded.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def bn_block(in_features: int, out_features: int, activation: nn.Module) -> nn.Sequential:
    """Linear(in, out, bias=False) -> BatchNorm1d(out) -> activation.

    BatchNorm subtracts the batch mean of every feature, so a Linear bias would be cancelled:
    BN's own shift (beta) takes its place (Ioffe & Szegedy 2015, Sec. 3.2).
    """
    return nn.Sequential(
        nn.Linear(in_features, out_features, bias=False),
        nn.BatchNorm1d(out_features),  # normalises the Linear's out_features outputs
        activation,
    )


def sigmoid_net(depth: int, width: int, in_features: int, n_classes: int, batch_norm: bool) -> nn.Sequential:
    """``depth`` hidden sigmoid layers of ``width`` units and a Linear output of ``n_classes``.

    Without batch norm each hidden layer is Linear -> Sigmoid; with it, bn_block(..., nn.Sigmoid()).
    """
    layers: list[nn.Module] = []
    n_in = in_features
    for _ in range(depth):
        if batch_norm:
            layers.append(bn_block(n_in, width, nn.Sigmoid()))
        else:
            layers += [nn.Linear(n_in, width), nn.Sigmoid()]
        n_in = width
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    """One step of cross-entropy training in train mode; return the loss as a float."""
    model.train(True)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)
        loss.backward()
        return loss

    return optimizer.step(closure).detach()


def predict(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's logits for ``x`` at test time: eval mode (running statistics), no gradient."""
    model.eval()  # BatchNorm: use the running mean/variance, leave them unchanged
    with torch.no_grad():
        return model(x)


def make_data(seed: int, n: int = 4096, in_features: int = 16, n_classes: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    """Finished helper: a 4-class problem a linear model can solve (labels from a random teacher)."""
    g = torch.Generator().manual_seed(1000 + seed)
    teacher = torch.randn(in_features, n_classes, generator=g)
    x = torch.randn(n, in_features, generator=g)
    return x, (x @ teacher).argmax(dim=1)


def small_gaussian_init_(model: nn.Module, std: float = 0.1) -> nn.Module:
    """Finished helper: every Linear weight from N(0, std^2), biases zero (Ioffe & Szegedy, Sec. 4.1)."""
    for layer in model.modules():
        if isinstance(layer, nn.Linear):
            nn.init.normal_(layer.weight, 0.0, std)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model


def _demo(steps: int = 150) -> None:
    """Finished helper: train both nets and print the loss and accuracy (python batchnorm.py)."""
    x, y = make_data(0)
    for batch_norm in (False, True):
        torch.manual_seed(0)
        model = small_gaussian_init_(sigmoid_net(10, 64, 16, 4, batch_norm))
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for step in range(steps):
            idx = torch.randint(0, len(x), (64,))
            loss = train_step(model, opt, x[idx], y[idx])
            if step % 50 == 0 or step == steps - 1:
                print(f"batch_norm={batch_norm!s:5s} step {step:3d} loss {loss:.3f}")
        accuracy = (predict(model, x).argmax(dim=1) == y).float().mean().item()
        print(f"batch_norm={batch_norm!s:5s} accuracy {accuracy:.2f} (chance 0.25)")


if __name__ == "__main__":
    _demo()
