"""What the planner would do for a machine: the planner the doctor's report hands its rules.

The doctor does not keep its own PyTorch tables: :func:`course_planner` is the course's data
(:mod:`.course`: the env spec, the planner's matrix and gates) plus the selector's choice
(:func:`coursekit.setup.plan.compose.make_plan`, the same pure planner ``coursekit setup``
runs), so a fix line says exactly what ``coursekit setup`` would install. The rules receive it
through their view (:mod:`.planning`, issue 9) and never import this module; whoever builds a
report (:mod:`.report`, :mod:`.diagnose`, :mod:`.fixes`) asks for it here. A matrix that fails
to load gives no advice rather than an error (the doctor must still report everything else).

:func:`suggest_backend`, :func:`driver_minimum` and :func:`matrix_or_none` answer for the course
planner directly (for tests and tools that hold no view).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from coursekit.doctor import planning
from coursekit.doctor.course import (
    CoursePlanner,
    cached_spec,
    course_data,
    matrix_or_none,
    spec_key,
)
from coursekit.doctor.planning import ArchOption, BackendAdvice, covers, sm_name
from coursekit.doctor.view import View
from coursekit.host import HostInfo

__all__ = [
    "ArchOption",
    "BackendAdvice",
    "course_planner",
    "covers",
    "driver_minimum",
    "matrix_or_none",
    "sm_name",
    "suggest_backend",
]


def course_planner() -> CoursePlanner:
    """The course's planner with the selector's backend advice: what the rules are handed."""
    return course_data(choose=_choose)


def _choose(host: HostInfo) -> BackendAdvice | None:
    try:
        key = spec_key()
        hash(host)
    except Exception:  # noqa: BLE001 - no advice beats a crashed doctor
        return None
    return _advice_for(host, key)


@lru_cache(maxsize=256)
def _advice_for(host: Any, key: tuple[str, int]) -> BackendAdvice | None:
    """The planner's choice for one machine (pure; cached: a class has many alike)."""
    try:
        from coursekit.setup.plan.compose import make_plan

        # The same pure planner `coursekit setup` runs, with the course's env spec pins.
        plan = make_plan(cached_spec(*key), host, matrix=matrix_or_none())
    except Exception:  # noqa: BLE001 - no advice beats a crashed doctor
        return None
    choice = plan.torch
    return BackendAdvice(
        choice.backend, choice.version, "; ".join(plan.reasons[:2]), choice.pins(), choice.index_url
    )


def suggest_backend(view: View) -> BackendAdvice | None:
    """The selector's choice for the machine in ``view``'s facts (None when it cannot say)."""
    return View(view.f, course_planner()).advice


def driver_minimum(cuda: str, driver_table: str) -> str | None:
    """The lowest NVIDIA driver that runs CUDA ``cuda`` on ``linux``/``windows`` (the planner's
    driver table; :func:`coursekit.doctor.planning.driver_minimum`)."""
    return planning.driver_minimum(cuda, driver_table, matrix_or_none())
