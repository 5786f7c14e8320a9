"""Allocates without bound."""
import torch


def answer():
    keep = []
    while True:
        keep.append(torch.ones(25_000_000))  # 100 MB each


def make_tensor():
    return torch.ones(3)
