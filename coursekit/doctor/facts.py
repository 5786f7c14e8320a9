"""The doctor's facts: what was observed, as frozen dataclasses that round-trip through JSON.

Facts are collected by the checks in :mod:`coursekit.doctor.collect` (or loaded from a
saved report with ``--from``) and are the only input of the pure
:func:`coursekit.doctor.diagnose.diagnose`. Every section is optional: ``None`` means
the check that fills it did not run or failed (then :attr:`Facts.checks` says why).

:func:`to_data` / :func:`from_data` convert to and from plain JSON values; loading is
tolerant (unknown keys ignored, missing keys take their defaults) so that reports from
other coursekit versions with the same schema number still load.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, TypeVar

from coursekit.constants import DEFAULT_ENV_NAME
from coursekit.host import GpuInfo
from coursekit.probing import ProbeFacts

T = TypeVar("T")


@dataclass(frozen=True)
class PlatformFacts:
    """The machine and the Python running coursekit."""

    os: str  # "linux" | "windows" | "macos"
    arch: str  # "x86_64" | "arm64"
    machine: str = ""  # platform.machine() as reported
    bits: int = 64  # the OS: 64 on x86_64/arm64 (a 32-bit Python can still run there)
    macos_version: str | None = None
    wsl: bool = False
    apple_silicon: bool | None = None  # macOS: hw.optional.arm64 (true under Rosetta too)
    coursekit_python: str = ""  # "3.11.7 (64-bit) /usr/bin/python3"
    cuda_visible_devices: str | None = None
    jetson: bool = False  # NVIDIA Jetson (L4T): PyTorch's aarch64 CUDA wheels do not run there


@dataclass(frozen=True)
class GpuFacts:
    """What the drivers' tools said (through :func:`coursekit.setup.plan.detect.detect_host`)."""

    gpus: tuple[GpuInfo, ...] = ()
    cuda_driver_api: str | None = None  # the CUDA version the driver supports ("12.8")
    rocm_version: str | None = None
    notes: tuple[str, ...] = ()  # e.g. "nvidia-smi failed: ... couldn't communicate ..."
    smi_path: str | None = None


@dataclass(frozen=True)
class MemoryFacts:
    """RAM (psutil)."""

    total_mib: int
    available_mib: int


@dataclass(frozen=True)
class DiskFacts:
    """Free space where something big will be written."""

    label: str  # "course env" | "pip cache"
    path: str  # the folder measured (the nearest existing parent of the target)
    free_mib: int
    total_mib: int


@dataclass(frozen=True)
class EnvFacts:
    """The course env: which engine knows it, where it is, whether its Python runs."""

    name: str = DEFAULT_ENV_NAME
    engines: tuple[str, ...] = ()  # "conda (/opt/miniforge3/bin/conda)", best first
    engine: str | None = None  # the engine kind that found the env
    exists: bool = False
    prefix: str | None = None
    python: str | None = None
    python_version: str | None = None
    confirmed: bool = False  # the Python ran and reported this prefix
    problem: str | None = None  # why it is not confirmed
    engine_problems: tuple[str, ...] = ()  # tools that failed while looking
    explicit: bool = False  # --python PATH: an interpreter chosen by the user, not the env


@dataclass(frozen=True)
class KernelFacts:
    """One registered Jupyter kernelspec."""

    name: str
    display_name: str = ""
    directory: str = ""
    scope: str = ""  # "user" | "env" | "system" | "JUPYTER_PATH"
    argv0: str = ""
    argv0_exists: bool = False
    same_env: bool | None = None  # argv0 is the course env's Python (None: no env known)
    language: str = ""


@dataclass(frozen=True)
class CheckRun:
    """How one check ran: ``ok``, ``crashed``, ``timeout`` or ``skipped`` (a parent failed)."""

    name: str
    status: str
    duration_ms: int = 0
    error: str | None = None
    timeout_s: float = 0.0


@dataclass(frozen=True)
class Facts:
    """Everything the doctor observed; ``None`` sections were not observed."""

    platform: PlatformFacts | None = None
    gpu: GpuFacts | None = None
    memory: MemoryFacts | None = None
    disks: tuple[DiskFacts, ...] | None = None
    env: EnvFacts | None = None
    probe: ProbeFacts | None = None
    kernels: tuple[KernelFacts, ...] | None = None
    checks: tuple[CheckRun, ...] = ()
    coursekit_version: str = ""
    collected_at: str = ""  # ISO 8601, UTC

    def check(self, name: str) -> CheckRun | None:
        """How the check ``name`` ran (None when it is not part of this run)."""
        return next((c for c in self.checks if c.name == name), None)


def to_data(obj: Any) -> Any:
    """Facts (or any part of them) as plain JSON values."""
    from coursekit.jsondata import to_jsonable

    return to_jsonable(obj)


def _is_optional(hint: Any) -> tuple[bool, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return True, args[0]
    return False, hint


def _convert(hint: Any, value: Any, where: str) -> Any:
    optional, inner = _is_optional(hint)
    if value is None:
        if optional or inner is Any:
            return None
        raise ValueError(f"{where}: missing value")
    origin = typing.get_origin(inner)
    if inner is Any:
        return value
    if dataclasses.is_dataclass(inner) and isinstance(inner, type):
        return from_data(inner, value, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ValueError(f"{where}: expected a list")
        item = typing.get_args(inner)[0]
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or inner is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{where}: expected an object")
        return dict(value)
    if inner is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if inner in (str, int, float, bool) and not isinstance(value, inner):
        raise ValueError(f"{where}: expected {inner.__name__}, got {type(value).__name__}")
    if inner is int and isinstance(value, bool):
        raise ValueError(f"{where}: expected int, got bool")
    return value


def from_data(cls: type[T], data: Any, where: str = "facts") -> T:
    """Build dataclass ``cls`` from JSON values; ValueError names the first bad field."""
    if not isinstance(data, dict):
        raise TypeError(f"{where}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{where}.{f.name}: missing")
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name], f"{where}.{f.name}")
    return cls(**kwargs)


__all__ = [
    "CheckRun",
    "DiskFacts",
    "EnvFacts",
    "Facts",
    "GpuFacts",
    "KernelFacts",
    "MemoryFacts",
    "PlatformFacts",
    "ProbeFacts",
    "from_data",
    "to_data",
]
