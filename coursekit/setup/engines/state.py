"""What is already in a course env: conda packages (read from ``conda-meta/``) and pip
distributions (from the fast state probe run by the env's Python). Setup's per-step "already
done?" checks are pure functions over an :class:`EnvState`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coursekit.proc import Runner, run_tool
from coursekit.setup.engines.base import EnvLocation

STATE_PROBE = Path(__file__).resolve().with_name("_stateprobe.py")
PROBE_TIMEOUT_S = 60.0
CONDA_TORCH_PACKAGES = ("pytorch", "pytorch-cpu", "pytorch-gpu", "libtorch")
"""conda-forge's torch packages: the distribution ``torch`` owned by conda (envs/SOURCES.md
P5.1)."""


@dataclass(frozen=True)
class Dist:
    """One installed copy of a pip distribution."""

    name: str
    version: str
    installer: str | None
    location: str | None
    files_missing: int = 0
    has_record: bool = True
    requires: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        """Every file its RECORD lists is on disk."""
        return self.files_missing == 0


@dataclass(frozen=True)
class EnvState:
    """Facts about one env; ``probe_error`` says why the pip side could not be read."""

    location: EnvLocation | None
    conda: dict[str, str] = field(default_factory=dict)  # conda package name -> version
    dists: dict[str, tuple[Dist, ...]] = field(default_factory=dict)
    probe_error: str | None = None

    @property
    def exists(self) -> bool:
        return self.location is not None

    @property
    def usable(self) -> bool:
        """The env's Python runs and belongs to the env."""
        return self.location is not None and self.location.confirmed

    def copies(self, name: str) -> tuple[Dist, ...]:
        """Every installed copy of ``name`` (PEP 503 name: ``ruamel.yaml`` is ``ruamel-yaml``,
        as the state probe keys them)."""
        return self.dists.get(re.sub(r"[-_.]+", "-", name).lower(), ())

    def one(self, name: str) -> Dist | None:
        """The only installed copy of ``name``, or None (missing or duplicated)."""
        found = self.copies(name)
        return found[0] if len(found) == 1 else None

    @property
    def pip_version(self) -> str | None:
        pip = self.one("pip")
        return pip.version if pip else None

    @property
    def conda_torch(self) -> tuple[str, ...]:
        """conda packages that own a torch (should be none)."""
        return tuple(n for n in CONDA_TORCH_PACKAGES if n in self.conda)


def conda_packages(prefix: Path) -> dict[str, str]:
    """``name -> version`` from ``conda-meta/*.json`` file names (``name-version-build``)."""
    meta = prefix / "conda-meta"
    out: dict[str, str] = {}
    if meta.is_dir():
        for entry in meta.glob("*.json"):
            parts = entry.name[:-5].rsplit("-", 2)
            if len(parts) == 3:
                out[parts[0]] = parts[1]
    return out


def _parse(stdout: str) -> dict[str, tuple[Dist, ...]]:
    data = json.loads(stdout.strip().splitlines()[-1])
    dists: dict[str, tuple[Dist, ...]] = {}
    for name, items in data["dists"].items():
        dists[name] = tuple(
            Dist(
                name,
                str(i["version"]),
                i.get("installer"),
                i.get("location"),
                int(i.get("files_missing", 0)),
                bool(i.get("has_record", True)),
                tuple(i.get("requires") or ()),
            )
            for i in items
        )
    return dists


def read_state(
    location: EnvLocation | None,
    names: Iterable[str],
    *,
    runner: Runner = run_tool,
    env: Mapping[str, str] | None = None,
) -> EnvState:
    """Read the env's state; never raises (a broken env is a state, not an error)."""
    if location is None:
        return EnvState(None)
    conda = conda_packages(location.prefix)
    if not location.confirmed:
        return EnvState(location, conda, probe_error=location.problem)
    child_env = dict(env) if env is not None else None
    if child_env is not None:
        child_env.pop("PYTHONPATH", None)
    result = runner([location.python, STATE_PROBE, *names], timeout=PROBE_TIMEOUT_S, env=child_env)
    if not result.ok:
        return EnvState(
            location, conda, probe_error=result.key_error_line() or "the state probe failed"
        )
    try:
        return EnvState(location, conda, _parse(result.stdout))
    except (ValueError, KeyError, IndexError, TypeError):
        return EnvState(location, conda, probe_error="the state probe printed garbage")
