"""The doctor's "PyTorch" category: torch itself: its import, its build, who installed it.

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
    t = v.torch
    if t.get("status") != "ok":
        return f"import torch: {t.get('status')}"
    if not t.get("version"):  # an empty torch/ folder imports as a namespace package
        return "torch's files are missing"
    if t.get("cuda"):
        seen = ", ".join(d.get("name", "?") for d in t.get("devices") or []) or "no GPU"
        return f"{t.get('version')}, CUDA {t.get('cuda')}, sees {seen}"
    if t.get("mps_available"):
        return f"{t.get('version')}, Apple GPU (MPS)"
    return f"{t.get('version')}, CPU build"


def details(v: View) -> list[str]:
    """The facts behind the category, for ``-v``."""
    lines: list[str] = []
    if not v.torch:
        return lines
    t = v.torch
    lines += [
        f"torch.__file__ = {t.get('file')}",
        f"arch list: {' '.join(t.get('arch_list') or []) or '-'}",
        f"cuda.is_available() = {t.get('cuda_available')}, devices = {t.get('device_count')}",
        f"mps built/available = {t.get('mps_built')}/{t.get('mps_available')}",
        f"import torch took {t.get('import_s')} s",
    ]
    owners = [
        f"{d.get('name')} {d.get('version')} by {d.get('installer')} in {d.get('location')}"
        for d in v.dists("torch")
    ]
    lines += owners + [
        f"conda: {p['name']} {p['version']} {p['build']}"
        for p in v.conda_packages.values()
        if p["name"] in ("pytorch", "libtorch")
    ]
    return lines


def not_checked(v: View) -> bool:
    """torch did not import and no rule says why: never a tick for a missing torch."""
    return bool(v.probe_ok and v.torch.get("status") != "ok")


UNIT = Category(
    "torch",
    "PyTorch",
    ("probe",),
    status,
    details,
    rules=rules_of("torch"),
    not_checked=not_checked,
)
