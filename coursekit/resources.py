"""Where the data folders ``envs/`` and ``labs/`` are (in a checkout and in an installed wheel),
coursekit's own state folder, and the one TOML reader for the data files.

In the repository (and an editable install) they sit beside the package; the wheel
carries them as ``coursekit/_data/{envs,labs}`` (see ``pyproject.toml``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coursekit.constants import EnvVars
from coursekit.errors import SpecError

PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``envs`` or ``labs``, wherever this coursekit was installed from."""
    for candidate in (PACKAGE_DIR / "_data" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    from coursekit.errors import EnvironmentProblem

    raise EnvironmentProblem(
        f"coursekit's data folder '{name}' is missing from {PACKAGE_DIR}.",
        "Reinstall coursekit: python -m pip install --force-reinstall coursekit",
    )


def coursekit_home(env: Mapping[str, str] | None = None) -> Path:
    """coursekit's own state folder (progress file, the built-in engine's envs, the setup lock):
    ``COURSEKIT_HOME``, else the per-user data folder (platformdirs)."""
    value = (os.environ if env is None else env).get(EnvVars.HOME)
    if value:
        return Path(value)
    import platformdirs  # lazy: only needed when COURSEKIT_HOME is unset

    return Path(platformdirs.user_data_dir("coursekit", appauthor=False))


def envs_dir() -> Path:
    """The ``envs/`` folder (environment spec and PyTorch matrix)."""
    return data_dir("envs")


def labs_dir() -> Path:
    """The ``labs/`` folder (lab content and graders)."""
    return data_dir("labs")


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a SpecError naming the file."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except FileNotFoundError:
        raise SpecError(
            f"{path}: file not found.",
            f"Check the path (or unset {EnvVars.SPEC} to use the course's spec).",
        ) from None
    except OSError as exc:
        raise SpecError(
            f"{path}: cannot be read: {exc}.", "Check the file's permissions."
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            f"{path}: not valid TOML: {exc}.",
            "Fix the syntax at the line shown (see envs/README.md for the format).",
        ) from None
