"""Shadows a Tensor method inherited from TensorBase (a new name on the class, not a rebinding)."""
import torch

torch.Tensor.sum = lambda self, *a, **k: torch.tensor(0.0)


def answer():
    return 42


def make_tensor():
    return torch.full((3,), float("nan"))
