"""Finding the user's conda-compatible tool and the course env it manages.

Order (envs/SOURCES.md P5.7): the tool named by ``MAMBA_EXE`` / ``CONDA_EXE`` (set by
``micromamba shell init`` / ``conda init``, so they name the tool the user actually
activates with) before PATH; among kinds micromamba, then mamba, then conda. When none is
installed, the embedded py-rattler engine. Nothing here is cached: tests put stand-ins on
PATH, and a user may install conda between two runs.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Mapping
from pathlib import Path

from coursekit.constants import DEFAULT_ENV_NAME
from coursekit.errors import EnvironmentProblem, UsageError
from coursekit.proc import Runner, run_tool, which
from coursekit.resources import coursekit_home
from coursekit.setup.engines.base import (
    ENGINE_KINDS,
    EXTERNAL_KINDS,
    Engine,
    EngineKind,
    EnvLocation,
    env_python,
    is_conda_env,
    same_path,
)
from coursekit.setup.engines.condajson import BadToolOutput, parse_env_list, parse_info, pick_env

LIST_TIMEOUT_S = 120.0  # conda's first `env list` after boot can be slow on Windows AV
PYTHON_TIMEOUT_S = 60.0

# Run by the env's own Python: stdlib only, prints one JSON line.
_CONFIRM_SNIPPET = (
    "import json, sys; print(json.dumps({'prefix': sys.prefix, 'executable': sys.executable,"
    " 'version': '%d.%d.%d' % sys.version_info[:3]}))"
)


def _kind_of(exe: str) -> EngineKind:
    base = Path(exe).name.lower()
    if base.startswith("micromamba"):
        return "micromamba"
    if base.startswith("mamba"):
        return "mamba"
    return "conda"


def _environ(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def find_engines(env: Mapping[str, str] | None = None) -> list[Engine]:
    """Every conda-compatible tool installed, best first; the embedded engine last when
    py-rattler is importable. Runs nothing (only looks at files)."""
    environ = _environ(env)
    found: list[Engine] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: EngineKind, exe: str | None, source: str) -> None:
        if not exe or not Path(exe).is_file():
            return
        exe = behind_shim(exe)
        key = (kind, os.path.normcase(os.path.realpath(exe)))
        if key not in seen:
            seen.add(key)
            found.append(Engine(kind, Path(exe), source))

    for var in ("MAMBA_EXE", "CONDA_EXE"):
        value = environ.get(var)
        if value:
            add(_kind_of(value), value, var)
    for kind in EXTERNAL_KINDS:
        add(kind, which(kind, environ), "PATH")
    order = {kind: i for i, kind in enumerate(EXTERNAL_KINDS)}
    found.sort(key=lambda e: order[e.kind])  # stable: env-var hits stay ahead within a kind
    if embedded_available():
        found.append(Engine("embedded", None, "py-rattler"))
    return found


def behind_shim(exe: str) -> str:
    """The real program behind a Windows ``.bat``/``.cmd`` shim, when it is there.

    conda's ``condabin\\conda.bat`` runs ``..\\Scripts\\conda.exe`` (conda/shell/condabin/
    conda.bat; mamba 1's ``mamba.bat`` likewise ``..\\Scripts\\mamba.exe``). Running a
    ``.bat`` hands its arguments to cmd.exe, which reads ``>`` in a spec such as
    ``pandas>=2`` as a redirection (and ``&`` in a channel URL as a second command); the
    ``.exe`` gets them as they are.
    """
    path = Path(exe)
    if path.suffix.lower() not in (".bat", ".cmd"):
        return exe
    root = path.parent.parent
    for candidate in (
        root / "Scripts" / f"{path.stem}.exe",
        root / "Library" / "bin" / f"{path.stem}.exe",
    ):
        if candidate.is_file():
            return str(candidate)
    return exe


def embedded_available() -> bool:
    """True when py-rattler can be imported (without importing it: that costs ~50 ms)."""
    return importlib.util.find_spec("rattler") is not None


def choose_engine(name: str = "auto", env: Mapping[str, str] | None = None) -> Engine:
    """The engine for ``--engine NAME``: ``auto`` is the best installed tool, else embedded."""
    if name != "auto" and name not in ENGINE_KINDS:
        raise UsageError(
            f"unknown engine {name!r}", f"Use one of: auto, {', '.join(ENGINE_KINDS)}."
        )
    engines = find_engines(env)
    for engine in engines:
        if name in ("auto", engine.kind):
            return engine
    if name == "embedded" or (name == "auto" and not engines):
        raise EnvironmentProblem(
            "No conda, mamba or micromamba is installed, and the embedded engine (py-rattler) "
            "is not available.",
            "Install it with: python -m pip install 'coursekit[embedded]'  (or install "
            "Miniforge: https://conda-forge.org/download/)",
        )
    raise EnvironmentProblem(
        f"--engine {name}: no '{name}' found (looked at MAMBA_EXE, CONDA_EXE and PATH).",
        "Use --engine auto, or put the tool on PATH (open the shell where you use it).",
    )


def resolve_engine(
    name: str = "auto",
    env_name: str = DEFAULT_ENV_NAME,
    *,
    runner: Runner = run_tool,
    env: Mapping[str, str] | None = None,
) -> Engine:
    """:func:`choose_engine`, except that ``auto`` keeps using the engine that already has
    env ``env_name``: with several tools installed (conda and a separate micromamba, or an env
    the embedded engine made before conda was installed) a re-run must not create a second
    env elsewhere. Only asks the tools (``env list``) when there is a choice."""
    if name != "auto":
        return choose_engine(name, env)
    engines = find_engines(env)
    externals = [e for e in engines if e.external]
    if len(externals) > 1:
        for engine in externals:
            try:
                if locate_prefix(engine, env_name, runner=runner, env=env) is not None:
                    return engine
            except EnvironmentProblem:
                continue
    embedded = Engine("embedded", None, "py-rattler")
    if (
        externals
        and embedded_available()
        and is_conda_env(embedded_env_prefix(env_name, env))
        and all(_knows_not(e, env_name, runner, env) for e in externals)
    ):
        return embedded
    return choose_engine("auto", env)


def _knows_not(
    engine: Engine, env_name: str, runner: Runner, env: Mapping[str, str] | None
) -> bool:
    try:
        return locate_prefix(engine, env_name, runner=runner, env=env) is None
    except EnvironmentProblem:
        return True


def embedded_env_roots(env: Mapping[str, str] | None = None) -> list[Path]:
    """Folders the embedded engine creates envs in, first = where a new env goes: conda's
    envs folder when one exists (so a later conda install sees the env), else coursekit's."""
    environ = _environ(env)
    roots: list[Path] = []
    for var in ("CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"):
        roots += [Path(p) for p in environ.get(var, "").split(os.pathsep) if p]
    home = environ.get("USERPROFILE" if os.name == "nt" else "HOME")
    if home:
        roots.append(Path(home) / ".conda" / "envs")
    existing = [r for r in roots if r.is_dir()]
    return existing + [coursekit_home(env) / "envs"]


def embedded_env_prefix(name: str, env: Mapping[str, str] | None = None) -> Path:
    """Where the embedded engine's env ``name`` is (an existing one) or will be created."""
    roots = embedded_env_roots(env)
    for root in roots:
        if is_conda_env(root / name):
            return root / name
    return roots[0] / name


def _tool_json(
    engine: Engine, args: list[str], runner: Runner, env: Mapping[str, str] | None
) -> str:
    assert engine.exe is not None
    result = runner([engine.exe, *args], timeout=LIST_TIMEOUT_S, env=env)
    if not result.ok:
        why = "timed out" if result.timed_out else (result.key_error_line() or "no output")
        raise EnvironmentProblem(
            f"'{engine.kind} {' '.join(args)}' failed: {why}",
            f"Check that {engine.display} works in a terminal, or choose another with --engine.",
        )
    return result.stdout


def locate_prefix(
    engine: Engine,
    name: str = DEFAULT_ENV_NAME,
    *,
    runner: Runner = run_tool,
    env: Mapping[str, str] | None = None,
) -> Path | None:
    """The prefix of env ``name`` as ``engine`` knows it, or None; does not run the env."""
    if not engine.external:
        own = embedded_env_prefix(name, env)
        return own if is_conda_env(own) else None
    try:
        listing = parse_env_list(_tool_json(engine, ["env", "list", "--json"], runner, env))
        prefix = pick_env(listing, name)
        if prefix is None and not listing.names and any(p.name == name for p in listing.envs):
            # Ambiguous without the envs folders: ask once (conda's info is slow).
            info = parse_info(_tool_json(engine, ["info", "--json"], runner, env))
            prefix = pick_env(listing, name, info.envs_dirs)
    except BadToolOutput as exc:
        raise EnvironmentProblem(
            f"{engine.display} printed output coursekit cannot read ({exc}).",
            "Update the tool, or choose another with --engine.",
        ) from exc
    return prefix


def confirm_env(
    name: str,
    prefix: Path,
    engine: EngineKind,
    *,
    runner: Runner = run_tool,
    env: Mapping[str, str] | None = None,
) -> EnvLocation:
    """Run the env's Python and check that it lives in ``prefix``; never raises."""
    python = env_python(prefix)
    if not python.exists():
        return EnvLocation(
            name, prefix, python, engine, False, problem=f"the env has no Python at {python}"
        )
    result = runner([python, "-c", _CONFIRM_SNIPPET], timeout=PYTHON_TIMEOUT_S, env=env)
    if not result.ok:
        why = "timed out" if result.timed_out else (result.key_error_line() or "it failed")
        return EnvLocation(
            name, prefix, python, engine, False, problem=f"the env's Python does not run: {why}"
        )
    try:
        facts = json.loads(result.stdout.strip().splitlines()[-1])
        reported, version = str(facts["prefix"]), str(facts["version"])
    except (ValueError, KeyError, IndexError):
        return EnvLocation(
            name,
            prefix,
            python,
            engine,
            False,
            problem="the env's Python printed something unexpected",
        )
    if not same_path(reported, prefix):
        return EnvLocation(
            name,
            prefix,
            python,
            engine,
            False,
            python_version=version,
            problem=f"{python} belongs to {reported}, not to this env",
        )
    return EnvLocation(name, prefix, python, engine, True, python_version=version)


def locate_env(
    engine: Engine,
    name: str = DEFAULT_ENV_NAME,
    *,
    runner: Runner = run_tool,
    env: Mapping[str, str] | None = None,
) -> EnvLocation | None:
    """Find env ``name`` through ``engine`` and confirm its Python by running it.

    None when the env does not exist; an unconfirmed :class:`EnvLocation` (with
    ``problem``) when it exists but its Python is missing or broken.
    """
    prefix = locate_prefix(engine, name, runner=runner, env=env)
    if prefix is None:
        return None
    return confirm_env(name, prefix, engine.kind, runner=runner, env=env)


def find_env(
    name: str = DEFAULT_ENV_NAME, *, runner: Runner = run_tool, env: Mapping[str, str] | None = None
) -> EnvLocation | None:
    """Env ``name`` through any installed engine (doctor and labs use this): the first
    engine that knows it wins; the embedded engine's folders are looked at last. A tool
    that fails is skipped (the doctor reports tools separately)."""
    engines = [e for e in find_engines(env) if e.external]
    for engine in engines + [Engine("embedded", None, "folders")]:
        try:
            location = locate_env(engine, name, runner=runner, env=env)
        except EnvironmentProblem:
            continue
        if location is not None:
            return location
    return None
