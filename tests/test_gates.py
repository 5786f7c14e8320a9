"""The three gates one CUDA variant passes (coursekit.setup.plan.gates), on a small hand-made matrix.

Each boundary is tested from both sides: a driver exactly at the minimum or the full-support
version, PTX-only coverage below and at full support, several GPUs with drivers whose string
order differs from their numeric order, the Windows/WSL driver table (issue 18).
"""

from __future__ import annotations

from typing import Any

import pytest

from coursekit.host import GpuInfo, HostInfo
from coursekit.setup.plan import gates
from coursekit.setup.plan.matrix import Matrix, Release, parse_matrix


def _variant(backend: str, sm: list[str], **kw: Any) -> dict[str, Any]:
    return {"backend": backend, "platforms": ["linux-x86_64", "windows-x86_64"], "sm": sm, "source": "s", **kw}


def tiny(*variants: dict[str, Any], pypi_default: str = "cu128", line: str = "2.10",
         python: tuple[str, ...] = ("3.12",), **release_kw: Any) -> tuple[Matrix, Release]:
    torch_data = {"index_base": "https://example.test/whl", "release": [{
        "line": line, "python": list(python), "python_source": "s", "versions_source": "s",
        "pypi_default_source": "s", "pypi_default": {"linux-x86_64": pypi_default, "windows-x86_64": "cpu"},
        "versions": [{"torch": f"{line}.0", "torchvision": "0.1.0", "torchaudio": f"{line}.0"}],
        "variant": list(variants), **release_kw}]}
    drivers = {"cuda": {
        "12.6": {"minimum": {"linux": "525.60.13", "windows": "528.33"},
                 "full": {"linux": "560.28.03", "windows": "560.94"}, "minimum_source": "m", "full_source": "f"},
        "12.8": {"minimum": {"linux": "525.60.13", "windows": "528.33"},
                 "full": {"linux": "570.26", "windows": "570.65"}, "minimum_source": "m", "full_source": "f"},
        "13.0": {"minimum": {"linux": "580", "windows": "581"},
                 "full": {"linux": "580.65.06", "windows": "580.88"}, "minimum_source": "m", "full_source": "f"}},
        "branches": {"last_for_pre_turing": "580", "last_for_pre_turing_source": "b",
                     "pre_turing_below_cc": "7.5", "pre_turing_below_cc_source": "b"}}
    matrix = parse_matrix(torch_data, drivers)
    return matrix, matrix.newest


def nv(cc: str | None, driver: str | None, name: str = "GPU") -> GpuInfo:
    return GpuInfo("nvidia", name, driver_version=driver, compute_capability=cc)


def host(*gpus: GpuInfo, os: str = "linux", **kw: Any) -> HostInfo:
    return HostInfo(os, "x86_64", gpus=gpus, **kw)


CU130 = _variant("cu130", ["7.5", "8.0", "9.0"], ptx=["9.0"], ptx_platforms=["linux-x86_64"])


def judge(h: HostInfo, variant: dict[str, Any] = CU130, python: str = "3.12", **kw: Any) -> gates.Verdict:
    matrix, release = tiny(variant, **kw)
    return gates.judge_cuda(matrix, release, release.variants[0], h, python)


def test_small_helpers() -> None:
    assert gates.platform_key(host(os="windows")) == "windows-x86_64"
    assert gates.driver_os(host()) == "linux"
    assert gates.driver_os(host(wsl=True)) == "windows" and gates.driver_os(host(os="windows")) == "windows"
    amd = GpuInfo("amd", "RX 7900", gfx="gfx1100")
    h = host(nv("8.6", "580"), amd)
    assert gates.nvidia_gpus(h) == (h.gpus[0],) and gates.amd_gpus(h) == (amd,)
    assert gates.sm("8.6") == "sm_86" and gates.sm("12.0") == "sm_120"


def test_lowest_driver_is_numeric_not_string_order() -> None:
    assert gates.lowest_driver([nv("8.6", "1000.1"), nv("8.6", "999.9")]) == "999.9"
    assert gates.lowest_driver([nv("8.6", "580.9"), nv("8.6", "580.10")]) == "580.9"
    assert gates.lowest_driver([nv("8.6", None), nv("8.6", "580")]) == "580"
    assert gates.lowest_driver([nv("8.6", None)]) is None and gates.lowest_driver([]) is None


def test_the_lowest_driver_of_several_gpus_decides() -> None:
    # string order would take "1000.1" as the lowest and pass the 13.0 minimum (580)
    verdict = judge(host(nv("8.0", "1000.1"), nv("8.0", "575.10")))
    assert not verdict.ok and "this machine has 575.10" in verdict.failures[0]


def test_coverage() -> None:
    release = tiny(CU130)[1]
    v = release.variants[0]
    assert gates.coverage(v, "8.6", "linux-x86_64") == "sm_86: cubin sm_80"  # same major, higher minor
    assert gates.coverage(v, "8.0", "linux-x86_64") == "sm_80: cubin sm_80"
    assert gates.coverage(v, "9.0", "linux-x86_64") == "sm_90: cubin sm_90"
    assert gates.coverage(v, "7.0", "linux-x86_64") is None  # older than every cubin and the PTX
    assert gates.coverage(v, "12.0", "linux-x86_64") == "sm_120: PTX compute_90 (JIT-compiled on first use)"
    assert gates.coverage(v, "12.0", "windows-x86_64") is None  # PTX on Linux builds only
    assert gates.coverage(v, "10.0", "linux-x86_64") == "sm_100: PTX compute_90 (JIT-compiled on first use)"
    two = tiny(_variant("cu130", ["8.0", "8.6"], ptx=["8.0", "9.0"], ptx_platforms=["linux-x86_64"]))[1].variants[0]
    assert gates.coverage(two, "8.9", "linux-x86_64") == "sm_89: cubin sm_86"  # the best cubin
    assert gates.coverage(two, "12.0", "linux-x86_64") == "sm_120: PTX compute_90 (JIT-compiled on first use)"
    assert gates.coverage(two, "8.5", "linux-x86_64") == "sm_85: cubin sm_80"


@pytest.mark.parametrize(("driver", "ok", "full"), [
    ("579.99", False, False), ("580", True, False), ("580.0.1", True, False),
    ("580.65.05", True, False), ("580.65.06", True, True), ("590", True, True)])
def test_driver_at_the_minimum_and_full_support_boundaries(driver: str, ok: bool, full: bool) -> None:
    verdict = judge(host(nv("8.0", driver)))
    assert verdict.ok is ok and verdict.full_support is full
    if not ok:
        assert verdict.failures == (f"needs NVIDIA driver >= 580 (CUDA 13.0), this machine has {driver}",)
    assert verdict.covered == (0,)  # the GPU has kernels either way


@pytest.mark.parametrize(("driver", "ok"), [("580.65.05", False), ("580.65.06", True)])
def test_ptx_only_coverage_needs_the_full_support_driver(driver: str, ok: bool) -> None:
    verdict = judge(host(nv("12.0", driver, "RTX 5090")))
    assert verdict.ok is ok
    if ok:
        assert verdict.covered == (0,)
    else:
        assert verdict.covered == ()
        assert verdict.failures == ("reaches sm_120 only through PTX, which needs driver >= 580.65.06 (full support)",)


def test_ptx_with_unknown_driver_is_not_refused() -> None:
    assert judge(host(nv("12.0", None))).ok


def test_wsl_and_windows_use_the_windows_driver_table() -> None:
    # 13.0: linux minimum 580, windows minimum 581; full 580.65.06 (linux) / 580.88 (windows)
    assert judge(host(nv("8.0", "580.70"))).ok
    assert judge(host(nv("8.0", "580.70"))).full_support
    for h in (host(nv("8.0", "580.70"), wsl=True), host(nv("8.0", "580.70"), os="windows")):
        verdict = judge(h)
        assert not verdict.ok and "needs NVIDIA driver >= 581" in verdict.failures[0]
    verdict = judge(host(nv("8.0", "581.0"), wsl=True))
    assert verdict.ok and verdict.full_support
    assert not judge(host(nv("8.0", "580.80"), os="windows")).full_support


def test_no_driver_version_judged_by_the_banner_cuda() -> None:
    older = judge(host(nv("8.0", None), cuda_driver_api="12.8"))
    assert older.failures == ("needs a driver for CUDA 13.x; this driver runs CUDA 12.8 (nvidia-smi)",)
    assert not older.full_support
    same = judge(host(nv("8.0", None), cuda_driver_api="13.0"))
    assert same.ok and same.full_support
    newer_minor = judge(host(nv("8.0", None), cuda_driver_api="13.2"))
    assert newer_minor.ok and newer_minor.full_support
    lower_minor = judge(host(nv("8.0", None), cuda_driver_api="13.0"),
                        variant=_variant("cu130", ["8.0"]))
    assert lower_minor.ok
    unknown = judge(host(nv("8.0", None)))
    assert unknown.ok and not unknown.full_support


def test_banner_minor_below_the_variant_is_not_full_support() -> None:
    matrix, release = tiny(_variant("cu128", ["8.0"]))
    verdict = gates.judge_cuda(matrix, release, release.variants[0], host(nv("8.0", None), cuda_driver_api="12.6"),
                               "3.12")
    assert verdict.ok and not verdict.full_support


def test_no_kernels_names_the_gpu_and_the_variant_arches() -> None:
    verdict = judge(host(nv("7.0", "590", "V100"), nv("8.0", "590", "A100")))
    assert verdict.failures == ("has no kernels for sm_70 (V100); it has sm_75, sm_80, sm_90",)
    assert verdict.covered == (1,)


def test_unknown_capability_counts_as_covered() -> None:
    verdict = judge(host(nv(None, "590")))
    assert verdict.ok and verdict.covered == (0,)


def test_publishing_gate() -> None:
    verdict = judge(host(nv("8.0", "590")), python="3.14")
    assert verdict.failures == ("publishes no torch 2.10 for linux-x86_64, Python 3.14",)
    linux_only = _variant("cu130", ["8.0"], platforms=["linux-x86_64"])
    assert judge(host(nv("8.0", "590"), os="windows"), variant=linux_only).failures == (
        "publishes no torch 2.10 for windows-x86_64, Python 3.12",)


def test_glibc_failure() -> None:
    matrix, release = tiny(CU130, glibc="2.28", glibc_source="g")
    v = release.variants[0]
    assert gates.glibc_failure(release, v, host(glibc="2.28")) is None
    assert gates.glibc_failure(release, v, host(glibc="2.39")) is None
    assert gates.glibc_failure(release, v, host(glibc="2.27")) == (
        "needs glibc >= 2.28 (manylinux_2_28 wheels); this machine has glibc 2.27")
    assert gates.glibc_failure(release, v, host(glibc="2.9")) is not None  # numeric, not string order
    assert "musl" in (gates.glibc_failure(release, v, host(glibc="musl")) or "")
    assert gates.glibc_failure(release, v, host(glibc=None)) is None
    assert gates.glibc_failure(release, v, host(glibc="2.17", os="windows")) is None
    no_need = tiny(CU130)[1]
    assert gates.glibc_failure(no_need, no_need.variants[0], host(glibc="2.17")) is None
    verdict = gates.judge_cuda(matrix, release, v, host(nv("8.0", "590"), glibc="2.17"), "3.12")
    assert verdict.failures == ("needs glibc >= 2.28 (manylinux_2_28 wheels); this machine has glibc 2.17",)


def test_companion_failure() -> None:
    matrix, release = tiny(_variant("cu130", ["8.0"], companions_missing=["torchaudio"], companions_source="c"))
    v = release.variants[0]
    assert gates.companion_failure(release, v, ["torchvision"]) is None
    assert gates.companion_failure(release, v, []) is None
    assert gates.companion_failure(release, v, ["torchvision", "torchaudio"]) == (
        "has no torchaudio for torch 2.10 on its index (the course spec's [pip] torch list asks for it)")
    verdict = gates.judge_cuda(matrix, release, v, host(nv("8.0", "590")), "3.12", ["torchaudio"])
    assert len(verdict.failures) == 1 and "torchaudio" in verdict.failures[0]
    assert gates.judge_cuda(matrix, release, v, host(nv("8.0", "590")), "3.12").ok


def test_default_cuda() -> None:
    release = tiny(CU130, pypi_default="cu128")[1]
    assert gates.default_cuda(release, "linux-x86_64") == "cu128"
    assert gates.default_cuda(release, "windows-x86_64") == "cu128"  # Windows PyPI is CPU: Linux's CUDA
    assert gates.default_cuda(tiny(CU130, pypi_default="cpu")[1], "linux-x86_64") is None


def _best(*variants: dict[str, Any], driver: str = "590", **kw: Any) -> str | None:
    matrix, release = tiny(*variants, **kw)
    best, verdicts = gates.best_cuda(matrix, release, host(nv("8.0", driver)), "3.12")
    assert len(verdicts) == len(variants)
    return best.variant.backend if best else None


def test_ranking_full_support_then_default_then_stable_then_newest() -> None:
    cu126, cu128 = _variant("cu126", ["8.0"]), _variant("cu128", ["8.0"])
    cu130 = _variant("cu130", ["8.0"])
    # driver 575: cu128 full (570.26), cu126 full, cu130 not allowed
    assert _best(cu126, cu128, cu130, driver="575", pypi_default="cu126") == "cu126"  # default among full
    assert _best(cu126, cu128, driver="575", pypi_default="cpu") == "cu128"  # newest among full, no default
    assert _best(cu126, cu128, driver="565", pypi_default="cu128") == "cu126"  # full support beats default
    assert _best(cu126, cu130, driver="590", pypi_default="cpu") == "cu130"
    experimental = _variant("cu130", ["8.0"], experimental=True)
    assert _best(cu126, experimental, driver="590", pypi_default="cpu") == "cu126"  # stable over experimental
    assert _best(experimental, cu126, driver="590", pypi_default="cpu") == "cu126"
    assert _best(experimental, cu126, driver="590", pypi_default="cu130") == "cu130"  # default over stable
    assert _best(cu130, driver="570") is None


def test_best_cuda_skips_other_platforms_and_kinds() -> None:
    matrix, release = tiny(CU130, _variant("cpu", []), _variant("cu126", ["8.0"], platforms=["windows-x86_64"]))
    best, verdicts = gates.best_cuda(matrix, release, host(nv("8.0", "590")), "3.12")
    assert best is not None and best.variant.backend == "cu130" and len(verdicts) == 1


def test_why_not() -> None:
    matrix, release = tiny(CU130)
    assert gates.why_not(release, []) == "torch 2.10 has no CUDA build for this platform"
    verdicts = gates.best_cuda(matrix, release, host(nv("8.0", "570")), "3.14")[1]
    assert gates.why_not(release, verdicts) == (
        "torch 2.10: cu130 needs NVIDIA driver >= 580 (CUDA 13.0), this machine has 570; "
        "publishes no torch 2.10 for linux-x86_64, Python 3.14")


def test_driver_fix_names_the_lowest_sufficient_driver() -> None:
    matrix, release = tiny(_variant("cu130", ["8.0"]), _variant("cu126", ["8.0"]))
    assert gates.driver_fix(matrix, release, host(nv("8.0", "470")), "3.12") == (
        "install NVIDIA driver >= 525.60.13 (for torch 2.10.0+cu126)")
    assert gates.driver_fix(matrix, release, host(nv("8.0", "470"), wsl=True), "3.12") == (
        "install NVIDIA driver >= 528.33 (for torch 2.10.0+cu126)")
    # a variant blocked by something else than the driver is no option
    assert gates.driver_fix(matrix, release, host(nv("8.0", "470")), "3.14") is None
    only_new = tiny(_variant("cu130", ["7.5", "8.0"]), _variant("cu126", ["8.0"]))
    assert gates.driver_fix(*only_new, host(nv("7.5", "470")), "3.12") == (
        "install NVIDIA driver >= 580 (for torch 2.10.0+cu130)")


def test_driver_fix_for_pre_turing_names_the_last_branch() -> None:
    matrix, release = tiny(_variant("cu126", ["6.1", "7.0"]))
    text = gates.driver_fix(matrix, release, host(nv("6.1", "470")), "3.12") or ""
    assert text.startswith("install NVIDIA driver >= 525.60.13") and "a 580.xx driver: R580 is the last" in text
    matrix, release = tiny(_variant("cu126", ["7.5"]))
    assert "R580" not in (gates.driver_fix(matrix, release, host(nv("7.5", "470")), "3.12") or "")
    assert "R580" not in (gates.driver_fix(matrix, release, host(nv(None, "470")), "3.12") or "")


def test_gate_edges_from_the_mutation_run() -> None:
    # PTX for exactly the GPU's capability serves it (no cubin of that major)
    ptx_only = tiny(_variant("cu130", ["8.0"], ptx=["9.0"], ptx_platforms=["linux-x86_64"]))[1].variants[0]
    assert gates.coverage(ptx_only, "9.0", "linux-x86_64") == "sm_90: PTX compute_90 (JIT-compiled on first use)"
    # a release whose PyPI default names neither this platform nor Linux x86_64
    no_default = tiny(CU130)[1]
    object.__setattr__(no_default, "pypi_default", {"windows-x86_64": "cpu"})
    assert gates.default_cuda(no_default, "windows-x86_64") is None
    # several verdicts are joined with " | "
    matrix, release = tiny(_variant("cu130", ["8.0"]), _variant("cu126", ["8.0"]))
    verdicts = gates.best_cuda(matrix, release, host(nv("8.0", "470")), "3.12")[1]
    assert gates.why_not(release, verdicts).count(" | ") == 1
    # the companions the spec needs also block a driver fix
    matrix, release = tiny(_variant("cu126", ["8.0"], companions_missing=["torchaudio"], companions_source="c"))
    assert gates.driver_fix(matrix, release, host(nv("8.0", "470")), "3.12", ["torchaudio"]) is None
    assert gates.driver_fix(matrix, release, host(nv("8.0", "470")), "3.12") is not None


def test_the_platforms_own_pypi_default_ranks_first() -> None:
    arm = ["linux-arm64"]
    matrix, release = tiny(_variant("cu126", ["8.0"], platforms=arm), _variant("cu130", ["8.0"], platforms=arm))
    object.__setattr__(release, "pypi_default", {"linux-arm64": "cu126", "linux-x86_64": "cu130"})
    best, _ = gates.best_cuda(matrix, release, HostInfo("linux", "arm64", gpus=(nv("8.0", "590"),)), "3.12")
    assert best is not None and best.variant.backend == "cu126"
