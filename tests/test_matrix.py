"""The PyTorch matrix data: complete, sourced, consistent with envs/SOURCES.md, validated on load."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

from coursekit.errors import SpecError, UsageError
from coursekit.setup.plan.matrix import PLATFORMS, load_matrix, parse_matrix

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENVS = Path(__file__).resolve().parent.parent / "envs"


def raw() -> tuple[dict[str, Any], dict[str, Any]]:
    with (ENVS / "torch-matrix.toml").open("rb") as a, (ENVS / "nvidia-drivers.toml").open("rb") as b:
        return tomllib.load(a), tomllib.load(b)


def test_releases_from_2_7_to_newest() -> None:
    matrix = load_matrix()
    lines = [r.line for r in matrix.releases]
    assert lines[0] == "2.7" and lines == sorted(lines, key=lambda x: tuple(map(int, x.split("."))))
    for release in matrix.releases:
        assert "3.12" in release.python
        assert {p for v in release.variants for p in v.platforms} == set(PLATFORMS)
        for platform in ("linux-x86_64", "windows-x86_64"):
            assert any(v.kind == "cuda" for v in release.variants_for(platform))
        assert release.pypi_default["windows-x86_64"] == "cpu"  # PyPI Windows wheels are CPU-only
        assert release.pypi_default["macos-arm64"] == "pypi"


def test_facts_from_torch_wheels_md() -> None:
    matrix = load_matrix()

    def sm(line: str, backend: str, platform: str = "linux-x86_64") -> tuple[str, ...]:
        release = matrix.resolve(line)[0]
        return next(v.sm for v in release.variants_for(platform) if v.backend == backend)

    assert "7.0" not in sm("2.7", "cu128") and "7.0" in sm("2.8", "cu128") and "7.0" in sm("2.10", "cu128")
    assert "7.0" not in sm("2.11", "cu128")  # Volta dropped from cu128 in 2.11
    assert all(b != "cu128" for r in matrix.releases[5:] for b in (v.backend for v in r.variants))
    assert "6.0" in sm("2.14", "cu126") and "12.0" not in sm("2.14", "cu126")
    assert "11.0" in sm("2.14", "cu130", "linux-arm64")
    assert matrix.resolve("2.12.1")[1].torchaudio == "2.11.0"
    assert matrix.resolve("2.7")[1].torch == "2.7.1" and matrix.resolve("2.7")[1].torchvision == "0.22.1"
    assert matrix.drivers["13.0"].minimum == {"linux": "580", "windows": "580"}
    assert matrix.drivers["12.6"].minimum == {"linux": "525.60.13", "windows": "528.33"}
    assert matrix.drivers["12.8"].full["linux"] == "570.26"
    assert "gfx1151" in matrix.rocm_targets["rocm7.2"] and "gfx1151" not in matrix.rocm_targets["rocm7.1"]
    assert not any(v.backend == "cu129" and "windows-x86_64" in v.platforms
                   for r in matrix.releases for v in r.variants)
    assert all(v.platforms == ("linux-x86_64",) for r in matrix.releases for v in r.variants if v.kind == "rocm")


def test_every_number_has_a_source() -> None:
    torch_data, driver_data = raw()
    for release in torch_data["release"]:
        for key in ("python_source", "versions_source", "pypi_default_source"):
            assert release.get(key), (release["line"], key)
        for variant in release["variant"]:
            assert variant.get("source"), (release["line"], variant["backend"])
    for cuda, row in driver_data["cuda"].items():
        assert row.get("minimum_source") and row.get("full_source"), cuda
    for name, row in torch_data["rocm"].items():
        assert row.get("source"), name


def test_unverified_facts_are_marked() -> None:
    torch_data, _ = raw()
    by_line = {r["line"]: r for r in torch_data["release"]}
    assert by_line["2.8"]["verified"] is False  # Linux PyPI default: no primary source (envs/SOURCES.md W11)
    assert by_line["2.13"]["verified"] is False  # torchaudio pairing
    assert next(v for v in by_line["2.7"]["variant"] if v["backend"] == "cu118")["verified"] is False


def _broken(mutate: Any) -> None:
    torch_data, driver_data = (copy.deepcopy(x) for x in raw())
    mutate(torch_data, driver_data)
    parse_matrix(torch_data, driver_data)


@pytest.mark.parametrize("mutate", [
    lambda t, d: t["release"][0]["variant"][0].update(sm=["8.6", "nine"]),
    lambda t, d: t["release"][0]["variant"][0].pop("source"),
    lambda t, d: t["release"][0]["variant"][0].update(backend="cuda12"),
    lambda t, d: t["release"][0].update(versions=[{"torch": "2.7", "torchvision": "0.22.0", "torchaudio": "2.7.0"}]),
    lambda t, d: d["cuda"].pop("12.6"),
    lambda t, d: d["cuda"]["12.6"]["minimum"].update(linux="525.x"),
    lambda t, d: t["rocm"]["rocm6.3"].update(gfx=["GFX1100"]),
    lambda t, d: t["rocm"].pop("rocm6.3"),
    lambda t, d: t["release"][0].pop("python_source"),
    lambda t, d: t["release"][1].pop("unverified"),
    lambda t, d: t["release"][0]["variant"][0].update(verified="no"),
])
def test_malformed_matrix_is_a_spec_error(mutate: Any) -> None:
    with pytest.raises(SpecError):
        _broken(mutate)


def test_unknown_torch_version() -> None:
    with pytest.raises(UsageError, match="not in coursekit's PyTorch matrix"):
        load_matrix().resolve("2.6")
