"""What the course's own data says, for the doctor: the env spec's Python version.

Below :mod:`.view` and :mod:`.advice` (both need it), so neither imports the other back.
A spec that fails to load is setup's error to report: the doctor falls back to a default.
"""

from __future__ import annotations


def course_python(default: str = "3.12") -> str:
    """The Python version the course env spec asks for (``envs/course.toml``)."""
    try:
        from coursekit.setup.plan.envspec import load_spec

        return str(load_spec().python)
    except Exception:  # noqa: BLE001 - a broken spec is setup's error to report, not the doctor's
        return default
