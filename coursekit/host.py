"""Facts about this machine: OS, CPU architecture, Python, GPUs.

The dataclasses here are the shared vocabulary of the planner (``coursekit setup``)
and the doctor. Detection functions fill them through the subprocess door
(:mod:`coursekit.proc`); decisions take them as plain values. :class:`ProbeFacts` (what
the probe reported about an env, run by :mod:`coursekit.probing`) is here too, so the doctor's
facts need no runner below them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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
    glibc: str | None = None  # Linux C library: "2.39" (glibc), "musl", or None when unknown


@dataclass(frozen=True)
class ProbeFacts:
    """What the probe reported about one Python environment.

    ``status``: "ok" (the JSON object came back), "not-found" (the interpreter does
    not exist or cannot start), "timeout", "crashed" (non-zero exit without JSON),
    "bad-output" (exit 0 but no JSON). ``data`` is the probe's JSON object
    (documented in :mod:`coursekit.probe`), empty unless status is "ok".
    """

    python: str
    status: str
    data: dict[str, Any] = field(default_factory=dict)
    returncode: int | None = None
    stderr: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def torch(self) -> dict[str, Any]:
        """The ``torch`` section (empty when the probe did not run)."""
        value = self.data.get("torch")
        return value if isinstance(value, dict) else {}
