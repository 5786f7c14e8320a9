"""Rules for the GPU driver, the torch build and its companion packages (pure).

Error texts matched here are the real ones users paste into PyTorch issues (fixtures in
``tests/data/doctor/texts/``): "The NVIDIA driver on your system is too old", "with CUDA
capability sm_120 is not compatible with the current PyTorch installation", "no kernel image
is available for execution on the device", "operator torchvision::nms does not exist",
"A module that was compiled using NumPy 1.x cannot be run in NumPy 2.x".
"""

from __future__ import annotations

import re
from typing import Any

from coursekit.doctor.planning import (
    arch_options,
    covers,
    driver_minimum,
    oldest_arch,
    Planner,
    per_planner,
    reinstall_hint,
    served,
    sm_name,
    suggest_backend,
)
from coursekit.doctor.versions import as_version
from coursekit.doctor.view import Finding, Rule, View, finding

_REINSTALL = "reinstall-torch"


def _driver_table(v: View) -> str:
    p = v.f.platform
    return "windows" if p and (p.os == "windows" or p.wsl) else "linux"


def _last_line(text: str) -> str:
    """The last non-blank line (a tool's or a traceback's own verdict comes last)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def no_gpu(v: View) -> list[Finding]:
    if v.f.gpu is None or v.gpus or v.cuda_build or (v.f.platform and v.f.platform.os == "macos"):
        return []
    if "couldn't communicate" in v.gpu_notes or "mismatch" in v.gpu_notes:
        return []
    return [
        finding(
            "no-gpu",
            "No NVIDIA GPU found: CPU PyTorch is right for this machine",
            v.gpu_notes or "no GPU reported",
            None,
        )
    ]


_NO_DRIVER = "Found no NVIDIA driver on your system"


def driver_missing(v: View) -> list[Finding]:
    """No NVIDIA driver at all, told apart from no GPU: torch's own "Found no NVIDIA driver on your
    system" (a CUDA build asked), or NVIDIA devices on the PCI bus that no driver reports."""
    p = v.f.platform
    if p and p.os == "macos":
        return []
    said = _NO_DRIVER in v.torch_texts
    pci = v.f.gpu.pci_nvidia if v.f.gpu else None
    listed = [g for g in v.nvidia if g.driver_version]
    if listed and not said:
        return []
    no_smi = "nvidia-smi not found" in v.gpu_notes
    if pci == 0 or not (
        said or (pci and not v.nvidia) or (v.cuda_build and no_smi and not v.nvidia)
    ):
        return []  # the PCI bus shows no NVIDIA GPU: cuda-build-without-gpu says it
    wsl = bool(p and p.wsl)
    os_name = v.report_os
    if wsl:
        install = (
            "Install or update the NVIDIA driver on Windows (https://www.nvidia.com/drivers); "
            "WSL uses the Windows driver, never install a Linux driver inside WSL; then `wsl "
            "--shutdown`"
        )
    elif os_name == "windows":
        install = "Install the NVIDIA driver (https://www.nvidia.com/drivers), then restart Windows"
    else:
        install = (
            "Install the NVIDIA driver (Ubuntu: `sudo ubuntu-drivers install`; others: "
            "https://www.nvidia.com/drivers), then reboot"
        )
    evidence = []
    if said:
        evidence.append("torch says: " + _line_with(v.torch_texts, _NO_DRIVER))
    if pci:
        evidence.append(f"{pci} NVIDIA device(s) on the PCI bus")
    if "nvidia-smi not found" in v.gpu_notes:
        evidence.append("nvidia-smi is not installed")
    build = (
        f"torch {v.torch_version} is a CUDA build" if v.cuda_build else "an NVIDIA GPU is present"
    )
    # An error when the PCI bus shows an NVIDIA GPU; without that fact (Windows, a schema-1 report)
    # a GPU-less machine with a CUDA build says the same, so it is a warning.
    return [
        finding(
            "driver-missing",
            "No NVIDIA driver is installed",
            f"{build}; " + "; ".join(evidence),
            install + ". Only if this machine has no NVIDIA GPU: coursekit setup --backend cpu",
            severity=None if pci else "warning",
        )
    ]


def wsl_linux_driver(v: View) -> list[Finding]:
    """WSL with an nvidia-smi outside /usr/lib/wsl/lib: a Linux driver or nvidia-utils installed
    inside WSL, which shadows the Windows driver's projection (microsoft/WSL#11888,
    docs.nvidia.com/cuda/wsl-user-guide)."""
    p = v.f.platform
    smi = v.f.gpu.smi_path if v.f.gpu else None
    if not p or not p.wsl or not smi or smi.startswith("/usr/lib/wsl/"):
        return []
    failing = "couldn't communicate" in v.gpu_notes or "failed" in v.gpu_notes or not v.nvidia
    return [
        finding(
            "wsl-linux-driver",
            "WSL: a Linux nvidia-smi/driver is installed inside WSL",
            f"{smi} runs instead of /usr/lib/wsl/lib/nvidia-smi, the Windows driver's own; "
            "WSL must use the Windows driver only"
            + (f" ({_last_line(v.gpu_notes)})" if v.gpu_notes else ""),
            "sudo apt remove --purge 'nvidia-*' 'libnvidia-*' inside WSL (keep the Windows "
            "driver), then `wsl --shutdown` in PowerShell; never install a Linux NVIDIA driver "
            "inside WSL",
            severity="error" if failing else None,
        )
    ]


def driver_state(v: View) -> list[Finding]:
    notes = v.gpu_notes
    if not notes:
        return []
    needs = "error" if v.cuda_build else "warning"
    wsl = bool(v.f.platform and v.f.platform.wsl)
    if "couldn't communicate with the NVIDIA driver" in notes or "NVIDIA-SMI has failed" in notes:
        fix = (
            "Install or update the NVIDIA driver on Windows (not inside WSL); if you installed "
            "a Linux driver or nvidia-utils inside WSL, remove it (`sudo apt remove --purge "
            "'nvidia-*'`)"
            if wsl
            else "Install the NVIDIA driver (Ubuntu: `sudo ubuntu-drivers install`), then reboot"
        )
        return [
            finding(
                "driver-not-loaded",
                "nvidia-smi cannot talk to the NVIDIA driver",
                _last_line(notes),
                fix,
                severity=needs,
            )
        ]
    if "Driver/library version mismatch" in notes:
        return [
            finding(
                "driver-library-mismatch",
                "The NVIDIA driver was updated but not reloaded",
                _last_line(notes),
                "Reboot the computer",
                severity=needs,
            )
        ]
    if "nvidia-smi" in notes and ("failed" in notes or "did not answer" in notes):
        return [
            finding(
                "nvidia-smi-failed",
                "nvidia-smi did not report the GPUs",
                _last_line(notes),
                "Reboot; if it persists, reinstall the NVIDIA driver",
            )
        ]
    return []


def driver_too_old(v: View) -> list[Finding]:
    cuda = v.torch.get("cuda") if v.cuda_build else None
    text_hit = "driver on your system is too old" in v.torch_texts
    minimum = driver_minimum(str(cuda), _driver_table(v), v.planner.matrix) if cuda else None
    have, least = as_version(v.driver), as_version(minimum)
    low = bool(have is not None and least is not None and have < least)
    api = v.f.gpu.cuda_driver_api if v.f.gpu else None
    if cuda and not v.driver and api and v.nvidia:
        # No driver number, but nvidia-smi's "CUDA Version" (the newest CUDA this driver runs):
        # before CUDA 11 every minor needs its own driver; from 11 on the same major is enough
        # (minor-version compatibility, NVIDIA Table 2).
        need_v, api_v = as_version(str(cuda)), as_version(api)
        if need_v is not None and api_v is not None:
            low = need_v.major > api_v.major or (
                need_v.major < 11 and need_v.release[:2] > api_v.release[:2]
            )
    if not (low or (text_hit and cuda)):
        return []
    if _unserved(v):
        # no build has kernels for this GPU whatever the driver: gpu-arch-unsupported says so
        return []
    advice = suggest_backend(v)
    other = (
        f", or run `{advice.command}` (torch {advice.torch} runs on this driver)" if advice else ""
    )
    needed = f">= {minimum}" if minimum else "newer"
    detail = (
        f"torch {v.torch_version} uses CUDA {cuda}, which needs driver {needed}; this machine has "
        f"{v.driver or (f'a driver for CUDA {api}' if api else 'an unknown driver')}"
    )
    if text_hit:
        detail += "; torch says: " + _line_with(v.torch_texts, "too old")
    return [
        finding(
            "driver-too-old",
            f"The NVIDIA driver is too old for torch {v.torch_version}",
            detail,
            f"Install NVIDIA driver {needed} (https://www.nvidia.com/drivers){other}",
            fix_action=_REINSTALL if advice else None,
        )
    ]


def _line_with(text: str, needle: str, limit: int = 160) -> str:
    """The line of ``text`` that contains ``needle``, cut after the sentence that holds it."""
    line = next((ln.strip() for ln in text.splitlines() if needle in ln), needle)
    end = line.find(". ", line.find(needle))
    if end != -1:
        line = line[: end + 1]
    return line if len(line) <= limit else line[: limit - 3] + "..."


_KERNEL_TEXTS = (
    "no kernel image is available",
    "is not compatible with the current PyTorch installation",
)


def _unserved(v: View) -> list[tuple[str, str]]:
    """Visible NVIDIA GPUs (name, capability) that no CUDA build coursekit can install has
    kernels for (the planner's architecture gate)."""
    return [
        (g.name, g.compute_capability)
        for g in v.visible_nvidia
        if g.compute_capability and served(v, g.compute_capability) is False
    ]


def arch_fix(v: View, bad: list[tuple[str, str]]) -> str:
    """The fix line for GPUs the installed torch has no kernels for, through the planner's gate:
    a build that has kernels for every one of them, or the CPU build with the reason."""
    unserved = _unserved(v)
    if unserved:
        oldest = oldest_arch(v)
        gpus = ", ".join(f"{n} ({sm_name(c)})" for n, c in unserved)
        floor = f"; the oldest builds start at {sm_name(oldest)}" if oldest else ""
        return (
            f"coursekit setup --backend cpu  (no PyTorch build coursekit can install has kernels "
            f"for {gpus}{floor}; the labs run on the CPU)"
        )
    advice = suggest_backend(v)
    caps = [c for _, c in bad]
    if (
        advice
        and advice.backend.startswith("cu")
        and all(
            any(
                o.backend == advice.backend and advice.torch.startswith(o.line + ".")
                for o in arch_options(v, c)
            )
            for c in caps
        )
    ):
        return (
            f"{advice.command}  (torch {advice.torch} has kernels for it), or coursekit doctor "
            "--fix"
        )
    options = [arch_options(v, c) for c in caps]
    common = (
        [
            o
            for o in options[0]
            if all(
                any((o.line, o.backend) == (x.line, x.backend) for x in opts)
                for opts in options[1:]
            )
        ]
        if options
        else []
    )
    if common:
        best = common[0]
        have, least = as_version(v.driver), as_version(best.driver_minimum)
        need = (
            f"NVIDIA driver >= {best.driver_minimum}, then "
            if have is not None and least is not None and have < least
            else ""
        )
        return (
            f"{need}coursekit setup --torch {best.line} --backend {best.backend}  (torch "
            f"{best.line} {best.backend} has kernels for it)"
        )
    return "coursekit setup  (picks a build with kernels for this GPU, or the CPU build)"


def gpu_arch_unsupported(v: View) -> list[Finding]:
    if not v.cuda_build:
        return []
    arch = [str(a) for a in v.torch.get("arch_list") or []]
    caps = [(g.name, g.compute_capability) for g in v.visible_nvidia if g.compute_capability]
    for _, name, cap in v.torch_capabilities:
        if name not in {n for n, _ in caps}:
            caps.append((name, cap))
    bad = [(n, c) for n, c in caps if arch and not covers(arch, c)]
    texts = [t for t in _KERNEL_TEXTS if t in v.torch_texts]
    if not bad and not texts:
        return []
    gpu = ", ".join(f"{n} ({sm_name(c)})" for n, c in bad) or "this GPU"
    detail = f"torch {v.torch_version} has kernels for {' '.join(arch) or 'unknown archs'}"
    if texts:
        detail += "; torch says: " + _line_with(v.torch_texts, texts[0])
    return [
        finding(
            "gpu-arch-unsupported",
            f"torch {v.torch_version} has no kernels for {gpu}",
            detail,
            arch_fix(v, bad or caps),
            fix_action=_REINSTALL,
        )
    ]


def _rocm_capable(v: View) -> bool:
    """An AMD GPU for which the planner would install a ROCm build."""
    if not any(g.vendor == "amd" for g in v.gpus):
        return False
    advice = suggest_backend(v)
    return bool(advice and advice.backend.startswith("rocm"))


def cpu_torch_on_gpu(v: View) -> list[Finding]:
    p = v.f.platform
    if not v.torch_ok or v.cuda_build or v.torch.get("hip") or (p and p.os == "macos"):
        return []
    gpus = v.nvidia or tuple(g for g in v.gpus if g.vendor == "amd" and _rocm_capable(v))
    if not gpus:
        return []
    gpu = gpus[0]
    return [
        finding(
            "cpu-torch-on-gpu",
            f"torch {v.torch_version} is a CPU build, but this machine has an {gpu.name}",
            "torch.version.cuda is None: `.cuda()` fails with 'Torch not compiled "
            "with CUDA enabled'. Typical causes: pip's 'Requirement already satisfied' kept a CPU "
            "torch, PyPI's Windows wheels are CPU-only, or an add-on reinstalled torch",
            reinstall_hint(v),
            fix_action=_REINSTALL,
        )
    ]


def _hides(value: str, count: int) -> bool:
    """True when ``CUDA_VISIBLE_DEVICES=value`` leaves no installed GPU visible to CUDA.

    CUDA reads the list up to the first invalid entry: "" and "-1" hide everything, an index
    past the last GPU ends the list (CUDA programming guide, CUDA_VISIBLE_DEVICES); UUIDs
    (``GPU-...``, ``MIG-...``) are taken as valid.
    """
    visible = 0
    for entry in value.split(","):
        entry = entry.strip()
        if not (entry.startswith(("GPU-", "MIG-")) or (entry.isdigit() and int(entry) < count)):
            break
        visible += 1
    return visible == 0


def cuda_hidden(v: View) -> list[Finding]:
    value = v.cuda_visible_devices
    if value is None or not v.nvidia:
        return []
    if not _hides(value, len(v.nvidia)):
        return []
    return [
        finding(
            "cuda-hidden",
            f"CUDA_VISIBLE_DEVICES={value!r} hides the GPU from torch",
            f"{len(v.nvidia)} NVIDIA GPU(s) installed; torch sees {v.torch.get('device_count', 0)}",
            "unset CUDA_VISIBLE_DEVICES  (PowerShell: Remove-Item Env:CUDA_VISIBLE_DEVICES), and "
            "remove it from your shell profile",
        )
    ]


def cuda_op_failed(v: View) -> list[Finding]:
    op = v.torch.get("cuda_op") or {}
    if not v.cuda_build or not op or op.get("ok"):
        return []
    names = {
        d.get("index"): f"{d.get('name', 'GPU')} ({sm_name(str(d.get('capability')))})"
        for d in v.torch.get("devices") or []
        if isinstance(d, dict)
    }
    failed = [d for d in op.get("devices") or [] if isinstance(d, dict) and not d.get("ok")]
    where = ", ".join(
        f"GPU {d.get('index')} {names.get(d.get('index'), '')}".rstrip() for d in failed
    )
    title = "A real CUDA operation failed although CUDA is available"
    if failed and len(failed) < len(op.get("devices") or []):
        title = f"A real CUDA operation failed on {where} (the other GPUs work)"
    return [
        finding(
            "cuda-op-failed",
            title,
            (f"{where}: " if where else "")
            + str(op.get("error") or "wrong result from a 64x64 matmul"),
            "Update the NVIDIA driver and reboot; if it persists, " + reinstall_hint(v),
            fix_action=_REINSTALL,
        )
    ]


def cudnn_failed(v: View) -> list[Finding]:
    op = v.torch.get("cudnn_op") or {}
    if not v.cuda_build or not op or op.get("ok") is not False:
        return []
    error = _last_line(str(op.get("error") or "")) or "wrong result from a 3x3 convolution"
    return [
        finding(
            "cudnn-failed",
            "A cuDNN convolution failed although a matmul worked",
            f"{error} (cuDNN {op.get('version') or 'unknown'}); torch.nn.Conv2d and every CNN "
            "lab need it",
            "Remove other CUDA/cuDNN folders from LD_LIBRARY_PATH, update the NVIDIA driver and "
            "reboot; if it persists, " + reinstall_hint(v),
            fix_action=_REINSTALL,
        )
    ]


def cuda_unavailable(v: View) -> list[Finding]:
    amd = [g for g in v.gpus if g.vendor == "amd"]
    hip_case = bool(v.torch_ok and v.torch.get("hip") and amd)
    if v.torch.get("cuda_available") or not ((v.cuda_build and v.nvidia) or hip_case):
        return []
    gpu_name = v.nvidia[0].name if v.nvidia else amd[0].name
    why = (
        _last_line(str(v.torch.get("cuda_error") or ""))
        or _last_line("\n".join(map(str, v.torch.get("warnings") or [])))
        or "torch.cuda.is_available() returned False"
    )
    return [
        finding(
            "cuda-unavailable",
            f"torch {v.torch_version} cannot use the {gpu_name}",
            why,
            "Update the NVIDIA driver and reboot; then run `coursekit doctor` again",
        )
    ]


def cuda_build_without_gpu(v: View) -> list[Finding]:
    p = v.f.platform
    if not v.cuda_build or v.nvidia or v.f.gpu is None or (p and p.os == "macos"):
        return []
    return [
        finding(
            "cuda-build-without-gpu",
            f"torch {v.torch_version} is a CUDA build on a machine without an NVIDIA GPU",
            "it runs on the CPU but carries gigabytes of CUDA libraries",
            "coursekit setup --backend cpu  (optional)",
        )
    ]


def wsl_libcuda(v: View) -> list[Finding]:
    p = v.f.platform
    if not p or not p.wsl or not v.cuda_build:
        return []
    conv_failed = (v.torch.get("cudnn_op") or {}).get("ok") is False
    text = "libcuda" in v.torch_texts
    if v.torch.get("cuda_available") and not conv_failed and not text:
        return []
    lib = p.wsl_lib
    ld = str((v.data.get("env") or {}).get("LD_LIBRARY_PATH"))
    if lib is not None and lib.exists and not any(n.startswith("libcuda.so") for n in lib.libcuda):
        return [
            finding(
                "wsl-libcuda",
                "WSL: /usr/lib/wsl/lib has no libcuda (the Windows driver's CUDA library)",
                "/usr/lib/wsl/lib holds "
                + (", ".join(lib.libcuda) or "no libcuda*")
                + (("; torch says: " + _line_with(v.torch_texts, "libcuda")) if text else ""),
                "Install or update the NVIDIA driver on Windows "
                "(https://www.nvidia.com/drivers), run `wsl --update` and `wsl --shutdown` in "
                "PowerShell; never install a Linux NVIDIA driver inside WSL",
            )
        ]
    on_path = lib.on_loader_path if lib is not None else None
    if not text and (on_path or (on_path is None and "/usr/lib/wsl/lib" in ld)):
        return []
    if not text and not conv_failed and lib is not None and lib.exists and on_path:
        return []
    detail = (
        _line_with(v.torch_texts, "libcuda")
        if text
        else "/usr/lib/wsl/lib is neither on LD_LIBRARY_PATH nor in /etc/ld.so.conf.d"
    )
    return [
        finding(
            "wsl-libcuda",
            "WSL: torch cannot load libcuda.so from /usr/lib/wsl/lib",
            detail,
            "echo 'export LD_LIBRARY_PATH=/usr/lib/wsl/lib:$LD_LIBRARY_PATH' >> ~/.bashrc, open "
            "a new terminal; never install a Linux NVIDIA driver inside WSL",
        )
    ]


_DLL = re.compile(r"WinError 126|DLL load failed|\.dll\b", re.IGNORECASE)


_STAGES = (
    ("numpy", "importing numpy"),
    ("torch-import", "importing torch"),
    ("cuda", "initialising CUDA"),
    ("cuda-op", "running a CUDA operation"),
    ("cudnn", "running a cuDNN convolution"),
    ("mps", "checking MPS"),
    ("numpy-bridge", "converting a NumPy array"),
    ("torchvision", "importing torchvision"),
    ("torchaudio", "importing torchaudio"),
    ("warnings", "finishing"),
)


def _after_import(v: View) -> list[Finding]:
    """torch imported, then a later stage (CUDA init, the CUDA op, torchvision) hung or crashed."""
    child = v.torch.get("child")
    if child not in ("timeout", "crashed"):
        return []
    done = set(v.torch.get("stages") or [])
    culprit = next((what for name, what in _STAGES if name not in done), "finishing")
    if child == "timeout":
        return [
            finding(
                "torch-import-timeout",
                f"The torch probe hung while {culprit}",
                "torch imported, then no answer before the time limit",
                "Reboot (a wedged GPU driver hangs CUDA calls); if it persists, "
                + reinstall_hint(v),
                fix_action=_REINSTALL,
            )
        ]
    tail = _crash_line(str(v.torch.get("stderr") or ""), v.torch.get("returncode"))
    return [
        finding(
            "torch-import-crashed",
            f"Python crashed while {culprit}",
            tail,
            reinstall_hint(v),
            fix_action=_REINSTALL,
        )
    ]


def torch_import(v: View) -> list[Finding]:
    status = v.torch.get("status")
    if v.probe_ok and status == "ok":
        if not v.torch.get("version"):
            # a torch/ folder without __init__.py imports as an empty namespace package
            return [
                finding(
                    "torch-import-failed",
                    "torch's files are missing: `import torch` finds an empty folder",
                    f"torch.__file__ = {v.torch.get('file')}, "
                    f"torch.__version__ = {v.torch.get('version')!r} (no torch/__init__.py)",
                    reinstall_hint(v),
                    fix_action=_REINSTALL,
                )
            ]
        return _after_import(v)
    if not v.probe_ok or status in (None, "ok", "not-run"):
        return []
    err = v.torch.get("error") or {}
    message = f"{err.get('type', '')}: {err.get('message', '')}".strip(": ")
    if status == "missing":
        return [
            finding(
                "torch-missing",
                "torch is not installed in the env",
                message,
                reinstall_hint(v),
                fix_action=_REINSTALL,
            )
        ]
    if status == "import-error" and _DLL.search(message):
        return [
            finding(
                "windows-dll-error",
                "Windows cannot load a torch DLL",
                message,
                "Install the Microsoft Visual C++ Redistributable (https://aka.ms/vs/17/release/"
                "vc_redist.x64.exe), open a new terminal; if it persists, " + reinstall_hint(v),
                fix_action=_REINSTALL,
            )
        ]
    if status == "import-error":
        return [
            finding(
                "torch-import-failed",
                "import torch fails",
                message,
                reinstall_hint(v),
                fix_action=_REINSTALL,
            )
        ]
    if status == "timeout":
        return [
            finding(
                "torch-import-timeout",
                "import torch hangs",
                "no answer from the torch probe before its time limit",
                "Reboot, then " + reinstall_hint(v),
                fix_action=_REINSTALL,
            )
        ]
    tail = _crash_line(str(v.torch.get("stderr") or ""), v.torch.get("returncode"))
    return [
        finding(
            "torch-import-crashed",
            "import torch crashes the Python process",
            tail,
            reinstall_hint(v),
            fix_action=_REINSTALL,
        )
    ]


_SIGNALS = {
    4: "SIGILL (illegal instruction: a build for newer CPUs?)",
    6: "SIGABRT",
    9: "SIGKILL (out of memory?)",
    11: "SIGSEGV (segmentation fault)",
}


def _crash_line(stderr: str, returncode: object) -> str:
    """The line that says how the process died: a fatal-error line, else the signal."""
    for line in stderr.splitlines():
        if any(
            m in line for m in ("Fatal Python error", "Segmentation fault", "Illegal instruction")
        ):
            return line.strip()
    if isinstance(returncode, int) and returncode < 0:
        return f"killed by signal {_SIGNALS.get(-returncode, -returncode)}"
    if isinstance(returncode, int) and returncode > 128:  # a shell-style 128+N status
        return f"killed by signal {_SIGNALS.get(returncode - 128, returncode - 128)}"
    return _last_line(stderr) or f"exit code {returncode}"


def jetson_sbsa(v: View) -> list[Finding]:
    p = v.f.platform
    if not p or not p.jetson or not v.cuda_build or (v.torch.get("cuda_op") or {}).get("ok"):
        return []
    return [
        finding(
            "jetson-sbsa-wheel",
            f"torch {v.torch_version} is PyTorch's aarch64 CUDA build, which does "
            "not run on a Jetson",
            "PyTorch's aarch64 CUDA wheels are SBSA builds; Jetson's L4T needs "
            "NVIDIA's Jetson builds (bitsandbytes-foundation/bitsandbytes#1941)",
            "Install NVIDIA's Jetson wheels (Jetson AI Lab, pypi.jetson-ai-lab.io) into the env; "
            "or run `coursekit setup --backend cpu` for the CPU build",
        )
    ]


def _serving(planner: Planner, release: Any, platform: str, cc: str) -> tuple[Any, ...]:
    """The CUDA builds of ``release`` on ``platform`` with kernels for a GPU of ``cc``."""
    cuda = [x for x in release.variants_for(platform) if x.kind == "cuda"]
    return tuple(x for x in cuda if planner.coverage(x, cc, platform))


def gpu_line_ending(v: View) -> list[Finding]:
    """A GPU that only a CUDA line marked end-of-line in the matrix serves (cu126 for Maxwell,
    Pascal and Volta: RFC pytorch/pytorch#190385): works today, warn before the next release."""
    host = v.host_info()
    matrix = v.planner.matrix
    if host is None or matrix is None or not matrix.releases:
        return []
    planner = v.planner
    release, platform = matrix.newest, planner.platform_key(host)
    out = []
    for g in v.gpus:
        if g.vendor != "nvidia" or not g.compute_capability:
            continue
        cc = g.compute_capability
        serving = per_planner(
            planner,
            ("newest_serving", platform, cc),
            lambda: _serving(planner, release, platform, cc),  # noqa: B023 - called now
        )
        if serving and all(x.eol_note for x in serving):
            out.append(
                finding(
                    "gpu-line-ending",
                    f"{g.name} ({sm_name(g.compute_capability)}) is served only by "
                    f"{', '.join(x.backend for x in serving)} builds",
                    serving[0].eol_note,
                    f"Keep torch {release.latest.torch}: pin [torch] version = "
                    f'"{release.line}" in the '
                    "course's env spec (instructors), or plan for a newer GPU",
                )
            )
    return out


BY_CATEGORY: dict[str, tuple[Rule, ...]] = {
    "gpu": (
        no_gpu,
        jetson_sbsa,
        driver_missing,
        wsl_linux_driver,
        driver_state,
        driver_too_old,
        gpu_arch_unsupported,
        cuda_hidden,
        cuda_op_failed,
        cudnn_failed,
        cuda_unavailable,
        cuda_build_without_gpu,
        wsl_libcuda,
        gpu_line_ending,
    ),
    "torch": (
        cpu_torch_on_gpu,
        torch_import,
    ),
}
"""This module's rules by the summary category their findings are in: the only list of them
(the category units and :data:`coursekit.doctor.engine.RULES` are derived from it,
issue 16)."""
