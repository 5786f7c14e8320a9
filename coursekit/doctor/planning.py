"""What the doctor's rules may know of the planner, handed down to them (issue 9).

The rules do not ask the planner themselves: whoever builds the report (the doctor's
:mod:`.report`, setup's verify step) hands a :class:`Planner` to
:func:`coursekit.doctor.engine.diagnose_all`, and the rules read it from their
:class:`~coursekit.doctor.view.View` (``v.planner``). :mod:`.course` and :mod:`.advice` build the
real one over ``envs/`` and the selector (:mod:`coursekit.setup.plan`), so a fix line says
exactly what ``coursekit setup`` would install; :data:`NO_PLANNER` knows nothing (no matrix, no
advice). The helpers here are pure over the planner's answers and the view's facts.

Imports only the core's :mod:`coursekit.host` and :mod:`.versions`, so the rules sit three
levels above the leaves instead of under the planner's whole stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from coursekit.doctor.versions import version_tuple
from coursekit.host import HostInfo


@dataclass(frozen=True)
class BackendAdvice:
    """The build ``coursekit setup`` would choose for this machine."""

    backend: str  # "cu126", "cu130", "cpu", "pypi", "rocm7.2"
    torch: str  # "2.13.0+cu126"
    reason: str = ""
    pins: tuple[str, ...] = ()  # ("torch==2.13.0+cu126", "torchvision==...", "torchaudio==...")
    index_url: str | None = None  # None: plain PyPI

    @property
    def command(self) -> str:
        """The command that installs it."""
        return f"coursekit setup --backend {self.backend}"


@dataclass(frozen=True)
class ArchOption:
    """A CUDA build in the planner's matrix with kernels for one GPU."""

    line: str  # "2.14"
    backend: str  # "cu126"
    driver_minimum: str | None  # for this OS


class Planner(Protocol):
    """The planner's answers the rules use (:class:`coursekit.doctor.course.CoursePlanner`)."""

    @property
    def matrix(self) -> Any:
        """The planner's :class:`~coursekit.setup.plan.matrix.Matrix`, or None (unreadable)."""

    @property
    def spec(self) -> Any:
        """The course's :class:`~coursekit.setup.plan.envspec.EnvSpec`, or None (unreadable)."""

    @property
    def course_python(self) -> str:
        """The Python version the course env spec asks for (``"3.12"``)."""

    def backend(self, host: HostInfo) -> BackendAdvice | None:
        """The selector's choice for ``host`` (None: no advice)."""

    def coverage(self, variant: Any, capability: str, platform: str) -> str | None:
        """The planner's architecture gate (:func:`coursekit.setup.plan.gates.coverage`)."""

    def platform_key(self, host: HostInfo) -> str:
        """``linux-x86_64``, ... (:func:`coursekit.setup.plan.gates.platform_key`)."""

    def driver_os(self, host: HostInfo) -> str:
        """``linux`` or ``windows``: the driver table
        (:func:`coursekit.setup.plan.gates.driver_os`)."""


class NoPlanner:
    """A planner that knows nothing: no matrix, no spec, no advice (the rules then say less)."""

    matrix: Any = None
    spec: Any = None
    course_python = "3.12"

    def backend(self, host: HostInfo) -> BackendAdvice | None:
        return None

    def coverage(self, variant: Any, capability: str, platform: str) -> str | None:
        return None

    def platform_key(self, host: HostInfo) -> str:
        return f"{host.os}-{host.arch}"

    def driver_os(self, host: HostInfo) -> str:
        return "windows" if host.os == "windows" else "linux"


NO_PLANNER: Planner = NoPlanner()


class Machine(Protocol):
    """What the helpers read of a :class:`~coursekit.doctor.view.View`."""

    @property
    def planner(self) -> Planner: ...

    @property
    def advice(self) -> BackendAdvice | None: ...

    def host_info(self) -> HostInfo | None: ...


def suggest_backend(view: Machine) -> BackendAdvice | None:
    """The selector's choice for the machine in ``view`` (None when it cannot say); planned once
    per view (every rule that names a fix asks)."""
    return view.advice


def torch_pythons(matrix: Any) -> tuple[tuple[int, int], ...]:
    """Every Python (major, minor) some release in ``matrix`` publishes wheels for."""
    if matrix is None:
        return tuple((3, m) for m in range(10, 15))  # torch 2.9-2.14: cp310-cp314
    found = {version_tuple(p)[:2] for r in matrix.releases for p in r.python}
    return tuple(sorted(p for p in found if len(p) == 2))


def arch_options(view: Machine, capability: str) -> tuple[ArchOption, ...]:
    """Every CUDA build (newest release first) whose kernels cover a GPU of ``capability``
    on the report's platform: the planner's own architecture gate.
    Empty when the matrix cannot be read or nothing covers it."""
    host = view.host_info()
    planner = view.planner
    matrix = planner.matrix
    if host is None or matrix is None or len(version_tuple(capability)) != 2:
        return ()
    platform, table = planner.platform_key(host), planner.driver_os(host)
    out = []
    for release in sorted(matrix.releases, key=lambda r: r.key, reverse=True):
        for variant in release.variants_for(platform):
            if variant.kind != "cuda":
                continue
            try:
                how = planner.coverage(variant, capability, platform)
            except ValueError:
                return ()
            if how is not None:
                req = matrix.drivers.get(variant.cuda or "")
                out.append(
                    ArchOption(
                        release.line, variant.backend, req.minimum.get(table) if req else None
                    )
                )
    return tuple(out)


def served(view: Machine, capability: str) -> bool | None:
    """Whether any CUDA build coursekit can install has kernels for ``capability`` (None:
    unknown)."""
    if (
        view.planner.matrix is None
        or view.host_info() is None
        or len(version_tuple(capability)) != 2
    ):
        return None
    return bool(arch_options(view, capability))


def oldest_arch(view: Machine) -> str | None:
    """The lowest compute capability any CUDA build in the matrix has kernels for ("5.0")."""
    matrix = view.planner.matrix
    host = view.host_info()
    if matrix is None or host is None:
        return None
    platform = view.planner.platform_key(host)
    caps = [
        c
        for r in matrix.releases
        for var in r.variants_for(platform)
        if var.kind == "cuda"
        for c in var.sm
    ]
    return min(caps, key=version_tuple) if caps else None


def driver_minimum(cuda: str, driver_table: str, matrix: Any) -> str | None:
    """The lowest NVIDIA driver that runs CUDA ``cuda`` ("12.8") on ``linux``/``windows``.

    Every CUDA a torch build may carry, 8.0 to 13.x (``envs/nvidia-drivers.toml``, NVIDIA CUDA
    Toolkit Release Notes Tables 2 and 3). A version without a row of its own takes its family's
    minimum from 11.1 on (minor-version compatibility, Table 2), else the nearest lower row.
    """
    if matrix is None:
        return None
    drivers = matrix.drivers
    req = drivers.get(cuda)
    wanted = version_tuple(cuda)
    if req is None and wanted:
        same = sorted((k for k in drivers if version_tuple(k)[:1] == wanted[:1]), key=version_tuple)
        if same and wanted[0] >= 11:
            # minor-version compatibility (11.1+): the family minimum, i.e. that of its newest row
            req = drivers[same[-1]]
        elif same:
            # before CUDA 11 each toolkit needs its own driver: the nearest row below, else the
            # lowest one of that major (lenient: never a false "too old")
            lower = [k for k in same if version_tuple(k) <= wanted]
            req = drivers[lower[-1] if lower else same[0]]
    return req.minimum.get(driver_table) if req is not None else None


_ARCH = re.compile(r"^(sm|compute)_(\d+)([a-z]?)$")


def covers(arch_list: list[str], capability: str) -> bool:
    """True when ``torch.cuda.get_arch_list()`` has kernels for a GPU of ``capability``.

    A cubin runs on the same major with an equal or higher minor; PTX (``compute_XY``) is
    JIT-compiled for any capability at or above it; arch-specific ``sm_90a`` cubins run only
    on exactly that GPU (envs/SOURCES.md W3 coverage rules; torch's own _check_capability).
    """
    gpu = version_tuple(capability)
    if len(gpu) != 2:
        return True  # unknown capability: no evidence of a problem
    for arch in arch_list:
        m = _ARCH.match(arch.strip())
        if not m:
            continue
        number = int(m.group(2))
        cc = (number // 10, number % 10)
        if m.group(1) == "compute" and cc <= gpu:
            return True
        if (
            m.group(1) == "sm"
            and cc[0] == gpu[0]
            and cc[1] <= gpu[1]
            and (not m.group(3) or cc == gpu)
        ):
            return True
    return False


def sm_name(capability: str) -> str:
    """``"12.0"`` -> ``"sm_120"``."""
    parts = version_tuple(capability)
    return f"sm_{parts[0]}{parts[1]}" if len(parts) == 2 else capability


def reinstall_hint(view: Machine) -> str:
    """The fix line for a wrong or broken torch build."""
    advice = suggest_backend(view)
    if advice is None:
        return (
            "coursekit setup  (reinstalls the torch trio from the right index), or coursekit "
            "doctor --fix"
        )
    return f"{advice.command}  (installs torch {advice.torch}), or coursekit doctor --fix"
