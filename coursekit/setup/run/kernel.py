"""The Jupyter kernel of the course env: a user-level kernelspec named ``pt``.

coursekit writes the kernelspec itself instead of running ``python -m ipykernel install
--user --name pt --display-name "Python (pt)"``: the content is the same (ipykernel's
``kernelspec.get_kernel_dict``: the env's absolute ``sys.executable``, ``-m
ipykernel_launcher -f {connection_file}``, ``language: python``, ``metadata.debugger``),
but writing it needs no import of ipykernel/pyzmq in the env, works offline, is atomic
(write then rename, so an interrupted setup never leaves half a ``kernel.json``) and can be
checked without starting anything. The folder is where Jupyter itself looks: the env's
``jupyter_core.paths.jupyter_data_dir()`` when jupyter_core is installed there, else the
same rule computed here (``JUPYTER_DATA_DIR``; ``~/Library/Jupyter``; ``%APPDATA%\\jupyter``;
``$XDG_DATA_HOME/jupyter`` or ``~/.local/share/jupyter``). A user kernel named ``pt`` is
found by every Jupyter and by VS Code (envs/SOURCES.md P5.8).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from coursekit.constants import DEFAULT_ENV_NAME
from coursekit.proc import Runner, run_tool
from coursekit.setup.engines.base import same_path

KERNEL_NAME = DEFAULT_ENV_NAME
DISPLAY_NAME = f"Python ({DEFAULT_ENV_NAME})"
"""The display name of the default kernel; an env named otherwise gets ``Python (<name>)``."""
_DATA_DIR_SNIPPET = "from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())"


@dataclass(frozen=True)
class KernelState:
    """Is kernel ``pt`` registered for this env's Python?"""

    path: Path  # .../kernels/pt/kernel.json
    ok: bool
    why: str = ""


def default_data_dir(env: Mapping[str, str], platform: str) -> Path:
    """jupyter_core's user data folder rule (``jupyter_core/paths.py``), without jupyter_core."""
    if env.get("JUPYTER_DATA_DIR"):
        return Path(env["JUPYTER_DATA_DIR"])
    home = Path(env.get("USERPROFILE" if platform == "windows" else "HOME") or Path.home())
    if platform == "macos":
        return home / "Library" / "Jupyter"
    if platform == "windows":
        appdata = env.get("APPDATA")
        return Path(appdata) / "jupyter" if appdata else home / ".jupyter" / "data"
    xdg = env.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else home / ".local" / "share") / "jupyter"


def data_dir(
    python: Path, env: Mapping[str, str], platform: str, *, runner: Runner = run_tool
) -> Path:
    """Jupyter's user data folder as the env's own jupyter_core computes it."""
    result = runner([python, "-c", _DATA_DIR_SNIPPET], timeout=60, env=env)
    if result.ok and result.stdout.strip():
        return Path(result.stdout.strip().splitlines()[-1])
    return default_data_dir(env, platform)


def display_name_for(name: str) -> str:
    """``Python (<name>)``: what ``ipykernel install --name N --display-name "Python (N)"``
    shows in Jupyter's launcher (the plan's register_kernel step uses the same)."""
    return f"Python ({name})"


def kernel_dict(python: Path, display_name: str = DISPLAY_NAME) -> dict[str, object]:
    """The kernelspec ipykernel would write for ``python``."""
    return {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name,
        "language": "python",
        "metadata": {"debugger": True},
    }


def check_kernel(kernels_dir: Path, python: Path, name: str = KERNEL_NAME) -> KernelState:
    """Whether ``kernels_dir/name/kernel.json`` starts the env's ``python``."""
    path = kernels_dir / name / "kernel.json"
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return KernelState(path, False, "not registered")
    except (OSError, ValueError) as exc:
        return KernelState(path, False, f"unreadable kernel.json ({type(exc).__name__})")
    argv = spec.get("argv") if isinstance(spec, dict) else None
    if not isinstance(argv, list) or not argv or not isinstance(argv[0], str):
        return KernelState(path, False, "kernel.json has no argv")
    if not Path(argv[0]).exists() or not same_path(argv[0], python):
        return KernelState(path, False, f"it starts {argv[0]}, not the env's Python")
    if spec.get("display_name") != display_name_for(name):
        return KernelState(path, False, f"display name is {spec.get('display_name')!r}")
    return KernelState(path, True)


def write_kernel(kernels_dir: Path, python: Path, prefix: Path, name: str = KERNEL_NAME) -> Path:
    """Write (or replace) the kernelspec atomically, with ipykernel's logos if the env has them."""
    folder = kernels_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for logo in _logos(prefix):
        shutil.copyfile(logo, folder / logo.name)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".kernel-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(kernel_dict(python, display_name_for(name)), fh, indent=1)
    os.replace(tmp, folder / "kernel.json")
    return folder / "kernel.json"


def _logos(prefix: Path) -> list[Path]:
    for site in (*prefix.glob("lib/python3*/site-packages"), prefix / "Lib" / "site-packages"):
        resources = site / "ipykernel" / "resources"
        if resources.is_dir():
            return sorted(resources.glob("logo-*.png")) + sorted(resources.glob("logo-*.svg"))
    return []
