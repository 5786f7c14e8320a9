"""The doctor's categories, one module each (a flutter doctor validator per module):
title, status text, ``-v`` detail lines, the checks whose facts it reads, and its rules.

The renderer draws every category the same way from these units; :data:`UNITS` is the display
order. Adding a category is one module here plus its catalogue entries.
"""

from __future__ import annotations

from coursekit.doctor.categories import (
    env,
    gpu,
    jupyter,
    packages,
    pip_,
    platform,
    resources,
    torch_,
)
from coursekit.doctor.categories.base import Category

UNITS: tuple[Category, ...] = (
    platform.UNIT,
    gpu.UNIT,
    env.UNIT,
    torch_.UNIT,
    packages.UNIT,
    jupyter.UNIT,
    pip_.UNIT,
    resources.UNIT,
)


def unit(category: str) -> Category:
    """The unit of category ``category`` (KeyError if unknown)."""
    for u in UNITS:
        if u.id == category:
            return u
    raise KeyError(category)
