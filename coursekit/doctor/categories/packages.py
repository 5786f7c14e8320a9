"""The doctor's "torchvision, torchaudio, NumPy, Lightning" category: the packages beside torch.

Its title, status text, ``-v`` detail lines, the checks whose facts it reads and its rules,
in one unit (:class:`~coursekit.doctor.categories.base.Category`).
"""

from __future__ import annotations

from coursekit.doctor.categories.base import Category
from coursekit.doctor.engine import rules_of
from coursekit.doctor.view import View


def status(v: View) -> str:
    """The short text after the title ('' when the facts are unknown)."""
    if not v.probe_ok:
        return ""
    parts = [
        f"{n} {v.dist_version(n)}"
        for n in ("torchvision", "torchaudio", "numpy", "lightning")
        if v.dist_version(n)
    ]
    return ", ".join(parts) or "none installed"


def details(v: View) -> list[str]:
    """The facts behind the category, for ``-v`` (its packages are in the status line)."""
    return []


UNIT = Category(
    "packages",
    "torchvision, torchaudio, NumPy, Lightning",
    ("probe",),
    status,
    details,
    rules=rules_of("packages"),
)
