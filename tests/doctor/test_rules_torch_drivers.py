"""rules_torch edge cases pinned by mutation testing (issue 18): see bench/mutation.py.

The driver and architecture rules called one at a time on a healthy fixture with a small patch,
through the course's own planner (its matrix and driver tables): each test asserts the decision
(finding id, severity, the GPU/driver/line it names, the fix command) at an edge of the rule.
"""

from __future__ import annotations

import functools
from typing import Any


from coursekit.doctor import rules_torch as R
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.view import Finding, View
from tests.doctor.fixtures import healthy_data, merge


@functools.cache
def _planner() -> Any:
    from coursekit.doctor.advice import course_planner

    return course_planner()


def view(base: str = "gpu_linux", patch: dict[str, Any] | None = None, planner: Any = True) -> View:
    facts = from_data(Facts, merge(healthy_data(base), patch or {}))
    return View(facts, _planner() if planner is True else planner)


def gpu(
    name: str,
    cc: str | None,
    driver: str | None = "580.95.05",
    index: int = 0,
    vendor: str = "nvidia",
) -> dict[str, Any]:
    return {
        "vendor": vendor,
        "name": name,
        "driver_version": driver,
        "compute_capability": cc,
        "gfx": None,
        "memory_mib": 8192,
        "index": index,
    }


def torch(**kw: Any) -> dict[str, Any]:
    return {"probe": {"data": {"torch": kw}}}


def one(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


# --- _line_with: the sentence of a text that holds a needle ------------------------------------


def test_line_with_cuts_after_the_sentence_holding_the_needle() -> None:
    text = "Traceback:\n  A first. The driver is too old (found 11040). Please update. Bye\nnext"
    assert R._line_with(text, "too old") == "A first. The driver is too old (found 11040)."
    # a '. ' before the needle is not its sentence's end; the first one after it is
    assert R._line_with("x is bad. y is bad. z", "x") == "x is bad."
    assert R._line_with("a. x. b", "x") == "a. x."
    # the first occurrence of the needle decides
    assert R._line_with("x one. x two. end", "x") == "x one."


def test_line_with_keeps_a_line_without_a_sentence_end() -> None:
    assert R._line_with("  no kernel image is available for execution  ", "no kernel") == (
        "no kernel image is available for execution"
    )
    assert R._line_with("ends with a dot.", "dot") == "ends with a dot."


def test_line_with_falls_back_to_the_needle() -> None:
    assert R._line_with("nothing here", "too old") == "too old"
    assert R._line_with("", "too old") == "too old"


def test_line_with_limit_boundary() -> None:
    exact = "n" + "a" * 159
    assert R._line_with(exact, "n") == exact  # 160 characters: kept whole
    longer = exact + "b"
    cut = R._line_with(longer, "n")
    assert cut == exact[:157] + "..." and len(cut) == 160
    assert R._line_with("n" + "a" * 20, "n", limit=10) == "n" + "a" * 6 + "..."


# --- driver-missing ------------------------------------------------------------------------------

NO_DRIVER = (
    "RuntimeError: Found no NVIDIA driver on your system. Please check that you have an NVIDIA "
    "GPU and installed a driver from http://www.nvidia.com/Download/index.aspx"
)
LINUX_INSTALL = (
    "Install the NVIDIA driver (Ubuntu: `sudo ubuntu-drivers install`; others: "
    "https://www.nvidia.com/drivers), then reboot"
)
WSL_INSTALL = (
    "Install or update the NVIDIA driver on Windows (https://www.nvidia.com/drivers); "
    "WSL uses the Windows driver, never install a Linux driver inside WSL; then `wsl --shutdown`"
)
WINDOWS_INSTALL = "Install the NVIDIA driver (https://www.nvidia.com/drivers), then restart Windows"
CPU_TAIL = ". Only if this machine has no NVIDIA GPU: coursekit setup --backend cpu"


def no_driver(pci: int | None = 1, notes: tuple[str, ...] = (), **platform: Any) -> dict[str, Any]:
    data: dict[str, Any] = merge(
        torch(devices=[]),
        {
            "gpu": {"gpus": [], "cuda_driver_api": None, "pci_nvidia": pci, "notes": list(notes)},
            "platform": platform,
        },
    )
    return data


def test_driver_missing_pci_device_without_driver_linux() -> None:
    f = one(R.driver_missing(view(patch=no_driver(pci=2))))
    assert f.id == "driver-missing" and f.severity == "error"
    assert f.detail == "torch 2.13.0+cu130 is a CUDA build; 2 NVIDIA device(s) on the PCI bus"
    assert f.fix == LINUX_INSTALL + CPU_TAIL


def test_driver_missing_on_a_cpu_build_names_the_gpu_not_the_build() -> None:
    patch = merge(no_driver(pci=1, notes=("nvidia-smi not found",)), torch(cuda=None))
    f = one(R.driver_missing(view(patch=patch)))
    assert f.detail == (
        "an NVIDIA GPU is present; 1 NVIDIA device(s) on the PCI bus; nvidia-smi is not installed"
    )


def test_driver_missing_wsl_and_windows_fixes() -> None:
    wsl = one(R.driver_missing(view(patch=no_driver(pci=1, wsl=True))))
    assert wsl.fix == WSL_INSTALL + CPU_TAIL
    win = one(
        R.driver_missing(
            view(
                "windows_x86_64",
                merge(no_driver(pci=None), torch(cuda_available=False, cuda_error=NO_DRIVER)),
            )
        )
    )
    assert win.fix == WINDOWS_INSTALL + CPU_TAIL
    assert win.severity == "warning"  # no PCI count: a GPU-less machine says the same
    assert win.detail == (
        "torch 2.13.0+cu130 is a CUDA build; torch says: RuntimeError: Found no NVIDIA driver "
        "on your system."
    )


def test_driver_missing_from_torchs_words_alone() -> None:
    # no PCI count, no nvidia-smi note: torch's own words are enough (a warning)
    f = one(
        R.driver_missing(
            view(
                patch=merge(no_driver(pci=None), torch(cuda_available=False, cuda_error=NO_DRIVER))
            )
        )
    )
    assert f.severity == "warning" and f.fix == LINUX_INSTALL + CPU_TAIL


def test_driver_missing_torch_says_so_even_with_a_listed_driver() -> None:
    patch = torch(cuda_available=False, cuda_error=NO_DRIVER)
    f = one(R.driver_missing(view(patch=merge(patch, {"gpu": {"pci_nvidia": 1}}))))
    assert "torch says: RuntimeError: Found no NVIDIA driver on your system." in f.detail
    assert R.driver_missing(view()) == []  # a listed driver and no such words: nothing


def test_driver_missing_not_on_macos_nor_without_evidence() -> None:
    mac = merge(no_driver(pci=1), torch(cuda_available=False, cuda_error=NO_DRIVER))
    assert R.driver_missing(view("macos_arm64", mac)) == []
    assert R.driver_missing(view(patch=no_driver(pci=0))) == []
    assert R.driver_missing(view(patch=merge(no_driver(pci=None), torch(cuda=None)))) == []


# --- driver_state ---------------------------------------------------------------------------------


def test_driver_not_loaded_from_either_text() -> None:
    for note in (
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
        "Make sure that the latest NVIDIA driver is installed and running.",
        "NVIDIA-SMI has failed (exit 9)",
        "couldn't communicate with the NVIDIA driver",
    ):
        f = one(R.driver_state(view(patch={"gpu": {"notes": [note]}})))
        assert f.id == "driver-not-loaded" and f.severity == "error"
        assert (
            f.fix
            == "Install the NVIDIA driver (Ubuntu: `sudo ubuntu-drivers install`), then reboot"
        )


def test_driver_not_loaded_on_wsl() -> None:
    f = one(
        R.driver_state(
            view(patch={"gpu": {"notes": ["NVIDIA-SMI has failed"]}, "platform": {"wsl": True}})
        )
    )
    assert f.fix == (
        "Install or update the NVIDIA driver on Windows (not inside WSL); if you installed a Linux "
        "driver or nvidia-utils inside WSL, remove it (`sudo apt remove --purge 'nvidia-*'`)"
    )


def test_nvidia_smi_failed_or_silent() -> None:
    for note in ("nvidia-smi failed (exit 15)", "nvidia-smi did not answer in 30 s"):
        f = one(R.driver_state(view(patch={"gpu": {"notes": [note]}})))
        assert f.id == "nvidia-smi-failed" and f.detail == note
    assert R.driver_state(view(patch={"gpu": {"notes": ["nvidia-smi FAILED"]}})) == []


# --- driver-too-old -------------------------------------------------------------------------------

TOO_OLD = (
    "RuntimeError: The NVIDIA driver on your system is too old (found version 11040). "
    "Please update your GPU driver."
)


def test_driver_too_old_without_a_planner_says_newer() -> None:
    v = view(patch=torch(cuda_available=False, cuda_error=TOO_OLD), planner=None)
    f = one(R.driver_too_old(v))
    assert f.fix == "Install NVIDIA driver newer (https://www.nvidia.com/drivers)"
    assert f.fix_action is None
    assert f.detail == (
        "torch 2.13.0+cu130 uses CUDA 13.0, which needs driver newer; this machine has 580.95.05; "
        "torch says: RuntimeError: The NVIDIA driver on your system is too old "
        "(found version 11040)."
    )


def test_driver_too_old_names_the_build_the_driver_runs() -> None:
    v = view(patch={"gpu": {"gpus": [gpu("NVIDIA GeForce RTX 3060", "8.6", "560.35.03")]}})
    f = one(R.driver_too_old(v))
    assert f.detail == (
        "torch 2.13.0+cu130 uses CUDA 13.0, which needs driver >= 580; this machine has 560.35.03"
    )
    assert f.fix == (
        "Install NVIDIA driver >= 580 (https://www.nvidia.com/drivers), or run `coursekit setup "
        "--backend cu126` (torch 2.14.0+cu126 runs on this driver)"
    )
    assert f.fix_action == "reinstall-torch"


def test_driver_too_old_needs_a_working_cuda_build() -> None:
    old = {"gpu": {"gpus": [gpu("NVIDIA GeForce RTX 3060", "8.6", "470.42.01")]}}
    assert R.driver_too_old(view(patch=merge(old, torch(status="error")))) == []
    assert R.driver_too_old(view(patch=old))  # the same driver with a working CUDA build


def test_driver_too_old_ignores_an_unreadable_cuda_version() -> None:
    v = view(
        patch={
            "gpu": {"gpus": [gpu("NVIDIA GeForce RTX 3060", "8.6", None)], "cuda_driver_api": "N/A"}
        }
    )
    assert R.driver_too_old(v) == []


# --- architecture: arch_fix and gpu-arch-unsupported ----------------------------------------------


def test_arch_fix_cpu_for_gpus_no_build_serves() -> None:
    v = view(
        patch={
            "gpu": {
                "gpus": [gpu("NVIDIA GeForce GTX 770", "3.0"), gpu("Tesla K40c", "3.5", index=1)]
            }
        }
    )
    assert R.arch_fix(v, []) == (
        "coursekit setup --backend cpu  (no PyTorch build coursekit can install has kernels for "
        "NVIDIA GeForce GTX 770 (sm_30), Tesla K40c (sm_35); the oldest builds start at sm_37; "
        "the labs run on the CPU)"
    )


def test_arch_fix_cpu_where_the_platform_has_no_cuda_build() -> None:
    v = view("macos_arm64", {"gpu": {"gpus": [gpu("NVIDIA GeForce GTX 680", "3.0")]}})
    assert R.arch_fix(v, []) == (
        "coursekit setup --backend cpu  (no PyTorch build coursekit can install has kernels for "
        "NVIDIA GeForce GTX 680 (sm_30); the labs run on the CPU)"
    )


def rtx(driver: str = "580.95.05", name: str = "NVIDIA GeForce RTX 3060", cc: str = "8.6") -> View:
    return view(patch={"gpu": {"gpus": [gpu(name, cc, driver)]}})


def test_arch_fix_the_advised_build_when_it_serves_every_gpu() -> None:
    assert R.arch_fix(rtx(), [("NVIDIA GeForce RTX 3060", "8.6")]) == (
        "coursekit setup --backend cu130  (torch 2.14.0+cu130 has kernels for it), or coursekit "
        "doctor --fix"
    )


def test_arch_fix_a_line_and_backend_when_the_advice_does_not_serve() -> None:
    # advice cu130 (torch 2.14) has no sm_50 kernels; 2.14 cu126 has
    assert R.arch_fix(rtx(), [("GTX 750 Ti", "5.0")]) == (
        "coursekit setup --torch 2.14 --backend cu126  (torch 2.14 cu126 has kernels for it)"
    )
    # Kepler K80 and Maxwell together: only 2.7 cu118 serves both
    assert R.arch_fix(rtx(), [("Tesla K80", "3.7"), ("GTX 750 Ti", "5.0")]) == (
        "coursekit setup --torch 2.7 --backend cu118  (torch 2.7 cu118 has kernels for it)"
    )
    assert R.arch_fix(rtx(), [("GTX 750 Ti", "5.0"), ("Tesla K80", "3.7")]) == (
        "coursekit setup --torch 2.7 --backend cu118  (torch 2.7 cu118 has kernels for it)"
    )


def test_arch_fix_no_common_build() -> None:
    assert R.arch_fix(rtx(), [("B200", "10.0"), ("GTX 750 Ti", "5.0")]) == (
        "coursekit setup  (picks a build with kernels for this GPU, or the CPU build)"
    )
    three = [("RTX 3060", "8.6"), ("B200", "10.0"), ("GTX 750 Ti", "5.0")]
    assert R.arch_fix(rtx(), three) == (
        "coursekit setup  (picks a build with kernels for this GPU, or the CPU build)"
    )


def test_arch_fix_names_the_driver_the_build_needs() -> None:
    assert R.arch_fix(rtx("525.60.13"), [("B200", "10.0")]) == (
        "NVIDIA driver >= 580, then coursekit setup --torch 2.14 --backend cu130  (torch 2.14 "
        "cu130 has kernels for it)"
    )
    # exactly at the minimum: no driver step (advice cu128 for the RTX 5090 does not serve sm_50)
    v = rtx("525.60.13", "NVIDIA GeForce RTX 5090", "12.0")
    assert R.arch_fix(v, [("GTX 750 Ti", "5.0")]) == (
        "coursekit setup --torch 2.14 --backend cu126  (torch 2.14 cu126 has kernels for it)"
    )
    # no driver number: no driver step
    nodrv = rtx(None, "NVIDIA GeForce RTX 5090", "12.0")  # type: ignore[arg-type]
    assert R.arch_fix(nodrv, [("GTX 750 Ti", "5.0")]) == (
        "coursekit setup --torch 2.14 --backend cu126  (torch 2.14 cu126 has kernels for it)"
    )


class _NoAdvice:
    """The course's planner, but one that cannot advise a backend."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_planner(), name)

    def backend(self, host: Any) -> None:
        return None


def test_arch_fix_without_advice_uses_the_gate() -> None:
    v = view(patch={"gpu": {"gpus": [gpu("NVIDIA GeForce RTX 3060", "8.6")]}}, planner=_NoAdvice())
    assert R.arch_fix(v, [("NVIDIA GeForce RTX 3060", "8.6")]) == (
        "coursekit setup --torch 2.14 --backend cu126  (torch 2.14 cu126 has kernels for it)"
    )


KERNEL = "CUDA error: no kernel image is available for execution on the device. Compile with ..."


def test_gpu_arch_unsupported_names_each_gpu_and_torchs_words() -> None:
    patch = merge(
        {"gpu": {"gpus": [gpu("Quadro M4000", "5.2"), gpu("GTX 750 Ti", "5.0", index=1)]}},
        torch(cuda_op={"ok": False, "error": KERNEL}, devices=[]),
    )
    f = one(R.gpu_arch_unsupported(view(patch=patch)))
    assert (
        f.title == "torch 2.13.0+cu130 has no kernels for Quadro M4000 (sm_52), GTX 750 Ti (sm_50)"
    )
    assert f.detail == (
        "torch 2.13.0+cu130 has kernels for sm_75 sm_80 sm_86 sm_90 sm_100 sm_120 compute_120; "
        "torch says: CUDA error: no kernel image is available for execution on the device."
    )
    assert f.fix_action == "reinstall-torch"
    assert (
        f.fix
        == "coursekit setup --backend cu126  (torch 2.14.0+cu126 has kernels for it), or coursekit "
        "doctor --fix"
    )


def test_gpu_arch_unsupported_from_torchs_device_list() -> None:
    # nvidia-smi lists one GPU; torch describes a second one (another name): it is judged too
    patch = merge(
        {"gpu": {"gpus": [gpu("NVIDIA GeForce RTX 3060", "8.6")]}},
        torch(
            devices=[
                {"index": 0, "name": "NVIDIA GeForce RTX 3060", "capability": "8.6"},
                {"index": 1, "name": "Tesla M60", "capability": "5.2"},
            ]
        ),
    )
    f = one(R.gpu_arch_unsupported(view(patch=patch)))
    assert f.title == "torch 2.13.0+cu130 has no kernels for Tesla M60 (sm_52)"


def test_gpu_arch_unsupported_from_words_alone() -> None:
    v = view(patch=merge({"gpu": {"gpus": []}}, torch(devices=[], cuda_error=KERNEL)))
    f = one(R.gpu_arch_unsupported(v))
    assert f.title == "torch 2.13.0+cu130 has no kernels for this GPU"
    assert f.fix == "coursekit setup  (picks a build with kernels for this GPU, or the CPU build)"


def test_gpu_arch_unsupported_fix_is_for_the_gpus_without_kernels() -> None:
    # an RTX 5090 (served) next to a Tesla K80 (not by this cu128 build; no build serves both):
    # the fix is for the K80
    patch = merge(
        {
            "gpu": {
                "gpus": [
                    gpu("NVIDIA GeForce RTX 5090", "12.0", "525.60.13"),
                    gpu("Tesla K80", "3.7", "525.60.13", index=1),
                ]
            }
        },
        torch(
            version="2.8.0+cu128",
            cuda="12.8",
            devices=[],
            arch_list=["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"],
        ),
    )
    f = one(R.gpu_arch_unsupported(view(patch=patch)))
    assert f.title == "torch 2.8.0+cu128 has no kernels for Tesla K80 (sm_37)"
    assert f.fix == (
        "coursekit setup --torch 2.7 --backend cu118  (torch 2.7 cu118 has kernels for it)"
    )


# --- cpu torch on a GPU, CUDA build without one ---------------------------------------------------


def test_cpu_torch_on_gpu_not_on_macos() -> None:
    patch = merge({"gpu": {"gpus": [gpu("NVIDIA GeForce GTX 680", "3.0")]}}, torch(cuda=None))
    assert R.cpu_torch_on_gpu(view("macos_arm64", patch)) == []
    assert one(R.cpu_torch_on_gpu(view(patch=patch))).id == "cpu-torch-on-gpu"


def test_cpu_torch_on_an_amd_gpu_only_where_rocm_is_planned() -> None:
    amd = {
        "gpu": {
            "gpus": [dict(gpu("AMD Radeon RX 7900 XTX", None, None, vendor="amd"), gfx="gfx1100")]
        }
    }
    win = merge(amd, torch(cuda=None, devices=[]))
    assert R.cpu_torch_on_gpu(view("windows_x86_64", win)) == []  # no ROCm on Windows
    linux = one(R.cpu_torch_on_gpu(view(patch=win)))
    assert linux.title.endswith("but this machine has an AMD Radeon RX 7900 XTX")


def test_cuda_build_without_gpu() -> None:
    none = merge(torch(devices=[]), {"gpu": {"gpus": [], "pci_nvidia": 0}})
    f = one(R.cuda_build_without_gpu(view(patch=none)))
    assert f.fix == "coursekit setup --backend cpu  (optional)"
    assert R.cuda_build_without_gpu(view("macos_arm64", merge(none, torch(cuda="12.6")))) == []
    assert R.cuda_build_without_gpu(view(patch={"gpu": None})) == []


# --- gpu-line-ending ------------------------------------------------------------------------------


def test_gpu_line_ending_after_a_gpu_it_skips() -> None:
    patch = {
        "gpu": {
            "gpus": [
                dict(gpu("AMD Radeon", None, None, vendor="amd"), gfx="gfx1100"),
                gpu("NVIDIA GeForce GTX 1080", None, index=1),
                gpu("NVIDIA GeForce GTX 1060", "6.1", index=2),
            ]
        }
    }
    f = one(R.gpu_line_ending(view(patch=patch)))
    assert f.title.startswith("NVIDIA GeForce GTX 1060 (sm_61) is served only by cu126")
    assert f.fix == (
        'Keep torch 2.14.0: pin [torch] version = "2.14" in the course\'s env spec (instructors), '
        "or plan for a newer GPU"
    )


def test_gpu_line_ending_needs_a_platform() -> None:
    patch = {"platform": None, "gpu": {"gpus": [gpu("NVIDIA GeForce GTX 1060", "6.1")]}}
    assert R.gpu_line_ending(view(patch=patch)) == []


class _EmptyMatrix:
    """The course's planner with a matrix that lists no release."""

    def __init__(self) -> None:
        import dataclasses

        self.matrix = dataclasses.replace(_planner().matrix, releases=())

    def __getattr__(self, name: str) -> Any:
        return getattr(_planner(), name)


def test_gpu_line_ending_needs_a_release() -> None:
    patch = {"gpu": {"gpus": [gpu("NVIDIA GeForce GTX 1060", "6.1")]}}
    assert R.gpu_line_ending(view(patch=patch, planner=_EmptyMatrix())) == []
    assert R.gpu_line_ending(view(patch=patch))  # the course's matrix: Pascal's line is ending
