"""The doctor's "Jupyter kernels" category: the Jupyter kernels that can start the env's Python.

Its title, status text, ``-v`` detail lines, the checks whose facts it reads and its rules,
in one unit (:class:`~coursekit.doctor.categories.base.Category`).
"""

from __future__ import annotations

from coursekit.doctor.categories.base import Category
from coursekit.doctor.engine import rules_of
from coursekit.doctor.view import View


def status(v: View) -> str:
    """The short text after the title ('' when the facts are unknown)."""
    f = v.f
    if not (f.kernels is not None):
        return ""
    return ", ".join(sorted({k.name for k in f.kernels})) or "no kernels"


def details(v: View) -> list[str]:
    """The facts behind the category, for ``-v``."""
    facts = v.f
    lines: list[str] = []
    if not (facts.kernels is not None):
        return lines
    lines += [f"{k.name} ({k.scope}): {k.argv0} [{k.directory}]" for k in facts.kernels]
    return lines


UNIT = Category(
    "jupyter",
    "Jupyter kernels",
    ("kernels",),
    status,
    details,
    rules=rules_of("jupyter"),
)
