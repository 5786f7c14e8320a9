import torch


def answer():
    return 41


def make_tensor():
    return torch.ones(3)
