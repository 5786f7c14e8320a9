"""Grader of the fixture lab: exercises every path of the engine."""

from coursekit.grading.api import CheckFailed, LabContext, check


@check(points=1)
def imports(lab: LabContext) -> str:
    """work.py imports"""
    lab.load("work.py")
    return "imported"


@check(points=2)
def answer_is_42(lab: LabContext) -> str:
    """answer() returns 42"""
    mod = lab.load("work.py")
    value = lab.call(mod.answer)
    if value != 42:
        raise CheckFailed(f"answer() returned {value!r}, not 42")
    return "42"


@check(points=2)
def tensor_is_finite(lab: LabContext) -> str:
    """make_tensor() gives a finite tensor, measured by the grader"""
    import torch

    mod = lab.load("work.py")
    for seed in lab.seeded():
        t = lab.call(mod.make_tensor)
        if not isinstance(t, torch.Tensor):
            raise CheckFailed(f"make_tensor() returned {type(t).__name__}, not a tensor")
        total = t.detach().double().sum()
        if not torch.isfinite(total):
            raise CheckFailed(f"seed {seed}: make_tensor() returned NaN or inf values")
    lab.figure("fixture.png", lambda fig: fig.add_subplot().plot([1, 2, 3]))
    return "finite"
