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


def with_versions(torch: str, vision: str | None, audio: str | None, base: str = "cpu_linux") -> dict[str, Finding]:
    data = healthy_data(base)
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
