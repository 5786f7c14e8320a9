"""A grader with a bug: the engine must say "could not grade" (exit 3), never blame the student."""

from coursekit.grading.api import LabContext, check


@check(points=1)
def imports(lab: LabContext) -> str:
    """work.py imports"""
    lab.load("work.py")
    return "imported"


@check(points=1)
def buggy(lab: LabContext) -> str:
    """a check whose own code is broken"""
    return undefined_name  # noqa: F821 - the bug under test
