"""One env name, read from the spec everywhere (issue 16 item 1).

With ``[env] name = "dl"`` in the course spec, setup's plan, the doctor and lab grading's
choice of interpreter all use ``dl`` and never ``pt``; ``--env`` still overrides the doctor.
A decoy env ``pt`` is present so that anything still looking for ``pt`` finds it and fails.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from coursekit.constants import DEFAULT_ENV_NAME
from coursekit.jsondata import to_jsonable

ROOT = Path(__file__).resolve().parents[1]
PT = re.compile(r"(?<![\w-])pt(?![\w-])")


def _spec(tmp_path: Path, name: str = "dl") -> Path:
    text = (ROOT / "envs" / "course.toml").read_text(encoding="utf-8")
    changed = re.sub(r'(?m)^name = "pt"', f'name = "{name}"', text, count=1)
    assert changed != text, "envs/course.toml names its env on a `name = ...` line"
    path = tmp_path / "course.toml"
    path.write_text(changed, encoding="utf-8")
    return path


def _conda_env(root: Path, name: str) -> Path:
    prefix = root / "envs" / name
    (prefix / "conda-meta").mkdir(parents=True)
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").write_text("#!/bin/sh\nexit 1\n")
    (prefix / "bin" / "python").chmod(0o755)
    return prefix


@pytest.fixture
def dl_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """COURSEKIT_ENV_SPEC names the env 'dl'; no conda tool on PATH; a decoy env 'pt'."""
    home = tmp_path / "ck"
    _conda_env(home, "pt")
    env = {"COURSEKIT_ENV_SPEC": str(_spec(tmp_path)), "COURSEKIT_HOME": str(home),
           "COURSEKIT_OFFLINE": "1", "HOME": str(tmp_path / "home"), "PATH": str(tmp_path / "bin")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in ("CONDA_EXE", "MAMBA_EXE", "CONDA_PREFIX", "CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"):
        monkeypatch.delenv(key, raising=False)
    return env


def test_the_spec_names_the_env(dl_world: dict[str, str]) -> None:
    from coursekit.setup.plan.envspec import course_env_name

    assert course_env_name() == "dl"
    assert course_env_name({"COURSEKIT_ENV_SPEC": "/nonexistent/course.toml"}) == DEFAULT_ENV_NAME


def test_setup_plans_dl_and_names_no_pt(dl_world: dict[str, str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from coursekit.setup.plan.request import SetupRequest, build_plan
    from coursekit.setup.run import service

    asked: list[str] = []

    def resolve(name: str, env_name: str = "?", **kw: object) -> object:
        asked.append(env_name)
        raise service.EnvironmentProblem("no tool", "install one")

    monkeypatch.setattr(service, "resolve_engine", resolve)
    engine = service.plan_engine("auto")
    assert asked == ["dl"] and engine == "conda"
    for kind in ("conda", "micromamba", "embedded"):
        plan = build_plan(SetupRequest(engine=kind, os="linux", arch="x86_64"), env=dl_world)
        assert plan.env_name == "dl"
        text = json.dumps(to_jsonable(plan))
        assert PT.findall(text) == [], text
        assert "Python (dl)" in text and "-n dl" in " ".join(plan.step("create_env").argv)


def test_the_doctor_looks_for_dl_and_env_overrides(dl_world: dict[str, str]) -> None:
    from coursekit.doctor.collect import CollectOptions, env_check
    from coursekit.doctor.service import DoctorRequest

    missing = env_check(CollectOptions(environ=dl_world))
    assert missing.name == "dl" and not missing.exists
    _conda_env(Path(dl_world["COURSEKIT_HOME"]), "dl")
    found = env_check(CollectOptions(environ=dl_world))
    assert found.name == "dl" and found.exists
    assert found.prefix == str(Path(dl_world["COURSEKIT_HOME"]) / "envs" / "dl")
    assert PT.findall(json.dumps(to_jsonable(found))) == []
    assert env_check(CollectOptions(env_name="pt", environ=dl_world)).name == "pt"  # --env
    assert DoctorRequest().env_name is None  # resolved from the spec when collecting


def test_doctor_json_names_dl(dl_world: dict[str, str]) -> None:
    from tests.helpers import run_cli

    result = run_cli(["doctor", "--json"], env=dl_world)
    data = json.loads(result.stdout)
    assert data["facts"]["env"]["name"] == "dl"
    missing = [f for f in data["findings"] if f["id"] == "env-missing"]
    assert missing and "'dl'" in missing[0]["title"]
    assert PT.findall(json.dumps([data["facts"]["env"], data["findings"]])) == []
    assert json.loads(run_cli(["doctor", "--json", "--env", "pt"], env=dl_world).stdout)[
        "facts"]["env"]["name"] == "pt"


def test_lab_grading_looks_for_dl(dl_world: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from coursekit.errors import EnvironmentProblem
    from coursekit.lab import interpreter

    with pytest.raises(EnvironmentProblem) as info:
        interpreter.choose_python(None, has_torch=lambda: False, find_pt=lambda: None)
    assert "'dl'" in str(info.value) and not PT.findall(str(info.value))
    assert interpreter.find_pt_python() is None  # the decoy 'pt' is not taken
    prefix = _conda_env(Path(dl_world["COURSEKIT_HOME"]), "dl")
    assert interpreter.fallback_pt_python(dl_world) == prefix / "bin" / "python"
    choice = interpreter.choose_python(None, has_torch=lambda: False,
                                       find_pt=lambda: prefix / "bin" / "python")
    assert choice.reason == "the course env 'dl'"


def test_no_pt_literal_is_left_in_the_code() -> None:
    """The default lives in one place (constants.DEFAULT_ENV_NAME); the spec decides."""
    hits = []
    for path in sorted((ROOT / "coursekit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value == "pt":
                hits.append(str(path.relative_to(ROOT)))
    assert hits == ["coursekit/constants.py"]
