"""From a ``coursekit setup`` request to a :class:`~coursekit.setup.plan.model.Plan`: the impure
edges.

:func:`build_plan` loads the env spec and the matrix, describes the machine (detection, or
only the GPUs given by ``--os/--arch/--gpu-*`` flags), calls the pure
:func:`~coursekit.setup.plan.compose.make_plan`, then confirms online that the chosen index lists
the wheel (skipped when ``COURSEKIT_OFFLINE`` is set). Every bad input is a UsageError (exit 2)
raised before anything is written.
"""

from __future__ import annotations

import dataclasses
import os
import platform as _platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from coursekit.constants import EnvVars
from coursekit.errors import UsageError
from coursekit.host import GpuInfo, HostInfo
from coursekit.proc import Runner, run_tool
from coursekit.setup.plan.compose import make_plan
from coursekit.setup.plan.indexcheck import Fetch, check_index, urllib_fetch
from coursekit.setup.plan.model import Plan

_DRIVER = re.compile(r"^\d{2,4}(\.\d{1,3}){0,2}$")
CC_RANGE = (Version("1.0"), Version("12.9"))
"""Compute capabilities NVIDIA has shipped: 1.0 (Tesla, 2006) to 12.x (Blackwell: 12.0 GeForce
RTX 50, 12.1 GB10), https://developer.nvidia.com/cuda-gpus. A later GPU family widens this."""
_CC = re.compile(r"^\d{1,2}\.\d$")
_GFX = re.compile(r"^gfx[0-9a-f]{3,4}$")
_GLIBC = re.compile(r"^\d\.\d{1,2}$")


@dataclass(frozen=True)
class SetupRequest:
    """What the user asked for on the command line."""

    engine: str = "conda"
    torch: str | None = None
    backend: str | None = None
    os: str | None = None
    arch: str | None = None
    gpu_driver: str | None = None
    gpu_cc: tuple[str, ...] = ()
    gpu_rocm: tuple[str, ...] = ()
    spec_path: Path | None = None
    glibc: str | None = None

    @property
    def describes_machine(self) -> bool:
        """True when flags describe the machine: detection is off, only the GPUs given exist."""
        return any((self.os, self.arch, self.gpu_driver, self.gpu_cc, self.gpu_rocm, self.glibc))


def host_from_flags(request: SetupRequest, python: str) -> HostInfo:
    """The machine the flags describe (validated; UsageError with a fix on malformed values)."""
    from coursekit.setup.plan.detect import normalize_arch, system_os

    # Only GPUs given: this machine's OS and architecture. --os given: its usual architecture.
    os_name = request.os or system_os()
    default_arch = (
        ("arm64" if os_name == "macos" else "x86_64")
        if request.os
        else normalize_arch(_platform.machine())
    )
    arch = request.arch or default_arch
    if request.gpu_driver is not None and not _DRIVER.match(request.gpu_driver):
        raise UsageError(
            f"--gpu-driver {request.gpu_driver!r} is not a driver version.",
            "Write it as nvidia-smi prints it, e.g. --gpu-driver 580.95.05 (or 580).",
        )
    for cc in request.gpu_cc:
        if not _CC.match(cc):
            raise UsageError(
                f"--gpu-cc {cc!r} is not a compute capability.",
                "Write major.minor as `nvidia-smi --query-gpu=compute_cap --format=csv` "
                "prints it, e.g. --gpu-cc 8.6.",
            )
        if not CC_RANGE[0] <= Version(cc) <= CC_RANGE[1]:
            raise UsageError(
                f"--gpu-cc {cc}: no NVIDIA GPU has this compute capability (they "
                f"range from {CC_RANGE[0]} to {CC_RANGE[1]}).",
                "Copy it from `nvidia-smi --query-gpu=compute_cap --format=csv`, "
                "e.g. --gpu-cc 8.6.",
            )
    for gfx in request.gpu_rocm:
        if not _GFX.match(gfx):
            raise UsageError(
                f"--gpu-rocm {gfx!r} is not an AMD gfx target.",
                "Write it as rocminfo prints it, e.g. --gpu-rocm gfx1100.",
            )
    if request.glibc is not None and not (request.glibc == "musl" or _GLIBC.match(request.glibc)):
        raise UsageError(
            f"--glibc {request.glibc!r} is not a glibc version.",
            "Write it as `ldd --version` prints it, e.g. --glibc 2.27, or --glibc musl.",
        )
    if request.glibc is not None and os_name != "linux":
        raise UsageError(
            f"--glibc describes a Linux machine's C library, not {os_name}'s.",
            "Add --os linux, or drop --glibc.",
        )
    if os_name == "macos" and (request.gpu_cc or request.gpu_driver or request.gpu_rocm):
        raise UsageError(
            "--gpu-cc/--gpu-driver/--gpu-rocm describe NVIDIA or AMD GPUs, which macOS "
            "PyTorch cannot use.",
            "Drop them, or plan for --os linux or --os windows.",
        )
    nvidia = [
        GpuInfo(
            "nvidia",
            f"NVIDIA GPU {i}",
            driver_version=request.gpu_driver,
            compute_capability=cc,
            index=i,
        )
        for i, cc in enumerate(request.gpu_cc)
    ]
    if request.gpu_driver and not nvidia:
        nvidia = [GpuInfo("nvidia", "NVIDIA GPU 0", driver_version=request.gpu_driver, index=0)]
    amd = [GpuInfo("amd", gfx, gfx=gfx, index=i) for i, gfx in enumerate(request.gpu_rocm)]
    return HostInfo(
        os=os_name,
        arch=arch,
        python=python,
        gpus=(*nvidia, *amd),
        detected=False,
        glibc=request.glibc,
    )


def describe_machine(
    request: SetupRequest, python: str, runner: Runner, env: Mapping[str, str] | None
) -> HostInfo:
    """Detect this machine, unless the flags describe another one."""
    if request.describes_machine:
        return host_from_flags(request, python)
    from coursekit.setup.plan.detect import detect_host

    return detect_host(runner, env, python=python)


def _hidden_gpu_warnings(host: HostInfo, plan: Plan) -> list[str]:
    """CUDA_VISIBLE_DEVICES hiding every GPU (a leftover in a shell profile, often) makes the
    plan a CPU build: say so loudly, the way a GPU machine's CPU build always is."""
    from coursekit.setup.plan.detect import HIDES_EVERY_GPU

    return [
        f"CPU build although this machine has an NVIDIA GPU: {note}. Unset "
        "CUDA_VISIBLE_DEVICES (or give the GPU's index) and run `coursekit setup` again for "
        "the CUDA build."
        for note in host.notes
        if HIDES_EVERY_GPU in note and not plan.torch.gpu
    ]


def build_plan(
    request: SetupRequest,
    *,
    runner: Runner = run_tool,
    fetch: Fetch = urllib_fetch,
    env: Mapping[str, str] | None = None,
) -> Plan:
    """Load, describe, plan, confirm online: the whole of ``coursekit setup --dry-run``."""
    from coursekit.setup.plan.envspec import load_spec
    from coursekit.setup.plan.matrix import load_matrix

    environ = os.environ if env is None else env
    spec = load_spec(request.spec_path, environ)
    matrix = load_matrix()
    host = describe_machine(request, spec.python, runner, env)
    plan = make_plan(
        spec,
        host,
        engine=request.engine,
        torch=request.torch,
        backend=request.backend,
        matrix=matrix,
    )
    notes = tuple(f"detection: {n}" for n in host.notes)
    plan = dataclasses.replace(plan, warnings=(*plan.warnings, *_hidden_gpu_warnings(host, plan)))
    if environ.get(EnvVars.OFFLINE):
        return dataclasses.replace(
            plan,
            reasons=(
                *notes,
                *plan.reasons,
                f"matrix used, index not checked (offline: {EnvVars.OFFLINE} is set)",
            ),
        )
    pins = {
        "torch": plan.torch.version,
        "torchvision": plan.torch.torchvision,
        "torchaudio": plan.torch.torchaudio,
    }
    results = [
        check_index(
            plan.torch.index_url,
            matrix.pypi_simple,
            pins[name],
            spec.python,
            plan.extra.get("platform", ""),
            fetch,
            package=name,
        )
        for name in ("torch", "torchvision", "torchaudio")
        if name in spec.torch_packages
    ]
    # Every pinned file is confirmed, not only torch: the first one missing (or unread) decides.
    result = (
        next((r for r in results if r.found is False), None)
        or next((r for r in results if r.found is None), None)
        or results[0]
    )
    if result.found:
        confirmed = "; ".join(r.message for r in results)
        return dataclasses.replace(
            plan,
            reasons=(*notes, *plan.reasons, f"index confirmed: {confirmed}"),
            index_checked=True,
        )
    if result.found is None:
        return dataclasses.replace(
            plan,
            reasons=(*notes, *plan.reasons, f"matrix used, index not checked: {result.message}"),
        )
    return dataclasses.replace(
        plan,
        reasons=(*notes, *plan.reasons),
        warnings=(
            *plan.warnings,
            (
                f"{result.message}: coursekit's matrix may be out of date and step 2 would fail. "
                "Update coursekit, or choose another build with --torch/--backend."
            ),
        ),
    )
