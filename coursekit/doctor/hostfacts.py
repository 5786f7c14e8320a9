"""Schema-2 facts read from this machine's files (no subprocess): the shell's PATH, a uv
project around the current folder, the newest pip log, NVIDIA devices on the PCI bus and
WSL's ``/usr/lib/wsl/lib``. Every reader takes its inputs (environment, folders) as
arguments so tests can point it at a temporary tree; each returns a facts section or None.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coursekit.doctor.facts import PipLogFacts, ProjectFacts, ShellFacts, WslLibFacts

_TAIL = 4000
WSL_LIB = Path("usr/lib/wsl/lib")


def _same_dir(a: str, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def shell_facts(
    environ: Mapping[str, str], env_prefix: str | None, cwd: str, os_name: str | None = None
) -> ShellFacts:
    """The first ``python`` and ``pip`` on PATH and whether they are the env's own."""
    windows = (os_name or ("windows" if sys.platform == "win32" else "other")) == "windows"
    path = environ.get("PATH", "")
    python = shutil.which("python", path=path) or (
        None if windows else shutil.which("python3", path=path)
    )
    pip = shutil.which("pip", path=path) or (None if windows else shutil.which("pip3", path=path))
    prefix = Path(env_prefix) if env_prefix else None

    def is_env(found: str | None, dirs: tuple[str, ...]) -> bool | None:
        if found is None or prefix is None:
            return None
        return any(_same_dir(os.path.dirname(found), prefix / d if d else prefix) for d in dirs)

    py_dirs = ("", "Scripts") if windows else ("bin",)
    pip_dirs = ("Scripts",) if windows else ("bin",)
    return ShellFacts(
        path_python=python,
        path_python_is_env=is_env(python, py_dirs),
        path_pip=pip,
        path_pip_is_env=is_env(pip, pip_dirs),
        conda_prefix=environ.get("CONDA_PREFIX"),
        cwd=cwd,
    )


def _read_toml(path: Path) -> dict[str, Any] | None:
    from coursekit.errors import CoursekitError
    from coursekit.resources import read_toml

    try:
        return read_toml(path)
    except (CoursekitError, OSError, ValueError):
        return None


def _torch_name(requirement: str) -> bool:
    m = re.match(r"\s*([A-Za-z0-9_.-]+)", requirement)
    return bool(m and m.group(1).lower().replace("_", "-") == "torch")


def project_facts(cwd: Path, stop: Path | None = None) -> ProjectFacts | None:
    """The nearest uv project at or above ``cwd`` (a ``uv.lock``, or a ``pyproject.toml`` with a
    ``[tool.uv]`` table), up to ``stop`` (the home folder) or the root; None when there is none."""
    for folder in (cwd, *cwd.parents):
        lock = folder / "uv.lock"
        pyproject = folder / "pyproject.toml"
        data = (_read_toml(pyproject) if pyproject.is_file() else None) or {}
        tool = data.get("tool")
        uv = tool.get("uv") if isinstance(tool, dict) else None
        if lock.is_file() or isinstance(uv, dict):
            return _project(folder, data, uv if isinstance(uv, dict) else {}, lock)
        if stop is not None and folder == stop:
            break
    return None


def _project(folder: Path, data: dict[str, Any], uv: dict[str, Any], lock: Path) -> ProjectFacts:
    found = data.get("project")
    project: dict[str, Any] = found if isinstance(found, dict) else {}
    deps = [d for d in project.get("dependencies", []) if isinstance(d, str)]
    torch_req = next((d for d in deps if _torch_name(d)), None)
    sources = uv.get("sources", {}).get("torch") if isinstance(uv.get("sources"), dict) else None
    entries = (
        sources if isinstance(sources, list) else [sources] if isinstance(sources, dict) else []
    )
    torch_sources = tuple(
        ", ".join(f"{k}={v}" for k, v in e.items()) for e in entries if isinstance(e, dict)
    )
    indexes = tuple(
        f"{i.get('name', '?')}={i.get('url', '?')}" + (" explicit" if i.get("explicit") else "")
        for i in uv.get("index", [])
        if isinstance(i, dict)
    )
    raw_pip = uv.get("pip")
    pip_table: dict[str, Any] = raw_pip if isinstance(raw_pip, dict) else {}
    locked = None
    lock_data = _read_toml(lock) if lock.is_file() else None
    for package in (lock_data or {}).get("package", []):
        if isinstance(package, dict) and package.get("name") == "torch":
            source = package.get("source", {})
            where = (
                source.get("registry") or source.get("url") or ""
                if isinstance(source, dict)
                else ""
            )
            locked = f"{package.get('version')}" + (f" ({where})" if where else "")
            break
    return ProjectFacts(
        root=str(folder),
        uv_lock=lock.is_file(),
        torch_requirement=torch_req,
        torch_sources=torch_sources,
        indexes=indexes,
        torch_backend=pip_table.get("torch-backend"),
        locked_torch=locked,
    )


def _redact(text: str) -> str:
    return re.sub(r"(://)[^/@\s]+@", r"\1***@", text)


def pip_log_facts(home: Path, environ: Mapping[str, str]) -> PipLogFacts | None:
    """The newest pip log: ``PIP_LOG``/``PIP_LOG_FILE`` (pip's ``--log``), else coursekit setup's
    ``<home>/logs/*.log``; its tail (errors are at the end)."""
    candidates = [Path(environ[k]) for k in ("PIP_LOG", "PIP_LOG_FILE") if environ.get(k)]
    logs = home / "logs"
    if logs.is_dir():
        candidates += [p for p in logs.glob("*.log") if p.is_file()]
    best: tuple[float, Path] | None = None
    for path in candidates:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if best is None or mtime > best[0]:
            best = (mtime, path)
    if best is None:
        return None
    try:
        with best[1].open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 4 * _TAIL))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return None
    return PipLogFacts(path=str(best[1]), mtime=best[0], tail=_redact(text[-_TAIL:]))


def pci_nvidia(root: Path = Path("/")) -> int | None:
    """NVIDIA display controllers on the PCI bus (Linux sysfs: vendor 0x10de, class 0x03xxxx),
    driver or not; None where sysfs has no PCI devices (Windows, macOS, WSL, containers)."""
    devices = root / "sys/bus/pci/devices"
    try:
        entries = list(devices.iterdir())
    except OSError:
        return None
    if not entries:
        return None
    count = 0
    for dev in entries:
        try:
            vendor = (dev / "vendor").read_text(encoding="ascii").strip().lower()
            klass = (dev / "class").read_text(encoding="ascii").strip().lower()
        except OSError:
            continue
        if vendor == "0x10de" and klass.startswith("0x03"):
            count += 1
    return count


def wsl_lib_facts(environ: Mapping[str, str], root: Path = Path("/")) -> WslLibFacts:
    """The state of ``/usr/lib/wsl/lib``: libcuda present and linked, on the loader's path."""
    folder = root / WSL_LIB
    if not folder.is_dir():
        return WslLibFacts(exists=False)
    libs = []
    for entry in sorted(folder.glob("libcuda*")):
        if entry.is_symlink():
            libs.append(f"{entry.name} -> {os.readlink(entry)}")
        else:
            libs.append(entry.name)
    wanted = "/" + WSL_LIB.as_posix()
    on_path = wanted in environ.get("LD_LIBRARY_PATH", "").split(":")
    conf = root / "etc/ld.so.conf.d"
    if not on_path and conf.is_dir():
        for f in conf.glob("*.conf"):
            try:
                if wanted in f.read_text(encoding="utf-8", errors="replace").split():
                    on_path = True
                    break
            except OSError:
                continue
    return WslLibFacts(
        exists=True,
        libcuda=tuple(libs),
        on_loader_path=on_path,
        nvidia_smi=(folder / "nvidia-smi").is_file(),
    )
