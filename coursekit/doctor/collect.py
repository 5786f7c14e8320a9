"""Collect the doctor's facts: the checks, their dependencies and time limits.

Order (envs/SOURCES.md P6): platform, GPU driver and memory need nothing; the env check
finds the course env (or takes ``--python``); the probe, disk and kernel checks need the
env. Every check is small, injected with the subprocess door (``runner``) and the
environment variables (``environ``), and returns one facts section.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coursekit import __version__
from coursekit.doctor.facts import (
    DiskFacts,
    EnvFacts,
    Facts,
    GpuFacts,
    MemoryFacts,
    PlatformFacts,
)
from coursekit.doctor.hostfacts import (
    pci_nvidia,
    pip_log_facts,
    project_facts,
    shell_facts,
    wsl_lib_facts,
)
from coursekit.doctor.kernels import scan_kernels
from coursekit.doctor.runner import Check, run_checks
from coursekit.probing import DEFAULT_TIMEOUT_S, ProbeFacts, run_probe
from coursekit.proc import Runner, run_tool

if TYPE_CHECKING:
    from coursekit.setup.engines.base import Engine, EngineKind, EnvLocation

_MIB = 1024 * 1024


@dataclass(frozen=True)
class CollectOptions:
    """What to look at and how long each check may take."""

    env_name: str = ""
    """The course env to examine; empty: the env spec's ``[env] name``."""
    python: Path | None = None  # --python: diagnose this interpreter instead of the env
    cwd: Path | None = None  # where a uv project is looked for (default: the current folder)
    root: Path = Path("/")  # where /sys and /usr/lib/wsl are read (tests: a temporary tree)
    runner: Runner = run_tool
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    probe_timeout_s: float = DEFAULT_TIMEOUT_S
    timeouts: Mapping[str, float] = field(default_factory=dict)  # per-check overrides (tests)
    on_slow: Callable[[list[str]], None] | None = None  # told which checks are still running

    def __post_init__(self) -> None:
        if not self.env_name:
            from coursekit.setup.plan.envspec import course_env_name

            object.__setattr__(self, "env_name", course_env_name(self.environ))


def platform_check(opts: CollectOptions) -> PlatformFacts:
    """OS, CPU architecture, macOS version (and Apple silicon), WSL, coursekit's Python."""
    from coursekit.setup.plan.detect import detect_libc, is_jetson, is_wsl, normalize_arch

    system = {"Darwin": "macos", "Windows": "windows"}.get(
        platform.system(), platform.system().lower()
    )
    apple_silicon = None
    if system == "macos":
        # hw.optional.arm64 is 1 on Apple silicon even inside a Rosetta (x86_64) process.
        res = opts.runner(["sysctl", "-n", "hw.optional.arm64"], timeout=5, env=opts.environ)
        apple_silicon = res.ok and res.stdout.strip() == "1"
    bits = 64 if sys.maxsize > 2**32 else 32
    # The hardware's architecture: coursekit itself may run under Rosetta (machine x86_64).
    arch = "arm64" if apple_silicon else normalize_arch(platform.machine())
    wsl = system == "linux" and is_wsl(opts.environ)
    return PlatformFacts(
        os=system,
        arch=arch,
        machine=platform.machine(),
        bits=64 if arch in ("x86_64", "arm64") else 32,
        macos_version=(platform.mac_ver()[0] or None) if system == "macos" else None,
        wsl=wsl,
        apple_silicon=apple_silicon,
        coursekit_python=f"{platform.python_version()} ({bits}-bit) {sys.executable}",
        cuda_visible_devices=opts.environ.get("CUDA_VISIBLE_DEVICES"),
        jetson=system == "linux" and arch == "arm64" and is_jetson(),
        wsl_lib=wsl_lib_facts(opts.environ, opts.root) if wsl else None,
        glibc=detect_libc() if system == "linux" else None,
    )


def gpu_check(opts: CollectOptions) -> GpuFacts:
    """Every GPU the drivers' tools report (the planner's detection)."""
    from coursekit.setup.plan.detect import detect_host

    # Every installed GPU: the planner applies CUDA_VISIBLE_DEVICES, the doctor reports it
    # separately (cuda-hidden), so it is removed here.
    environ = {k: v for k, v in opts.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    host = detect_host(opts.runner, environ)
    pci = pci_nvidia(opts.root) if sys.platform.startswith("linux") else None
    return GpuFacts(
        gpus=host.gpus,
        cuda_driver_api=host.cuda_driver_api,
        rocm_version=host.rocm_version,
        notes=host.notes,
        pci_nvidia=pci,
    )


def memory_check(opts: CollectOptions) -> MemoryFacts:
    """Total and available RAM."""
    import psutil

    mem = psutil.virtual_memory()
    return MemoryFacts(total_mib=int(mem.total // _MIB), available_mib=int(mem.available // _MIB))


def _explicit_env(opts: CollectOptions, python: Path) -> EnvFacts:
    # bin/python (Unix venv or conda) or python.exe at the root (Windows conda)
    prefix = python.parent.parent if python.parent.name in ("bin", "Scripts") else python.parent
    return EnvFacts(
        name=opts.env_name,
        exists=python.exists(),
        python=str(python),
        prefix=str(prefix),
        explicit=True,
        confirmed=python.exists(),
        problem=None if python.exists() else f"{python} does not exist",
    )


def _located(loc: EnvLocation, engines: Sequence[Engine], problems: Sequence[str]) -> EnvFacts:
    return EnvFacts(
        name=loc.name,
        engines=tuple(e.display for e in engines),
        engine=loc.engine,
        exists=True,
        prefix=str(loc.prefix),
        python=str(loc.python),
        python_version=loc.python_version,
        confirmed=loc.confirmed,
        problem=loc.problem,
        engine_problems=tuple(problems),
    )


def env_check(opts: CollectOptions) -> EnvFacts:
    """Find the course env through the user's tools (or take ``--python``)."""
    if opts.python is not None:
        # Absolute, not resolved: a relative `--python python` (run inside env/bin) would be
        # looked up on PATH by run_tool and examine another interpreter; resolving symlinks
        # would leave a venv (whose bin/python links to the base Python).
        return _explicit_env(opts, Path(os.path.abspath(opts.python)))
    from coursekit.errors import CoursekitError
    from coursekit.setup.engines.base import Engine
    from coursekit.setup.engines.discovery import confirm_env, find_engines, locate_env

    engines = find_engines(opts.environ)
    fast = _known_prefix(engines, opts)
    if fast is not None:
        found = confirm_env(opts.env_name, fast[0], fast[1], runner=opts.runner, env=opts.environ)
        if found.confirmed:
            return _located(found, engines, ())
    problems: list[str] = []
    for engine in [*engines, Engine("embedded", None, "folders")]:
        try:
            loc = locate_env(engine, opts.env_name, runner=opts.runner, env=opts.environ)
        except CoursekitError as exc:
            problems.append(exc.message)
            continue
        if loc is not None:
            return _located(loc, engines, problems)
    return EnvFacts(
        name=opts.env_name,
        engines=tuple(e.display for e in engines),
        engine_problems=tuple(problems),
    )


def _known_prefix(
    engines: Sequence[Engine], opts: CollectOptions
) -> tuple[Path, EngineKind] | None:
    """The env where its engine puts it by default, found by looking at folders only.

    ``conda env list`` costs a second or more (conda starts a whole Python); the env is
    nearly always ``<root>/envs/pt`` of the tool the student uses (``CONDA_EXE`` /
    ``MAMBA_EXE`` is ``<root>/bin/conda``, ``<root>/condabin/conda``, ``<root>/Scripts/conda.exe``;
    micromamba's root is ``MAMBA_ROOT_PREFIX``) or ``~/.conda/envs/pt``. Anything less
    certain falls back to asking the tool.
    """
    from coursekit.setup.engines.base import is_conda_env

    candidates: list[tuple[Path, EngineKind]] = []
    root_prefix = opts.environ.get("MAMBA_ROOT_PREFIX")
    for engine in engines:
        if engine.exe is None:
            continue
        if engine.kind == "micromamba":
            if root_prefix:
                candidates.append((Path(root_prefix) / "envs" / opts.env_name, engine.kind))
            continue
        candidates.append((engine.exe.parent.parent / "envs" / opts.env_name, engine.kind))
    home = opts.environ.get("USERPROFILE" if sys.platform == "win32" else "HOME")
    if home and engines and engines[0].exe is not None:
        candidates.append((Path(home) / ".conda" / "envs" / opts.env_name, engines[0].kind))
    return next(((p, k) for p, k in candidates if is_conda_env(p)), None)


def probe_check(opts: CollectOptions, env: EnvFacts) -> ProbeFacts | None:
    """Run the probe with the env's Python (None when there is no Python to run)."""
    if not env.exists or not env.python:
        return None
    return run_probe(Path(env.python), opts.runner, opts.probe_timeout_s, env=opts.environ)


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return path


def _pip_cache_dir(environ: Mapping[str, str]) -> Path:
    if environ.get("PIP_CACHE_DIR"):
        return Path(environ["PIP_CACHE_DIR"])
    import platformdirs  # pip itself uses platformdirs.user_cache_dir("pip")

    return Path(platformdirs.user_cache_dir("pip", appauthor=False))


def disk_check(opts: CollectOptions, env: EnvFacts) -> tuple[DiskFacts, ...]:
    """Free space where the env lives (or will be created) and in pip's cache."""
    if env.prefix:
        env_target = Path(env.prefix)
    else:
        from coursekit.setup.engines.discovery import embedded_env_prefix

        env_target = embedded_env_prefix(opts.env_name, opts.environ)
    disks = []
    for label, target in (
        ("course env", env_target),
        ("pip cache", _pip_cache_dir(opts.environ)),
        ("temp folder", _temp_dir(opts.environ)),
    ):
        where = _nearest_existing(target)
        usage = shutil.disk_usage(where)
        disks.append(
            DiskFacts(label, str(where), int(usage.free // _MIB), int(usage.total // _MIB))
        )
    return tuple(disks)


def _temp_dir(environ: Mapping[str, str]) -> Path:
    """Where pip unpacks and builds wheels: Python's temp folder (TMPDIR, TEMP, TMP, then the
    platform default; ``tempfile.gettempdir``'s order), read from the student's variables."""
    import tempfile

    for var in ("TMPDIR", "TEMP", "TMP"):
        if environ.get(var):
            return Path(environ[var])
    return Path(tempfile.gettempdir())


def shell_check(opts: CollectOptions, env: EnvFacts) -> Any:
    """Which python/pip a student typing them gets (PATH), and the activated env."""
    cwd = str(opts.cwd or Path.cwd())
    return shell_facts(opts.environ, env.prefix if env.exists else None, cwd)


def project_check(opts: CollectOptions) -> Any:
    """A uv project around the current folder (None when there is none)."""
    home = opts.environ.get("USERPROFILE" if sys.platform == "win32" else "HOME")
    return project_facts(opts.cwd or Path.cwd(), Path(home) if home else None)


def setup_record_check(env: EnvFacts) -> Any:
    """What ``coursekit setup`` recorded in the env (its channels and index), credentials
    redacted: these facts are printed and sent (:mod:`coursekit.doctor.recorded`)."""
    from coursekit.doctor.recorded import read_record

    return read_record(env.prefix if env.exists else None)


def release_check(opts: CollectOptions) -> Any:
    """Online: the newest stable torch on the PyTorch index (cached a day; offline: not read)."""
    from coursekit.doctor.releasecheck import check_releases, matrix_newest

    return check_releases(opts.environ, matrix_newest())


def pip_log_check(opts: CollectOptions) -> Any:
    """The newest pip log (coursekit setup's, or pip's --log file)."""
    from coursekit.resources import coursekit_home

    return pip_log_facts(coursekit_home(opts.environ), opts.environ)


_DEFAULT_TIMEOUTS = {
    "platform": 10.0,
    "gpu": 60.0,
    "memory": 10.0,
    "env": 300.0,
    "disk": 15.0,
    "kernels": 15.0,
    "shell": 10.0,
    "project": 10.0,
    "pip_log": 10.0,
    "setup": 10.0,
    "release_check": 30.0,  # bounds itself (releasecheck.TIMEOUT_S); this is a safety net
}


def default_checks(opts: CollectOptions) -> list[Check]:
    """The doctor's checks with their dependencies (envs/SOURCES.md P6 order)."""
    limits = {**_DEFAULT_TIMEOUTS, "probe": opts.probe_timeout_s + 15.0, **opts.timeouts}
    return [
        Check("platform", lambda _: platform_check(opts), limits["platform"]),
        Check("gpu", lambda _: gpu_check(opts), limits["gpu"]),
        Check("memory", lambda _: memory_check(opts), limits["memory"]),
        Check("env", lambda _: env_check(opts), limits["env"]),
        Check("probe", lambda d: probe_check(opts, d["env"]), limits["probe"], ("env",)),
        Check("disk", lambda d: disk_check(opts, d["env"]), limits["disk"], ("env",)),
        Check(
            "kernels", lambda d: scan_kernels(d["env"], opts.environ), limits["kernels"], ("env",)
        ),
        Check("shell", lambda d: shell_check(opts, d["env"]), limits["shell"], ("env",)),
        Check("project", lambda _: project_check(opts), limits["project"]),
        Check("pip_log", lambda _: pip_log_check(opts), limits["pip_log"]),
        Check("setup", lambda d: setup_record_check(d["env"]), limits["setup"], ("env",)),
        Check("release_check", lambda _: release_check(opts), limits["release_check"]),
    ]


def collect_facts(opts: CollectOptions | None = None, checks: list[Check] | None = None) -> Facts:
    """Run every check concurrently and assemble the facts (never raises for a check)."""
    opts = opts or CollectOptions()
    values, runs = run_checks(checks if checks is not None else default_checks(opts), opts.on_slow)
    now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    sections: dict[str, Any] = {
        name: values.get(name)
        for name in (
            "platform",
            "gpu",
            "memory",
            "disk",
            "env",
            "probe",
            "kernels",
            "shell",
            "project",
            "pip_log",
            "setup",
            "release_check",
        )
    }
    return Facts(
        platform=sections["platform"],
        gpu=sections["gpu"],
        memory=sections["memory"],
        disks=sections["disk"],
        env=sections["env"],
        probe=sections["probe"],
        kernels=sections["kernels"],
        shell=sections["shell"],
        project=sections["project"],
        pip_log=sections["pip_log"],
        setup=sections["setup"],
        release_check=sections["release_check"],
        checks=runs,
        coursekit_version=__version__,
        collected_at=now,
    )
