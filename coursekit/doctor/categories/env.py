"""The doctor's "Course environment" category: the env found, its Python working, its version.

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
    if not f.env:
        return ""
    if not f.env.exists:
        return f"'{f.env.name}' not found"
    return f"{f.env.prefix or f.env.python}" + (f" via {f.env.engine}" if f.env.engine else "")


def details(v: View) -> list[str]:
    """The facts behind the category, for ``-v``."""
    facts = v.f
    lines: list[str] = []
    if not facts.env:
        return lines
    e = facts.env
    lines.append(f"engines: {', '.join(e.engines) or 'none installed'}")
    if e.python:
        lines.append(f"python: {e.python}" + (f" ({e.python_version})" if e.python_version else ""))
    lines += list(e.engine_problems)
    return lines


UNIT = Category(
    "env",
    "Course environment",
    ("env", "shell", "project"),
    status,
    details,
    rules=rules_of("env"),
)
