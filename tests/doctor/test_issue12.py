"""Issue 12: the doctor's rules on real failure shapes (each test fails on the code before it)."""

from __future__ import annotations

from typing import Any

import pytest

from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.view import Finding
from tests.doctor.fixtures import healthy_data, merge


def facts(base: str, patch: dict[str, Any]) -> Facts:
    return from_data(Facts, merge(healthy_data(base), patch))


def found(base: str, patch: dict[str, Any]) -> dict[str, Finding]:
    return {f.id: f for f in diagnose(facts(base, patch))}


def with_versions(torch: str, vision: str | None, audio: str | None, base: str = "cpu_linux",
                  bridge: bool | None = True) -> dict[str, Finding]:
    data = healthy_data(base)
    data["probe"]["data"]["torch"]["numpy_ok"] = bridge
    items = [d for d in data["probe"]["data"]["distributions"]["items"]
             if d["name"] not in ("torch", "torchvision", "torchaudio")]
    loc = data["probe"]["data"]["python"]["prefix"] + "/lib/python3.12/site-packages"
    for name, version in (("torch", torch), ("torchvision", vision), ("torchaudio", audio)):
        if version:
            items.append({"name": name, "version": version, "location": loc, "installer": "pip"})
    data["probe"]["data"]["distributions"]["items"] = items
    data["probe"]["data"]["torch"]["version"] = torch
    data["probe"]["data"]["imports"] = {}
    return {f.id: f for f in diagnose(from_data(Facts, data))}


# --- bug 2: old torchvision/torchaudio numbering -------------------------------------------------

@pytest.mark.parametrize(("torch", "vision", "audio"), [
    ("1.4.0", "0.5.0", "0.4.0"), ("1.5.1", "0.6.1", "0.5.1"), ("1.7.1", "0.8.2", "0.7.2"),
    ("1.10.2", "0.11.3", "0.10.2"), ("1.13.1+cu117", "0.14.1+cu117", "0.13.1+cu117"),
    ("2.0.0", "0.15.1", "2.0.1"), ("2.0.1+cu118", "0.15.2+cu118", "2.0.2+cu118"),
    ("2.5.1", "0.20.1", "2.5.1"), ("2.12.0+cpu", "0.27.0+cpu", "2.11.0+cpu")])
def test_published_pairs_are_not_a_mismatch(torch: str, vision: str, audio: str) -> None:
    ids = set(with_versions(torch, vision, audio))
    assert not ids & {"torchvision-mismatch", "torchaudio-mismatch"}, ids


@pytest.mark.parametrize(("torch", "vision", "audio", "bad"), [
    ("1.13.1", "0.15.1", "0.13.1", "torchvision-mismatch"), ("1.12.1", "0.13.1", "0.13.1", "torchaudio-mismatch"),
    ("2.0.1", "0.14.1", "2.0.2", "torchvision-mismatch"), ("1.13.1", "0.14.1", "2.0.1", "torchaudio-mismatch"),
    ("2.13.0+cpu", "0.28.0+cpu", "2.10.0+cpu", "torchaudio-mismatch")])
def test_wrong_pairs_are_named(torch: str, vision: str, audio: str, bad: str) -> None:
    assert bad in with_versions(torch, vision, audio)


@pytest.mark.parametrize(("torch", "vision", "audio"), [("1.3.1", "0.4.2", "0.3.2"), ("1.0.0", "0.2.2", None),
                                                        ("2.15.0", "0.30.0", "2.11.0")])
def test_pairs_the_tables_do_not_know_are_not_errors(torch: str, vision: str, audio: str | None) -> None:
    ids = set(with_versions(torch, vision, audio))
    assert not ids & {"torchvision-mismatch", "torchaudio-mismatch"}, ids


def test_pairing_says_which_torch_a_companion_is_for() -> None:
    f = with_versions("1.13.1", "0.15.1", "0.13.1")["torchvision-mismatch"]
    assert "is for torch 2.0" in f.detail


# --- bug 3: backend advice through the planner's architecture gate --------------------------------

def _old_gpu(name: str, cc: str | None, driver: str, warning: str, torch: str = "2.7.1+cu118",
             arch: tuple[str, ...] = ("sm_37", "sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")) -> dict[str, Finding]:
    gpu = {"vendor": "nvidia", "name": name, "driver_version": driver, "compute_capability": cc,
           "gfx": None, "memory_mib": 2048, "index": 0}
    return found("gpu_linux", {"gpu": {"gpus": [gpu], "cuda_driver_api": None}, "probe": {"data": {"torch": {
        "version": torch, "cuda": "11.8", "cuda_available": True, "arch_list": list(arch), "devices": [],
        "cuda_op": {"ok": False, "error": "CUDA error: no kernel image is available for execution on the device"},
        "warnings": [warning]}}}})


@pytest.mark.parametrize(("name", "cc", "warning"), [
    ("NVIDIA GeForce GT 730", None, "\n    Found GPU0 NVIDIA GeForce GT 730 which is of cuda capability 3.0.\n    PyTorch no "
     "longer supports this GPU because it is too old.\n    The minimum cuda capability supported by this library is 3.7.\n"),
    ("GeForce GTX 670M", None, "Found GPU0 GeForce GTX 670M which is of cuda capability 2.1.\n    PyTorch no longer "
     "supports this GPU because it is too old."),
    ("NVIDIA GeForce GTX 770", "3.0", ""),
])
def test_a_gpu_no_build_supports_gets_the_cpu_build_with_the_reason(name: str, cc: str | None, warning: str) -> None:
    f = _old_gpu(name, cc, "470.82.01", warning)
    fix = f["gpu-arch-unsupported"].fix or ""
    assert "--backend cpu" in fix and "no PyTorch build" in fix and "has kernels for it" not in fix
    assert "driver-too-old" not in f  # a newer driver would not help this GPU


def test_capability_from_torchs_warning_reaches_the_planner() -> None:
    # GTX 1080 (sm_61) on driver 470 without compute_cap in nvidia-smi: the planner's choice for
    # driver 470 with sm_61 is torch 2.7 cu118 (sm_60 cubins, driver >= 450.80.02), never cu128+.
    f = _old_gpu("NVIDIA GeForce GTX 1080", None, "470.82.01",
                 "Found GPU0 NVIDIA GeForce GTX 1080 which is of compute capability (CC) 6.1.",
                 torch="2.9.0+cu128", arch=("sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"))
    fix = f["gpu-arch-unsupported"].fix or ""
    assert "--backend cu118" in fix and "cu130" not in fix and "cu128" not in fix


def test_sm_not_compatible_warning_names_the_gpu() -> None:
    f = _old_gpu("NVIDIA GeForce RTX 5090", None, "580.95.05",
                 "NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch "
                 "installation.\nThe current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 "
                 "sm_86 sm_90.", torch="2.6.0+cu126", arch=("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"))
    assert "(sm_120)" in f["gpu-arch-unsupported"].title
    assert "--backend cu1" in (f["gpu-arch-unsupported"].fix or "")


# --- item 4: driver minimums for every CUDA a torch may carry -------------------------------------

@pytest.mark.parametrize(("cuda", "table", "minimum"), [
    ("10.2", "linux", "440.33"), ("10.2", "windows", "441.22"), ("10.1", "linux", "418.39"),
    ("10.0", "windows", "411.31"), ("9.2", "linux", "396.26"), ("9.0", "linux", "384.81"),
    ("11.0", "linux", "450.36.06"), ("11.7", "linux", "450.80.02"), ("11.3", "windows", "452.39"),
    ("12.1", "linux", "525.60.13"), ("12.4", "windows", "528.33"), ("13.0", "linux", "580")])
def test_driver_minimum_for_every_cuda(cuda: str, table: str, minimum: str) -> None:
    from coursekit.doctor.advice import driver_minimum

    assert driver_minimum(cuda, table) == minimum


def test_driver_too_old_fires_for_an_old_cuda_10_build() -> None:
    gpu = {"vendor": "nvidia", "name": "GeForce GTX 1060", "driver_version": "418.87.00",
           "compute_capability": "6.1", "gfx": None, "memory_mib": 6144, "index": 0}
    f = found("gpu_linux", {"gpu": {"gpus": [gpu], "cuda_driver_api": "10.1"}, "probe": {"data": {"torch": {
        "version": "1.7.1+cu102", "cuda": "10.2", "cuda_available": False, "device_count": 0, "devices": [],
        "arch_list": ["sm_37", "sm_50", "sm_60", "sm_70", "sm_75"], "cuda_op": None}}}})
    assert ">= 440.33" in (f["driver-too-old"].fix or "")


# --- item 5: no driver told apart from no GPU ------------------------------------------------------

def _cuda_build_without_smi(pci: int | None, warning: str = "") -> dict[str, Finding]:
    return found("gpu_linux", {"gpu": {"gpus": [], "cuda_driver_api": None, "pci_nvidia": pci,
                                       "notes": ["nvidia-smi not found: no NVIDIA driver installed"]},
                               "probe": {"data": {"torch": {"cuda_available": False, "device_count": 0, "devices": [],
                                                            "cuda_op": None, "warnings": [warning] if warning else []}}}})


def test_no_driver_with_an_nvidia_gpu_on_the_bus_is_an_error_whose_fix_installs_the_driver() -> None:
    f = _cuda_build_without_smi(1, "CUDA initialization: Found no NVIDIA driver on your system. Please check that "
                                   "you have an NVIDIA GPU and installed a driver")
    d = f["driver-missing"]
    assert d.severity == "error" and (d.fix or "").startswith("Install the NVIDIA driver")
    assert "no-gpu" not in f and "cuda-build-without-gpu" not in f


def test_no_driver_and_unknown_gpu_is_a_warning_no_gpu_on_the_bus_is_information() -> None:
    assert _cuda_build_without_smi(None)["driver-missing"].severity == "warning"
    f = _cuda_build_without_smi(0)
    assert "driver-missing" not in f and f["cuda-build-without-gpu"].severity == "info"


def test_pci_reader_counts_nvidia_display_controllers(tmp_path: Any) -> None:
    from coursekit.doctor.hostfacts import pci_nvidia

    for name, vendor, klass in (("0000:01:00.0", "0x10de", "0x030000"), ("0000:01:00.1", "0x10de", "0x040300"),
                                ("0000:00:02.0", "0x8086", "0x030000")):
        d = tmp_path / "sys/bus/pci/devices" / name
        d.mkdir(parents=True)
        (d / "vendor").write_text(vendor + "\n")
        (d / "class").write_text(klass + "\n")
    assert pci_nvidia(tmp_path) == 1
    assert pci_nvidia(tmp_path / "nowhere") is None


# --- item 7: ranking: no wheels for the platform is the top finding -------------------------------

@pytest.mark.parametrize(("fid", "top"), [("platform-no-torch-wheel", "platform-no-torch-wheel"),
                                         ("python-ms-store", "python-ms-store"),
                                         ("python-no-torch-wheel", "python-no-torch-wheel"),
                                         ("python-32bit", "python-32bit")])
def test_no_wheel_for_the_platform_explains_torch_missing_and_comes_first(fid: str, top: str) -> None:
    from tests.doctor.fixtures import finding_facts

    found_ = diagnose(finding_facts(fid))
    assert found_[0].id == top
    assert "torch-missing" not in {f.id for f in found_}


def test_intel_mac_without_torch_is_an_error_that_explains_torch_missing() -> None:
    data = healthy_data("macos_arm64")
    data = merge(data, {"platform": {"arch": "x86_64", "machine": "x86_64", "apple_silicon": False},
                        "probe": {"data": {"torch": {"status": "missing", "version": None}}}})
    data["probe"]["data"]["distributions"]["items"] = [
        d for d in data["probe"]["data"]["distributions"]["items"] if d["name"] != "torch"]
    f = diagnose(from_data(Facts, data))
    assert f[0].id == "macos-intel" and f[0].severity == "error"
    assert "torch-missing" not in {x.id for x in f}


# --- item 13: kernel-missing on Windows without && -------------------------------------------------

def test_kernel_missing_fix_on_windows_is_two_lines_without_ampersands() -> None:
    data = healthy_data("windows_x86_64")
    data["kernels"] = [k for k in data["kernels"] if k["name"] != "pt"]
    data["probe"]["data"]["distributions"]["items"] = [
        d for d in data["probe"]["data"]["distributions"]["items"] if d["name"] != "ipykernel"]
    fix = {f.id: f for f in diagnose(from_data(Facts, data))}["kernel-missing"].fix or ""
    assert "&&" not in fix
    first, second = fix.split("\n")
    assert first.endswith("-m pip install ipykernel") and "-m ipykernel install --user --name pt" in second


# --- item 4 (cont.): the driver's CUDA version when its number is unknown --------------------------

@pytest.mark.parametrize(("torch_cuda", "api", "old"), [("10.1", "10.0", True), ("10.0", "9.0", True),
                                                      ("11.8", "11.4", False), ("12.6", "11.8", True),
                                                      ("10.2", "10.2", False)])
def test_driver_too_old_from_the_drivers_cuda_version(torch_cuda: str, api: str, old: bool) -> None:
    gpu = {"vendor": "nvidia", "name": "NVIDIA GeForce GTX 1080", "driver_version": None,
           "compute_capability": "6.1", "gfx": None, "memory_mib": None, "index": 0}
    f = found("gpu_linux", {"gpu": {"gpus": [gpu], "cuda_driver_api": api}, "probe": {"data": {"torch": {
        "version": "1.13.1+cu117", "cuda": torch_cuda, "arch_list": ["sm_60", "sm_61", "sm_70"],
        "cuda_available": False, "device_count": 0, "devices": [], "cuda_op": None}}}})
    assert ("driver-too-old" in f) is old


# --- item 6: NumPy ------------------------------------------------------------------------------------

def test_torch_before_2_3_with_numpy_2_is_numpy_abi_with_a_numpy_1_pin() -> None:
    # a report without the bridge fact (schema 1): the versions decide; the base has NumPy 2.3.4
    f = with_versions("2.2.2+cpu", "0.17.2+cpu", "2.2.2+cpu", bridge=None)
    assert '"numpy<2"' in (f["numpy-abi"].fix or "")
    assert "numpy-abi" not in with_versions("2.3.0+cpu", "0.18.0+cpu", "2.3.0+cpu", bridge=None)
    # the probe saw the bridge work (a conda-forge build against NumPy 2): no error
    assert "numpy-abi" not in with_versions("2.2.2+cpu", "0.17.2+cpu", "2.2.2+cpu", bridge=True)


def test_the_numpy_bridge_fact_is_read() -> None:
    f = found("cpu_linux", {"probe": {"data": {"torch": {"numpy_ok": False,
                                                          "numpy_error": "Numpy is not available"}}}})
    assert f["numpy-missing"].detail == "Numpy is not available"
