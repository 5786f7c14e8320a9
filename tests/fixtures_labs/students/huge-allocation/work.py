"""Asks for 3 GB at once (untouched, so only an address-space cap refuses it; the lab allows 1.5 GB)."""
import torch


def answer():
    return torch.empty(750_000_000).numel()


def make_tensor():
    return torch.ones(3)
