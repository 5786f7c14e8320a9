"""pytest fixtures over the stand-ins; import them into a conftest with
``from tests.fakes.fixtures import *``."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes import install_condatool
from tests.fakes.condachannel import PY312, build_channel
from tests.fakes.pyindex import IndexServer, build_index, serve

__all__ = ["CondaStandIn", "conda_channel", "conda_standin", "clean_pip_env", "py312",
           "torch_index", "ck_env"]


@pytest.fixture(scope="session")
def py312() -> Path:
    """The machine's Python 3.12 (skip cleanly where it is missing)."""
    if not PY312.exists():
        pytest.skip(f"needs Python 3.12 at {PY312}")
    return PY312


@pytest.fixture(scope="session")
def conda_channel(tmp_path_factory: pytest.TempPathFactory, py312: Path) -> Path:
    """A local conda channel (python 3.12.1 + real pip + course packages), built once."""
    pytest.importorskip("rattler")
    return build_channel(tmp_path_factory.mktemp("conda-channel"))


@dataclass
class CondaStandIn:
    """A stand-in tool on a private PATH."""

    kind: str
    exe: Path
    root: Path
    log: Path
    env: dict[str, str]

    def calls(self) -> list[list[str]]:
        """Every argv the tool received (first item: the tool's name)."""
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def clean_pip_env(tmp_path: Path) -> dict[str, str]:
    """An environment with no ``PIP_*`` variables, ``PIP_CONFIG_FILE=/dev/null`` and a
    private HOME (this machine's pip config injects local indexes: envs/SOURCES.md T5)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "CONDA", "MAMBA", "PYTHON", "VIRTUAL_ENV", "JUPYTER"))}
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(PIP_CONFIG_FILE=os.devnull, HOME=str(home), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_CONFIG_HOME=str(home / ".config"))
    return env


@pytest.fixture
def ck_env(clean_pip_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """``clean_pip_env`` with a PATH holding only the system folders (no conda anywhere)."""
    env = dict(clean_pip_env)
    env["PATH"] = os.pathsep.join(["/usr/local/bin", "/usr/bin", "/bin"])
    env["COURSEKIT_HOME"] = str(tmp_path / "ck-home")
    return env


@pytest.fixture(params=["conda", "mamba", "micromamba"])
def conda_standin(request: pytest.FixtureRequest, tmp_path: Path, ck_env: dict[str, str]
                  ) -> CondaStandIn:
    """Each of conda, mamba and micromamba as a stand-in first on PATH."""
    pytest.importorskip("rattler")
    kind = str(request.param)
    bin_dir = tmp_path / f"{kind}-bin"
    exe = install_condatool(bin_dir, kind)
    root = tmp_path / f"{kind}-root"
    (root / "conda-meta").mkdir(parents=True)
    log = tmp_path / f"{kind}.log"
    env = dict(ck_env, PATH=os.pathsep.join([str(bin_dir), ck_env["PATH"]]),
               FAKE_CONDA_ROOT=str(root), FAKE_CONDA_LOG=str(log))
    return CondaStandIn(kind, exe, root, log, env)


@pytest.fixture(scope="session")
def torch_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """A PyTorch-style index on 127.0.0.1 (``/whl/cu126``, ``/whl/cpu``, ``/simple``)."""
    root = build_index(tmp_path_factory.mktemp("pyindex"))
    with serve(root) as server:
        yield server


def copy_tree(src: Path, dst: Path) -> None:
    """Copy an env (symlinks kept) for tests that damage it."""
    shutil.copytree(src, dst, symlinks=True)
