"""Out of the box on a machine without conda (issue 10, item 1): py-rattler is a default
dependency, the plan names the engine that will really run, and with the built-in engine every
step of the text plan pastes (no ``conda create`` for an env conda will not own, no literal
``{env_python}``), for this machine and for a plan of another OS."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from tests.helpers import run_cli

from tests.prereqs import need_module
if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent


def test_py_rattler_is_a_default_dependency() -> None:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(d.replace(" ", "").startswith("py-rattler==") for d in meta["dependencies"])
    assert not any("rattler" in d for d in meta["optional-dependencies"].get("embedded", []))


def _no_conda(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    """This machine as a bare laptop: no conda/mamba/micromamba anywhere coursekit looks."""
    for var in ("CONDA_EXE", "MAMBA_EXE", "MAMBA_ROOT_PREFIX", "CONDA_PREFIX", "CONDA_ENVS_PATH",
                "CONDA_ENVS_DIRS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(home / "empty-bin"))
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("COURSEKIT_HOME", str(home / "ck"))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")


def _steps(out: str) -> list[str]:
    lines = out.splitlines()
    start = lines.index("Steps (paste them in order):")
    return [line.strip() for line in lines[start + 1:]
            if line.startswith("     ") and line.strip()]


def test_without_conda_the_plan_is_the_built_in_engine_and_pastes_as_setup_runs_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_module("rattler")
    _no_conda(monkeypatch, tmp_path)
    result = run_cli(["setup", "--dry-run"])
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "with coursekit's built-in engine" in out
    assert "conda create" not in out and "{env_python}" not in out
    steps = _steps(out)
    assert len(steps) == 5
    # step 1 is exactly the command setup itself runs to create the env
    from coursekit.setup.engines.base import env_python
    from coursekit.setup.engines.discovery import embedded_env_prefix

    prefix = embedded_env_prefix("pt")
    first = shlex.split(steps[0])
    assert first[:4] == [sys.executable, "-m", "coursekit.setup.engines.embedded", "create"]
    assert first[first.index("--prefix") + 1] == str(prefix)
    assert "python=3.12" in first and first[first.index("-c") + 1] == "conda-forge"
    # every later step runs the env's own Python, by its real path
    for step in steps[1:]:
        assert shlex.split(step)[0] == str(env_python(prefix)), step


@pytest.mark.parametrize("os_name", ["linux", "macos", "windows"])
def test_no_placeholder_and_no_conda_create_in_any_built_in_text_plan(os_name: str) -> None:
    result = run_cli(["setup", "--dry-run", "--engine", "embedded", "--os", os_name],
                     env={"COURSEKIT_OFFLINE": "1"})
    assert result.code == 0, result.stderr
    assert "{env_python}" not in result.stdout and "conda create" not in result.stdout
    steps = _steps(result.stdout)
    assert "-m coursekit.setup.engines.embedded create --prefix" in steps[0]
    if os_name == "windows":
        assert all(s.startswith('& "$env:LOCALAPPDATA\\coursekit\\envs\\pt\\python.exe" -m ')
                   or s.startswith('& "$env:LOCALAPPDATA\\coursekit\\envs\\pt\\python.exe" -c ')
                   for s in steps[1:]), steps
    else:
        assert all(shlex.split(s)[0].endswith("/coursekit/envs/pt/bin/python") for s in steps[1:])


@pytest.mark.parametrize("os_name", ["linux", "macos", "windows"])
def test_conda_text_plans_have_no_placeholder_either(os_name: str) -> None:
    result = run_cli(["setup", "--dry-run", "--engine", "conda", "--os", os_name],
                     env={"COURSEKIT_OFFLINE": "1"})
    assert "{env_python}" not in result.stdout


def test_no_message_points_at_course_material_that_does_not_exist() -> None:
    for folder in ("coursekit",):
        for path in (REPO / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "course's Colab" not in text, path


def test_readme_quick_start_puts_the_student_first() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    quick = text[text.index("## Quick start"):text.index("## Commands")]
    order = [quick.index(s) for s in ("coursekit setup", "coursekit doctor", "coursekit lab 1",
                                      "bash .ci/run")]
    assert order == sorted(order), "student commands come before the developer's"
    assert "_COURSEKIT_COMPLETE=bash_source coursekit" in quick


def test_documented_shell_completion_works() -> None:
    import subprocess

    env = {"_COURSEKIT_COMPLETE": "bash_complete", "COMP_WORDS": "coursekit se", "COMP_CWORD": "1",
           "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", "from coursekit.cli import main; main()"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert "setup" in out.stdout
