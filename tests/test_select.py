"""The selection table: hardware cases and the decision coursekit must make for each.

Pure: plain HostInfo values in, a Plan out, with the real envs/ matrix. A property test over a
grid of GPUs and drivers checks the three gates independently of the selector's code.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from coursekit.errors import ExitCode, UsageError
from coursekit.host import GpuInfo, HostInfo
from coursekit.setup.plan.envspec import EnvSpec, load_spec
from coursekit.setup.plan.matrix import load_matrix, parse_cc, parse_driver
from coursekit.setup.plan.model import Plan, make_plan
from coursekit.setup.plan.select import NoTorchForPlatform, coverage
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
    ("Pascal sm_61, driver 580", linux(nv("6.1", "580.95.05", "GTX 1080")), f"{TORCH}+cu126", "cu126", None),
    ("Volta sm_70, driver 580", linux(nv("7.0", "580.95.05", "V100")), f"{TORCH}+cu126", "cu126", None),
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
     f"{TORCH}+cu126", "cu126", None),
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
    cu130 = next(v for v in matrix.resolve(NEWEST)[0].variants if v.backend == "cu130"
                 and "windows-x86_64" in v.platforms)
    assert coverage(cu130, "12.1", "windows-x86_64") is None or "cubin" in (coverage(cu130, "12.1", "windows-x86_64") or "")
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
    plan = decide(linux(nv("8.6", "595.58.03")))  # full support for cu126, cu130 and cu132
    assert plan.torch.backend == "cu130"
    assert any("also qualified: cu126, cu132" in r for r in plan.reasons)


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
