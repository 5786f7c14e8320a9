"""The selection table: hardware cases and the decision coursekit must make for each.

Pure: plain HostInfo values in, a Plan out, with the real envs/ matrix. A property test over a
grid of GPUs and drivers checks the three gates independently of the selector's code.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from coursekit.errors import ExitCode, UsageError
from coursekit.host import GpuInfo, HostInfo
from coursekit.setup.plan.compose import make_plan
from coursekit.setup.plan.envspec import EnvSpec, load_spec
from coursekit.setup.plan.matrix import Matrix, load_matrix, parse_cc, parse_driver, parse_matrix
from coursekit.setup.plan.model import Plan
from coursekit.setup.plan.select import NoTorchForPlatform, coverage, select_torch
from tests.helpers import NEWEST, TORCH


def nv(cc: str | None, driver: str | None, name: str = "GPU", index: int = 0) -> GpuInfo:
    return GpuInfo("nvidia", name, driver_version=driver, compute_capability=cc, index=index)


def linux(*gpus: GpuInfo, **kw: object) -> HostInfo:
    return HostInfo("linux", "x86_64", gpus=gpus, **kw)  # type: ignore[arg-type]


def decide(host: HostInfo, spec: EnvSpec | None = None, **kw: str) -> Plan:
    return make_plan(spec or load_spec(), host, **kw)


def warned(plan: Plan, *needles: str) -> bool:
    text = " ".join(plan.warnings)
    return all(n in text for n in needles)


# (case, host, expected torch version, expected backend, text every warning must contain or None = no warning)
TABLE = [
    ("Pascal sm_61, driver 580", linux(nv("6.1", "580.95.05", "GTX 1080")), f"{TORCH}+cu126", "cu126",
     "GTX 1080 (sm_61) is served only by cu126 builds"),
    ("Volta sm_70, driver 580", linux(nv("7.0", "580.95.05", "V100")), f"{TORCH}+cu126", "cu126",
     "pytorch/pytorch#190385"),
    ("Turing sm_75, driver 580", linux(nv("7.5", "580.95.05", "RTX 2080")), f"{TORCH}+cu130", "cu130", None),
    ("Ampere sm_86, driver 535", linux(nv("8.6", "535.183.01", "RTX 3090")), f"{TORCH}+cu126", "cu126",
     "minor-version compatibility"),
    ("Ada sm_89, driver 570", linux(nv("8.9", "570.133.07", "RTX 4090")), f"{TORCH}+cu126", "cu126", None),
    ("Ada sm_89, driver 580", linux(nv("8.9", "580.95.05", "RTX 4090")), f"{TORCH}+cu130", "cu130", None),
    ("Hopper sm_90, driver 580", linux(nv("9.0", "580.95.05", "H100")), f"{TORCH}+cu130", "cu130", None),
    ("Blackwell sm_120, driver 570", linux(nv("12.0", "570.133.07", "RTX 5090")), "2.11.0+cu128", "cu128",
     "580"),
    ("Blackwell sm_120, driver 580", linux(nv("12.0", "580.95.05", "RTX 5090")), f"{TORCH}+cu130", "cu130", None),
    ("driver 470, capability unknown", linux(nv(None, "470.82.01", "Tesla T4")), "2.7.1+cu118", "cu118",
     "525.60.13"),
    ("driver 470, Turing", linux(nv("7.5", "470.82.01", "Tesla T4")), "2.7.1+cu118", "cu118", "525.60.13"),
    ("Ada + Pascal, driver 580", linux(nv("8.9", "580.95.05", "RTX 4090"), nv("6.1", "580.95.05", "GTX 1080", 1)),
     f"{TORCH}+cu126", "cu126", "GTX 1080 (sm_61) is served only by cu126"),
    ("Blackwell + Pascal, driver 580",
     linux(nv("12.0", "580.95.05", "RTX 5090"), nv("6.1", "580.95.05", "GTX 1080", 1)),
     f"{TORCH}+cu130", "cu130", "CUDA_VISIBLE_DEVICES=0"),
    ("Windows Ada, driver 581", HostInfo("windows", "x86_64", gpus=(nv("8.9", "581.57"),)),
     f"{TORCH}+cu130", "cu130", None),
    ("Windows Turing, driver 560.94", HostInfo("windows", "x86_64", gpus=(nv("7.5", "560.94"),)),
     f"{TORCH}+cu126", "cu126", None),
    ("Windows, no GPU", HostInfo("windows", "x86_64"), f"{TORCH}+cpu", "cpu", None),
    ("Windows, AMD GPU", HostInfo("windows", "x86_64", gpus=(GpuInfo("amd", "gfx1100", gfx="gfx1100"),)),
     f"{TORCH}+cpu", "cpu", "Linux x86_64 only"),
    ("macOS arm64, Sonoma", HostInfo("macos", "arm64", macos_version="14.5"), f"{TORCH}", "pypi", None),
    ("macOS arm64, Ventura", HostInfo("macos", "arm64", macos_version="13.6"), f"{TORCH}", "pypi", "macOS 14"),
    ("AMD gfx1100", linux(GpuInfo("amd", "gfx1100", gfx="gfx1100")), f"{TORCH}+rocm7.2", "rocm7.2", None),
    ("AMD gfx1036 (no build)", linux(GpuInfo("amd", "gfx1036", gfx="gfx1036")), f"{TORCH}+cpu", "cpu",
     "HSA_OVERRIDE_GFX_VERSION"),
    ("AMD iGPU gfx1036 + dGPU gfx1100", linux(GpuInfo("amd", "gfx1036", gfx="gfx1036"),
                                              GpuInfo("amd", "gfx1100", gfx="gfx1100", index=1)),
     f"{TORCH}+rocm7.2", "rocm7.2", "HIP_VISIBLE_DEVICES"),
    ("AMD Strix Halo gfx1151", linux(GpuInfo("amd", "gfx1151", gfx="gfx1151")),
     f"{TORCH}+rocm7.2", "rocm7.2", None),
    ("no GPU", linux(), f"{TORCH}+cpu", "cpu", None),
    ("Linux arm64, no GPU", HostInfo("linux", "arm64"), f"{TORCH}", "cpu", None),
    ("Linux arm64 GB10 sm_121, driver 580", HostInfo("linux", "arm64", gpus=(nv("12.1", "580.95.05", "GB10"),)),
     f"{TORCH}+cu130", "cu130", None),
    ("Jetson Orin (L4T), arm64", HostInfo("linux", "arm64", jetson=True, gpus=(nv("8.7", "540.4.0", "Orin"),)),
     f"{TORCH}", "cpu", "Jetson"),
    ("WSL Ampere, Windows driver 581", linux(nv("8.6", "581.57", "RTX 3080"), wsl=True), f"{TORCH}+cu130",
     "cu130", None),
    ("WSL Ampere, Windows driver 537.58", linux(nv("8.6", "537.58", "RTX 3080"), wsl=True), f"{TORCH}+cu126",
     "cu126", "driver >= 580 would allow the PyPI-default cu130"),
    ("WSL Ampere, Windows driver 527.41 (< Windows 12.x minimum)", linux(nv("8.6", "527.41", "RTX 3080"), wsl=True),
     "2.7.1+cu118", "cu118", "528.33"),
    ("Pascal sm_61, driver 590 (too new for Pascal)", linux(nv("6.1", "590.48.01", "GTX 1080")), f"{TORCH}+cu126",
     "cu126", "needs the 580.xx driver"),
    ("Kepler sm_35", linux(nv("3.5", "470.82.01", "GTX 780")), f"{TORCH}+cpu", "cpu", "CPU build although"),
]


@pytest.mark.parametrize(("case", "host", "version", "backend", "warning"), TABLE, ids=[t[0] for t in TABLE])
def test_hardware_table(case: str, host: HostInfo, version: str, backend: str, warning: str | None) -> None:
    plan = decide(host)
    assert (plan.torch.version, plan.torch.backend) == (version, backend), plan.reasons
    if warning is None:
        assert not [w for w in plan.warnings if "torchaudio" not in w], plan.warnings
    else:
        assert warned(plan, warning), plan.warnings
    if backend == "pypi":
        assert plan.torch.index_url is None
    else:
        assert plan.torch.index_url == f"https://download.pytorch.org/whl/{backend}"


def test_macos_intel_has_no_wheels() -> None:
    with pytest.raises(NoTorchForPlatform) as err:
        decide(HostInfo("macos", "x86_64"))
    assert err.value.exit_code == ExitCode.ENVIRONMENT
    assert "Intel Macs" in (err.value.fix or "")


def test_windows_rejects_linux_only_ptx_and_cu129() -> None:
    matrix = load_matrix()
    # The newest release whose cu130 build carries compute_120 PTX on Linux only (release wheels
    # of 2.11, 2.12 and 2.14 carry none: envs/SOURCES.md W11).
    cu130 = next(v for r in reversed(matrix.releases) for v in r.variants if v.backend == "cu130"
                 and "windows-x86_64" in v.platforms and v.ptx)
    assert cu130.ptx_platforms == ("linux-x86_64",)
    # Same-major cubins serve a higher minor (sm_121 runs sm_120 code) on every platform.
    assert coverage(cu130, "12.1", "windows-x86_64") == "sm_121: cubin sm_120"
    assert "PTX" in (coverage(cu130, "13.0", "linux-x86_64") or "")
    assert coverage(cu130, "13.0", "windows-x86_64") is None
    with pytest.raises(UsageError):
        decide(HostInfo("windows", "x86_64", gpus=(nv("8.6", "581.57"),)), torch="2.9", backend="cu129")


def test_pin_that_cannot_serve_the_gpu_gives_cpu_with_the_fix() -> None:
    plan = decide(linux(nv("12.0", "570.133.07", "RTX 5090")), torch=NEWEST)
    assert plan.torch.backend == "cpu"
    assert warned(plan, "CPU build although", "install NVIDIA driver >= 580")


def test_amd_pin_without_that_gfx_is_cpu_with_a_hint() -> None:
    plan = decide(linux(GpuInfo("amd", "gfx1151", gfx="gfx1151")), torch="2.10")
    assert plan.torch.version == "2.10.0+cpu"
    assert warned(plan, "CPU build although this machine has an AMD GPU", "gfx1151")


def test_unknown_driver_is_judged_by_the_reported_cuda_version() -> None:
    plan = decide(linux(nv("8.6", None), cuda_driver_api="12.4"))
    assert plan.torch.version == f"{TORCH}+cu126"
    assert warned(plan, "judged by the CUDA version it reports (12.4)")
    assert decide(linux(nv("8.6", None), cuda_driver_api="13.0")).torch.backend == "cu130"
    skipped = decide(linux(nv("8.6", None)))
    assert warned(skipped, "the driver gate was skipped")


def test_pascal_driver_fix_names_the_r580_branch() -> None:
    plan = decide(linux(nv("6.1", "470.82.01", "GTX 1080")))
    assert plan.torch.version == "2.7.1+cu118"
    assert warned(plan, "R580 is the last branch")


def test_explicit_torch_pin_respected() -> None:
    plan = decide(linux(nv("12.0", "580.95.05")), torch="2.9")
    assert plan.torch.version == "2.9.1+cu128"  # full support for both; the PyPI default wins
    assert "pinned by --torch" in plan.reasons[0]
    assert decide(linux(nv("8.6", "580.95.05")), torch="2.9.0").torch.version == "2.9.0+cu128"


def test_spec_pins_apply_and_flags_win() -> None:
    spec = replace(load_spec(), torch_version="2.12", torch_backend="cu126")
    plan = decide(linux(nv("8.6", "580.95.05")), spec)
    assert plan.torch.version == "2.12.1+cu126"
    assert any("env spec" in r for r in plan.reasons)
    assert decide(linux(nv("8.6", "580.95.05")), spec, torch="2.13", backend="cu130").torch.version == "2.13.0+cu130"


def test_forced_backend_warns_when_a_gate_fails() -> None:
    plan = decide(linux(nv("6.1", "580.95.05")), backend="cu130")
    assert plan.torch.backend == "cu130"
    assert warned(plan, "overrides a failed check", "sm_61")
    cpu = decide(linux(nv("8.6", "580.95.05")), backend="cpu")
    assert cpu.torch.version == f"{TORCH}+cpu" and warned(cpu, "GPU will not be used")


def test_python_gate_picks_a_release_for_that_python() -> None:
    spec = replace(load_spec(), python="3.9")
    assert decide(linux(nv("8.6", "580.95.05")), spec).torch.release == "2.8"
    with pytest.raises(UsageError):
        decide(linux(), spec, torch=NEWEST)


def test_full_support_then_pypi_default_then_newest() -> None:
    # Full support for cu126, cu130 and cu132; a spec without torchaudio can take any of them.
    spec = replace(load_spec(), torch_packages=("torch", "torchvision"))
    plan = decide(linux(nv("8.6", "595.58.03")), spec)
    assert plan.torch.backend == "cu130"
    assert any("also qualified: cu126, cu132" in r for r in plan.reasons)


def test_a_variant_whose_index_lacks_a_companion_is_not_chosen() -> None:
    # No cu132 torchaudio is published (pytorch/pytorch#193651): with torchaudio in the spec,
    # cu132 is rejected, naming the companion, and no plan pins a torchaudio+cu132.
    plan = decide(linux(nv("8.6", "595.58.03")))
    assert plan.torch.backend == "cu130"
    assert any(r.startswith("rejected cu132") and "no torchaudio" in r for r in plan.reasons), plan.reasons
    assert "cu132" not in plan.torch.torchaudio


def test_forcing_a_backend_without_a_companion_names_it_and_the_spec_change() -> None:
    with pytest.raises(UsageError) as info:
        decide(linux(nv("8.6", "595.58.03")), backend="cu132")
    assert "torchaudio" in info.value.message and "[pip] torch" in (info.value.fix or "")
    spec = replace(load_spec(), torch_packages=("torch", "torchvision"))
    plan = decide(linux(nv("8.6", "595.58.03")), spec, backend="cu132")
    assert plan.torch.backend == "cu132"
    assert not [s for s in plan.steps if any("torchaudio" in a for a in (*s.argv, *s.python_args, *s.holds))]


@pytest.mark.parametrize(("glibc", "ok"), [("2.27", False), ("2.17", False), ("2.28", True), ("2.39", True),
                                           ("musl", False), (None, True)])
def test_glibc_gate(glibc: str | None, ok: bool) -> None:
    host = linux(nv("8.6", "580.95.05"), glibc=glibc)
    if ok:
        assert decide(host).torch.backend == "cu130"
        return
    from coursekit.setup.plan.select import NoTorchForPlatform

    with pytest.raises(NoTorchForPlatform) as info:
        decide(host)
    assert info.value.exit_code == 3
    text = info.value.message + " " + (info.value.fix or "")
    assert ("musl" in text) if glibc == "musl" else ("glibc >= 2.28" in text and f"glibc {glibc}" in text)
    assert "WSL" in text and "container" in text


def test_glibc_gate_ignores_other_systems() -> None:
    # A C library only matters on Linux: a Windows or macOS host never carries one.
    assert decide(HostInfo("windows", "x86_64", glibc="2.17")).torch.backend == "cpu"


@pytest.mark.parametrize(("bad", "kw"), [("backend", {"backend": "cu999"}), ("torch", {"torch": "1.13"}),
                                         ("engine", {"engine": "pixi"})])
def test_bad_overrides_are_usage_errors(bad: str, kw: dict[str, str]) -> None:
    with pytest.raises(UsageError) as err:
        decide(linux(), **kw)
    assert err.value.exit_code == ExitCode.USAGE and err.value.fix


CCS = ["3.7", "5.0", "5.2", "6.0", "6.1", "7.0", "7.5", "8.0", "8.6", "8.7", "8.9", "9.0", "10.0", "10.3",
       "12.0", "12.1"]
DRIVERS = ["450.80.02", "470.82.01", "525.60.13", "535.183.01", "560.28.03", "570.26", "575.57.08",
           "580.65.06", "595.71.05"]


@pytest.mark.parametrize(("os_name", "wsl"), [("linux", False), ("windows", False), ("linux", True)])
def test_every_choice_passes_the_three_gates(os_name: str, wsl: bool) -> None:
    """Over a grid of GPUs and drivers: a CUDA choice passes every gate; a CPU choice is explained."""
    matrix = load_matrix()
    table = "windows" if os_name == "windows" or wsl else "linux"
    platform = f"{os_name}-x86_64"
    for cc, driver in itertools.product(CCS, DRIVERS):
        plan = decide(HostInfo(os_name, "x86_64", wsl=wsl, gpus=(nv(cc, driver),)))
        if plan.torch.backend == "cpu":
            assert warned(plan, "CPU build although"), (cc, driver)
            continue
        release, _ = matrix.resolve(plan.torch.release)
        variant = next(v for v in release.variants_for(platform) if v.backend == plan.torch.backend)
        minimum = matrix.drivers[variant.cuda or ""].minimum[table]
        assert parse_driver(driver) >= parse_driver(minimum), (cc, driver, plan.torch)
        gpu = parse_cc(cc)
        cubin = any(parse_cc(s)[0] == gpu[0] and parse_cc(s) <= gpu for s in variant.sm)
        ptx = any(parse_cc(p) <= gpu for p in variant.ptx_on(platform))
        assert cubin or ptx, (cc, driver, plan.torch)
        assert "3.12" in release.python


# --- issue 18: behaviours the mutation run found unpinned (bench/mutation.py select) ---------------
# A hand-made matrix makes each choice hinge on one rule: flip the rule and the choice changes.


SMALL_DRIVERS = {"cuda": {
    "12.6": {"minimum": {"linux": "525.60.13", "windows": "528.33"},
             "full": {"linux": "560.28.03", "windows": "560.94"}, "minimum_source": "m", "full_source": "f"},
    "13.0": {"minimum": {"linux": "580", "windows": "580"},
             "full": {"linux": "580.65.06", "windows": "580.88"}, "minimum_source": "m", "full_source": "f"}},
    "branches": {"last_for_pre_turing": "580", "last_for_pre_turing_source": "b",
                 "pre_turing_below_cc": "7.5", "pre_turing_below_cc_source": "b"}}
SMALL_ROCM = {"rocm7.1": {"gfx": ["gfx1100"], "source": "s"},
        "rocm7.2": {"gfx": ["gfx1100", "gfx1151"], "source": "s"},
        "rocm6.4": {"gfx": ["gfx1030", "gfx1100", "gfx1151"], "source": "s"}}


def var(backend: str, sm: tuple[str, ...] = (), platforms: tuple[str, ...] = ("linux-x86_64",),
        **kw: Any) -> dict[str, Any]:
    return {"backend": backend, "platforms": list(platforms), "sm": list(sm), "source": "s", **kw}


def small(**releases: list[dict[str, Any]]) -> Matrix:
    """``small(r2_11=[...], r2_10=[...])``: releases by line, variants as given."""
    rows = []
    for name, variants in releases.items():
        line = name[1:].replace("_", ".")
        rows.append({"line": line, "python": ["3.12"], "python_source": "s", "versions_source": "s",
                     "pypi_default_source": "s", "pypi_default": {"linux-x86_64": "cu126"},
                     "versions": [{"torch": f"{line}.0", "torchvision": "0.1.0", "torchaudio": f"{line}.0"}],
                     "variant": [*variants, var("cpu", platforms=("linux-x86_64", "windows-x86_64"))]})
    return parse_matrix({"index_base": "https://x/whl", "release": rows, "rocm": SMALL_ROCM}, SMALL_DRIVERS)


def amd(*gfx: str) -> HostInfo:
    return HostInfo("linux", "x86_64", gpus=tuple(GpuInfo("amd", g, gfx=g) for g in gfx))


def test_every_amd_gpu_covered_comes_before_the_newest_release() -> None:
    m = small(r2_11=[var("rocm7.1")], r2_10=[var("rocm7.2")])
    both = select_torch(m, amd("gfx1100", "gfx1151"), python="3.12")
    assert (both.version.torch, both.variant.backend) == ("2.10.0", "rocm7.2")
    assert any("not the newest 2.11.0" in w for w in both.warnings)
    assert not any("every AMD GPU" in w for w in both.warnings)
    one = select_torch(m, amd("gfx1100"), python="3.12")
    assert (one.version.torch, one.variant.backend, one.warnings) == ("2.11.0", "rocm7.1", ())
    assert "rocm7.1 has kernels for gfx1100" in one.reasons[1]


def test_amd_most_gpus_then_newest_rocm() -> None:
    m = small(r2_11=[var("rocm7.1"), var("rocm7.2"), var("rocm6.4")])
    # rocm7.2 and rocm6.4 both cover both GPUs: the newer ROCm (by number: 7.2 > 6.4)
    assert select_torch(m, amd("gfx1100", "gfx1151"), python="3.12").variant.backend == "rocm7.2"
    # nobody covers all three: the one covering most (rocm6.4: 3 of 3? no, gfx9999 unknown)
    partial = select_torch(m, amd("gfx1030", "gfx1151", "gfx9999"), python="3.12")
    assert partial.variant.backend == "rocm6.4"
    assert any("no kernels for gfx9999" in w and "HIP_VISIBLE_DEVICES" in w for w in partial.warnings)
    none = select_torch(m, amd("gfx9999"), python="3.12")
    assert none.variant.backend == "cpu" and any("HSA_OVERRIDE_GFX_VERSION" in w for w in none.warnings)
    win = select_torch(m, HostInfo("windows", "x86_64", gpus=(GpuInfo("amd", "RX", gfx="gfx1100"),)),
                       python="3.12")
    assert win.variant.backend == "cpu" and any("Linux x86_64 only" in w for w in win.warnings)


def test_forcing_a_backend_only_an_older_release_publishes() -> None:
    m = small(r2_11=[var("cu130", ("8.0",))], r2_10=[var("cu126", ("8.0",)), var("cu130", ("8.0",))])
    host = linux(nv("8.0", "590"))
    forced = select_torch(m, host, python="3.12", backend="cu126")
    assert (forced.version.torch, forced.variant.backend) == ("2.10.0", "cu126")
    assert forced.reasons == (("backend cu126 chosen by --backend; torch 2.10.0 is the newest release "
                              "that publishes it for linux-x86_64"),)
    assert forced.warnings == ()
    with pytest.raises(UsageError, match=r"backend 'cu126' publishes no wheels of torch 2\.11\.0") as info:
        select_torch(m, host, python="3.12", backend="cu126", torch="2.11")
    assert info.value.fix == "Choose one of: cpu, cu130."
    with pytest.raises(UsageError, match=r"unknown backend 'cu999'") as unknown:
        select_torch(m, host, python="3.12", backend="cu999")
    assert unknown.value.fix == "Use one of: cpu, cu126, cu130."
    with pytest.raises(UsageError, match="publishes no wheels of any torch in the matrix for windows"):
        select_torch(m, HostInfo("windows", "x86_64"), python="3.12", backend="cu126")


def test_forced_backend_warnings() -> None:
    m = small(r2_11=[var("cu130", ("8.0",)), var("rocm7.1")])
    assert select_torch(m, linux(nv("8.0", "590")), python="3.12", backend="cu130").warnings == ()
    no_gpu = select_torch(m, linux(), python="3.12", backend="cu130", backend_source="the env spec")
    assert no_gpu.warnings == (("the env spec cu130: no NVIDIA GPU is known on this machine; torch will run on "
                               "the CPU"),)
    low = select_torch(m, linux(nv("8.0", "570")), python="3.12", backend="cu130")
    assert low.warnings == (("--backend cu130 overrides a failed check: cu130 needs NVIDIA driver >= 580 "
                            "(CUDA 13.0), this machine has 570"),)
    assert select_torch(m, amd("gfx1100"), python="3.12", backend="rocm7.1").warnings == ()
    assert select_torch(m, amd("gfx1151"), python="3.12", backend="rocm7.1").warnings == (
        "--backend rocm7.1: no kernels for gfx1151",)
    assert select_torch(m, linux(), python="3.12", backend="rocm7.1").warnings == (
        "--backend rocm7.1: no kernels for any known AMD GPU here",)
    assert select_torch(m, linux(), python="3.12", backend="cpu").warnings == ()
    assert select_torch(m, amd("gfx1100"), python="3.12", backend="cpu").warnings == (
        "--backend cpu: this machine's GPU will not be used",)
    assert not select_torch(m, linux(nv("8.0", "590")), python="3.12", backend="cpu").gpu
    assert select_torch(m, linux(nv("8.0", "590")), python="3.12", backend="cu130").gpu


def test_pinned_release_reasons_and_unverified_facts() -> None:
    m = small(r2_11=[var("cu130", ("8.0",), verified=False, unverified="the sm list", note="a note")],
              r2_10=[var("cu126", ("8.0",))])
    sel = select_torch(m, linux(nv("8.0", "590")), python="3.12", torch="2.11", pin_source="the env spec")
    assert sel.reasons[0] == "torch 2.11.0 pinned by the env spec"
    assert "unverified in envs/torch-matrix.toml (torch 2.11): the sm list" in sel.reasons
    assert "a note" in sel.warnings
    older = select_torch(m, linux(nv("8.0", "590")), python="3.12", torch="2.10")
    assert older.version.torch == "2.10.0" and not any("not the newest" in w for w in older.warnings)


def test_an_older_release_when_the_newest_cannot_serve_names_the_driver() -> None:
    m = small(r2_11=[var("cu130", ("8.0",))], r2_10=[var("cu126", ("8.0",))])
    sel = select_torch(m, linux(nv("8.0", "570")), python="3.12")
    assert sel.version.torch == "2.10.0" and sel.variant.backend == "cu126"
    assert sel.warnings[0] == ("torch 2.10.0, not the newest 2.11.0: no build of 2.11 serves this machine. "
                               "To get it, install NVIDIA driver >= 580 (for torch 2.11.0+cu130).")
    assert sel.reasons[0] == "torch 2.10.0: the newest release in the matrix that serves this machine"
    assert sel.reasons[1].startswith("torch 2.11: cu130 needs NVIDIA driver >= 580")
    assert sel.reasons[2] == ("cu126: driver 570 >= 525.60.13 (CUDA 12.6 minimum for linux, NVIDIA release "
                              "notes Table 2; full support)")
    nokernels = small(r2_11=[var("cu130", ("9.0",))], r2_10=[var("cu126", ("8.0",))])
    w = select_torch(nokernels, linux(nv("8.0", "590")), python="3.12").warnings[0]
    assert w.endswith("Its builds have no kernels for this GPU.")


def test_minor_version_compatibility_warning_names_the_default() -> None:
    m = small(r2_11=[var("cu126", ("8.0",)), var("cu130", ("8.0",))])
    sel = select_torch(m, linux(nv("8.0", "550")), python="3.12")
    assert sel.variant.backend == "cu126"
    assert sel.warnings == (("driver 550 runs cu126 through CUDA minor-version compatibility (limited features); "
                            "driver >= 560.28.03 gives full support."),)
    m2 = parse_matrix({"index_base": "https://x/whl", "rocm": SMALL_ROCM, "release": [{
        "line": "2.11", "python": ["3.12"], "python_source": "s", "versions_source": "s", "pypi_default_source": "s",
        "pypi_default": {"linux-x86_64": "cu130"},
        "versions": [{"torch": "2.11.0", "torchvision": "0.1.0", "torchaudio": "2.11.0"}],
        "variant": [var("cu126", ("8.0",)), var("cu130", ("8.0",))]}]}, SMALL_DRIVERS)
    text = select_torch(m2, linux(nv("8.0", "550")), python="3.12").warnings[0]
    assert text.endswith("gives full support; driver >= 580 would allow the PyPI-default cu130.")


def test_branch_warning_only_for_pre_turing_above_the_last_branch() -> None:
    m = small(r2_11=[var("cu126", ("6.1", "7.5", "8.0"))])
    newer = select_torch(m, linux(nv("6.1", "590.10", "GTX 1080")), python="3.12")
    assert ("driver 590.10 is newer than R580, the last branch for Maxwell, Pascal and Volta: GTX 1080 (sm_61) "
            "needs the 580.xx driver") in newer.warnings
    for gpu in (nv("6.1", "580.95", "GTX 1080"), nv("7.5", "590.10", "T4")):
        assert not any("R580" in w for w in select_torch(m, linux(gpu), python="3.12").warnings)


def test_unknown_capability_and_driver_are_said() -> None:
    m = small(r2_11=[var("cu126", ("8.0",))])
    sel = select_torch(m, linux(nv(None, None)), python="3.12")
    assert sel.variant.backend == "cu126"
    assert any("compute capability is unknown" in w for w in sel.warnings)
    assert any("the driver gate was skipped" in w for w in sel.warnings)
    assert sel.reasons[1] == "cu126: driver version unknown, assumed >= 525.60.13"
    known = select_torch(m, linux(nv("8.0", "590")), python="3.12")
    assert not any("unknown" in w for w in known.warnings)


def test_several_gpus_no_build_covers_all_takes_the_most_then_newest() -> None:
    m = small(r2_11=[var("cu126", ("6.1", "8.0")), var("cu130", ("8.0", "9.0"))])
    gpus = (nv("6.1", "590", "GTX 1080", 0), nv("9.0", "590", "H100", 1), nv("8.0", "590", "A100", 2))
    sel = select_torch(m, linux(*gpus), python="3.12")
    # each covers two GPUs; cu130 covers the newest one (sm_90)
    assert sel.variant.backend == "cu130"
    assert sel.warnings[0] == ("no PyTorch build covers every GPU: cu130 has no kernels for GPU 0 "
                               "(GTX 1080, sm_61). Hide it with CUDA_VISIBLE_DEVICES=1,2.")
    more = select_torch(m, linux(*gpus, nv("6.1", "590", "GTX 1080", 3)), python="3.12")
    assert more.variant.backend == "cu126"  # three GPUs beat the newest one
    assert "CUDA_VISIBLE_DEVICES=0,2,3" in more.warnings[0]
    same = select_torch(m, linux(nv("9.0", "590", "H100"), nv("9.0", "590", "H100", 1)), python="3.12")
    assert same.variant.backend == "cu130" and same.warnings == ()


def test_macos_warns_below_sonoma_only() -> None:
    m = parse_matrix({"index_base": "https://x/whl", "rocm": SMALL_ROCM, "release": [{
        "line": "2.11", "python": ["3.12"], "python_source": "s", "versions_source": "s", "pypi_default_source": "s",
        "pypi_default": {"macos-arm64": "pypi"},
        "versions": [{"torch": "2.11.0", "torchvision": "0.1.0", "torchaudio": "2.11.0"}],
        "variant": [var("pypi", platforms=("macos-arm64",))]}]}, SMALL_DRIVERS)
    old = select_torch(m, HostInfo("macos", "arm64", macos_version="13.6"), python="3.12")
    assert old.variant.backend == "pypi" and "MPS needs macOS 14" in old.warnings[0]
    assert select_torch(m, HostInfo("macos", "arm64", macos_version="14.0"), python="3.12").warnings == ()
    assert select_torch(m, HostInfo("macos", "arm64"), python="3.12").warnings == ()
