import torch


def answer():
    return 42


def make_tensor():
    return torch.full((3,), float("nan"))
