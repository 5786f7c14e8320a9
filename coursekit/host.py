"""Facts about this machine: OS, CPU architecture, Python, GPUs.

The dataclasses here are the shared vocabulary of the planner (``coursekit setup``)
and the doctor. Detection functions fill them through the subprocess door
(:mod:`coursekit.proc`); decisions take them as plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GpuInfo:
    """One GPU as the driver reports it."""

    vendor: str  # "nvidia" | "amd" | "apple"
    name: str
    driver_version: str | None = None  # NVIDIA: "580.95.05"
    compute_capability: str | None = None  # NVIDIA: "8.6"
    gfx: str | None = None  # AMD: "gfx1100"
    memory_mib: int | None = None
    index: int | None = None


@dataclass(frozen=True)
class HostInfo:
    """The machine a plan or diagnosis is for (this one, or one described by flags)."""

    os: str  # "linux" | "windows" | "macos"
    arch: str  # "x86_64" | "arm64"
    python: str = "3.12"  # the Python the course env will have (major.minor)
    bits: int = 64
    macos_version: str | None = None
    wsl: bool = False
    gpus: tuple[GpuInfo, ...] = ()
    cuda_driver_api: str | None = (
        None  # "12.8": the CUDA version the driver supports (nvidia-smi header)
    )
    rocm_version: str | None = None
    detected: bool = True  # False when described by --os/--gpu-* flags
    notes: tuple[str, ...] = field(default_factory=tuple)  # what detection saw and could not use
    jetson: bool = (
        False  # NVIDIA Jetson (L4T): PyTorch's aarch64 CUDA wheels (SBSA) do not run there
    )
