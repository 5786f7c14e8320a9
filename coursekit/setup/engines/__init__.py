"""Environment engines: the user's micromamba, mamba or conda, or the embedded py-rattler one.

Public API (doctor and labs use it to find the course env)::

    find_engines(env) -> list[Engine]          # installed tools, best first; runs nothing
    choose_engine("auto" | kind, env) -> Engine
    resolve_engine("auto" | kind, "pt", runner=...) -> Engine  # auto: keep the engine that has pt
    locate_env(engine, "pt", runner=...) -> EnvLocation | None   # Python confirmed by running it
    find_env("pt", runner=...) -> EnvLocation | None             # through any engine
    env_python(prefix) -> Path  # python.exe at the root on Windows, bin/python elsewhere

py-rattler is imported only inside :mod:`coursekit.setup.engines.embedded`, and only when used.

May import the core only (setup's planning and run, the doctor and the labs import it).
"""

from __future__ import annotations

from coursekit.resources import coursekit_home
from coursekit.setup.engines.base import (
    ENGINE_KINDS,
    Engine,
    EngineKind,
    EnvLocation,
    env_bin_dirs,
    env_python,
    env_script,
    is_conda_env,
)
from coursekit.setup.engines.discovery import (
    choose_engine,
    confirm_env,
    embedded_available,
    embedded_env_prefix,
    embedded_env_roots,
    find_engines,
    find_env,
    locate_env,
    locate_prefix,
    resolve_engine,
)

__all__ = [
    "ENGINE_KINDS",
    "Engine",
    "EngineKind",
    "EnvLocation",
    "choose_engine",
    "confirm_env",
    "coursekit_home",
    "embedded_available",
    "embedded_env_prefix",
    "embedded_env_roots",
    "env_bin_dirs",
    "env_python",
    "env_script",
    "find_engines",
    "find_env",
    "is_conda_env",
    "locate_env",
    "locate_prefix",
    "resolve_engine",
]
