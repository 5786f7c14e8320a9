"""Hardware detection: fill :class:`~coursekit.host.HostInfo` for this machine.

NVIDIA through ``nvidia-smi`` in query mode (every GPU, one line each; retried without
``compute_cap`` on drivers that reject it; the ``CUDA Version`` / ``CUDA UMD Version`` header
from the plain banner), AMD through ``rocm_agent_enumerator`` then ``rocminfo``, and the OS,
CPU architecture, macOS version and WSL. Programs are looked up on PATH at call time and run
through the injected ``runner`` (:func:`coursekit.proc.run_tool`) with a time limit, because
``nvidia-smi`` can hang on a wedged driver. A missing or broken tool is data (a note), never
an exception. ``nvcc`` and installed CUDA toolkits are never consulted: the wheels bring their
own CUDA runtime, only the driver matters (envs/SOURCES.md P5.10).
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from coursekit.host import GpuInfo, HostInfo
from coursekit.proc import Runner, ToolResult, run_tool, which

SMI_TIMEOUT_S: Final = 15.0
ROCM_TIMEOUT_S: Final = 15.0
WSL_LIB: Final = "usr/lib/wsl/lib"  # where WSL projects the Windows driver (microsoft/WSL#8794)
_QUERY_FIELDS: Final[tuple[str, ...]] = (
    "index",
    "name",
    "driver_version",
    "compute_cap",
    "memory.total",
)
# Banner labels: "Driver Version: 580.95.05  CUDA Version: 13.0" up to R5xx; from R610
# "KMD Version: 610.43.02  CUDA UMD Version: 13.3" (sgl-project/sglang#27487;
# PrismML-Eng/Bonsai-demo#122 citing docs.nvidia.com/deploy/nvidia-smi).
_BANNER_CUDA = re.compile(r"CUDA(?: UMD)? Version\s*:\s*([0-9]+\.[0-9]+)")
_BANNER_DRIVER = re.compile(r"(?:Driver|KMD) Version\s*:\s*([0-9]+(?:\.[0-9]+)*)")
_BAD_FIELD = re.compile(r'Field "([a-z_.]+)" is not a valid field to query')
_GFX = re.compile(r"\b(gfx[0-9a-f]{3,4})\b")
HIDES_EVERY_GPU: Final = "hides every NVIDIA GPU from torch"
"""In a detection note: the planner turns it into a warning (never a silent CPU build)."""
_WINDOWS_SMI: Final = (
    r"C:\Windows\System32\nvidia-smi.exe",
    r"C:\Program Files\NVIDIA Corporation\NVSMI\nvidia-smi.exe",
)


@dataclass(frozen=True)
class NvidiaDetection:
    """What ``nvidia-smi`` said: the GPUs, the driver's CUDA version, and what went wrong."""

    gpus: tuple[GpuInfo, ...] = ()
    cuda_driver_api: str | None = None
    notes: tuple[str, ...] = ()
    smi_path: str | None = None


@dataclass(frozen=True)
class AmdDetection:
    """What the ROCm tools said: one GpuInfo per gfx agent, the ROCm version, notes."""

    gpus: tuple[GpuInfo, ...] = ()
    rocm_version: str | None = None
    notes: tuple[str, ...] = ()


def _tool_env(env: Mapping[str, str] | None) -> dict[str, str]:
    base = dict(os.environ if env is None else env)
    base["LC_ALL"] = "C"  # stable number formats and English messages (unsloth install.sh)
    return base


def _smi_candidates(env: Mapping[str, str], os_name: str, wsl: bool, root: Path) -> list[str]:
    found: list[str] = []
    on_path = which("nvidia-smi", env)
    if on_path:
        found.append(on_path)
    extra = [str(root / WSL_LIB / "nvidia-smi")] if wsl else []
    if os_name == "windows":
        extra += list(_WINDOWS_SMI)
    for path in extra:
        if path not in found and Path(path).is_file():
            found.append(path)
    return found


def parse_query(text: str, fields: tuple[str, ...]) -> tuple[GpuInfo, ...]:
    """Parse ``--query-gpu=<fields> --format=csv,noheader,nounits``: one GpuInfo per line."""
    gpus = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < len(fields) or not parts[0].isdigit():
            continue
        extra = len(parts) - len(fields)  # a name may itself contain a comma
        at = fields.index("name")
        parts[at : at + extra + 1] = [", ".join(parts[at : at + extra + 1])]
        row = dict(zip(fields, parts))
        driver, cc, mem = (
            row.get("driver_version", ""),
            row.get("compute_cap", ""),
            row.get("memory.total", ""),
        )
        gpus.append(
            GpuInfo(
                vendor="nvidia",
                name=row["name"],
                index=int(row["index"]),
                driver_version=driver if re.match(r"^\d+(\.\d+)*$", driver) else None,
                compute_capability=cc if re.match(r"^\d+\.\d+$", cc) else None,
                memory_mib=int(mem) if mem.isdigit() else None,
            )
        )
    return tuple(gpus)


def parse_banner_cuda(text: str) -> str | None:
    """The ``CUDA Version`` (or, from R610, ``CUDA UMD Version``) in the nvidia-smi banner."""
    match = _BANNER_CUDA.search(text)
    return match.group(1) if match else None


def parse_banner_driver(text: str) -> str | None:
    """The ``Driver Version`` (or, from R610, ``KMD Version``) in the nvidia-smi banner."""
    match = _BANNER_DRIVER.search(text)
    return match.group(1) if match else None


def _query(runner: Runner, smi: str, fields: tuple[str, ...], env: dict[str, str]) -> ToolResult:
    argv = [smi, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]
    return runner(argv, timeout=SMI_TIMEOUT_S, env=env)


def _failure_note(smi: str, result: ToolResult) -> str:
    if result.timed_out:
        return f"{smi} did not answer within {SMI_TIMEOUT_S:.0f} s (a hung driver?); GPUs not read"
    line = result.key_error_line() or f"exit code {result.returncode}"
    return f"{smi} failed: {line}"


def _read_with(runner: Runner, smi: str, env: dict[str, str]) -> NvidiaDetection:
    fields: tuple[str, ...] = _QUERY_FIELDS
    notes: list[str] = []
    result = _query(runner, smi, fields, env)
    # An unknown field rejects the whole query (`Field "compute_cap" is not a valid field to
    # query.`, exit 2, R470: envs/SOURCES.md P5.10): drop the field named and ask again.
    while not result.ok and not result.timed_out:
        bad = _BAD_FIELD.search(result.stdout + result.stderr)
        if bad is None or bad.group(1) not in fields or bad.group(1) in ("index", "name"):
            break
        fields = tuple(f for f in fields if f != bad.group(1))
        notes.append(f"this driver's nvidia-smi does not know the field '{bad.group(1)}'")
        result = _query(runner, smi, fields, env)
    if not result.ok:
        return NvidiaDetection(notes=(*notes, _failure_note(smi, result)), smi_path=smi)
    gpus = parse_query(result.stdout, fields)
    if not gpus:
        return NvidiaDetection(notes=(*notes, f"{smi} listed no GPU"), smi_path=smi)
    banner = runner([smi], timeout=SMI_TIMEOUT_S, env=env)
    text = banner.stdout if banner.ok else ""
    driver = parse_banner_driver(text)
    if driver:
        gpus = tuple(
            g if g.driver_version else dataclasses.replace(g, driver_version=driver) for g in gpus
        )
    return NvidiaDetection(gpus, parse_banner_cuda(text), tuple(notes), smi)


def detect_nvidia(
    runner: Runner = run_tool,
    env: Mapping[str, str] | None = None,
    *,
    os_name: str | None = None,
    wsl: bool = False,
    root: Path = Path("/"),
) -> NvidiaDetection:
    """Every NVIDIA GPU that ``nvidia-smi`` reports, or why none could be read.

    Tries ``nvidia-smi`` on PATH, then (on WSL) ``/usr/lib/wsl/lib/nvidia-smi``, where WSL
    projects the Windows driver and which is often not on PATH (microsoft/WSL#8794); a broken
    Linux driver installed inside WSL puts a failing ``nvidia-smi`` first (microsoft/WSL#11888).
    """
    tool_env = _tool_env(env)
    system = os_name or system_os()
    candidates = _smi_candidates(tool_env, system, wsl, root)
    if not candidates:
        return NvidiaDetection(notes=("nvidia-smi not found: no NVIDIA driver installed",))
    notes: list[str] = []
    for smi in candidates:
        found = _read_with(runner, smi, tool_env)
        if found.gpus:
            return NvidiaDetection(found.gpus, found.cuda_driver_api, (*notes, *found.notes), smi)
        notes.extend(found.notes)
    return NvidiaDetection(notes=tuple(notes), smi_path=candidates[0])


def detect_amd(
    runner: Runner = run_tool, env: Mapping[str, str] | None = None, *, root: Path = Path("/")
) -> AmdDetection:
    """AMD GPUs by gfx target: ``rocm_agent_enumerator``, else ``rocminfo``; gfx000 (the CPU)
    skipped."""
    tool_env = _tool_env(env)
    notes: list[str] = []
    targets: list[str] = []
    for tool in ("rocm_agent_enumerator", "rocminfo"):
        if which(tool, tool_env) is None:
            continue
        result = runner([tool], timeout=ROCM_TIMEOUT_S, env=tool_env)
        if not result.ok:
            notes.append(f"{tool} failed: {result.key_error_line() or result.returncode}")
            continue
        targets = [g for g in _GFX.findall(result.stdout) if g != "gfx000"]
        if tool == "rocminfo":
            targets = list(dict.fromkeys(targets))  # rocminfo names each agent more than once
        if targets:
            break
    override = override_gfx(tool_env.get("HSA_OVERRIDE_GFX_VERSION", ""))
    if targets and override:
        # ROCm then loads kernels for the override target (ROCm/legacy-rocm-build#2353).
        notes.append(
            f"HSA_OVERRIDE_GFX_VERSION makes ROCm treat {', '.join(targets)} as {override}"
        )
        targets = [override] * len(targets)
    gpus = tuple(GpuInfo(vendor="amd", name=gfx, gfx=gfx, index=i) for i, gfx in enumerate(targets))
    version_file = root / "opt/rocm/.info/version"
    rocm = version_file.read_text(encoding="utf-8").strip() if version_file.is_file() else None
    return AmdDetection(gpus, rocm or None, tuple(notes))


def visible_gpus(
    gpus: tuple[GpuInfo, ...], value: str | None
) -> tuple[tuple[GpuInfo, ...], str | None]:
    """Apply ``CUDA_VISIBLE_DEVICES`` (indexes) to what nvidia-smi listed, which ignores it.

    CUDA stops at the first invalid entry; UUID or MIG entries are left unapplied (noted).
    """
    if value is None or not gpus:
        return gpus, None
    keep: list[int] = []
    for item in (v.strip() for v in value.split(",")):
        if not item.lstrip("-").isdigit():
            if item:
                return (
                    gpus,
                    f"CUDA_VISIBLE_DEVICES={value!r} not applied (only indexes are understood)",
                )
            break
        if int(item) < 0 or int(item) >= len(gpus):
            break
        keep.append(int(item))
    chosen = tuple(g for g in gpus if g.index in keep)
    if len(chosen) == len(gpus):
        return gpus, None
    if not chosen:
        return chosen, f"CUDA_VISIBLE_DEVICES={value!r} {HIDES_EVERY_GPU} ({len(gpus)} found)"
    return (
        chosen,
        f"CUDA_VISIBLE_DEVICES={value!r}: planning for {len(chosen)} of {len(gpus)} NVIDIA GPUs",
    )


def override_gfx(value: str) -> str | None:
    """``HSA_OVERRIDE_GFX_VERSION`` ``"10.3.0"`` -> ``"gfx1030"`` (stepping in hex: 9.0.10 ->
    gfx90a)."""
    parts = value.strip().split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    major, minor, step = (int(p) for p in parts)
    return f"gfx{major}{minor}{step:x}"


def system_os(system: str | None = None) -> str:
    """``linux``, ``windows`` or ``macos`` from ``platform.system()`` (this machine's when None)."""
    system = system or platform.system()
    return {"Darwin": "macos", "Windows": "windows"}.get(system, system.lower())


def normalize_arch(machine: str) -> str:
    """``x86_64`` or ``arm64`` from ``platform.machine()`` spellings (AMD64, aarch64, ...)."""
    lowered = machine.lower()
    if lowered in ("x86_64", "amd64", "x64"):
        return "x86_64"
    if lowered in ("arm64", "aarch64", "armv8l", "arm64e"):
        return "arm64"
    return lowered


def is_wsl(env: Mapping[str, str], root: Path = Path("/")) -> bool:
    """WSL: its environment variables, ``microsoft`` in the kernel release, or the projected
    driver."""
    if env.get("WSL_DISTRO_NAME") or env.get("WSL_INTEROP"):
        return True
    release = root / "proc/sys/kernel/osrelease"
    try:
        if "microsoft" in release.read_text(encoding="utf-8").lower():
            return True
    except OSError:
        pass
    return (root / WSL_LIB / "nvidia-smi").is_file()


def is_jetson(root: Path = Path("/")) -> bool:
    """NVIDIA Jetson (L4T): ``/etc/nv_tegra_release`` or a ``-tegra`` kernel (envs/SOURCES.md W9
    rule 6)."""
    if (root / "etc/nv_tegra_release").is_file():
        return True
    try:
        return "tegra" in (root / "proc/sys/kernel/osrelease").read_text(encoding="utf-8").lower()
    except OSError:
        return False


def detect_libc(
    confstr: Callable[[str], str | None] | None = None,
    libc_ver: Callable[[], tuple[str, str]] = platform.libc_ver,
    root: Path = Path("/"),
) -> str | None:
    """This Linux machine's C library: ``"2.39"`` for glibc 2.39, ``"musl"``, or None when unknown.

    ``os.confstr("CS_GNU_LIBC_VERSION")`` answers ``"glibc 2.39"`` on glibc; musl has no such
    name (ValueError) and no wheels at all (manylinux needs glibc; PEP 600).
    """
    ask = confstr if confstr is not None else getattr(os, "confstr", None)
    text = ""
    if ask is not None:
        try:
            text = ask("CS_GNU_LIBC_VERSION") or ""
        except (ValueError, OSError):
            text = ""
    found = re.match(r"glibc (\d+)\.(\d+)", text)
    if found:
        return f"{found.group(1)}.{found.group(2)}"
    try:
        lib, version = libc_ver()
    except OSError:
        lib, version = "", ""
    parts = version.split(".")
    if lib == "glibc" and len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
        return f"{parts[0]}.{parts[1]}"
    try:
        if lib == "musl" or any((root / "lib").glob("ld-musl-*")):
            return "musl"
    except OSError:
        pass
    return None


def detect_host(
    runner: Runner = run_tool,
    env: Mapping[str, str] | None = None,
    *,
    python: str = "3.12",
    system: str | None = None,
    machine: str | None = None,
    mac_version: str | None = None,
    root: Path = Path("/"),
) -> HostInfo:
    """Describe this machine: OS, CPU architecture, macOS version, WSL and every GPU."""
    environ = dict(os.environ if env is None else env)
    os_name = system_os(system)
    arch = normalize_arch(machine or platform.machine())
    macos = (mac_version or platform.mac_ver()[0] or None) if os_name == "macos" else None
    wsl = os_name == "linux" and is_wsl(environ, root)
    gpus: tuple[GpuInfo, ...] = ()
    notes: list[str] = []
    cuda = rocm = None
    if os_name != "macos":
        nvidia = detect_nvidia(runner, environ, os_name=os_name, wsl=wsl, root=root)
        gpus, cuda = nvidia.gpus, nvidia.cuda_driver_api
        notes.extend(nvidia.notes)
        gpus, note = visible_gpus(gpus, environ.get("CUDA_VISIBLE_DEVICES"))
        notes.extend([note] if note else [])
    if os_name == "linux":
        amd = detect_amd(runner, environ, root=root)
        gpus, rocm = gpus + amd.gpus, amd.rocm_version
        notes.extend(amd.notes)
    jetson = os_name == "linux" and arch == "arm64" and is_jetson(root)
    # Only this machine's own C library counts (a described --os linux host has none).
    glibc = detect_libc(root=root) if os_name == "linux" and system is None else None
    return HostInfo(
        os=os_name,
        arch=arch,
        python=python,
        macos_version=macos,
        wsl=wsl,
        gpus=gpus,
        cuda_driver_api=cuda,
        rocm_version=rocm,
        detected=True,
        notes=tuple(notes),
        jetson=jetson,
        glibc=glibc,
    )
