"""Leaves the process with os._exit(0) (cannot be caught): must not turn into a pass."""
import os


def answer():
    os._exit(0)


def make_tensor():
    import torch
    return torch.ones(3)
