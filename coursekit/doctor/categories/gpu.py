"""The doctor's "GPU and driver" category: the GPUs, their driver, and whether torch can use them.

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
    if not f.gpu:
        return ""
    if not v.gpus:
        return (
            "no NVIDIA GPU: CPU is fine for every lab"
            if f.platform and f.platform.os != "macos"
            else "Apple GPU (MPS)"
        )
    names = ", ".join(
        g.name + (f" ({g.compute_capability or g.gfx})" if g.compute_capability or g.gfx else "")
        for g in v.gpus
    )
    return names + (f", driver {v.driver}" if v.driver else "")


def details(v: View) -> list[str]:
    """The facts behind the category, for ``-v``."""
    facts = v.f
    lines: list[str] = []
    if not facts.gpu:
        return lines
    lines += [
        f"GPU {g.index}: {g.name}, driver {g.driver_version}, compute capability "
        f"{g.compute_capability}, {g.memory_mib} MiB"
        for g in facts.gpu.gpus
    ]
    if facts.gpu.cuda_driver_api:
        lines.append(f"the driver supports CUDA up to {facts.gpu.cuda_driver_api}")
    lines += list(facts.gpu.notes)
    cvd = v.cuda_visible_devices
    lines.append(
        "CUDA_VISIBLE_DEVICES is not set" if cvd is None else f"CUDA_VISIBLE_DEVICES={cvd!r}"
    )
    return lines


UNIT = Category(
    "gpu",
    "GPU and driver",
    ("gpu",),
    status,
    details,
    rules=rules_of("gpu"),
)
