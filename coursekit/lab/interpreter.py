"""Which Python grades the lab: ``--python PATH`` > this interpreter if it has torch > the course
env (named by the env spec's ``[env] name``, ``pt`` by default).

The course env is found through :func:`coursekit.setup.engines.discovery.find_env` (which asks
micromamba/mamba/conda and the embedded engine's folders); when no engine knows it, the usual
places are looked at (``$CONDA_PREFIX/envs/<name>``, the env beside an active env,
``$COURSEKIT_HOME/envs/<name>``).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from coursekit.errors import EnvironmentProblem, UsageError
from coursekit.setup.engines.base import env_python
from coursekit.setup.engines.discovery import find_env


@dataclass(frozen=True)
class PythonChoice:
    """The interpreter that will run the grader, and why it was chosen."""

    path: str
    reason: str


def env_name(environ: Mapping[str, str] | None = None) -> str:
    """The course env's name: the env spec's ``[env] name``."""
    from coursekit.setup.plan.envspec import course_env_name

    return course_env_name(environ)


def fallback_pt_python(environ: Mapping[str, str]) -> Path | None:
    """The course env's Python from well-known folders (used when the engine layer is absent)."""
    name = env_name(environ)
    candidates = []
    conda_prefix = environ.get("CONDA_PREFIX")
    if conda_prefix:
        p = Path(conda_prefix)
        candidates += [p / "envs" / name, p.parent / name]
    home = environ.get("COURSEKIT_HOME")
    if home:
        candidates.append(Path(home) / "envs" / name)
    for prefix in candidates:
        python = env_python(prefix)
        if python.is_file():
            return python
    return None


def find_pt_python() -> Path | None:
    """The course env's Python, via the engine layer, else the well-known folders."""
    location = find_env(env_name())
    if location is not None and location.confirmed:
        return Path(location.python)
    return fallback_pt_python(os.environ)


def current_has_torch() -> bool:
    """True when torch is importable here (a spec lookup: torch itself is not imported)."""
    return importlib.util.find_spec("torch") is not None


def choose_python(
    explicit: str | None,
    *,
    current: str = sys.executable,
    has_torch: Callable[[], bool] | None = None,
    find_pt: Callable[[], Path | None] | None = None,
) -> PythonChoice:
    """Apply the precedence; raises when no interpreter can grade.

    ``has_torch`` and ``find_pt`` default to this module's probes, looked up at call time.
    """
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError(
                f"--python {explicit}: no such file.",
                "Give the path of a Python interpreter that has torch installed.",
            )
        # Absolute (the grader runs in another folder, where a relative path means nothing),
        # not resolved: a venv's bin/python is a symlink to the base Python without its packages.
        return PythonChoice(os.path.abspath(path), "--python")
    if (has_torch or current_has_torch)():
        return PythonChoice(current, "this Python has torch")
    pt = (find_pt or find_pt_python)()
    name = env_name()
    if pt is not None:
        return PythonChoice(str(pt), f"the course env '{name}'")
    raise EnvironmentProblem(
        f"no Python with torch to grade with: this Python has no torch and the course env "
        f"'{name}' was not found.",
        "Run coursekit setup to create it (or pass --python PATH).",
    )
