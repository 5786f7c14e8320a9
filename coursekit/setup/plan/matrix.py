"""The PyTorch matrix: releases, wheel variants, driver minimums, ROCm targets (``envs/*.toml``).

Loaded from ``envs/torch-matrix.toml`` and ``envs/nvidia-drivers.toml`` into frozen
dataclasses and validated on load: a malformed number, a missing ``source`` or a CUDA
variant without a driver row is a :class:`~coursekit.errors.SpecError` (exit 2). The
planner (:mod:`coursekit.setup.plan.select`) decides over these values and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from packaging.version import Version

from coursekit.errors import SpecError, UsageError
from coursekit.resources import read_toml

PLATFORMS: Final = ("linux-x86_64", "linux-arm64", "windows-x86_64", "macos-arm64")
_CC = re.compile(r"^\d+\.\d$")
_GFX = re.compile(r"^gfx[0-9a-f]{3,4}$")
_DRIVER = re.compile(r"^\d+(\.\d+){0,2}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_BACKEND = re.compile(r"^(cu\d{3}|rocm\d+\.\d+(\.\d+)?|cpu|pypi)$")
_GLIBC = re.compile(r"^\d+\.\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
COMPANIONS: Final = ("torchvision", "torchaudio")


def parse_cc(text: str) -> tuple[int, int]:
    """``"8.6"`` -> ``(8, 6)``."""
    major, minor = text.split(".")
    return int(major), int(minor)


def parse_driver(text: str) -> Version:
    """``"580.65.06"`` -> ``Version("580.65.6")``: driver and CUDA versions are ordered with
    ``packaging.version`` like every version in coursekit (``.major`` is the branch)."""
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


def _need(table: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise SpecError(f"{where}: `{key}` is missing.", "Restore it (see envs/README.md).")
    return table[key]


def _checked(values: Any, pattern: re.Pattern[str], where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not all(
        isinstance(v, str) and pattern.match(v) for v in values
    ):
        raise SpecError(
            f"{where}: malformed list {values!r}.", f"Each entry must match {pattern.pattern}."
        )
    return tuple(values)


def _source(table: Mapping[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SpecError(
            f"{where}: `{key}` is missing: every number needs its source.",
            "Cite where the number comes from (see envs/SOURCES.md).",
        )
    return value


def _variant(data: Mapping[str, Any], where: str) -> Variant:
    backend = _need(data, "backend", where)
    if not isinstance(backend, str) or not _BACKEND.match(backend):
        raise SpecError(
            f"{where}: unknown backend {backend!r}.", "Use cuXYZ, rocmX.Y, cpu or pypi."
        )
    where = f"{where} ({backend})"
    platforms = _checked(_need(data, "platforms", where), re.compile("|".join(PLATFORMS)), where)
    return Variant(
        backend=backend,
        platforms=platforms,
        sm=_checked(data.get("sm", []), _CC, where + " sm"),
        ptx=_checked(data.get("ptx", []), _CC, where + " ptx"),
        ptx_platforms=tuple(data.get("ptx_platforms", [])),
        experimental=bool(data.get("experimental", False)),
        no_local_tag_on=tuple(data.get("no_local_tag_on", [])),
        source=_source(data, "source", where),
        verified=_verified(data, where),
        note=str(data.get("note", "")),
        unverified=str(data.get("unverified", "")),
        companions_missing=_companions_missing(data, where),
        glibc=_glibc(data, where),
        eol_note=_eol_note(data, where),
    )


def _companions_missing(data: Mapping[str, Any], where: str) -> tuple[str, ...]:
    missing = data.get("companions_missing", [])
    if not isinstance(missing, list) or not all(m in COMPANIONS for m in missing):
        raise SpecError(
            f"{where}: companions_missing must list some of {', '.join(COMPANIONS)}, "
            f"not {missing!r}.",
            'Write companions_missing = ["torchaudio"].',
        )
    if missing:
        _source(data, "companions_source", where)
    return tuple(missing)


def _glibc(data: Mapping[str, Any], where: str) -> str | None:
    value = data.get("glibc")
    if value is None:
        return None
    if not isinstance(value, str) or not _GLIBC.match(value):
        raise SpecError(
            f'{where}: glibc = {value!r} is not a version such as "2.28".',
            'Write glibc = "2.28" (the manylinux_2_28 baseline).',
        )
    _source(data, "glibc_source", where)
    return value


def _eol_note(data: Mapping[str, Any], where: str) -> str:
    note = data.get("eol_note", "")
    if not isinstance(note, str):
        raise SpecError(
            f"{where}: eol_note must be text.", 'Write eol_note = "..." with eol_source.'
        )
    if note:
        _source(data, "eol_source", where)
    return note


def _verified(data: Mapping[str, Any], where: str) -> bool:
    """``verified`` (default true); when false, ``unverified`` must say what is unverified."""
    verified = data.get("verified", True)
    if not isinstance(verified, bool):
        raise SpecError(f"{where}: `verified` must be true or false.", "Write verified = false.")
    if not verified and not str(data.get("unverified", "")).strip():
        raise SpecError(
            f"{where}: `verified = false` without `unverified`.",
            'Say what is unverified: unverified = "...".',
        )
    return verified


def _release(data: Mapping[str, Any], index: int) -> Release:
    where = f"torch-matrix.toml release #{index + 1}"
    line = _need(data, "line", where)
    where = f"torch-matrix.toml release {line}"
    versions = []
    for item in _need(data, "versions", where):
        trio = tuple(str(item.get(k, "")) for k in ("torch", "torchvision", "torchaudio"))
        if not all(_VERSION.match(v) for v in trio) or not trio[0].startswith(f"{line}."):
            raise SpecError(f"{where}: malformed versions entry {item!r}.", "Use X.Y.Z versions.")
        versions.append(TorchVersion(*trio))
    sources = {
        k: _source(data, k, where)
        for k in ("python_source", "versions_source", "pypi_default_source")
    }
    variants = tuple(_variant(v, where) for v in _need(data, "variant", where))
    released = data.get("released")
    if released is not None:
        if not isinstance(released, str) or not _DATE.match(released):
            raise SpecError(
                f"{where}: released = {released!r} is not a date.", 'Write released = "2026-10-14".'
            )
        _source(data, "released_source", where)
    return Release(
        line=line,
        python=_checked(_need(data, "python", where), re.compile(r"^3\.\d+$"), where),
        versions=tuple(versions),
        pypi_default=dict(_need(data, "pypi_default", where)),
        variants=variants,
        verified=_verified(data, where),
        sources=sources,
        unverified=str(data.get("unverified", "")),
        glibc=_glibc(data, where),
        released=released,
    )


def _drivers(data: Mapping[str, Any]) -> dict[str, DriverRequirement]:
    out = {}
    for cuda, row in _need(data, "cuda", "nvidia-drivers.toml").items():
        where = f"nvidia-drivers.toml cuda {cuda}"
        tables = {k: dict(_need(row, k, where)) for k in ("minimum", "full")}
        for name, table in tables.items():
            _source(row, f"{name}_source", where)
            for os_name, value in table.items():
                if os_name not in ("linux", "windows") or not _DRIVER.match(str(value)):
                    raise SpecError(
                        f"{where}: malformed {name}.{os_name} = {value!r}.",
                        'Write a driver version such as "580.65.06".',
                    )
        out[cuda] = DriverRequirement(
            cuda,
            tables["minimum"],
            tables["full"],
            f"{row['minimum_source']}; {row['full_source']}",
            _verified(row, where),
        )
    return out


def parse_matrix(torch_data: Mapping[str, Any], driver_data: Mapping[str, Any]) -> Matrix:
    """Validate already-parsed TOML data and build a :class:`Matrix`."""
    releases = tuple(
        sorted(
            (
                _release(r, i)
                for i, r in enumerate(_need(torch_data, "release", "torch-matrix.toml"))
            ),
            key=lambda r: r.key,
        )
    )
    rocm = {}
    for name, row in torch_data.get("rocm", {}).items():
        where = f"torch-matrix.toml rocm {name}"
        rocm[name] = _checked(_need(row, "gfx", where), _GFX, where)
        _source(row, "source", where)
    drivers = _drivers(driver_data)
    ignore = torch_data.get("check_ignore_backends", [])
    if not isinstance(ignore, list) or not all(isinstance(b, str) for b in ignore):
        raise SpecError(
            "torch-matrix.toml: check_ignore_backends must be a list of names.",
            'Write check_ignore_backends = ["xpu"] with check_ignore_source.',
        )
    if ignore:
        _source(torch_data, "check_ignore_source", "torch-matrix.toml")
    matrix = Matrix(
        releases,
        rocm,
        drivers,
        str(_need(torch_data, "index_base", "torch-matrix.toml")),
        str(torch_data.get("pypi_simple", "https://pypi.org/simple")),
        check_ignore_backends=tuple(ignore),
        **_branches(driver_data),
    )
    for release in releases:
        for variant in release.variants:
            if variant.kind == "cuda" and variant.cuda not in drivers:
                raise SpecError(
                    f"torch-matrix.toml {release.line} {variant.backend}: no driver row for "
                    f"CUDA {variant.cuda} in nvidia-drivers.toml.",
                    "Add the row with its source.",
                )
            if variant.kind == "rocm" and variant.backend not in rocm:
                raise SpecError(
                    f"torch-matrix.toml {release.line} {variant.backend}: no [rocm] gfx list.",
                    "Add the gfx list with its source.",
                )
    return matrix


def _branches(driver_data: Mapping[str, Any]) -> dict[str, str]:
    branches = driver_data.get("branches", {})
    out = {}
    if "last_for_pre_turing" in branches:
        _source(branches, "last_for_pre_turing_source", "nvidia-drivers.toml branches")
        out["pre_turing_last_branch"] = str(branches["last_for_pre_turing"])
    if "pre_turing_below_cc" in branches:
        _source(branches, "pre_turing_below_cc_source", "nvidia-drivers.toml branches")
        out["pre_turing_below_cc"] = str(branches["pre_turing_below_cc"])
    return out


@lru_cache(maxsize=4)
def load_matrix(folder: Path | None = None) -> Matrix:
    """Load and validate ``torch-matrix.toml`` and ``nvidia-drivers.toml`` from ``folder`` (default
    ``envs/``)."""
    if folder is None:
        from coursekit.resources import envs_dir

        folder = envs_dir()
    return parse_matrix(
        read_toml(folder / "torch-matrix.toml"), read_toml(folder / "nvidia-drivers.toml")
    )
