"""``coursekit class grade`` end to end: real sealed workers on the fixture course and lab 2."""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import pytest

from coursekit.errors import ExitCode
from coursekit.instructor import classgrade as cg
from coursekit.instructor.submissions import Submission
from tests.helpers import run_cli
from tests.labhelpers import FIXTURE_COURSE, FIXTURE_STUDENTS

pytestmark = [pytest.mark.torch, pytest.mark.slow, pytest.mark.realtool]

SOLUTION = (FIXTURE_COURSE / "01-fixture" / "solution" / "work.py").read_text(encoding="utf-8")


@pytest.fixture
def graders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture course as the installed labs/, and a copy as an instructor's --graders DIR
    with a short time limit and one hidden check."""
    import coursekit.resources

    monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: FIXTURE_COURSE)
    dest = tmp_path / "graders"
    shutil.copytree(FIXTURE_COURSE, dest)
    toml = dest / "01-fixture" / "lab.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("timeout_s = 60", "timeout_s = 8"),
                    encoding="utf-8")
    with open(dest / "01-fixture" / "grader.py", "a", encoding="utf-8") as fh:
        fh.write('''

@check(points=3)
def hidden_answer_is_an_int(lab: LabContext) -> str:
    """a hidden check the students never saw"""
    value = lab.call(lab.load("work.py").answer)
    if type(value) is not int:
        raise CheckFailed(f"answer() returned {type(value).__name__}")
    return "int"
''')
    monkeypatch.chdir(tmp_path)
    return dest


def _student(root: Path, name: str, source: str) -> Path:
    folder = root / "in" / name
    folder.mkdir(parents=True)
    (folder / "work.py").write_text(source, encoding="utf-8")
    return folder


def test_a_class_with_every_kind_of_bad_submission(graders: Path, tmp_path: Path) -> None:
    _student(tmp_path, "good", SOLUTION)
    _student(tmp_path, "wrong", SOLUTION.replace("42", "41"))
    _student(tmp_path, "hangs", "while True:\n    pass\n")
    _student(tmp_path, "aborts", "import os\nos.abort()\n")
    (tmp_path / "in" / "nofile").mkdir()
    (tmp_path / "in" / "nofile" / ".coursekit-lab.json").write_text("{}")
    (tmp_path / "in" / "nofile" / "coursekit-submission.json").write_text("{}")
    for name in ("forge-results", "patch-grader", "patch-torch", "sys-exit-at-import", "crash"):
        shutil.copytree(FIXTURE_STUDENTS / name, tmp_path / "in" / name)
    out = tmp_path / "grades.csv"
    result = run_cli(["class", "grade", "1", str(tmp_path / "in"), "--graders", str(graders),
                      "--csv", str(out), "--json", "--jobs", "2", "--python", sys.executable])
    assert result.code == ExitCode.OK, result.stderr
    data = json.loads(result.stdout)
    rows = {r["student"]: r for r in data["rows"]}
    assert [c["name"] for c in data["checks"]][-1] == "hidden_answer_is_an_int"
    assert rows["good"]["verdict"] == "graded" and rows["good"]["passed"]
    assert rows["good"]["score"] == rows["good"]["max_score"] == 8
    assert rows["wrong"]["verdict"] == "graded" and rows["wrong"]["points"]["answer_is_42"] == 0
    assert rows["wrong"]["points"]["hidden_answer_is_an_int"] == 3
    assert rows["hangs"]["verdict"] == "timeout" and rows["hangs"]["score"] == 0
    assert rows["aborts"]["verdict"] == "crash" and rows["aborts"]["score"] == 0
    assert rows["nofile"]["verdict"] == "invalid" and "missing work.py" in rows["nofile"]["message"]
    for name in ("forge-results", "patch-grader", "patch-torch", "sys-exit-at-import", "crash"):
        assert not rows[name]["passed"], rows[name]
        assert rows[name]["points"]["answer_is_42"] == 0, rows[name]
    with open(out, encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert set(["student", "lab", "score", "max_score", "passed", "points:imports", "verdict",
                "seconds", "content_hash"]) <= set(table[0])
    assert {r["student"]: r["verdict"] for r in table}["hangs"] == "timeout"


def test_rerun_skips_what_was_graded_unless_forced(graders: Path, tmp_path: Path) -> None:
    _student(tmp_path, "a", SOLUTION)
    _student(tmp_path, "b", SOLUTION.replace("42", "41"))
    args = ["class", "grade", "1", str(tmp_path / "in"), "--graders", str(graders), "--json",
            "--python", sys.executable, "--jobs", "1"]
    first = json.loads(run_cli(args).stdout)
    assert first["summary"]["graded_now"] == 2
    _student(tmp_path, "c", SOLUTION)  # same content as a: a different student, graded from cache
    second = json.loads(run_cli(args).stdout)
    assert second["summary"]["graded_now"] == 0 and second["summary"]["from_cache"] == 3
    assert {r["student"]: r["score"] for r in second["rows"]} == {"a": 8, "b": 6, "c": 8}
    forced = json.loads(run_cli([*args, "--force"]).stdout)
    assert forced["summary"]["graded_now"] == 3
    # other graders: nothing is reused
    toml = graders / "01-fixture" / "grader.py"
    toml.write_text(toml.read_text(encoding="utf-8") + "\n# changed\n", encoding="utf-8")
    assert json.loads(run_cli(args).stdout)["summary"]["graded_now"] == 3


def test_a_python_that_cannot_run_is_could_not_grade_exit_3(graders: Path, tmp_path: Path) -> None:
    _student(tmp_path, "a", SOLUTION)
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    result = run_cli(["class", "grade", "1", str(tmp_path / "in"), "--graders", str(graders),
                      "--python", str(fake)])
    assert result.code == ExitCode.ENVIRONMENT
    assert "could-not-grade" in result.stdout


def test_usage_errors(graders: Path, tmp_path: Path) -> None:
    assert run_cli(["class", "grade", "1", str(tmp_path / "nothing-*.zip"),
                    "--python", sys.executable]).code == ExitCode.USAGE
    assert run_cli(["class", "grade", "9", str(tmp_path), "--python", sys.executable]).code == ExitCode.USAGE
    assert run_cli(["class", "grade", "1", str(tmp_path), "--graders", str(tmp_path / "no"),
                    "--python", sys.executable]).code == ExitCode.USAGE


def test_the_grade_is_decided_from_the_parsed_checks_not_the_worker(graders: Path) -> None:
    """A worker that reports an extra or a missing check cannot change the points."""
    from coursekit.grading.sandbox import SandboxOutcome

    g = cg.load_graders("1", graders)
    sub = Submission("x", "x", {"work.py": b"x"})

    def sandbox(argv: list[str], **kw: object) -> SandboxOutcome:
        return SandboxOutcome(0, False, False, 1.0, "", "", 0, 0.1)

    row = cg.grade_submission(sub, g, sys.executable, sandbox=sandbox)
    assert row.verdict == "could-not-grade" and row.score == 0
    assert set(row.points) == {c.name for c in g.expected}
