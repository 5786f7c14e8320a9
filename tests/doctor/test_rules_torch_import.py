"""rules_torch edge cases pinned by mutation testing (issue 18): see bench/mutation.py.

The import/CUDA-runtime rules (torch_import and what follows a successful import, CUDA
unavailable, a failing CUDA or cuDNN operation, CUDA_VISIBLE_DEVICES, WSL's libcuda and a Linux
driver inside WSL) on the healthy GPU fixture with a small patch: each test asserts the decision
(finding id, severity, the GPU or line it names, its fix) for inputs on either side of a branch.
"""

from __future__ import annotations

from typing import Any

import pytest

from coursekit.doctor import rules_torch as rt
from coursekit.doctor.advice import course_planner
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.planning import reinstall_hint
from coursekit.doctor.view import Finding, View
from tests.doctor.fixtures import healthy_data, merge

PLANNER = course_planner()


def view(
    patch: dict[str, Any] | None = None, base: str = "gpu_linux", planner: Any = PLANNER
) -> View:
    return View(from_data(Facts, merge(healthy_data(base), patch or {})), planner=planner)


def torch(**kw: Any) -> dict[str, Any]:
    return {"probe": {"data": {"torch": kw}}}


def one(found: list[Finding]) -> Finding:
    assert len(found) == 1, found
    return found[0]


# --- WSL: libcuda.so from /usr/lib/wsl/lib ---------------------------------------------------

WSL_FIX = (
    "echo 'export LD_LIBRARY_PATH=/usr/lib/wsl/lib:$LD_LIBRARY_PATH' >> ~/.bashrc, open "
    "a new terminal; never install a Linux NVIDIA driver inside WSL"
)
NO_LIB_FIX = (
    "Install or update the NVIDIA driver on Windows (https://www.nvidia.com/drivers), run "
    "`wsl --update` and `wsl --shutdown` in PowerShell; never install a Linux NVIDIA driver "
    "inside WSL"
)
NOT_ON_PATH = "/usr/lib/wsl/lib is neither on LD_LIBRARY_PATH nor in /etc/ld.so.conf.d"
LIBCUDA_ERROR = (
    "OSError: libcuda.so.1: cannot open shared object file: No such file or directory. "
    "Check your install"
)


def wsl(
    lib: dict[str, Any] | None,
    ld: str | None = None,
    **torch_kw: Any,
) -> View:
    """torch 2.13.0+cu130 on WSL with /usr/lib/wsl/lib as ``lib`` (None: not read)."""
    return view(
        merge(
            torch(**torch_kw),
            {
                "platform": {"wsl": True, "wsl_lib": lib},
                "probe": {"data": {"env": {"LD_LIBRARY_PATH": ld}}},
            },
        )
    )


def lib(
    on_path: bool | None, names: tuple[str, ...] = ("libcuda.so.1", "libcuda.so")
) -> dict[str, Any]:
    return {"exists": True, "libcuda": list(names), "on_loader_path": on_path, "nvidia_smi": True}


def test_wsl_healthy_cuda_is_silent_even_off_the_loader_path() -> None:
    # CUDA works, no cuDNN failure, no libcuda text: nothing to say about the loader path
    assert rt.wsl_libcuda(wsl(lib(False))) == []
    assert rt.wsl_libcuda(wsl(lib(False), cudnn_op={"ok": True, "error": None})) == []


def test_wsl_cudnn_failure_off_the_loader_path_is_named() -> None:
    f = one(
        rt.wsl_libcuda(
            wsl(lib(False), cudnn_op={"ok": False, "error": "CUDNN_STATUS_NOT_INITIALIZED"})
        )
    )
    assert (f.id, f.title) == (
        "wsl-libcuda",
        "WSL: torch cannot load libcuda.so from /usr/lib/wsl/lib",
    )
    assert (f.detail, f.fix) == (NOT_ON_PATH, WSL_FIX)


def test_wsl_cudnn_failure_on_the_loader_path_is_not_a_libcuda_problem() -> None:
    assert rt.wsl_libcuda(wsl(lib(True), cudnn_op={"ok": False, "error": "x"})) == []


def test_wsl_libcuda_text_names_its_line_even_on_the_loader_path() -> None:
    v = wsl(lib(True), cuda_available=True, cuda_error=LIBCUDA_ERROR)
    f = one(rt.wsl_libcuda(v))
    assert f.title == "WSL: torch cannot load libcuda.so from /usr/lib/wsl/lib"
    assert (
        f.detail
        == "OSError: libcuda.so.1: cannot open shared object file: No such file or directory."
    )
    assert f.fix == WSL_FIX
    # the same text with CUDA unavailable and the folder off the path: the same finding
    g = one(rt.wsl_libcuda(wsl(lib(False), cuda_available=False, cuda_error=LIBCUDA_ERROR)))
    assert g == f


def test_wsl_libcuda_text_without_wsl_lib_facts() -> None:
    v = wsl(None, "/usr/lib/wsl/lib", cuda_available=False, warnings=["libcuda.so not found"])
    f = one(rt.wsl_libcuda(v))
    assert f.detail == "libcuda.so not found"


@pytest.mark.parametrize(
    ("on_path", "ld", "named"),
    [
        (True, None, False),
        (False, None, True),
        (False, "/usr/lib/wsl/lib", True),  # the folder's own answer wins over the variable
        (None, None, True),
        (None, "/opt/cuda/lib64", True),
        (None, "/usr/lib/wsl/lib:/opt/cuda/lib64", False),
        (None, "/USR/LIB/WSL/LIB", True),
    ],
)
def test_wsl_cuda_unavailable_by_loader_path(
    on_path: bool | None, ld: str | None, named: bool
) -> None:
    found = rt.wsl_libcuda(wsl(lib(on_path), ld, cuda_available=False))
    if named:
        f = one(found)
        assert (f.title, f.detail, f.fix) == (
            "WSL: torch cannot load libcuda.so from /usr/lib/wsl/lib",
            NOT_ON_PATH,
            WSL_FIX,
        )
    else:
        assert found == []


@pytest.mark.parametrize(
    ("ld", "named"), [("/usr/lib/wsl/lib", False), ("/opt/x", True), (None, True)]
)
def test_wsl_without_wsl_lib_facts_reads_ld_library_path(ld: str | None, named: bool) -> None:
    found = rt.wsl_libcuda(wsl(None, ld, cuda_available=False))
    assert bool(found) is named
    if named:
        assert one(found).detail == NOT_ON_PATH


@pytest.mark.parametrize(
    ("names", "holds"),
    [
        ((), "no libcuda*"),
        (("libcudadebugger.so.1",), "libcudadebugger.so.1"),
        (("libcudadebugger.so.1", "libcuda_loader"), "libcudadebugger.so.1, libcuda_loader"),
    ],
)
def test_wsl_folder_without_libcuda(names: tuple[str, ...], holds: str) -> None:
    f = one(rt.wsl_libcuda(wsl(lib(True, names), cuda_available=False)))
    assert f.title == "WSL: /usr/lib/wsl/lib has no libcuda (the Windows driver's CUDA library)"
    assert f.detail == "/usr/lib/wsl/lib holds " + holds
    assert f.fix == NO_LIB_FIX
    g = one(rt.wsl_libcuda(wsl(lib(True, names), cuda_available=False, cuda_error=LIBCUDA_ERROR)))
    assert g.detail == (
        "/usr/lib/wsl/lib holds " + holds + "; torch says: OSError: libcuda.so.1: cannot open "
        "shared object file: No such file or directory."
    )


def test_wsl_folder_with_libcuda_so_and_a_libcuda_error() -> None:
    f = one(rt.wsl_libcuda(wsl(lib(True, ("libcuda.so.1.1",)), cuda_error=LIBCUDA_ERROR)))
    assert f.title == "WSL: torch cannot load libcuda.so from /usr/lib/wsl/lib"


def test_wsl_missing_folder_is_not_an_empty_folder() -> None:
    gone = {"exists": False, "libcuda": [], "on_loader_path": False, "nvidia_smi": False}
    f = one(rt.wsl_libcuda(wsl(gone, cuda_available=False)))
    assert (f.title, f.detail) == (
        "WSL: torch cannot load libcuda.so from /usr/lib/wsl/lib",
        NOT_ON_PATH,
    )


def test_wsl_libcuda_needs_wsl_and_a_cuda_build() -> None:
    v = view(merge(torch(cuda_available=False), {"platform": {"wsl_lib": lib(False)}}))
    assert rt.wsl_libcuda(v) == []
    cpu = wsl(lib(False), version="2.13.0+cpu", cuda=None, cuda_available=False)
    assert rt.wsl_libcuda(cpu) == []


# --- WSL: a Linux driver inside WSL ----------------------------------------------------------


@pytest.mark.parametrize(
    ("notes", "tail", "severity"),
    [
        ([], "", "warning"),
        (
            [
                "nvidia-smi: ok",
                "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver",
            ],
            " (NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver)",
            "error",
        ),
    ],
)
def test_wsl_linux_driver_detail(notes: list[str], tail: str, severity: str) -> None:
    v = view(
        {"platform": {"wsl": True}, "gpu": {"smi_path": "/usr/bin/nvidia-smi", "notes": notes}}
    )
    f = one(rt.wsl_linux_driver(v))
    assert f.id == "wsl-linux-driver"
    assert f.detail == (
        "/usr/bin/nvidia-smi runs instead of /usr/lib/wsl/lib/nvidia-smi, the Windows driver's "
        "own; WSL must use the Windows driver only" + tail
    )
    assert f.severity == severity


# --- torch_import: each status, its message and its fix ----------------------------------------


def broken(status: str, **kw: Any) -> View:
    return view(torch(status=status, **kw))


def test_empty_namespace_torch_names_its_folder() -> None:
    v = view(torch(version=None, file="/env/lib/python3.12/site-packages/torch"))
    f = one(rt.torch_import(v))
    assert (f.id, f.fix, f.fix_action) == (
        "torch-import-failed",
        reinstall_hint(v),
        "reinstall-torch",
    )
    assert f.detail == (
        "torch.__file__ = /env/lib/python3.12/site-packages/torch, torch.__version__ = None "
        "(no torch/__init__.py)"
    )


@pytest.mark.parametrize(
    ("status", "error", "fid", "detail"),
    [
        (
            "missing",
            {"message": "No module named 'torch'"},
            "torch-missing",
            "No module named 'torch'",
        ),
        (
            "missing",
            {"type": "ModuleNotFoundError", "message": "No module named 'torch'"},
            "torch-missing",
            "ModuleNotFoundError: No module named 'torch'",
        ),
        (
            "import-error",
            {
                "type": "OSError",
                "message": "[WinError 126] The specified module could not be found",
            },
            "windows-dll-error",
            "OSError: [WinError 126] The specified module could not be found",
        ),
        (
            "import-error",
            {"type": "ImportError", "message": "undefined symbol: iJIT_NotifyEvent"},
            "torch-import-failed",
            "ImportError: undefined symbol: iJIT_NotifyEvent",
        ),
        ("import-error", {"type": "ImportError"}, "torch-import-failed", "ImportError"),
        (
            "timeout",
            {},
            "torch-import-timeout",
            "no answer from the torch probe before its time limit",
        ),
    ],
)
def test_torch_import_statuses(status: str, error: dict[str, Any], fid: str, detail: str) -> None:
    v = broken(status, error=error)
    f = one(rt.torch_import(v))
    assert (f.id, f.detail, f.fix_action) == (fid, detail, "reinstall-torch")
    assert f.fix is not None and f.fix.endswith(reinstall_hint(v))


@pytest.mark.parametrize("status", [None, "not-run"])
def test_torch_import_not_run_is_silent(status: str | None) -> None:
    assert rt.torch_import(broken(status)) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("stderr", "returncode", "tail"),
    [
        (
            "Fatal Python error: Segmentation fault\n\nCurrent thread:",
            -11,
            "Fatal Python error: Segmentation fault",
        ),
        ("", -11, "killed by signal SIGSEGV (segmentation fault)"),
        ("", -4, "killed by signal SIGILL (illegal instruction: a build for newer CPUs?)"),
        ("", -7, "killed by signal 7"),
        ("", 137, "killed by signal SIGKILL (out of memory?)"),
        ("", 129, "killed by signal 1"),
        ("", 128, "exit code 128"),
        ("", 0, "exit code 0"),
        ("", 1, "exit code 1"),
        ("", None, "exit code None"),
        ("boom\nRuntimeError: bad thing\n", 1, "RuntimeError: bad thing"),
        ("RuntimeError: bad thing", 0, "RuntimeError: bad thing"),
    ],
)
def test_crash_line(stderr: str, returncode: int | None, tail: str) -> None:
    v = broken("crashed", stderr=stderr, returncode=returncode)
    f = one(rt.torch_import(v))
    assert (f.id, f.detail, f.fix, f.fix_action) == (
        "torch-import-crashed",
        tail,
        reinstall_hint(v),
        "reinstall-torch",
    )


# --- after a successful import: a later stage hung or crashed --------------------------------


def test_after_import_timeout_names_the_stage_and_reboot() -> None:
    v = view(torch(child="timeout", stages=["numpy", "torch-import"]))
    f = one(rt.torch_import(v))
    assert (f.id, f.title) == (
        "torch-import-timeout",
        "The torch probe hung while initialising CUDA",
    )
    assert f.detail == "torch imported, then no answer before the time limit"
    assert (
        f.fix
        == "Reboot (a wedged GPU driver hangs CUDA calls); if it persists, " + reinstall_hint(v)
    )
    assert f.fix_action == "reinstall-torch"


@pytest.mark.parametrize(
    ("stderr", "returncode", "tail"),
    [
        ("Fatal Python error: Aborted\n", -11, "Fatal Python error: Aborted"),
        (None, None, "exit code None"),
        (None, 3, "exit code 3"),
        ("", -6, "killed by signal SIGABRT"),
    ],
)
def test_after_import_crash_names_the_stage_and_the_line(
    stderr: str | None, returncode: int | None, tail: str
) -> None:
    v = view(
        torch(
            child="crashed",
            stages=["numpy", "torch-import", "cuda", "cuda-op"],
            stderr=stderr,
            returncode=returncode,
        )
    )
    f = one(rt.torch_import(v))
    assert (f.id, f.title) == (
        "torch-import-crashed",
        "Python crashed while running a cuDNN convolution",
    )
    assert (f.detail, f.fix, f.fix_action) == (tail, reinstall_hint(v), "reinstall-torch")


# --- CUDA available or not --------------------------------------------------------------------

AMD = {
    "vendor": "amd",
    "name": "AMD Radeon RX 7900 XTX",
    "driver_version": None,
    "compute_capability": None,
    "gfx": "gfx1100",
    "memory_mib": 24576,
    "index": 0,
}
RADEON_VII = dict(AMD, name="AMD Radeon VII", gfx="gfx906", index=1)


def amd_machine(hip: str | None, gpus: list[dict[str, Any]], **kw: Any) -> View:
    version = f"2.13.0+rocm{hip}" if hip else "2.13.0+cpu"
    return view(
        merge(
            torch(
                **dict(
                    {
                        "version": version,
                        "cuda": None,
                        "hip": hip,
                        "devices": [],
                        "cuda_available": False,
                    },
                    **kw,
                )
            ),
            {"gpu": {"gpus": gpus, "cuda_driver_api": None}},
        )
    )


def test_rocm_torch_that_cannot_use_the_amd_gpu_names_the_first_one() -> None:
    f = one(rt.cuda_unavailable(amd_machine("6.4", [AMD, RADEON_VII])))
    assert (f.id, f.title) == (
        "cuda-unavailable",
        "torch 2.13.0+rocm6.4 cannot use the AMD Radeon RX 7900 XTX",
    )
    assert f.detail == "torch.cuda.is_available() returned False"
    assert rt.cuda_unavailable(amd_machine("6.4", [AMD], cuda_available=True)) == []


def test_cpu_torch_on_an_amd_gpu_is_not_cuda_unavailable() -> None:
    assert rt.cuda_unavailable(amd_machine(None, [AMD])) == []
    # a ROCm torch with no AMD GPU in the facts: nothing to name
    assert rt.cuda_unavailable(amd_machine("6.4", [])) == []


def test_cuda_unavailable_on_nvidia_prefers_the_cuda_error_then_warnings() -> None:
    f = one(
        rt.cuda_unavailable(
            view(torch(cuda_available=False, warnings=["first", "CUDA initialization: bad"]))
        )
    )
    assert (f.title, f.detail) == (
        "torch 2.13.0+cu130 cannot use the NVIDIA GeForce RTX 3060",
        "CUDA initialization: bad",
    )


def test_cpu_torch_on_an_amd_gpu_the_planner_would_not_serve() -> None:
    # gfx803 has no ROCm build: a CPU torch there is right; with no planner nothing is said either
    old = dict(AMD, name="AMD Radeon RX 580", gfx="gfx803")
    assert rt.cpu_torch_on_gpu(amd_machine(None, [old])) == []
    v = view(
        merge(
            torch(version="2.13.0+cpu", cuda=None, hip=None, devices=[], cuda_available=False),
            {"gpu": {"gpus": [AMD], "cuda_driver_api": None}},
        ),
        planner=None,
    )
    assert rt.cpu_torch_on_gpu(v) == []
    f = one(rt.cpu_torch_on_gpu(amd_machine(None, [AMD])))
    assert (
        f.title == "torch 2.13.0+cpu is a CPU build, but this machine has an AMD Radeon RX 7900 XTX"
    )


# --- a real CUDA / cuDNN operation ------------------------------------------------------------


def op_failed(
    devices: list[dict[str, Any]], op_devices: list[dict[str, Any]], error: str | None = "boom"
) -> Finding:
    v = view(torch(devices=devices, cuda_op={"ok": False, "error": error, "devices": op_devices}))
    f = one(rt.cuda_op_failed(v))
    assert f.fix == "Update the NVIDIA driver and reboot; if it persists, " + reinstall_hint(v)
    assert f.fix_action == "reinstall-torch"
    return f


GENERIC = "A real CUDA operation failed although CUDA is available"


def test_cuda_op_failed_on_one_of_two_gpus() -> None:
    devices = [
        {"index": 0, "name": "NVIDIA A100", "capability": "8.0"},
        {"index": 1, "capability": "8.6"},
    ]
    f = op_failed(devices, [{"index": 0, "ok": True}, {"index": 1, "ok": False}])
    assert f.title == "A real CUDA operation failed on GPU 1 GPU (sm_86) (the other GPUs work)"
    assert f.detail == "GPU 1 GPU (sm_86): boom"


def test_cuda_op_failed_on_every_gpu_is_the_generic_title() -> None:
    devices = [{"index": 0, "name": "NVIDIA A100", "capability": "8.0"}]
    f = op_failed(devices, [{"index": 0, "ok": False}, {"index": 5, "ok": False}], error=None)
    assert f.title == GENERIC
    assert f.detail == "GPU 0 NVIDIA A100 (sm_80), GPU 5: wrong result from a 64x64 matmul"


def test_cuda_op_failed_with_no_device_failing() -> None:
    f = op_failed([], [{"index": 0, "ok": True}])
    assert (f.title, f.detail) == (GENERIC, "boom")


def test_cudnn_failed_needs_a_cuda_build_and_a_failed_conv() -> None:
    v = view(
        torch(
            cudnn_op={
                "ok": False,
                "error": "line 1\nCUDNN_STATUS_EXECUTION_FAILED",
                "version": 91002,
            }
        )
    )
    f = one(rt.cudnn_failed(v))
    assert f.detail.startswith("CUDNN_STATUS_EXECUTION_FAILED (cuDNN 91002); ")
    assert f.fix is not None and f.fix.endswith(reinstall_hint(v))
    assert f.fix_action == "reinstall-torch"
    cpu = view(torch(version="2.13.0+cpu", cuda=None, cudnn_op={"ok": False, "error": "x"}))
    assert rt.cudnn_failed(cpu) == []
    assert rt.cudnn_failed(view(torch(cudnn_op={"ok": None, "error": "x"}))) == []
