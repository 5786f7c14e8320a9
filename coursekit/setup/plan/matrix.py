"""The PyTorch matrix: releases, wheel variants, driver minimums, ROCm targets (``envs/*.toml``).

Loaded from ``envs/torch-matrix.toml`` and ``envs/nvidia-drivers.toml`` into frozen
dataclasses and validated on load: a malformed number, a missing ``source`` or a CUDA
variant without a driver row is a :class:`~coursekit.errors.SpecError` (exit 2). The
planner (:mod:`coursekit.setup.plan.select`) decides over these values and nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from coursekit.errors import SpecError
from coursekit.resources import read_toml
from coursekit.setup.plan.releases import (
    COMPANIONS,
    PLATFORMS,
    DriverRequirement,
    Matrix,
    Release,
    TorchVersion,
    Variant,
    parse_cc,
    parse_driver,
)

__all__ = [
    "COMPANIONS",
    "PLATFORMS",
    "DriverRequirement",
    "Matrix",
    "Release",
    "TorchVersion",
    "Variant",
    "load_matrix",
    "parse_cc",
    "parse_driver",
    "parse_matrix",
]
"""The matrix's value types live in :mod:`.releases`; here they are re-exported with the loader."""

_CC = re.compile(r"^\d+\.\d$")
_GFX = re.compile(r"^gfx[0-9a-f]{3,4}$")
_DRIVER = re.compile(r"^\d+(\.\d+){0,2}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")
_BACKEND = re.compile(r"^(cu\d{3}|rocm\d+\.\d+(\.\d+)?|cpu|pypi)$")
_GLIBC = re.compile(r"^\d+\.\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
                    f"torch-matrix.toml release {release.line} ({variant.backend}): "
                    f"no driver row for CUDA {variant.cuda} in nvidia-drivers.toml.",
                    "Add the row with its source.",
                )
            if variant.kind == "rocm" and variant.backend not in rocm:
                raise SpecError(
                    f"torch-matrix.toml release {release.line} ({variant.backend}): "
                    "no [rocm] gfx list.",
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
