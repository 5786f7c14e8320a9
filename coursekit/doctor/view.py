"""Derived facts the rules share: one read-only view over :class:`Facts`, plus :class:`Finding`.

Everything here is pure: it reads facts (which may come from another machine via
``--from``) and never looks at this machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any, Generic, TypeVar, overload

from packaging.version import Version

from coursekit.constants import DEFAULT_ENV_NAME
from coursekit.doctor.catalogue import entry
from coursekit.doctor.facts import Facts
from coursekit.doctor.planning import NO_PLANNER, BackendAdvice, Planner
from coursekit.doctor.versions import as_version, version_tuple  # noqa: F401 - tests read it here
from coursekit.host import GpuInfo, HostInfo

_T = TypeVar("_T")


@dataclass(frozen=True)
class Finding:
    """One diagnosis: what is wrong, the evidence, and the command or action that fixes it.

    ``fix_action`` names an automatic fix ``--fix`` knows ("reinstall-torch",
    "register-kernel"), or None when the fix is for a human.
    """

    id: str
    severity: str
    category: str
    title: str
    detail: str
    fix: str | None
    fix_action: str | None = None


def finding(
    fid: str,
    title: str,
    detail: str,
    fix: str | None,
    *,
    severity: str | None = None,
    fix_action: str | None = None,
) -> Finding:
    """A finding for catalogue id ``fid`` (category and default severity from the catalogue)."""
    e = entry(fid)
    return Finding(fid, severity or e.severity, e.category, title, detail, fix, fix_action)


def local_tag(version: str | None) -> str:
    """``"2.13.0+cu130"`` -> ``"cu130"``; ``""`` without a tag."""
    return version.split("+", 1)[1] if version and "+" in version else ""


def quote(path: str) -> str:
    """A path as a student pastes it into a shell (quoted when it has spaces)."""
    return f'"{path}"' if " " in path else path


_FOUND_GPU = re.compile(
    r"Found GPU(\d+) (.+?) which is of (?:cuda|compute) capability(?: \(CC\))? (\d+)\.(\d+)"
)
_SM_NOT_COMPATIBLE = re.compile(
    r"(?m)^\s*(?:[\w.]*Warning: )?(.+?) with CUDA capability sm_(\d+) is not compatible"
)


def pure_path(path: str, os_name: str) -> PurePath:
    """``path`` as a path of the report's OS: Windows rules for a Windows report, POSIX for the
    rest, whatever machine triages it (never ``os.path``, never the local file system)."""
    return PureWindowsPath(path) if os_name == "windows" else PurePosixPath(path)


def inside(path: str, prefix: str, os_name: str) -> bool:
    """True when ``path`` is ``prefix`` or below it, by the rules of the report's OS (Windows:
    ``\\`` or ``/``, any case; elsewhere case-sensitive). Purely lexical: ``..`` parts are
    normalised away textually, links are not followed (the report's files are not here)."""
    a_parts, b_parts = _path_parts(path, os_name), _path_parts(prefix, os_name)
    return a_parts[: len(b_parts)] == b_parts


@lru_cache(maxsize=4096)
def _path_parts(path: str, os_name: str) -> tuple[str, ...]:
    """The normalised parts of a report's path (once per string: a report asks about its env
    prefix for every installed package)."""
    return _normal_parts(pure_path(path, os_name), os_name)


def _normal_parts(p: PurePath, os_name: str) -> tuple[str, ...]:
    parts: list[str] = []
    for part in p.parts:
        if part == "..":
            if len(parts) > 1:
                parts.pop()
        elif part != ".":
            parts.append(part.lower() if os_name == "windows" else part)
    return tuple(parts)


class cached_property(Generic[_T]):  # noqa: N801 - functools' name, and its use
    """``functools.cached_property`` without its lock (Python 3.11 takes an RLock on every first
    read; a class triage makes a view per report and reads ~18 properties of each): the value
    is computed on first read and kept in the instance's ``__dict__``, which later reads find
    first (a non-data descriptor). A view is never shared between threads."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> cached_property[_T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> _T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value


class View:
    """Read-only derived facts over :class:`Facts` (each computed once), and the planner's
    answers handed down with them (``planner``: :mod:`coursekit.doctor.planning`; by default
    none, so the rules give no planner advice)."""

    def __init__(self, facts: Facts, planner: Planner | None = None):
        self.f = facts
        self.planner: Planner = NO_PLANNER if planner is None else planner

    @cached_property
    def os(self) -> str:
        """``linux``/``windows``/``macos``: coursekit's machine, else the probe's platform."""
        if self.f.platform:
            return self.f.platform.os
        plat = self.py.get("platform", "")
        return {"win32": "windows", "darwin": "macos"}.get(plat, plat or "unknown")

    @cached_property
    def report_os(self) -> str:
        """The OS the facts were collected on: what paths in them follow."""
        plat = self.py.get("platform", "")
        if plat:
            return {"win32": "windows", "darwin": "macos", "cygwin": "windows"}.get(plat, "linux")
        return self.os

    def inside(self, path: str, prefix: str) -> bool:
        """:func:`inside` with the report's OS."""
        return inside(path, prefix, self.report_os)

    def pure(self, path: str) -> PurePath:
        """A path from the report, with the report's OS flavour."""
        return pure_path(path, self.report_os)

    @cached_property
    def probe_ok(self) -> bool:
        return bool(self.f.probe and self.f.probe.ok)

    @cached_property
    def data(self) -> dict[str, Any]:
        return self.f.probe.data if self.f.probe and self.f.probe.ok else {}

    @cached_property
    def py(self) -> dict[str, Any]:
        value = self.data.get("python")
        return value if isinstance(value, dict) else {}

    @cached_property
    def torch(self) -> dict[str, Any]:
        value = self.data.get("torch")
        return value if isinstance(value, dict) else {}

    @cached_property
    def torch_ok(self) -> bool:
        """``import torch`` worked (versions and CUDA facts are known)."""
        return self.torch.get("status") == "ok"

    @cached_property
    def torch_version(self) -> str | None:
        return self.torch.get("version") if self.torch_ok else self._dist_version("torch")

    @cached_property
    def cuda_build(self) -> bool:
        return self.torch_ok and bool(self.torch.get("cuda"))

    def imports(self, name: str) -> dict[str, Any]:
        """The probe's import result for numpy/torchvision/torchaudio (empty when not run)."""
        value = self.data.get("imports", {}).get(name)
        return value if isinstance(value, dict) else {}

    def dists(self, name: str) -> list[dict[str, Any]]:
        """Every installed copy of distribution ``name`` (pip metadata), in sys.path order."""
        return list(self._dists_by_name.get(name, ()))

    @cached_property
    def _dists_by_name(self) -> dict[Any, list[dict[str, Any]]]:
        """The probe's distributions grouped by name once (the rules ask for many names)."""
        items = self.data.get("distributions", {}).get("items", [])
        out: dict[Any, list[dict[str, Any]]] = {}
        for d in items:
            if isinstance(d, dict):
                try:
                    out.setdefault(d.get("name"), []).append(d)
                except TypeError:  # an unhashable "name" matches no name asked for
                    continue
        return out

    def _dist_version(self, name: str) -> str | None:
        copies = self.dists(name)
        return copies[0].get("version") if copies else None

    def dist_version(self, name: str) -> str | None:
        """The version of the first copy of ``name`` on sys.path (the one Python imports)."""
        return self._dist_version(name)

    @cached_property
    def conda_packages(self) -> dict[str, dict[str, Any]]:
        meta = self.data.get("conda_meta", {})
        return {p["name"]: p for p in meta.get("packages", []) if isinstance(p, dict)}

    @cached_property
    def torch_capabilities(self) -> tuple[tuple[int | None, str, str], ...]:
        """(index, name, "major.minor") of every GPU torch itself described: its device list,
        else its own warnings ("Found GPU0 GeForce GTX 770 which is of cuda capability 3.0",
        "... of compute capability (CC) 6.1", "NVIDIA GeForce RTX 5090 with CUDA capability
        sm_120 is not compatible ..."); torch/cuda/__init__.py ``_check_capability``."""
        out: list[tuple[int | None, str, str]] = []
        for d in self.torch.get("devices") or []:
            if isinstance(d, dict) and d.get("capability"):
                idx = d.get("index")
                out.append(
                    (
                        idx if isinstance(idx, int) else None,
                        str(d.get("name") or "GPU"),
                        str(d["capability"]),
                    )
                )
        if out:
            return tuple(out)
        text = self.torch_texts
        for m in _FOUND_GPU.finditer(text):
            out.append((int(m.group(1)), m.group(2).strip(), f"{m.group(3)}.{m.group(4)}"))
        if not out:
            for m in _SM_NOT_COMPATIBLE.finditer(text):
                number = int(m.group(2))
                out.append((None, m.group(1).strip(), f"{number // 10}.{number % 10}"))
        return tuple(out)

    @cached_property
    def gpus(self) -> tuple[GpuInfo, ...]:
        """The GPUs of the facts, NVIDIA compute capabilities filled in from torch when
        nvidia-smi did not give them (R470 has no ``compute_cap``); with no NVIDIA GPU in the
        facts, the GPUs torch itself described (a report with only torch's warning)."""
        import dataclasses

        gpus = self.f.gpu.gpus if self.f.gpu else ()
        caps = self.torch_capabilities
        if not caps:
            return gpus
        nvidia = [g for g in gpus if g.vendor == "nvidia"]
        if not nvidia:
            return (
                *gpus,
                *(
                    GpuInfo("nvidia", name, compute_capability=cc, index=idx)
                    for idx, name, cc in caps
                ),
            )
        out = []
        for g in gpus:
            if g.vendor == "nvidia" and not g.compute_capability:
                cc = next(
                    (
                        c
                        for i, n, c in caps
                        if n == g.name or n.endswith(g.name) or g.name.endswith(n)
                    ),
                    None,
                )
                if cc is None and len(caps) == len(nvidia):
                    cc = caps[nvidia.index(g)][2]
                g = dataclasses.replace(g, compute_capability=cc) if cc else g
            out.append(g)
        return tuple(out)

    @cached_property
    def nvidia(self) -> tuple[GpuInfo, ...]:
        return tuple(g for g in self.gpus if g.vendor == "nvidia")

    @cached_property
    def visible_nvidia(self) -> tuple[GpuInfo, ...]:
        """The NVIDIA GPUs CUDA can see (``CUDA_VISIBLE_DEVICES`` applied, as the planner does:
        a GPU hidden on purpose because no build has kernels for it is not a problem)."""
        from coursekit.setup.plan.detect import visible_gpus

        return visible_gpus(self.nvidia, self.cuda_visible_devices)[0]

    @cached_property
    def driver(self) -> str | None:
        versions = [g.driver_version for g in self.nvidia if g.driver_version]
        return min(versions, key=lambda t: as_version(t) or Version("0")) if versions else None

    @cached_property
    def gpu_notes(self) -> str:
        return "\n".join(self.f.gpu.notes) if self.f.gpu else ""

    @cached_property
    def torch_texts(self) -> str:
        """Every error and warning text the torch child produced, for pattern matching."""
        t = self.torch
        parts = [
            str(t.get("cuda_error") or ""),
            str((t.get("cuda_op") or {}).get("error") or ""),
            str((t.get("cudnn_op") or {}).get("error") or ""),
            str(t.get("numpy_error") or ""),
            str(t.get("stderr") or ""),
            "\n".join(map(str, t.get("warnings") or [])),
            str((t.get("error") or {}).get("message") or ""),
        ]
        return "\n".join(p for p in parts if p)

    @cached_property
    def env_python(self) -> str:
        """The env's Python as a student would type it."""
        if self.f.env and self.f.env.python:
            return quote(self.f.env.python)
        return quote(self.py.get("executable") or "python")

    @cached_property
    def py_cmd(self) -> str:
        """The env's Python at the start of a fix line: quoted by :mod:`coursekit.shellquote`
        for this machine's shell, as setup's commands are (``& "..."`` on Windows when quoted)."""
        from coursekit.shellquote import program

        if self.f.env and self.f.env.python:
            return program(self.f.env.python, self.os)
        return program(self.py.get("executable") or "python", self.os)

    @cached_property
    def env_name(self) -> str:
        return self.f.env.name if self.f.env else DEFAULT_ENV_NAME

    @cached_property
    def cuda_visible_devices(self) -> str | None:
        env = self.data.get("env") or {}
        if env.get("CUDA_VISIBLE_DEVICES") is not None:
            return str(env["CUDA_VISIBLE_DEVICES"])
        return self.f.platform.cuda_visible_devices if self.f.platform else None

    def host_info(self) -> HostInfo | None:
        """The machine as the planner sees it (for the selector's backend advice); built once
        per view (several rules ask)."""
        if "_host_info" not in self.__dict__:
            self.__dict__["_host_info"] = self._host_info()
        host: HostInfo | None = self.__dict__["_host_info"]
        return host

    def _host_info(self) -> HostInfo | None:
        if not self.f.platform:
            return None
        p = self.f.platform
        return HostInfo(
            os=p.os,
            arch=p.arch,
            python=self.planner.course_python,
            macos_version=p.macos_version,
            wsl=p.wsl,
            gpus=self.gpus,
            jetson=p.jetson,
            cuda_driver_api=self.f.gpu.cuda_driver_api if self.f.gpu else None,
            rocm_version=self.f.gpu.rocm_version if self.f.gpu else None,
            glibc=p.glibc if p.os == "linux" else None,
        )

    @cached_property
    def advice(self) -> BackendAdvice | None:
        """The selector's choice for this machine (None when the planner cannot say); planned
        once per view (every rule that names a fix asks)."""
        host = self.host_info()
        return None if host is None else self.planner.backend(host)


Rule = Callable[[View], list[Finding]]
"""A diagnosis rule: the findings it makes from a view (none when all is well)."""


def remove_and_setup(v: View) -> str:
    """Delete the env with the tool that made it, then set it up again."""
    env = v.f.env
    engine = (env.engine if env else None) or "conda"
    if engine == "embedded":
        where = quote(env.prefix) if env and env.prefix else "the env folder"
        return f"delete {where}, then run `coursekit setup`"
    return f"`{engine} env remove -n {v.env_name} -y`, then `coursekit setup`"
