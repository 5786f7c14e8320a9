"""Counts its runs in places that outlive a module (builtins, a torch attribute): a fresh
process per grading run prints 1 every time."""
import builtins

import torch

builtins.coursekit_runs = getattr(builtins, "coursekit_runs", 0) + 1
torch.coursekit_runs = getattr(torch, "coursekit_runs", 0) + 1
print(f"runs {builtins.coursekit_runs} {torch.coursekit_runs}")


def answer():
    return 42


def make_tensor():
    return torch.ones(3)
