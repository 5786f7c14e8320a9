"""``coursekit lab`` and ``coursekit progress`` through the CLI, against the fixture course."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.errors import EnvironmentProblem, ExitCode, UsageError
from coursekit.lab.interpreter import choose_python, fallback_pt_python
from tests.helpers import run_cli
from tests.labhelpers import FIXTURE_COURSE
from tests.prereqs import need_module


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture course as the installed labs/, and a fresh working folder as cwd."""
    import coursekit.resources

    monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: FIXTURE_COURSE)
    work = tmp_path / "course-work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_list_shows_state_and_next_step(course: Path) -> None:
    result = run_cli(["lab"])
    assert result.code == ExitCode.OK
    assert "Fixture lab for the engine tests" in result.stdout and "not started" in result.stdout
    assert "next: coursekit lab 1" in result.stdout


@pytest.mark.parametrize("arg", ["0", "99", "abc", "-1x"])
def test_bad_lab_numbers_are_usage_errors(course: Path, arg: str) -> None:
    result = run_cli(["lab", "--", arg] if arg.startswith("-") else ["lab", arg])
    assert result.code == ExitCode.USAGE, result
    assert "error:" in result.stderr and "fix:" in result.stderr and "Traceback" not in result.stderr


def test_one_action_at_a_time(course: Path) -> None:
    assert run_cli(["lab", "1", "--check", "--hint"]).code == ExitCode.USAGE
    assert run_cli(["lab", "--check"]).code == ExitCode.USAGE


def test_handout_twice_and_next_step(course: Path) -> None:
    first = run_cli(["lab", "1"])
    assert first.code == ExitCode.OK and "lab01-fixture" in first.stdout
    assert "coursekit lab 1 --check" in first.stdout
    work = course / "lab01-fixture" / "work.py"
    work.write_text("edited\n")
    second = run_cli(["lab", "1"])
    assert second.code == ExitCode.OK and "kept (your version)" in second.stdout
    assert work.read_text() == "edited\n"
    listing = run_cli(["lab"])
    assert "in progress" in listing.stdout and "--check" in listing.stdout


def test_handout_with_dir(course: Path, tmp_path: Path) -> None:
    result = run_cli(["lab", "1", "--dir", str(tmp_path / "elsewhere"), "--json"])
    assert result.code == ExitCode.OK
    data = json.loads(result.stdout)
    assert data["folder"] == str(tmp_path / "elsewhere" / "lab01-fixture") and data["created"]


def test_check_without_folder_is_a_usage_error(course: Path) -> None:
    result = run_cli(["lab", "1", "--check"])
    assert result.code == ExitCode.USAGE and "coursekit lab 1" in result.stderr


def test_check_with_missing_python_is_a_usage_error(course: Path) -> None:
    run_cli(["lab", "1"])
    result = run_cli(["lab", "1", "--check", "--python", str(course / "no-python")])
    assert result.code == ExitCode.USAGE and "--python" in result.stderr


@pytest.mark.torch
@pytest.mark.slow
def test_check_pass_json_progress_and_solution(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_module("torch")
    run_cli(["lab", "1"])
    folder = course / "lab01-fixture"
    assert run_cli(["lab", "1", "--solution"]).code == ExitCode.FAILED  # not passed yet
    shutil.copy(FIXTURE_COURSE / "01-fixture" / "solution" / "work.py", folder / "work.py")
    monkeypatch.chdir(folder)  # --check from inside the lab folder
    result = run_cli(["lab", "1", "--check", "--json", "--python", sys.executable])
    assert result.code == ExitCode.OK, result
    data = json.loads(result.stdout)
    assert {k: data[k] for k in ("lab", "passed", "score", "max_score")} == {
        "lab": 1, "passed": True, "score": 5, "max_score": 5}
    assert [set(c) >= {"name", "passed", "points", "message"} for c in data["checks"]] == [True] * 3
    assert "grading with Python" in result.stderr  # progress on stderr, JSON alone on stdout
    progress = run_cli(["progress", "--json"])
    row = json.loads(progress.stdout)["labs"][0]
    assert (row["state"], row["score"], row["max_score"]) == ("passed", 5, 5)
    solution = run_cli(["lab", "1", "--solution"])
    assert solution.code == ExitCode.OK and (folder / "solution" / "work.py").is_file()


@pytest.mark.torch
@pytest.mark.slow
def test_check_not_yet_text_and_broken_grader(course: Path) -> None:
    need_module("torch")
    run_cli(["lab", "1"])
    result = run_cli(["lab", "1", "--check"])  # the starter, from the course folder
    assert result.code == ExitCode.FAILED, result
    assert "FAIL answer() returns 42  [0/2]" in result.stdout and "score 1/5" in result.stdout
    assert "--hint" in result.stdout
    run_cli(["lab", "2"])
    broken = run_cli(["lab", "2", "--check"])
    assert broken.code == ExitCode.ENVIRONMENT and "not your fault" in broken.stderr


def test_no_python_with_torch_is_exit_3(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coursekit.lab.interpreter as interp

    monkeypatch.setattr(interp, "current_has_torch", lambda: False)
    monkeypatch.setattr(interp, "find_pt_python", lambda: None)
    run_cli(["lab", "1"])
    result = run_cli(["lab", "1", "--check"])
    assert result.code == ExitCode.ENVIRONMENT and "coursekit setup" in result.stderr


def test_hints_are_progressive(course: Path) -> None:
    outs = [run_cli(["lab", "1", "--hint"]).stdout for _ in range(4)]
    assert "hint 1 of 3: first hint" in outs[0] and "hint 2 of 3" not in outs[0]
    assert "hint 2 of 3: second hint" in outs[1]
    assert "hint 3 of 3: third hint" in outs[3] and "ask again" not in outs[3]


def test_reset_keeps_a_backup(course: Path) -> None:
    run_cli(["lab", "1"])
    (course / "lab01-fixture" / "work.py").write_text("attempt\n")
    result = run_cli(["lab", "1", "--reset"])
    assert result.code == ExitCode.OK and "moved your previous work to" in result.stdout
    backups = list(course.glob("lab01-fixture.backup-*"))
    assert len(backups) == 1 and (backups[0] / "work.py").read_text() == "attempt\n"


def test_reset_from_inside_the_lab_folder(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli(["lab", "1"])
    folder = course / "lab01-fixture"
    (folder / "work.py").write_text("attempt\n")
    monkeypatch.chdir(folder)
    result = run_cli(["lab", "1", "--reset"])
    assert result.code == ExitCode.OK and "your shell is still inside the backup" in result.stdout
    backup = next(course.glob("lab01-fixture.backup-*"))
    assert (backup / "work.py").read_text() == "attempt\n"
    assert (folder / "work.py").read_text() != "attempt\n"


def test_corrupt_progress_is_a_warning_not_a_crash(course: Path) -> None:
    import os

    home = Path(os.environ["COURSEKIT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "progress.json").write_bytes(b"\x00\xff garbage")
    result = run_cli(["progress"])
    assert result.code == ExitCode.OK and "warning:" in result.stderr
    assert list(home.glob("progress.json.corrupt-*"))


def test_invalid_lab_toml_is_a_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coursekit.resources

    broken = tmp_path / "labs"
    shutil.copytree(FIXTURE_COURSE / "01-fixture", broken / "01-fixture")
    (broken / "01-fixture" / "lab.toml").write_bytes(b"number = \xff\n")
    monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: broken)
    monkeypatch.chdir(tmp_path)
    result = run_cli(["lab"])
    assert result.code == ExitCode.USAGE and "lab.toml" in result.stderr


def test_choose_python_precedence(tmp_path: Path) -> None:
    exe = tmp_path / "python"
    exe.write_text("")
    assert choose_python(str(exe)).reason == "--python"
    with pytest.raises(UsageError):
        choose_python(str(tmp_path / "missing"))
    assert choose_python(None, current="/cur", has_torch=lambda: True).path == "/cur"
    pt = choose_python(None, has_torch=lambda: False, find_pt=lambda: exe)
    assert pt.path == str(exe) and "pt" in pt.reason
    with pytest.raises(EnvironmentProblem) as info:
        choose_python(None, has_torch=lambda: False, find_pt=lambda: None)
    assert "coursekit setup" in (info.value.fix or "")


def test_fallback_pt_lookup(tmp_path: Path) -> None:
    python = tmp_path / "base" / "envs" / "pt" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    if sys.platform != "win32":
        assert fallback_pt_python({"CONDA_PREFIX": str(tmp_path / "base")}) == python
        assert fallback_pt_python({"CONDA_PREFIX": str(tmp_path / "base" / "envs" / "other")}) == python
    assert fallback_pt_python({}) is None


def test_lab_list_imports_no_heavy_module() -> None:
    code = ("import sys; from coursekit.cli import run; run(['lab']); "
            "bad = [m for m in ('torch', 'matplotlib', 'numpy', 'psutil') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_choose_python_makes_a_relative_path_absolute_and_keeps_a_venv_symlink(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The grader runs in another folder, where `--python venv/bin/python` would not start
    # (it did: exit 3 "could not be started"); resolving the symlink would leave the venv.
    real = tmp_path / "base" / "python3"
    real.parent.mkdir()
    real.write_text("")
    link = tmp_path / "venv" / "bin" / "python"
    link.parent.mkdir(parents=True)
    link.symlink_to(real)
    monkeypatch.chdir(tmp_path)
    assert choose_python(str(Path("venv") / "bin" / "python")).path == str(link)


def test_an_unwritable_progress_folder_is_exit_3_and_the_grade_still_shows(
        course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10 item 10: the result is shown, then exit 3 with a fix line (was exit 4 once,
    then a warning with exit 0, which a script could not tell from a saved result)."""
    need_module("torch")
    home = course / "not-a-folder"
    home.write_text("COURSEKIT_HOME names a file")
    monkeypatch.setenv("COURSEKIT_HOME", str(home))
    handout = run_cli(["lab", "1"])
    assert handout.code == ExitCode.ENVIRONMENT, handout
    assert "could not save your progress" in handout.stderr and "COURSEKIT_HOME" in handout.stderr
    assert "fix:" in handout.stderr
    shutil.copy(FIXTURE_COURSE / "01-fixture" / "solution" / "work.py", course / "lab01-fixture" / "work.py")
    result = run_cli(["lab", "1", "--check", "--python", sys.executable])
    assert result.code == ExitCode.ENVIRONMENT, result
    assert "score 5/5" in result.stdout and "could not save your progress" in result.stderr


def test_a_lab_folder_that_cannot_be_created_is_exit_3_not_a_crash(course: Path) -> None:
    (course / "afile").write_text("")
    result = run_cli(["lab", "1", "--dir", str(course / "afile" / "sub")])
    assert result.code == ExitCode.ENVIRONMENT, result
    assert "cannot write the lab folder" in result.stderr and "fix:" in result.stderr
