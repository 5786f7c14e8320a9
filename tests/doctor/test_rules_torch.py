"""rules_torch's decisions pinned at their edges (issue 18: what its mutation run left unpinned).

Facts are the healthy GPU (RTX 3060, driver 580.95.05, torch 2.13.0+cu130) or CPU fixture with a
small patch; the assertions are on diagnose()'s verdict, not on how a rule computes it.
"""

from __future__ import annotations

from typing import Any

import pytest

from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.view import Finding
from tests.doctor.fixtures import healthy_data, merge


def found(
    base: str | dict[str, Any] = "gpu_linux", patch: dict[str, Any] | None = None
) -> dict[str, Finding]:
    if isinstance(base, dict):  # found(patch) on the healthy GPU machine
        base, patch = "gpu_linux", base
    return {f.id: f for f in diagnose(from_data(Facts, merge(healthy_data(base), patch or {})))}


def torch(**kw: Any) -> dict[str, Any]:
    return {"probe": {"data": {"torch": kw}}}


def gpu(**kw: Any) -> dict[str, Any]:
    base = {
        "vendor": "nvidia",
        "name": "NVIDIA GeForce RTX 3060",
        "driver_version": "580.95.05",
        "compute_capability": "8.6",
        "gfx": None,
        "memory_mib": 12288,
        "index": 0,
    }
    return dict(base, **kw)


def cu126(driver: str, **platform: Any) -> dict[str, Any]:
    """torch 2.8.0+cu126 on the RTX 3060 with ``driver``."""
    return merge(
        torch(version="2.8.0+cu126", cuda="12.6"),
        {
            "gpu": {"gpus": [gpu(driver_version=driver)], "cuda_driver_api": None},
            "platform": platform,
        },
    )


# --- driver-too-old: the minimum of the build's CUDA, from the Linux or the Windows table -------


@pytest.mark.parametrize(
    ("driver", "too_old"),
    [("525.60.13", False), ("525.60.12", True), ("525.9", True), ("530.30.02", False)],
)
def test_driver_minimum_boundary_linux(driver: str, too_old: bool) -> None:
    hits = found(cu126(driver))
    assert ("driver-too-old" in hits) is too_old
    if too_old:
        f = hits["driver-too-old"]
        assert "needs driver >= 525.60.13; this machine has " + driver in f.detail
        assert f.fix and f.fix.startswith("Install NVIDIA driver >= 525.60.13")


@pytest.mark.parametrize("platform", [{"os": "windows"}, {"wsl": True}])
def test_windows_and_wsl_use_the_windows_driver_table(platform: dict[str, Any]) -> None:
    base = "windows_x86_64" if platform.get("os") == "windows" else "gpu_linux"
    data = cu126("527.00")
    hits = found(base, merge(data, {"platform": platform}))
    assert "driver-too-old" in hits and ">= 528.33" in hits["driver-too-old"].detail
    assert "driver-too-old" not in found("gpu_linux", cu126("527.00"))


def test_driver_too_old_from_cuda_version_alone() -> None:
    # No driver number, only nvidia-smi's "CUDA Version": from CUDA 11 on the same major is enough.
    def hits(build_cuda: str, api: str) -> dict[str, Finding]:
        return found(
            merge(
                torch(version=f"2.8.0+cu{build_cuda.replace('.', '')}", cuda=build_cuda),
                {"gpu": {"gpus": [gpu(driver_version=None)], "cuda_driver_api": api}},
            )
        )

    assert "driver-too-old" not in hits("12.6", "12.2")  # minor-version compatibility
    assert "driver-too-old" in hits("13.0", "12.9")
    assert "a driver for CUDA 12.9" in hits("13.0", "12.9")["driver-too-old"].detail
    assert "driver-too-old" not in hits("12.6", "13.0")


def test_driver_too_old_from_torchs_own_words() -> None:
    said = (
        "RuntimeError: The NVIDIA driver on your system is too old (found version 11040). Please "
        "update your GPU driver."
    )
    hit = found(torch(cuda_available=False, cuda_error=said))["driver-too-old"]
    assert (
        "torch says: RuntimeError: The NVIDIA driver on your system is too old "
        "(found version 11040)."
        in hit.detail
    )
    assert "driver-too-old" not in found(
        "cpu_linux", torch(cuda_error=said)
    )  # no CUDA build: no verdict


# --- CUDA_VISIBLE_DEVICES ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "hidden"),
    [
        ("", True),
        ("-1", True),
        ("1", True),
        ("0", False),
        ("0,1", False),
        ("1,0", True),
        ("GPU-abc", False),
        ("MIG-1/2", False),
        (" 0 ", False),
        ("NoDevFiles", True),
    ],
)
def test_cuda_visible_devices(value: str, hidden: bool) -> None:
    hits = found(
        {
            "platform": {"cuda_visible_devices": value},
            "probe": {"data": {"env": {"CUDA_VISIBLE_DEVICES": value}}},
        }
    )
    assert ("cuda-hidden" in hits) is hidden
    if hidden:
        assert (
            hits["cuda-hidden"].title == f"CUDA_VISIBLE_DEVICES={value!r} hides the GPU from torch"
        )


def test_cuda_visible_devices_counts_every_installed_gpu() -> None:
    two = {
        "gpu": {"gpus": [gpu(), gpu(index=1, name="NVIDIA GeForce RTX 3070")]},
        "platform": {"cuda_visible_devices": "1"},
        "probe": {"data": {"env": {"CUDA_VISIBLE_DEVICES": "1"}}},
    }
    assert "cuda-hidden" not in found(two)
    unset = {"platform": {"cuda_visible_devices": None}}
    assert "cuda-hidden" not in found(unset)
    assert "cuda-hidden" not in found("cpu_linux", {"platform": {"cuda_visible_devices": ""}})


# --- CUDA operations --------------------------------------------------------------------------


def test_cuda_op_failed_on_some_or_all_gpus() -> None:
    devices = [
        {"index": 0, "name": "NVIDIA GeForce RTX 3060", "capability": "8.6"},
        {"index": 1, "name": "NVIDIA GeForce RTX 3070", "capability": "8.6"},
    ]
    some = found(
        torch(
            devices=devices,
            device_count=2,
            cuda_op={
                "ok": False,
                "error": "CUDA error: unspecified launch failure",
                "devices": [{"index": 0, "ok": True}, {"index": 1, "ok": False}],
            },
        )
    )
    f = some["cuda-op-failed"]
    assert (
        f.title
        == "A real CUDA operation failed on GPU 1 NVIDIA GeForce RTX 3070 (sm_86) "
        "(the other GPUs work)"
    )
    assert (
        f.detail == "GPU 1 NVIDIA GeForce RTX 3070 (sm_86): CUDA error: unspecified launch failure"
    )
    assert f.fix_action == "reinstall-torch"
    every = found(torch(cuda_op={"ok": False, "error": None}))["cuda-op-failed"]
    assert every.title == "A real CUDA operation failed although CUDA is available"
    assert every.detail == "wrong result from a 64x64 matmul"
    assert "cuda-op-failed" not in found(torch(cuda_op=None))
    assert "cuda-op-failed" not in found("cpu_linux", torch(cuda_op={"ok": False, "error": "x"}))


def test_cudnn_failed_only_when_it_ran_and_failed() -> None:
    hit = found(
        torch(
            cudnn_op={
                "ok": False,
                "error": "Traceback\nRuntimeError: cuDNN error: CUDNN_STATUS_NOT_INITIALIZED",
                "version": 91002,
            }
        )
    )["cudnn-failed"]
    assert hit.detail.startswith(
        "RuntimeError: cuDNN error: CUDNN_STATUS_NOT_INITIALIZED (cuDNN 91002)"
    )
    plain = found(torch(cudnn_op={"ok": False, "error": None, "version": None}))["cudnn-failed"]
    assert plain.detail.startswith("wrong result from a 3x3 convolution (cuDNN unknown)")
    assert "cudnn-failed" not in found(torch(cudnn_op={"ok": None}))
    assert "cudnn-failed" not in found(torch(cudnn_op={"ok": True}))


def test_cuda_unavailable_gives_the_best_reason() -> None:
    err = found(
        torch(
            cuda_available=False,
            cuda_error="x\nCUDA unknown error - this may be due to ...",
            warnings=["a warning"],
        )
    )["cuda-unavailable"]
    assert err.detail == "CUDA unknown error - this may be due to ..."
    assert err.title == "torch 2.13.0+cu130 cannot use the NVIDIA GeForce RTX 3060"
    warned = found(
        torch(
            cuda_available=False,
            cuda_error=None,
            warnings=["first", "UserWarning: CUDA initialization: x"],
        )
    )
    assert warned["cuda-unavailable"].detail == "UserWarning: CUDA initialization: x"
    bare = found(torch(cuda_available=False, cuda_error=None, warnings=[]))
    assert bare["cuda-unavailable"].detail == "torch.cuda.is_available() returned False"


def test_cuda_build_without_gpu() -> None:
    cuda = merge(
        torch(version="2.13.0+cu130", cuda="13.0", cuda_available=False), {"gpu": {"pci_nvidia": 0}}
    )
    hit = found("cpu_linux", cuda)["cuda-build-without-gpu"]
    assert hit.title == "torch 2.13.0+cu130 is a CUDA build on a machine without an NVIDIA GPU"
    assert "cuda-build-without-gpu" not in found("cpu_linux")
    assert "cuda-build-without-gpu" not in found(cuda)


# --- which GPU, which build ---------------------------------------------------------------------


def test_cpu_torch_on_an_nvidia_gpu() -> None:
    cpu = torch(
        version="2.13.0+cpu",
        cuda=None,
        cuda_available=False,
        arch_list=[],
        devices=[],
        cuda_op=None,
    )
    hit = found(cpu)["cpu-torch-on-gpu"]
    assert (
        hit.title
        == "torch 2.13.0+cpu is a CPU build, but this machine has an NVIDIA GeForce RTX 3060"
    )
    assert hit.fix_action == "reinstall-torch"
    assert "cpu-torch-on-gpu" not in found(merge(cpu, torch(status="failed")))
    assert "cpu-torch-on-gpu" not in found(merge(cpu, torch(hip="6.4")))
    assert "cpu-torch-on-gpu" not in found("cpu_linux")


def test_no_gpu_is_said_only_without_one() -> None:
    assert found("cpu_linux")["no-gpu"].detail == "nvidia-smi not found: no NVIDIA driver installed"
    assert "no-gpu" not in found()
    assert "no-gpu" not in found("macos_arm64")
    silent = found("cpu_linux", {"gpu": {"notes": []}})
    assert silent["no-gpu"].detail == "no GPU reported"
    for note in (
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver",
        "Failed to initialize NVML: Driver/library version mismatch",
    ):
        assert "no-gpu" not in found("cpu_linux", {"gpu": {"notes": [note]}})


def test_driver_state_findings_and_their_severity() -> None:
    talk = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    on_cuda = found({"gpu": {"gpus": [], "notes": ["nvidia-smi failed", talk]}})[
        "driver-not-loaded"
    ]
    assert (
        on_cuda.severity == "error"
        and on_cuda.detail == talk
        and "ubuntu-drivers" in (on_cuda.fix or "")
    )
    wsl = found({"gpu": {"gpus": [], "notes": [talk]}, "platform": {"wsl": True}})[
        "driver-not-loaded"
    ]
    assert "on Windows (not inside WSL)" in (wsl.fix or "")
    mismatch = "Failed to initialize NVML: Driver/library version mismatch"
    hit = found("cpu_linux", {"gpu": {"notes": [mismatch]}})["driver-library-mismatch"]
    assert hit.severity == "warning" and hit.fix == "Reboot the computer"
    assert found({"gpu": {"notes": [mismatch]}})["driver-library-mismatch"].severity == "error"
    smi = found({"gpu": {"notes": ["nvidia-smi did not answer within 10 s"]}})["nvidia-smi-failed"]
    assert smi.detail == "nvidia-smi did not answer within 10 s"
    assert "nvidia-smi-failed" not in found({"gpu": {"notes": ["nvidia-smi: 1 GPU"]}})


def test_wsl_linux_driver_inside_wsl() -> None:
    inside = {"platform": {"wsl": True}, "gpu": {"smi_path": "/usr/bin/nvidia-smi"}}
    hit = found(inside)["wsl-linux-driver"]
    assert hit.severity == "warning" and hit.detail.startswith(
        "/usr/bin/nvidia-smi runs instead of"
    )
    failing = found(merge(inside, {"gpu": {"notes": ["NVIDIA-SMI has failed"]}}))[
        "wsl-linux-driver"
    ]
    assert failing.severity == "error" and failing.detail.endswith("(NVIDIA-SMI has failed)")
    assert "wsl-linux-driver" not in found(
        {"platform": {"wsl": True}, "gpu": {"smi_path": "/usr/lib/wsl/lib/nvidia-smi"}}
    )
    assert "wsl-linux-driver" not in found({"gpu": {"smi_path": "/usr/bin/nvidia-smi"}})


def test_jetson_with_pytorchs_sbsa_build() -> None:
    jetson = merge(
        torch(cuda_op={"ok": False, "error": "no kernel"}),
        {"platform": {"jetson": True, "arch": "arm64"}},
    )
    assert "jetson-sbsa-wheel" in found(jetson)
    assert "jetson-sbsa-wheel" not in found({"platform": {"jetson": True, "arch": "arm64"}})
    assert "jetson-sbsa-wheel" not in found(torch(cuda_op={"ok": False, "error": "no kernel"}))


# --- torch import outcomes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stages", "culprit"),
    [
        (["numpy", "torch-import"], "initialising CUDA"),
        (["numpy", "torch-import", "cuda"], "running a CUDA operation"),
        (
            ["numpy", "torch-import", "cuda", "cuda-op", "cudnn", "mps", "numpy-bridge"],
            "importing torchvision",
        ),
        (
            [
                "numpy",
                "torch-import",
                "cuda",
                "cuda-op",
                "cudnn",
                "mps",
                "numpy-bridge",
                "torchvision",
                "torchaudio",
                "warnings",
            ],
            "finishing",
        ),
    ],
)
def test_after_import_names_the_stage(stages: list[str], culprit: str) -> None:
    hung = found(torch(child="timeout", stages=stages))["torch-import-timeout"]
    assert (
        hung.title == f"The torch probe hung while {culprit}"
        and hung.fix_action == "reinstall-torch"
    )
    crashed = found(torch(child="crashed", stages=stages, stderr="", returncode=-11))[
        "torch-import-crashed"
    ]
    assert crashed.title == f"Python crashed while {culprit}"
    assert crashed.detail == "killed by signal SIGSEGV (segmentation fault)"


@pytest.mark.parametrize(
    ("stderr", "code", "line"),
    [
        ("x\nFatal Python error: Aborted\ny\n", -6, "Fatal Python error: Aborted"),
        ("Segmentation fault (core dumped)\n", 139, "Segmentation fault (core dumped)"),
        ("", -4, "killed by signal SIGILL (illegal instruction: a build for newer CPUs?)"),
        ("", 134, "killed by signal SIGABRT"),
        ("", 137, "killed by signal SIGKILL (out of memory?)"),
        ("", -7, "killed by signal 7"),
        ("", 135, "killed by signal 7"),
        ("", 128, "exit code 128"),
        ("a\nlast words\n\n", 1, "last words"),
        ("", 3, "exit code 3"),
        ("", None, "exit code None"),
    ],
)
def test_crash_line(stderr: str, code: int | None, line: str) -> None:
    hit = found(torch(status="crashed", stderr=stderr, returncode=code))["torch-import-crashed"]
    assert hit.detail == line and hit.title == "import torch crashes the Python process"


def test_import_statuses() -> None:
    missing = found(
        torch(
            status="missing",
            error={"type": "ModuleNotFoundError", "message": "No module named 'torch'"},
        )
    )
    assert missing["torch-missing"].detail == "ModuleNotFoundError: No module named 'torch'"
    for text in (
        "[WinError 126] The specified module could not be found. Error loading c10.dll",
        "DLL load failed while importing _C",
        "error loading fbgemm.DLL",
    ):
        hits = found(torch(status="import-error", error={"type": "OSError", "message": text}))
        assert "windows-dll-error" in hits and "torch-import-failed" not in hits
    plain = found(
        torch(
            status="import-error",
            error={"type": "ImportError", "message": "libtorch_cpu.so: cannot open"},
        )
    )
    assert (
        plain["torch-import-failed"].title == "import torch fails"
        and "windows-dll-error" not in plain
    )
    hang = found(torch(status="timeout"))["torch-import-timeout"]
    assert hang.title == "import torch hangs" and hang.fix and hang.fix.startswith("Reboot, then ")
    empty = found(torch(status="ok", version=None, file="/x/torch"))["torch-import-failed"]
    assert (
        empty.title.startswith("torch's files are missing")
        and "torch.__version__ = None" in empty.detail
    )
    for quiet in ("not-run", None):
        assert not {"torch-missing", "torch-import-failed", "torch-import-crashed"} & set(
            found(torch(status=quiet))
        )
    assert "torch-import-crashed" not in found(
        merge({"probe": {"status": "crashed"}}, torch(status="crashed"))
    )
