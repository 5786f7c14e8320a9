"""What the course's own data says, for the doctor: the env spec (its Python version, its torch
pin) and the planner's matrix and gates, as a :class:`~coursekit.doctor.planning.Planner`.

:func:`course_data` is the planner handed down to the rules (issue 9: they no longer ask
``envs/`` themselves); it gives backend advice only when :mod:`.advice` passes it the
selector's choice (setup's verify step needs none: its facts hold no platform to plan for).
A spec or matrix that fails to load is setup's error to report: the doctor falls back to a
default and gives no advice. May import :mod:`coursekit.setup.plan`'s data and gates, never
its selector (that is :mod:`.advice`, one level up).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

from coursekit.doctor.planning import BackendAdvice
from coursekit.host import HostInfo


def spec_or_none() -> Any:
    """The course env spec in force (read once per file version), or None when it cannot be
    loaded."""
    try:
        return cached_spec(*spec_key())
    except Exception:  # noqa: BLE001 - a broken spec is setup's error to report, not the doctor's
        return None


@lru_cache(maxsize=8)
def cached_spec(path: str, mtime_ns: int) -> Any:
    """The env spec, parsed once per file version (class triage diagnoses hundreds of reports)."""
    from coursekit.setup.plan.envspec import load_spec

    return load_spec(Path(path))


def spec_key() -> tuple[str, int]:
    """(path, mtime) of the env spec in force: ``$COURSEKIT_ENV_SPEC`` or the bundled one."""
    path = _spec_path(os.environ.get("COURSEKIT_ENV_SPEC") or None)
    return str(path), path.stat().st_mtime_ns


@lru_cache(maxsize=8)
def _spec_path(override: str | None) -> Path:
    from coursekit.setup.plan.envspec import default_spec_path

    return default_spec_path({"COURSEKIT_ENV_SPEC": override} if override else {})


@lru_cache(maxsize=1)
def _matrix() -> Any:
    from coursekit.setup.plan.matrix import load_matrix

    return load_matrix()


def matrix_or_none() -> Any:
    """The planner's matrix, or None when it cannot be loaded."""
    try:
        return _matrix()
    except Exception:  # noqa: BLE001 - advice is optional; the findings still stand
        return None


@dataclass(frozen=True)
class CoursePlanner:
    """The course's data as the rules see it (a :class:`~coursekit.doctor.planning.Planner`):
    the env spec, the planner's matrix and gates, and ``choose``, the selector's choice for a
    machine (None: no backend advice)."""

    pure_gates: ClassVar[bool] = True  # the gates depend on their arguments alone (per_planner)
    matrix: Any = None
    spec: Any = None
    choose: Callable[[HostInfo], BackendAdvice | None] | None = None
    _advice: dict[HostInfo, BackendAdvice | None] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    """The choice per machine, asked once per planner (a class triage asks for every report,
    and many machines are alike; ``choose`` is pure)."""

    @property
    def course_python(self) -> str:
        """The Python version the course env spec asks for (``envs/course.toml``)."""
        return str(self.spec.python) if self.spec is not None else "3.12"

    def backend(self, host: HostInfo) -> BackendAdvice | None:
        if self.choose is None or self.matrix is None:
            return None
        try:
            return self._advice[host]
        except KeyError:
            advice = self._advice[host] = self.choose(host)
            return advice
        except TypeError:  # a machine with an unhashable fact: asked afresh
            return self.choose(host)

    def coverage(self, variant: Any, capability: str, platform: str) -> str | None:
        from coursekit.setup.plan.gates import coverage

        return coverage(variant, capability, platform)

    def platform_key(self, host: HostInfo) -> str:
        from coursekit.setup.plan.gates import platform_key

        return platform_key(host)

    def driver_os(self, host: HostInfo) -> str:
        from coursekit.setup.plan.gates import driver_os

        return driver_os(host)


def course_data(choose: Callable[[HostInfo], BackendAdvice | None] | None = None) -> CoursePlanner:
    """The course's spec and matrix as they are now (each read once per file version)."""
    return CoursePlanner(matrix_or_none(), spec_or_none(), choose)
