"""The doctor's "Disk and memory" category: disk space and memory.

Its title, status text, ``-v`` detail lines, the checks whose facts it reads and its rules,
in one unit (:class:`~coursekit.doctor.categories.base.Category`).
"""

from __future__ import annotations

from coursekit.doctor.categories.base import Category, gb
from coursekit.doctor.engine import rules_of
from coursekit.doctor.view import View


def status(v: View) -> str:
    """The short text after the title ('' when the facts are unknown)."""
    f = v.f
    if not (f.disks or f.memory):
        return ""
    disk = min((d.free_mib for d in f.disks or ()), default=None)
    return ", ".join(
        p
        for p in (
            f"{gb(disk)} free" if disk is not None else "",
            f"{gb(f.memory.total_mib)} RAM" if f.memory else "",
        )
        if p
    )


def details(v: View) -> list[str]:
    """The facts behind the category, for ``-v``."""
    facts = v.f
    lines: list[str] = []
    lines += [
        f"{d.label}: {d.path} {gb(d.free_mib)} free of {gb(d.total_mib)}" for d in facts.disks or ()
    ]
    if facts.memory:
        lines.append(
            f"RAM: {gb(facts.memory.available_mib)} available of {gb(facts.memory.total_mib)}"
        )
    return lines


UNIT = Category(
    "resources",
    "Disk and memory",
    ("memory", "disk"),
    status,
    details,
    rules=rules_of("resources"),
)
