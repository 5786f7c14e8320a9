"""What the course's own data says, for the doctor: the env spec (its Python version, its torch pin).

Below :mod:`.view` and :mod:`.advice` (both need it), so neither imports the other back.
A spec that fails to load is setup's error to report: the doctor falls back to a default.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _spec() -> Any:
    from coursekit.setup.plan.envspec import load_spec

    return load_spec()


def spec_or_none() -> Any:
    """The course env spec (``envs/course.toml``, read once), or None when it cannot be loaded."""
    try:
        return _spec()
    except Exception:  # noqa: BLE001 - a broken spec is setup's error to report, not the doctor's
        return None


def course_python(default: str = "3.12") -> str:
    """The Python version the course env spec asks for (``envs/course.toml``)."""
    spec = spec_or_none()
    return str(spec.python) if spec is not None else default
