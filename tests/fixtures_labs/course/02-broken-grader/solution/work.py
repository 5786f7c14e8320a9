"""Fixture solution."""

import torch


def answer() -> int:
    return 42


def make_tensor():
    return torch.ones(3)
