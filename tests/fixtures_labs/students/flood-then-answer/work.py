"""Prints ~30 MB, then answers correctly: the output is capped, the verdict stays right."""
import sys

import torch


def answer():
    line = "spam " * 200 + "\n"
    for _ in range(30_000):
        sys.stdout.write(line)
    return 42


def make_tensor():
    return torch.ones(3)
