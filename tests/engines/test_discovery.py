"""Engine discovery and env location against stand-in tools on a private PATH."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from coursekit.errors import EnvironmentProblem, UsageError
from coursekit.setup.engines.base import env_python
from coursekit.setup.engines.discovery import (
    choose_engine,
    embedded_env_prefix,
    find_engines,
    find_env,
    locate_env,
    resolve_engine,
)
from tests.fakes import install_condatool
from tests.fakes.fixtures import CondaStandIn
from tests.helpers import make_fake_exe
from tests.prereqs import need_module


def _env(tmp_path: Path, bin_dir: Path | None = None, **extra: str) -> dict[str, str]:
    path = os.pathsep.join(([str(bin_dir)] if bin_dir else []) + ["/usr/bin", "/bin"])
    return {"PATH": path, "HOME": str(tmp_path / "home"),
            "COURSEKIT_HOME": str(tmp_path / "ck"), **extra}


def test_env_python_per_os() -> None:
    assert env_python(Path("/e/pt"), "linux") == Path("/e/pt/bin/python")
    assert env_python(Path("C:/e/pt"), "windows") == Path("C:/e/pt/python.exe")


def test_auto_order_and_env_vars(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    for kind in ("conda", "mamba", "micromamba"):
        make_fake_exe(bin_dir, kind, "exit 0\n")
    other = make_fake_exe(tmp_path / "elsewhere", "conda", "exit 0\n")
    env = _env(tmp_path, bin_dir, CONDA_EXE=str(other))
    kinds = [(e.kind, e.source) for e in find_engines(env)]
    assert kinds[:4] == [("micromamba", "PATH"), ("mamba", "PATH"), ("conda", "CONDA_EXE"),
                         ("conda", "PATH")]
    assert choose_engine("auto", env).kind == "micromamba"
    assert choose_engine("conda", env).exe == other  # CONDA_EXE before PATH


def test_mamba_exe_names_micromamba(tmp_path: Path) -> None:
    mm = make_fake_exe(tmp_path / "mm", "micromamba", "exit 0\n")
    env = _env(tmp_path, None, MAMBA_EXE=str(mm))
    engine = choose_engine("auto", env)
    assert (engine.kind, engine.exe, engine.source) == ("micromamba", mm, "MAMBA_EXE")


def test_nothing_installed_gives_embedded(tmp_path: Path) -> None:
    need_module("rattler")
    engine = choose_engine("auto", _env(tmp_path))
    assert engine.kind == "embedded" and engine.exe is None


def test_unknown_or_missing_engine(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        choose_engine("pixi", _env(tmp_path))
    with pytest.raises(EnvironmentProblem, match="no 'mamba' found"):
        choose_engine("mamba", _env(tmp_path))


def test_embedded_env_goes_to_conda_envs_folder_when_it_exists(tmp_path: Path) -> None:
    env = _env(tmp_path)
    assert embedded_env_prefix("pt", env) == tmp_path / "ck" / "envs" / "pt"
    (tmp_path / "home" / ".conda" / "envs").mkdir(parents=True)
    assert embedded_env_prefix("pt", env) == tmp_path / "home" / ".conda" / "envs" / "pt"


@pytest.mark.realtool
def test_locate_env_through_each_tool(conda_standin: CondaStandIn, conda_channel: Path) -> None:
    env = conda_standin.env
    engine = choose_engine(conda_standin.kind, env)
    assert engine.exe == conda_standin.exe
    assert locate_env(engine, "pt", env=env) is None
    subprocess.run([conda_standin.exe, "create", "-y", "-n", "pt", "--override-channels", "-c",
                    conda_channel.as_uri(), "python 3.12.*", "pip"], env=env, check=True)
    location = locate_env(engine, "pt", env=env)
    assert location is not None and location.confirmed, location
    assert location.prefix == conda_standin.root / "envs" / "pt"
    assert location.python == location.prefix / "bin" / "python"
    assert location.python_minor == "3.12"
    assert find_env("pt", env=env) == location
    assert [c[1:] for c in conda_standin.calls()][:2] == [
        ["env", "list", "--json"],
        ["create", "-y", "-n", "pt", "--override-channels", "-c", conda_channel.as_uri(),
         "python 3.12.*", "pip"]]


def test_broken_env_is_found_but_not_confirmed(tmp_path: Path) -> None:
    env = _env(tmp_path)
    prefix = embedded_env_prefix("pt", env)
    (prefix / "conda-meta").mkdir(parents=True)
    location = find_env("pt", env=env)
    assert location is not None and not location.confirmed
    assert "no Python" in (location.problem or "")
    (prefix / "bin").mkdir()
    make_fake_exe(prefix / "bin", "python", "echo 'Segmentation fault' >&2; exit 139\n")
    location = find_env("pt", env=env)
    assert location is not None and not location.confirmed
    assert "Segmentation fault" in (location.problem or "")


def test_python_of_another_prefix_is_rejected(tmp_path: Path) -> None:
    env = _env(tmp_path)
    prefix = embedded_env_prefix("pt", env)
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").symlink_to(os.path.realpath("/usr/bin/python3"))
    location = find_env("pt", env=env)
    assert location is not None and not location.confirmed
    assert "not to this env" in (location.problem or "")


def test_tool_failure_is_an_environment_problem(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    install_condatool(bin_dir, "conda")
    env = _env(tmp_path, bin_dir, FAKE_CONDA_ROOT=str(tmp_path / "r"), FAKE_CONDA_FAIL="env")
    with pytest.raises(EnvironmentProblem, match="simulated failure"):
        locate_env(choose_engine("conda", env), "pt", env=env)


def _standin(tmp_path: Path, kind: str, bin_dir: Path) -> Path:
    install_condatool(bin_dir, kind)
    root = tmp_path / f"{kind}-root"
    (root / "conda-meta").mkdir(parents=True)
    return root


def test_auto_keeps_the_engine_that_has_the_env(tmp_path: Path) -> None:
    need_module("rattler")
    # Two tools with different roots (a conda install and a separate micromamba).
    conda_bin, mm_bin = tmp_path / "conda-bin", tmp_path / "mm-bin"
    conda_root = _standin(tmp_path, "conda", conda_bin)
    mm_root = _standin(tmp_path, "micromamba", mm_bin)
    env = _env(tmp_path, None, FAKE_CONDA_ROOT=str(conda_root), FAKE_MICROMAMBA_ROOT=str(mm_root))
    env["PATH"] = os.pathsep.join([str(mm_bin), str(conda_bin), env["PATH"]])
    assert resolve_engine("auto", "pt", env=env).kind == "micromamba"  # nobody has pt yet
    (conda_root / "envs" / "pt" / "conda-meta").mkdir(parents=True)
    assert resolve_engine("auto", "pt", env=env).kind == "conda"  # conda has it: keep it
    assert resolve_engine("micromamba", "pt", env=env).kind == "micromamba"  # asked for


def test_auto_keeps_an_env_the_embedded_engine_made(tmp_path: Path) -> None:
    need_module("rattler")
    mm_bin = tmp_path / "mm-bin"
    root = _standin(tmp_path, "micromamba", mm_bin)
    env = _env(tmp_path, mm_bin, FAKE_CONDA_ROOT=str(root))
    assert resolve_engine("auto", "pt", env=env).kind == "micromamba"
    (embedded_env_prefix("pt", env) / "conda-meta").mkdir(parents=True)
    assert resolve_engine("auto", "pt", env=env).kind == "embedded"
    assert resolve_engine("micromamba", "pt", env=env).kind == "micromamba"


@pytest.mark.parametrize(("shim", "real"), [
    ("miniforge3/condabin/conda.bat", "miniforge3/Scripts/conda.exe"),  # conda's own layout
    ("miniforge3/condabin/mamba.bat", "miniforge3/Library/bin/mamba.exe"),
    ("tools/conda.bat", None),  # nothing behind it: the shim itself is still used
])
def test_windows_shims_are_replaced_by_the_program_behind_them(tmp_path: Path, shim: str,
                                                               real: str | None) -> None:
    """Running conda.bat hands the arguments to cmd.exe, where `pandas>=2` is a redirection
    and `&` in a channel URL starts a second command; the .exe behind the shim gets them as
    they are (and CONDA_EXE plus a PATH hit on the shim is one conda, not two)."""
    for name in (shim, real):
        if name:
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text("")
    kind = Path(shim).stem
    env = _env(tmp_path, None, CONDA_EXE=str(tmp_path / shim))
    engines = [(e.kind, e.exe) for e in find_engines(env) if e.external]
    assert engines == [(kind, tmp_path / (real or shim))]
    if real is not None:  # the shim and the program it runs, named twice: one engine
        env["MAMBA_EXE"] = str(tmp_path / real)
        assert [(e.kind, e.exe) for e in find_engines(env) if e.external] == engines
