"""Prints while it is imported and while each function runs: the output belongs to its check."""
import torch

print("importing work.py")


def answer():
    for i in range(30):
        print(f"debug line {i}")
    return 41


def make_tensor():
    import sys
    print("tensor coming", file=sys.stderr)
    return torch.ones(3)
