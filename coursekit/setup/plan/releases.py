"""The PyTorch matrix's value types: releases, wheel variants, driver minimums (no file reading).

Below :mod:`.gates` and :mod:`.matrix` (which loads and validates ``envs/*.toml`` into these
frozen dataclasses), so the gates need only the values, not the loader (issue 9: one import
level less under everything that plans). May import the core's :mod:`coursekit.errors` only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from packaging.version import Version

from coursekit.errors import UsageError

PLATFORMS: Final = ("linux-x86_64", "linux-arm64", "windows-x86_64", "macos-arm64")
COMPANIONS: Final = ("torchvision", "torchaudio")


@lru_cache(maxsize=1024)
def parse_cc(text: str) -> tuple[int, int]:
    """``"8.6"`` -> ``(8, 6)`` (pure, and asked a hundred times per plan: cached)."""
    major, minor = text.split(".")
    return int(major), int(minor)


@lru_cache(maxsize=1024)
def parse_driver(text: str) -> Version:
    """``"580.65.06"`` -> ``Version("580.65.6")``: driver and CUDA versions are ordered with
    ``packaging.version`` like every version in coursekit (``.major`` is the branch). Cached
    (a Version is immutable; a class's plans compare the same few drivers many times)."""
    return Version(text)


@dataclass(frozen=True)
class Variant:
    """One wheel variant (``cu130``, ``rocm7.2``, ``cpu``, ``pypi``) of one release."""

    backend: str
    platforms: tuple[str, ...]
    sm: tuple[str, ...] = ()
    ptx: tuple[str, ...] = ()
    ptx_platforms: tuple[str, ...] = ()
    experimental: bool = False
    no_local_tag_on: tuple[str, ...] = ()
    source: str = ""
    verified: bool = True
    note: str = ""
    unverified: str = ""
    """What is unverified when ``verified`` is false (shown in the plan's reasons)."""
    companions_missing: tuple[str, ...] = ()
    """Companions (``torchaudio``) this variant's index does not carry for the release."""
    glibc: str | None = None
    """The oldest glibc its Linux wheels run on (their manylinux baseline), None when unknown."""
    eol_note: str = ""
    """An end-of-line warning shown when a GPU depends on this variant alone."""

    @property
    def kind(self) -> str:
        """``cuda``, ``rocm``, ``cpu`` or ``pypi``."""
        if self.backend.startswith("cu"):
            return "cuda"
        if self.backend.startswith("rocm"):
            return "rocm"
        return self.backend

    @property
    def cuda(self) -> str | None:
        """``cu130`` -> ``"13.0"``; None for other kinds."""
        if self.kind != "cuda":
            return None
        digits = self.backend[2:]
        return f"{digits[:-1]}.{digits[-1]}"

    def local_tag(self, platform: str) -> str:
        """The ``+tag`` its wheels carry on ``platform`` (``""`` for none)."""
        if self.kind == "pypi" or platform in self.no_local_tag_on:
            return ""
        return self.backend

    def ptx_on(self, platform: str) -> tuple[str, ...]:
        """The PTX targets this variant carries on ``platform``."""
        return self.ptx if platform in self.ptx_platforms else ()


@dataclass(frozen=True)
class TorchVersion:
    """One torch release with the torchvision and torchaudio that go with it."""

    torch: str
    torchvision: str
    torchaudio: str


@dataclass(frozen=True)
class Release:
    """A release line (``2.13``): Pythons, versions, variants, PyPI defaults."""

    line: str
    python: tuple[str, ...]
    versions: tuple[TorchVersion, ...]
    pypi_default: Mapping[str, str]
    variants: tuple[Variant, ...]
    verified: bool = True
    sources: Mapping[str, str] = field(default_factory=dict)
    unverified: str = ""
    glibc: str | None = None
    """The oldest glibc its Linux wheels run on (manylinux baseline); a variant may say
    otherwise."""
    released: str | None = None
    """The date its first version was published (``YYYY-MM-DD``)."""

    @property
    def key(self) -> tuple[int, int]:
        major, minor = self.line.split(".")
        return int(major), int(minor)

    @property
    def latest(self) -> TorchVersion:
        return self.versions[-1]

    def variants_for(self, platform: str) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if platform in v.platforms)

    def glibc_for(self, variant: Variant) -> str | None:
        """The glibc a Linux wheel of ``variant`` needs (the variant's own, else the release's)."""
        return variant.glibc or self.glibc


@dataclass(frozen=True)
class DriverRequirement:
    """Driver minimums for one CUDA version (NVIDIA release notes Tables 2 and 3)."""

    cuda: str
    minimum: Mapping[str, str]
    full: Mapping[str, str]
    source: str
    verified: bool = True


@dataclass(frozen=True)
class Matrix:
    """Everything the planner knows about PyTorch wheels."""

    releases: tuple[Release, ...]  # oldest first
    rocm_targets: Mapping[str, tuple[str, ...]]
    drivers: Mapping[str, DriverRequirement]
    index_base: str
    pypi_simple: str
    pre_turing_last_branch: str = "580"
    pre_turing_below_cc: str = "7.5"
    check_ignore_backends: tuple[str, ...] = ()
    """Backends ``coursekit matrix check`` does not report (the course does not use them)."""

    @property
    def newest(self) -> Release:
        return self.releases[-1]

    def backends(self) -> frozenset[str]:
        """Every backend name some release publishes."""
        return frozenset(v.backend for r in self.releases for v in r.variants)

    def index_url(self, backend: str) -> str | None:
        """``https://download.pytorch.org/whl/<backend>``; None for plain PyPI."""
        return None if backend == "pypi" else f"{self.index_base}/{backend}"

    def resolve(self, wanted: str) -> tuple[Release, TorchVersion]:
        """``"2.9"`` -> that line's newest version; ``"2.9.0"`` -> exactly it; else UsageError."""
        for release in self.releases:
            if wanted == release.line:
                return release, release.latest
            for version in release.versions:
                if wanted == version.torch:
                    return release, version
        known = ", ".join(r.line for r in self.releases)
        raise UsageError(
            f"torch {wanted!r} is not in coursekit's PyTorch matrix (it knows {known}).",
            f"Choose one of {known} (e.g. --torch {self.newest.line}), or update coursekit.",
        )
