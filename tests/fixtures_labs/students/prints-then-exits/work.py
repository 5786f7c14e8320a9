"""Prints, then leaves with os._exit during a check: what it printed still shows under that check."""
import os


def answer():
    print("about to leave", flush=False)
    os._exit(0)


def make_tensor():
    import torch
    return torch.ones(3)
