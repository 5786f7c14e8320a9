"""The PyTorch matrix data: complete, sourced, consistent with envs/SOURCES.md, validated on load."""

from __future__ import annotations

import copy
import re
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


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda t, d: t["release"][0]["variant"][0].update(sm=["8.6", "nine"]), r"sm: malformed list"),
    (lambda t, d: t["release"][0]["variant"][0].pop("source"), r"`source` is missing"),
    (lambda t, d: t["release"][0]["variant"][0].update(backend="cuda12"), r"unknown backend 'cuda12'"),
    (lambda t, d: t["release"][0].update(versions=[{"torch": "2.7", "torchvision": "0.22.0", "torchaudio": "2.7.0"}]),
     r"malformed versions entry"),
    # A version of another line listed under this one (2.8.0 under 2.7).
    (lambda t, d: t["release"][0].update(versions=[{"torch": "2.8.0", "torchvision": "0.23.0", "torchaudio": "2.8.0"}]),
     r"release 2\.7: malformed versions entry"),
    (lambda t, d: d["cuda"].pop("12.6"), r"no driver row for CUDA 12\.6"),
    (lambda t, d: d["cuda"]["12.6"]["minimum"].update(linux="525.x"), r"malformed minimum\.linux = '525\.x'"),
    (lambda t, d: t["rocm"]["rocm6.3"].update(gfx=["GFX1100"]), r"rocm rocm6\.3: malformed list"),
    (lambda t, d: t["rocm"].pop("rocm6.3"), r"no \[rocm\] gfx list"),
    (lambda t, d: t["release"][0].pop("python_source"), r"`python_source` is missing"),
    (lambda t, d: t["release"][1].pop("unverified"), r"`verified = false` without `unverified`"),
    (lambda t, d: t["release"][0]["variant"][0].update(verified="no"), r"`verified` must be true or false"),
])
def test_malformed_matrix_is_a_spec_error(mutate: Any, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        _broken(mutate)


def test_unknown_torch_version() -> None:
    with pytest.raises(UsageError, match="not in coursekit's PyTorch matrix"):
        load_matrix().resolve("2.6")


# --- issue 18: behaviours the mutation run found unpinned (bench/mutation.py matrix) ---------------

from coursekit.setup.plan.matrix import parse_cc, parse_driver


def _tiny(**release_extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A two-release matrix small enough to read: 2.10 and 2.9 (listed out of order)."""
    def release(line: str, **extra: Any) -> dict[str, Any]:
        return {"line": line, "python": ["3.12"], "python_source": "s", "versions_source": "s",
                "pypi_default_source": "s", "pypi_default": {"linux-x86_64": "cu130"},
                "versions": [{"torch": f"{line}.0", "torchvision": "0.1.0", "torchaudio": f"{line}.0"},
                             {"torch": f"{line}.1", "torchvision": "0.1.1", "torchaudio": f"{line}.1"}],
                "variant": [{"backend": "cu130", "platforms": ["linux-x86_64", "linux-arm64"], "sm": ["8.0"],
                             "ptx": ["9.0"], "ptx_platforms": ["linux-x86_64"], "no_local_tag_on": ["linux-arm64"],
                             "source": "s"},
                            {"backend": "rocm7.2", "platforms": ["linux-x86_64"], "source": "s"},
                            {"backend": "pypi", "platforms": ["macos-arm64"], "source": "s"}],
                **extra}
    torch_data = {"index_base": "https://example.test/whl",
                  "release": [release("2.10", **release_extra), release("2.9")],
                  "rocm": {"rocm7.2": {"gfx": ["gfx1100"], "source": "s"}}}
    driver_data = {"cuda": {"13.0": {"minimum": {"linux": "580"}, "full": {"linux": "580.65.06"},
                                     "minimum_source": "m", "full_source": "f"}}}
    return torch_data, driver_data


def test_small_parsers() -> None:
    assert parse_cc("8.6") == (8, 6) and parse_cc("12.0") == (12, 0)
    assert parse_driver("580.65.06").release == (580, 65, 6) and parse_driver("580").release == (580,)
    assert parse_driver("580.65.06") > parse_driver("580.9")  # numeric, not string order


def test_tiny_matrix_values_and_defaults() -> None:
    m = parse_matrix(*_tiny())
    assert [r.line for r in m.releases] == ["2.9", "2.10"]  # numeric order, not string order
    assert m.newest.line == "2.10" and m.newest.key == (2, 10) and m.newest.latest.torch == "2.10.1"
    assert m.pypi_simple == "https://pypi.org/simple" and m.index_base == "https://example.test/whl"
    assert m.pre_turing_last_branch == "580" and m.pre_turing_below_cc == "7.5"
    assert m.check_ignore_backends == ()
    assert m.backends() == frozenset({"cu130", "rocm7.2", "pypi"})
    assert m.index_url("cu130") == "https://example.test/whl/cu130" and m.index_url("pypi") is None
    assert m.resolve("2.9.0")[1].torch == "2.9.0" and m.resolve("2.9")[1].torch == "2.9.1"
    assert m.resolve("2.10.0")[0].line == "2.10"
    cu, rocm, pypi = m.newest.variants
    assert (cu.kind, rocm.kind, pypi.kind) == ("cuda", "rocm", "pypi")
    assert cu.cuda == "13.0" and rocm.cuda is None and pypi.cuda is None
    assert not cu.experimental and cu.verified and cu.glibc is None and cu.eol_note == ""
    assert cu.companions_missing == () and cu.note == "" and cu.unverified == ""
    assert cu.local_tag("linux-x86_64") == "cu130" and cu.local_tag("linux-arm64") == ""
    assert pypi.local_tag("macos-arm64") == "" and rocm.local_tag("linux-x86_64") == "rocm7.2"
    assert cu.ptx_on("linux-x86_64") == ("9.0",) and cu.ptx_on("linux-arm64") == ()
    assert m.newest.variants_for("linux-arm64") == (cu,)
    assert m.newest.variants_for("macos-arm64") == (pypi,)
    assert m.newest.glibc is None and m.newest.released is None and m.newest.verified
    assert m.newest.unverified == ""
    assert m.newest.sources == {"python_source": "s", "versions_source": "s", "pypi_default_source": "s"}
    assert m.rocm_targets == {"rocm7.2": ("gfx1100",)}
    req = m.drivers["13.0"]
    assert (req.cuda, dict(req.minimum), dict(req.full)) == ("13.0", {"linux": "580"}, {"linux": "580.65.06"})
    assert req.source == "m; f" and req.verified


def test_tiny_matrix_optional_fields() -> None:
    t, d = _tiny(glibc="2.28", glibc_source="g", released="2026-01-21", released_source="r",
                 verified=False, unverified="what")
    cu = t["release"][0]["variant"][0]
    cu.update(glibc="2.34", glibc_source="g", eol_note="ends", eol_source="e", experimental=True,
              companions_missing=["torchaudio"], companions_source="c", note="n",
              verified=False, unverified="the sm list")
    t.update(check_ignore_backends=["xpu"], check_ignore_source="x", pypi_simple="https://mirror.test/simple")
    d["cuda"]["13.0"].update(verified=False, unverified="the Windows minimum")
    d["branches"] = {"last_for_pre_turing": 575, "last_for_pre_turing_source": "b",
                     "pre_turing_below_cc": "7.0", "pre_turing_below_cc_source": "b"}
    m = parse_matrix(t, d)
    release = m.newest
    variant, rocm = release.variants[0], release.variants[1]
    assert release.glibc == "2.28" and release.released == "2026-01-21"
    assert not release.verified and release.unverified == "what"
    assert variant.glibc == "2.34" and variant.eol_note == "ends" and variant.experimental
    assert variant.companions_missing == ("torchaudio",) and variant.note == "n"
    assert not variant.verified and variant.unverified == "the sm list"
    assert release.glibc_for(variant) == "2.34" and release.glibc_for(rocm) == "2.28"
    assert m.check_ignore_backends == ("xpu",) and m.pypi_simple == "https://mirror.test/simple"
    assert m.pre_turing_last_branch == "575" and m.pre_turing_below_cc == "7.0"
    assert not m.drivers["13.0"].verified


def _tiny_broken(mutate: Any) -> None:
    t, d = _tiny()
    mutate(t, d)
    parse_matrix(t, d)


def _v(t: dict[str, Any]) -> dict[str, Any]:
    return t["release"][0]["variant"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda t, d: _v(t).update(companions_missing=["torchtext"]), r"companions_missing must list"),
    (lambda t, d: _v(t).update(companions_missing="torchaudio"), r"companions_missing must list"),
    (lambda t, d: _v(t).update(companions_missing=["torchaudio"]), r"`companions_source` is missing"),
    (lambda t, d: _v(t).update(glibc="2.28"), r"`glibc_source` is missing"),
    (lambda t, d: _v(t).update(glibc=2.28, glibc_source="g"), r"glibc = 2\.28 is not a version"),
    (lambda t, d: _v(t).update(glibc="2.28.1", glibc_source="g"), r"is not a version"),
    (lambda t, d: t["release"][0].update(glibc="2.28"), r"`glibc_source` is missing"),
    (lambda t, d: _v(t).update(eol_note=3), r"eol_note must be text"),
    (lambda t, d: _v(t).update(eol_note="ends"), r"`eol_source` is missing"),
    (lambda t, d: _v(t).update(source="  "), r"`source` is missing"),
    (lambda t, d: _v(t).update(verified=False), r"without `unverified`"),
    (lambda t, d: _v(t).update(verified=False, unverified="  "), r"without `unverified`"),
    (lambda t, d: _v(t).update(backend=130), r"unknown backend 130"),
    (lambda t, d: _v(t).update(backend="cu13"), r"unknown backend"),
    (lambda t, d: _v(t).update(platforms=["linux"]), r"malformed list"),
    (lambda t, d: _v(t).update(platforms="linux-x86_64"), r"malformed list"),
    (lambda t, d: _v(t).update(ptx=["9"]), r"ptx: malformed list"),
    (lambda t, d: _v(t).pop("backend"), r"`backend` is missing"),
    (lambda t, d: t["release"][0].update(released="Jan 2026", released_source="r"), r"is not a date"),
    (lambda t, d: t["release"][0].update(released=20260121, released_source="r"), r"is not a date"),
    (lambda t, d: t["release"][0].update(released="2026-01-21"), r"`released_source` is missing"),
    (lambda t, d: t["release"][0].update(python=["3.12.1"]), r"release 2\.10: malformed list"),
    (lambda t, d: t["release"][0].pop("pypi_default"), r"`pypi_default` is missing"),
    (lambda t, d: t["release"][0].pop("line"), r"release #1: `line` is missing"),
    (lambda t, d: t["release"][0]["versions"][0].update(torchvision="0.1"), r"malformed versions entry"),
    (lambda t, d: t["release"][0]["versions"][0].update(torch="2.100.0"), r"malformed versions entry"),
    (lambda t, d: t.update(check_ignore_backends="xpu"), r"check_ignore_backends must be a list"),
    (lambda t, d: t.update(check_ignore_backends=[1]), r"check_ignore_backends must be a list"),
    (lambda t, d: t.update(check_ignore_backends=["xpu"]), r"`check_ignore_source` is missing"),
    (lambda t, d: t.pop("index_base"), r"`index_base` is missing"),
    (lambda t, d: t.pop("release"), r"`release` is missing"),
    (lambda t, d: t["rocm"]["rocm7.2"].pop("source"), r"rocm rocm7\.2: `source` is missing"),
    (lambda t, d: d["cuda"]["13.0"].pop("full_source"), r"cuda 13\.0: `full_source` is missing"),
    (lambda t, d: d["cuda"]["13.0"]["minimum"].update(macos="580"), r"malformed minimum\.macos"),
    (lambda t, d: d["cuda"]["13.0"]["full"].update(windows="580.x"), r"malformed full\.windows"),
    (lambda t, d: d["cuda"]["13.0"].pop("full"), r"`full` is missing"),
    (lambda t, d: d.update(branches={"last_for_pre_turing": 580}), r"`last_for_pre_turing_source` is missing"),
    (lambda t, d: d.update(branches={"pre_turing_below_cc": "7.5"}), r"`pre_turing_below_cc_source` is missing"),
    (lambda t, d: t["release"][0].pop("versions"), r"release 2\.10: `versions` is missing"),
    (lambda t, d: t["release"][0].pop("versions_source"), r"release 2\.10: `versions_source` is missing"),
    (lambda t, d: t["release"][0]["versions"][0].pop("torchaudio"), r"release 2\.10: malformed versions entry"),
    (lambda t, d: d["cuda"]["13.0"].update(verified="yes"), r"cuda 13\.0: `verified` must be true or false"),
    (lambda t, d: d.pop("cuda"), r"^nvidia-drivers\.toml: `cuda` is missing"),
    (lambda t, d: t["rocm"]["rocm7.2"].pop("gfx"), r"^torch-matrix\.toml rocm rocm7\.2: `gfx` is missing"),
    (lambda t, d: _v(t).pop("platforms"), r"^torch-matrix\.toml release 2\.10 \(cu130\): `platforms` is missing"),
    (lambda t, d: t["release"][0].pop("variant"), r"^torch-matrix\.toml release 2\.10: `variant` is missing"),
    (lambda t, d: t["release"][0].pop("python"), r"^torch-matrix\.toml release 2\.10: `python` is missing"),
    (lambda t, d: t["release"][0].update(verified="no"), r"^torch-matrix\.toml release 2\.10: `verified` must be"),
    (lambda t, d: (t["release"].pop(1), d["cuda"].pop("13.0")), r"^torch-matrix\.toml release 2\.10 \(cu130\): no driver row for CUDA 13\.0"),
    (lambda t, d: (t["release"].pop(1), t.pop("rocm")), r"^torch-matrix\.toml release 2\.10 \(rocm7\.2\): no \[rocm\] gfx list"),
])
def test_tiny_malformed_is_a_spec_error(mutate: Any, match: str) -> None:
    with pytest.raises(SpecError, match=match) as err:
        _tiny_broken(mutate)
    # names the file and the place in it, and says how to fix it
    assert re.match(r"(torch-matrix\.toml|nvidia-drivers\.toml)( release 2\.10( \((cu130|rocm7\.2)\)( ptx| sm)?)?| cuda 13\.0"
                    r"| branches| rocm rocm7\.2| release #1)?: ", err.value.message), err.value.message
    assert err.value.fix and err.value.fix.strip()


def test_a_matrix_without_rocm_builds_needs_no_rocm_table() -> None:
    t, d = _tiny()
    del t["rocm"]
    for release in t["release"]:
        release["variant"] = [v for v in release["variant"] if v["backend"] != "rocm7.2"]
    m = parse_matrix(t, d)
    assert m.rocm_targets == {} and m.backends() == frozenset({"cu130", "pypi"})


def test_resolve_names_the_known_lines() -> None:
    with pytest.raises(UsageError, match=r"it knows 2\.9, 2\.10") as info:
        parse_matrix(*_tiny()).resolve("2.11")
    assert "--torch 2.10" in info.value.fix


def test_load_matrix_reads_a_folder(tmp_path: Path) -> None:
    for name in ("torch-matrix.toml", "nvidia-drivers.toml"):
        (tmp_path / name).write_bytes((ENVS / name).read_bytes())
    assert load_matrix(tmp_path).newest.line == load_matrix().newest.line
