"""What the course's own data says, for the doctor: the env spec (its Python version, its torch
pin).

Below :mod:`.view` and :mod:`.advice` (both need it), so neither imports the other back.
A spec that fails to load is setup's error to report: the doctor falls back to a default.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any


def spec_or_none() -> Any:
    """The course env spec in force (read once per file version), or None when it cannot be
    loaded."""
    try:
        return cached_spec(*spec_key())
    except Exception:  # noqa: BLE001 - a broken spec is setup's error to report, not the doctor's
        return None


def course_python(default: str = "3.12") -> str:
    """The Python version the course env spec asks for (``envs/course.toml``)."""
    spec = spec_or_none()
    return str(spec.python) if spec is not None else default


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
