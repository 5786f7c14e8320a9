"""The doctor's "Platform" category: the OS, the CPU and the env's Python (64-bit, wheels exist).

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
    if not f.platform:
        return ""
    p = f.platform
    where = (
        f"{p.os} {p.arch}"
        + (" (WSL)" if p.wsl else "")
        + (f" macOS {p.macos_version}" if p.macos_version else "")
    )
    return where + (f", env Python {v.py.get('version')} {v.py.get('bits')}-bit" if v.py else "")


def details(v: View) -> list[str]:
    """The facts behind the category, for ``-v``."""
    facts = v.f
    lines: list[str] = []
    if not facts.platform:
        return lines
    p = facts.platform
    lines += [f"coursekit runs on Python {p.coursekit_python}"]
    if v.py:
        lines.append(
            f"env Python {v.py.get('version')} {v.py.get('bits')}-bit "
            f"{v.py.get('machine')} at {v.py.get('executable')}"
        )
    if p.apple_silicon is not None:
        lines.append(f"Apple silicon: {p.apple_silicon}")
    if p.glibc:
        lines.append(f"C library: {'musl' if p.glibc == 'musl' else 'glibc ' + p.glibc}")
    lines += matrix_lines(v)
    lines += release_check_lines(v)
    return lines


def matrix_lines(v: View) -> list[str]:
    """How old coursekit's PyTorch data is: the newest release it knows, and its date (from
    the planner the report was diagnosed with)."""
    matrix = v.planner.matrix
    if matrix is None or not matrix.releases:
        return []
    newest = matrix.newest
    when = f", released {newest.released}" if newest.released else ""
    return [
        f"PyTorch data: releases up to torch {newest.latest.torch}{when} (envs/torch-matrix.toml)"
    ]


def release_check_lines(v: View) -> list[str]:
    """What the release check said (nothing when it did not run: an old report)."""
    rc = v.f.release_check
    if rc is None:
        return []
    if rc.status in ("offline", "off"):
        var = "COURSEKIT_OFFLINE" if rc.status == "offline" else "COURSEKIT_NO_RELEASE_CHECK"
        return [f"PyTorch index: not checked for a newer release ({var} is set)"]
    if rc.status == "failed":
        return [f"PyTorch index: could not check for a newer release ({rc.detail or 'no reason'})"]
    cached = ", cached" if rc.status == "cached" else ""
    knew = f"; this report's coursekit knew up to {rc.matrix_newest}" if rc.matrix_newest else ""
    newest = rc.index_newest or "none found"
    when = f"(read {rc.checked_at}{cached})"
    return [f"PyTorch index: newest stable torch {newest} on {rc.index} {when}{knew}"]


UNIT = Category(
    "platform",
    "Platform",
    ("platform",),
    status,
    details,
    rules=rules_of("platform"),
)
