"""What the planner would do: the backend to name in fix lines, driver minimums, arch coverage.

The doctor does not keep its own PyTorch tables: it asks the planner's matrix
(:mod:`coursekit.setup.plan.matrix`, ``envs/*.toml``) and selector
(:mod:`coursekit.setup.plan.select`), so a fix line says exactly what ``coursekit setup`` would
install. All functions are pure over their inputs; a matrix that fails to load gives no advice
rather than an error (the doctor must still report everything else).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from coursekit.doctor.course import cached_spec, spec_key
from coursekit.doctor.view import View, version_tuple


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


@lru_cache(maxsize=1)
def _matrix() -> Any:
    from coursekit.setup.plan.matrix import load_matrix

    return load_matrix()


def matrix_or_none() -> Any:
    """The planner's matrix, or None when it cannot be loaded."""
    try:
        return _matrix()
    except Exception:  # noqa: BLE001 - advice is optional; the findings still stand
        return None


def torch_pythons() -> tuple[tuple[int, int], ...]:
    """Every Python (major, minor) some release in the matrix publishes wheels for."""
    matrix = matrix_or_none()
    if matrix is None:
        return tuple((3, m) for m in range(10, 15))  # torch 2.9-2.14: cp310-cp314
    found = {version_tuple(p)[:2] for r in matrix.releases for p in r.python}
    return tuple(sorted(p for p in found if len(p) == 2))


def suggest_backend(view: View) -> BackendAdvice | None:
    """The selector's choice for the machine in ``view`` (None when it cannot say); planned once
    per view (every rule that names a fix asks)."""
    cache = view.__dict__
    if "_advice" not in cache:
        cache["_advice"] = _plan(view)
    advice: BackendAdvice | None = cache["_advice"]
    return advice


def _plan(view: View) -> BackendAdvice | None:
    host = view.host_info()
    if host is None or matrix_or_none() is None:
        return None
    try:
        key = spec_key()
        hash(host)
    except Exception:  # noqa: BLE001 - no advice beats a crashed doctor
        return None
    return _advice_for(host, key)


@lru_cache(maxsize=256)
def _advice_for(host: Any, key: tuple[str, int]) -> BackendAdvice | None:
    """The planner's choice for one machine (pure; cached: a class has many alike)."""
    try:
        from coursekit.setup.plan.model import make_plan

        # The same pure planner `coursekit setup` runs, with the course's env spec pins.
        plan = make_plan(cached_spec(*key), host, matrix=matrix_or_none())
    except Exception:  # noqa: BLE001 - no advice beats a crashed doctor
        return None
    choice = plan.torch
    return BackendAdvice(
        choice.backend, choice.version, "; ".join(plan.reasons[:2]), choice.pins(), choice.index_url
    )


@dataclass(frozen=True)
class ArchOption:
    """A CUDA build in the planner's matrix with kernels for one GPU."""

    line: str  # "2.14"
    backend: str  # "cu126"
    driver_minimum: str | None  # for this OS


def arch_options(view: View, capability: str) -> tuple[ArchOption, ...]:
    """Every CUDA build (newest release first) whose kernels cover a GPU of ``capability``
    on the report's platform: the planner's own architecture gate
    (:func:`coursekit.setup.plan.gates.coverage`). Empty when the matrix cannot be read or nothing
    covers it."""
    host = view.host_info()
    matrix = matrix_or_none()
    if host is None or matrix is None or len(version_tuple(capability)) != 2:
        return ()
    from coursekit.setup.plan.gates import coverage, driver_os, platform_key

    platform, table = platform_key(host), driver_os(host)
    out = []
    for release in sorted(matrix.releases, key=lambda r: r.key, reverse=True):
        for variant in release.variants_for(platform):
            if variant.kind != "cuda":
                continue
            try:
                how = coverage(variant, capability, platform)
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


def served(view: View, capability: str) -> bool | None:
    """Whether any CUDA build coursekit can install has kernels for ``capability`` (None:
    unknown)."""
    if matrix_or_none() is None or view.host_info() is None or len(version_tuple(capability)) != 2:
        return None
    return bool(arch_options(view, capability))


def oldest_arch(view: View) -> str | None:
    """The lowest compute capability any CUDA build in the matrix has kernels for ("5.0")."""
    matrix = matrix_or_none()
    host = view.host_info()
    if matrix is None or host is None:
        return None
    from coursekit.setup.plan.gates import platform_key

    platform = platform_key(host)
    caps = [
        c
        for r in matrix.releases
        for var in r.variants_for(platform)
        if var.kind == "cuda"
        for c in var.sm
    ]
    return min(caps, key=version_tuple) if caps else None


def driver_minimum(cuda: str, driver_table: str) -> str | None:
    """The lowest NVIDIA driver that runs CUDA ``cuda`` ("12.8") on ``linux``/``windows``.

    Every CUDA a torch build may carry, 8.0 to 13.x (``envs/nvidia-drivers.toml``, NVIDIA CUDA
    Toolkit Release Notes Tables 2 and 3). A version without a row of its own takes its family's
    minimum from 11.1 on (minor-version compatibility, Table 2), else the nearest lower row.
    """
    matrix = matrix_or_none()
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


def reinstall_hint(view: View) -> str:
    """The fix line for a wrong or broken torch build."""
    advice = suggest_backend(view)
    if advice is None:
        return (
            "coursekit setup  (reinstalls the torch trio from the right index), or coursekit "
            "doctor --fix"
        )
    return f"{advice.command}  (installs torch {advice.torch}), or coursekit doctor --fix"
