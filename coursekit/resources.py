"""Where the data folders ``envs/`` and ``labs/`` are, in a checkout and in an installed wheel.

In the repository (and an editable install) they sit beside the package; the wheel
carries them as ``coursekit/_data/{envs,labs}`` (see ``pyproject.toml``).
"""

from __future__ import annotations

from pathlib import Path

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


def envs_dir() -> Path:
    """The ``envs/`` folder (environment spec and PyTorch matrix)."""
    return data_dir("envs")


def labs_dir() -> Path:
    """The ``labs/`` folder (lab content and graders)."""
    return data_dir("labs")
