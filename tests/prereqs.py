"""Test prerequisites found by discovery, never by a machine path; missing ones fail under CI.

Interpreters are found the way a developer's machine holds them: an environment variable that
``.ci/run`` sets (``COURSEKIT_TEST_PY312=/path/to/python3.12``), ``pythonX.Y`` on PATH (pyenv's
shims resolve through the interpreter itself), ``pyenv root`` (or ``PYENV_ROOT``), or the
Windows launcher ``py -X.Y``. Each candidate is asked for its own ``sys.executable``, version
and whether it is a base interpreter (not a venv), so a shim or a venv is never mistaken.

:func:`missing` is how a test says its prerequisite is absent: locally it skips with the reason;
under ``CI=true`` the run fails and names what is missing, so an integration suite cannot go
quietly untested. The only prerequisites allowed to be absent in CI are in :data:`CI_MAY_LACK`.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

CI_MAY_LACK = frozenset({"conda", "mamba", "micromamba"})
"""Real conda tools: a course machine has them, CI machines have none (documented in the README)."""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(what: str, reason: str) -> NoReturn:
    """Skip (locally) or fail (under CI, unless ``what`` is allowed to be absent)."""
    if in_ci() and what not in CI_MAY_LACK:
        pytest.fail(f"CI: prerequisite {what!r} is missing: {reason}. Install it in .ci/run.", pytrace=False)
    pytest.skip(reason)


def need_module(name: str) -> object:
    """``pytest.importorskip`` that fails under CI."""
    if importlib.util.find_spec(name) is None:
        missing(name, f"the Python module {name!r} is not installed")
    return __import__(name)


def _ask(candidate: str | Path) -> dict[str, object] | None:
    code = ("import json, sys; print(json.dumps({'exe': sys.executable, 'version': "
            "'.'.join(map(str, sys.version_info[:3])), 'base': sys.prefix == sys.base_prefix}))")
    try:
        out = subprocess.run([str(candidate), "-I", "-c", code], capture_output=True, text=True,
                             timeout=30, check=False,
                             env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")})
        data: dict[str, object] = json.loads(out.stdout)
        return data
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def _pyenv_roots() -> list[Path]:
    roots = [Path(os.environ["PYENV_ROOT"])] if os.environ.get("PYENV_ROOT") else []
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=30, check=False)
            if out.returncode == 0 and out.stdout.strip():
                roots.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    return roots


@functools.cache
def find_python(version: str, *, base: bool = True) -> Path | None:
    """A real interpreter whose version starts with ``version`` ("3.12", "3.12.1"); None if none.

    ``base``: only a base interpreter (not a venv); the conda-channel fake links its Python.
    """
    major_minor = ".".join(version.split(".")[:2])
    candidates: list[str | Path] = []
    env_name = "COURSEKIT_TEST_PY" + major_minor.replace(".", "")
    if os.environ.get(env_name):
        candidates.append(os.environ[env_name])
    for name in (f"python{major_minor}",):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    for root in _pyenv_roots():
        candidates += sorted((root / "versions").glob(f"{version}*/bin/python{major_minor}"))
    launcher = shutil.which("py")
    if launcher and os.name == "nt":
        candidates.append(launcher)  # handled below with -X.Y
    for candidate in candidates:
        info = _ask(candidate)
        if not info:
            continue
        if str(info["version"]).startswith(version) and (info["base"] or not base):
            return Path(str(info["exe"]))
    return None


def require_python(version: str, *, base: bool = True) -> Path:
    """:func:`find_python`, or skip/fail (CI) naming what is missing."""
    found = find_python(version, base=base)
    if found is None:
        missing(f"python{version}", f"no {'base ' if base else ''}Python {version} found "
                f"(set COURSEKIT_TEST_PY{''.join(version.split('.')[:2])}, or put python"
                f"{'.'.join(version.split('.')[:2])} on PATH)")
    return found
