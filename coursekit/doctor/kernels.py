"""Find the registered Jupyter kernels and the interpreter each one runs, without Jupyter.

Reads ``kernels/*/kernel.json`` in Jupyter's data path, in jupyter_core's order
(``jupyter_core/paths.py``): ``JUPYTER_PATH`` entries, the user folder (``JUPYTER_DATA_DIR``
or the per-OS default), the env's ``share/jupyter``, then the system folders. Faster and
more robust than ``jupyter kernelspec list --json``, which needs a working Jupyter (and
when Lab runs from the env, the env's share folder is what it sees).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from coursekit.doctor.facts import EnvFacts, KernelFacts

_BARE_PYTHON = ("python", "python3")  # jupyter_client maps these to the server's own Python


def user_data_dir(environ: Mapping[str, str], os_name: str | None = None) -> Path:
    """Jupyter's per-user data folder (``jupyter_core.paths.jupyter_data_dir``)."""
    if environ.get("JUPYTER_DATA_DIR"):
        return Path(environ["JUPYTER_DATA_DIR"])
    system = os_name or sys.platform
    home = Path(environ.get("HOME") or os.path.expanduser("~"))
    if system == "darwin":
        return home / "Library" / "Jupyter"
    if system == "win32":
        appdata = environ.get("APPDATA")
        return Path(appdata) / "jupyter" if appdata else home / ".jupyter" / "data"
    xdg = environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
    return Path(xdg) / "jupyter"


def data_path(environ: Mapping[str, str], prefix: str | None) -> list[tuple[str, Path]]:
    """(scope, folder) in Jupyter's search order."""
    found: list[tuple[str, Path]] = []
    for entry in environ.get("JUPYTER_PATH", "").split(os.pathsep):
        if entry:
            found.append(("JUPYTER_PATH", Path(entry)))
    found.append(("user", user_data_dir(environ)))
    if prefix:
        found.append(("env", Path(prefix) / "share" / "jupyter"))
    if sys.platform == "win32":
        found.append(("system", Path(environ.get("PROGRAMDATA", r"C:\ProgramData")) / "jupyter"))
    else:
        found += [
            ("system", Path("/usr/local/share/jupyter")),
            ("system", Path("/usr/share/jupyter")),
        ]
    return found


def _same(a: str, b: str) -> bool:
    try:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))
    except OSError:
        return False


def _kernel(scope: str, spec_dir: Path, env: EnvFacts) -> KernelFacts | None:
    try:
        spec = json.loads((spec_dir / "kernel.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        spec = None
    if not isinstance(spec, dict):  # unreadable, or JSON of another shape: one kernel's fact
        return KernelFacts(
            name=spec_dir.name,
            directory=str(spec_dir),
            scope=scope,
            display_name="(unreadable kernel.json)",
        )
    argv = spec.get("argv") if isinstance(spec.get("argv"), list) else None
    argv = argv or [""]
    argv0 = str(argv[0])
    bare = argv0 in _BARE_PYTHON
    exists = bare or Path(argv0).is_file()
    same_env: bool | None = None
    if env.python:
        if bare:
            same_env = True if scope == "env" else None
        else:
            same_env = _same(argv0, env.python)
    return KernelFacts(
        name=spec_dir.name,
        display_name=str(spec.get("display_name", "")),
        directory=str(spec_dir),
        scope=scope,
        argv0=argv0,
        argv0_exists=exists,
        same_env=same_env,
        language=str(spec.get("language", "")),
    )


def scan_kernels(env: EnvFacts, environ: Mapping[str, str]) -> tuple[KernelFacts, ...]:
    """Every kernelspec on Jupyter's path (shadowed duplicates included, in search order)."""
    kernels: list[KernelFacts] = []
    prefix = env.prefix if not env.explicit else None
    for scope, folder in data_path(environ, prefix):
        kdir = folder / "kernels"
        if not kdir.is_dir():
            continue
        for spec_dir in sorted(p for p in kdir.iterdir() if (p / "kernel.json").exists()):
            found = _kernel(scope, spec_dir, env)
            if found is not None:
                kernels.append(found)
    return tuple(kernels)
