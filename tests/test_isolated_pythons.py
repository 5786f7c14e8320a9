"""Every Python coursekit starts runs isolated from the current folder (issue 10, item 3): a
``json.py``, ``subprocess.py``, ``site.py``, ``asyncio.py``, ``pip/`` or ``torch/`` planted where
the student runs coursekit is never imported by the built-in engine's helper, the env checks,
the doctor's probe, pip or the grading worker. Each planted module writes a marker when imported
(and then fails), so any import of it is seen."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.prereqs import need_module
REPO = Path(__file__).resolve().parent.parent
PLANTED = ("json", "subprocess", "site", "asyncio", "argparse", "platform", "struct")


def _plant(folder: Path) -> Path:
    marker = folder / "IMPORTED"
    body = (f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
            "raise ImportError('planted module imported from the current folder')\n")
    for name in PLANTED:
        (folder / f"{name}.py").write_text(body, encoding="utf-8")
    for package in ("torch", "pip", "rattler"):
        (folder / package).mkdir()
        (folder / package / "__init__.py").write_text(body, encoding="utf-8")
    return marker


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    marker = _plant(work)
    monkeypatch.chdir(work)
    return marker


def test_engine_helper_command_ignores_the_current_folder(planted: Path, tmp_path: Path) -> None:
    """setup's own form of the built-in engine's helper (``-I -c``): the planted json.py,
    site.py, asyncio.py, argparse.py and rattler/ are never imported, also with PYTHONPATH
    pointing at them, and the helper really runs (py-rattler's own error for a missing channel,
    a plain exit 1, no crash at exit)."""
    need_module("rattler")
    from coursekit.setup.engines import drivers
    from coursekit.setup.engines.base import Engine

    channel = (tmp_path / "no-channel").as_uri()
    engine = Engine("embedded", None, "py-rattler")
    argv = drivers.create_argv(engine, "pt", [channel], ["python=3.12"], prefix=tmp_path / "env",
                               cache_dir=tmp_path / "cache")
    env = {**os.environ, "PYTHONPATH": str(planted.parent), "PYTHONSTARTUP": str(planted.parent / "site.py")}
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert not planted.exists(), planted.read_text()
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "error:" in done.stderr and "planted" not in done.stderr, done.stderr
    assert "solving 1 specs from" in done.stdout  # it got as far as py-rattler's solver


def test_env_confirmation_and_jupyter_folder_ignore_the_current_folder(planted: Path) -> None:
    from coursekit.setup.engines.discovery import confirm_env
    from coursekit.setup.run.kernel import data_dir

    prefix = Path(sys.prefix)
    if not (prefix / ("python.exe" if os.name == "nt" else "bin/python")).exists():
        pytest.skip("the test interpreter is not laid out like an env")
    confirm_env("pt", prefix, "conda")
    data_dir(Path(sys.executable), dict(os.environ), sys.platform)
    assert not planted.exists(), planted.read_text()


def test_pip_fix_commands_run_isolated(planted: Path) -> None:
    from coursekit.doctor.fixes import FixAction, apply_fix
    from coursekit.proc import run_tool

    action = FixAction("reinstall-torch", "pip --version", ("torch-missing",),
                       commands=((sys.executable, "-m", "pip", "--version"),))
    outcome = apply_fix(action, runner=run_tool, os_name=sys.platform)
    assert outcome.ok, outcome
    assert not planted.exists(), planted.read_text()


@pytest.mark.slow
@pytest.mark.realtool
def test_doctor_probe_of_a_python_ignores_the_current_folder(planted: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONPATH=str(REPO), HOME=str(tmp_path), NO_COLOR="1")
    # the user's `coursekit` entry script never puts the current folder on sys.path; -P does the
    # same for `python -m coursekit` here
    result = subprocess.run([sys.executable, "-P", "-m", "coursekit", "doctor", "--python",
                             sys.executable, "--json"], capture_output=True, text=True,
                            timeout=600, env=env, check=False)
    assert result.returncode in (0, 1, 3), result.stderr[-2000:]
    assert not planted.exists(), planted.read_text()
    assert '"status": "ok"' in result.stdout  # the probe ran and answered


@pytest.mark.slow
@pytest.mark.realtool
@pytest.mark.torch
def test_lab_check_ignores_planted_modules_in_the_student_folder(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    need_module("torch")
    from coursekit.lab.checking import Status, grade
    from coursekit.lab.manifest import discover_labs

    spec = discover_labs(REPO / "tests" / "fixtures_labs" / "course")[0]
    folder = tmp_path / "lab01-fixture"
    shutil.copytree(REPO / "tests" / "fixtures_labs" / "course" / "01-fixture" / "solution", folder)
    marker = _plant(folder)
    monkeypatch.chdir(folder)
    report = grade(spec, folder, sys.executable)
    assert not marker.exists(), marker.read_text()
    assert report.status is Status.PASSED, [c.message for c in report.checks]
