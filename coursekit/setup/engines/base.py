"""Shared vocabulary of the environment engines: which tool, where an env lives, its Python.

An :class:`Engine` is a conda-compatible tool coursekit can drive: the user's own
``micromamba``, ``mamba`` or ``conda``, or the embedded py-rattler engine when none is
installed. An :class:`EnvLocation` is a found environment: its prefix and its Python,
confirmed by running that Python.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

EngineKind = Literal["micromamba", "mamba", "conda", "embedded"]

ENGINE_KINDS: Final[tuple[EngineKind, ...]] = ("micromamba", "mamba", "conda", "embedded")
"""Every engine ``--engine`` accepts (besides ``auto``)."""

EXTERNAL_KINDS: Final[tuple[EngineKind, ...]] = ("micromamba", "mamba", "conda")
"""Auto order for the user's own tools. micromamba and mamba 2 share one fast C++ core
(libmamba, envs/SOURCES.md P5.7); conda >= 23.10 uses the same solver but starts slower."""


@dataclass(frozen=True)
class Engine:
    """A conda-compatible tool: ``exe`` is None for the embedded engine."""

    kind: EngineKind
    exe: Path | None
    source: str  # where it was found: "MAMBA_EXE", "CONDA_EXE", "PATH", "py-rattler"

    @property
    def external(self) -> bool:
        """True for the user's own conda/mamba/micromamba."""
        return self.kind != "embedded"

    @property
    def display(self) -> str:
        """A short human label, e.g. ``mamba (/opt/miniforge3/bin/mamba)``."""
        return f"{self.kind} ({self.exe})" if self.exe else f"{self.kind} (py-rattler)"


@dataclass(frozen=True)
class EnvLocation:
    """A conda environment found on disk.

    ``confirmed`` is True only when ``python`` ran and reported ``sys.prefix == prefix``;
    otherwise ``problem`` says what went wrong (the env exists but is broken).
    """

    name: str
    prefix: Path
    python: Path
    engine: EngineKind
    confirmed: bool
    python_version: str | None = None  # "3.12.1"
    problem: str | None = None

    @property
    def python_minor(self) -> str | None:
        """``"3.12"`` from ``"3.12.1"``."""
        if not self.python_version:
            return None
        return ".".join(self.python_version.split(".")[:2])


def is_windows(os_name: str | None = None) -> bool:
    """True on Windows (or when ``os_name`` says so: ``"windows"`` / ``"nt"``)."""
    if os_name is not None:
        return os_name in ("windows", "nt", "win32")
    return sys.platform == "win32"


def env_python(prefix: Path, os_name: str | None = None) -> Path:
    """The Python of a conda env: ``python.exe`` at the prefix root on Windows, ``bin/python``
    elsewhere (conda's own rule, ``conda/common/path/python.py``)."""
    if is_windows(os_name):
        return prefix / "python.exe"
    return prefix / "bin" / "python"


def env_bin_dirs(prefix: Path, os_name: str | None = None) -> tuple[Path, ...]:
    """Folders a conda env puts on PATH when activated (conda's ``_get_path_dirs``)."""
    if is_windows(os_name):
        lib = prefix / "Library"
        return (
            prefix,
            lib / "mingw-w64" / "bin",
            lib / "usr" / "bin",
            lib / "bin",
            prefix / "Scripts",
            prefix / "bin",
        )
    return (prefix / "bin",)


def env_script(prefix: Path, name: str, os_name: str | None = None) -> Path:
    """An entry-point script of the env (``jupyter``, ``nbdime``, ``git-nbdiffdriver``)."""
    if is_windows(os_name):
        return prefix / "Scripts" / f"{name}.exe"
    return prefix / "bin" / name


def is_conda_env(prefix: Path) -> bool:
    """True when ``prefix`` holds a ``conda-meta`` folder (what conda itself tests)."""
    return (prefix / "conda-meta").is_dir()


def same_path(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Compare two paths after resolving links and case (Windows)."""
    ra = os.path.normcase(os.path.realpath(a))
    rb = os.path.normcase(os.path.realpath(b))
    return ra == rb
