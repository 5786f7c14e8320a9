"""Issue 13 items 3 and 7 through the CLI: the lab is known from the folder you stand in, bad
numbers list the valid ones, and with --json every error is one JSON object on stdout."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from coursekit.errors import ExitCode
from tests.helpers import run_cli
from tests.labhelpers import FIXTURE_COURSE


from tests.prereqs import need_module
@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import coursekit.resources

    monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: FIXTURE_COURSE)
    work = tmp_path / "course-work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize("where", [".", "sub", "sub/deeper"])
def test_actions_inside_a_lab_folder_need_no_number(course: Path, where: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli(["lab", "2"])  # another lab beside it must not confuse the lookup
    run_cli(["lab", "1"])
    inside = course / "lab01-fixture" / where
    inside.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(inside)
    hint = run_cli(["lab", "--hint", "--json"])
    assert hint.code == ExitCode.OK, hint
    assert json.loads(hint.stdout)["lab"] == 1
    solution = run_cli(["lab", "--solution"])
    assert solution.code == ExitCode.FAILED and "lab 1" in solution.stderr  # not passed yet


def test_reset_from_a_subfolder_needs_no_number(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_cli(["lab", "1"])
    sub = course / "lab01-fixture" / "notes"
    sub.mkdir()
    monkeypatch.chdir(sub)
    result = run_cli(["lab", "--reset", "--json"])
    assert result.code == ExitCode.OK, result
    assert json.loads(result.stdout)["lab"] == 1


@pytest.mark.torch
@pytest.mark.slow
def test_check_inside_the_lab_folder_needs_no_number(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    need_module("torch")
    run_cli(["lab", "1"])
    monkeypatch.chdir(course / "lab01-fixture")
    result = run_cli(["lab", "--check", "--json", "--python", sys.executable])
    assert result.code == ExitCode.FAILED, result  # the starter
    assert json.loads(result.stdout)["lab"] == 1


def test_outside_a_lab_folder_the_question_lists_the_labs(course: Path) -> None:
    result = run_cli(["lab", "--check"])
    assert result.code == ExitCode.USAGE
    assert "which lab?" in result.stderr and "1, 2" in result.stderr


@pytest.mark.parametrize("arg", ["-1", "abc", "99", "0", "1.5"])
def test_bad_numbers_list_the_valid_ones(course: Path, arg: str) -> None:
    result = run_cli(["lab", arg])
    assert result.code == ExitCode.USAGE, result
    assert "the labs are: 1, 2." in result.stderr, result.stderr
    data = json.loads(run_cli(["lab", arg, "--check", "--json"]).stdout)
    assert "the labs are: 1, 2." in data["error"]["message"]


def test_a_mistyped_option_is_still_no_such_option(course: Path) -> None:
    result = run_cli(["lab", "--chekc"])
    assert result.code == ExitCode.USAGE and "No such option" in result.stderr


ERRORS = [
    (["lab", "99", "--json"], ExitCode.USAGE, "usage"),
    (["lab", "1", "--check", "--json"], ExitCode.USAGE, "usage"),  # not handed out
    (["lab", "--json", "--nope"], ExitCode.USAGE, "usage"),
    (["progress", "--json", "--nope"], ExitCode.USAGE, "usage"),
    (["doctor", "--json", "--from", "missing-report.json"], ExitCode.USAGE, "usage"),
    (["setup", "--json", "--dry-run", "--os", "plan9"], ExitCode.USAGE, "usage"),
    (["lab", "1", "--solution", "--json"], ExitCode.FAILED, "failed"),
]


@pytest.mark.parametrize(("args", "code", "kind"), ERRORS, ids=lambda v: str(v))
def test_every_error_with_json_is_one_json_object(course: Path, args: list[str], code: int,
                                                  kind: str) -> None:
    result = run_cli(args)
    assert result.code == code, result
    data = json.loads(result.stdout)  # the whole of stdout is one object
    assert list(data) == ["error"]
    assert set(data["error"]) == {"kind", "message", "fix", "exit_code"}
    assert data["error"]["exit_code"] == code and data["error"]["kind"] == kind
    assert data["error"]["message"]


def test_a_crash_with_json_is_kind_internal(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coursekit.lab.service

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(coursekit.lab.service, "list_labs", boom)
    result = run_cli(["lab", "--json"])
    assert result.code == ExitCode.INTERNAL
    err = json.loads(result.stdout)["error"]
    assert err["kind"] == "internal" and "boom" in err["message"] and err["exit_code"] == 4


def test_without_json_errors_stay_off_stdout(course: Path) -> None:
    result = run_cli(["lab", "99"])
    assert result.stdout == "" and "error:" in result.stderr


# --- item 4: hints that fit ------------------------------------------------------------------

HINTED_TOML = '''format_version = 1
number = 1
slug = "fixture"
title = "Fixture lab for the engine tests"
version = 1
timeout_s = 60
memory_mb = 1500
student_files = ["work.py"]

[hints]
imports = ["imports 1", "imports 2"]
answer_is_42 = ["answer 1", "answer 2", "answer 3"]
tensor_is_finite = ["tensor 1"]
'''


@pytest.fixture
def hinted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import shutil

    import coursekit.resources

    root = tmp_path / "labs"
    shutil.copytree(FIXTURE_COURSE / "01-fixture", root / "01-fixture")
    (root / "01-fixture" / "lab.toml").write_text(HINTED_TOML)
    monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: root)
    monkeypatch.chdir(tmp_path)
    return root


def _graded(failing: list[str], ungraded: list[str] | None = None) -> None:
    from coursekit.lab import progress as prog

    progress = prog.load()
    prog.record_grade(progress, "fixture", 1, 0, 5, not failing and not ungraded, failing=failing,
                      ungraded=ungraded or [])
    prog.save(progress)


def _hint() -> dict[str, object]:
    result = run_cli(["lab", "1", "--hint", "--json"])
    assert result.code == ExitCode.OK, result
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_hints_follow_the_first_failing_check(hinted: Path) -> None:
    first = _hint()  # never checked: the first check
    assert (first["check"], first["hints"], first["new"]) == ("imports", ["imports 1"], True)
    _graded(["tensor_is_finite", "answer_is_42"])  # grader order decides: answer_is_42 first
    data = _hint()
    assert (data["check"], data["hints"], data["total"]) == ("answer_is_42", ["answer 1"], 3)
    assert _hint()["hints"] == ["answer 1", "answer 2"]
    text = run_cli(["lab", "1", "--hint"]).stdout
    assert "first failing check: answer() returns 42" in text
    assert "hint 3 of 3: answer 3" in text and "that was the last hint" in text
    again = run_cli(["lab", "1", "--hint"])
    assert "no more hints for this check" in again.stdout and "hint 3 of 3" in again.stdout
    assert _hint()["no_more"] is True
    _graded(["tensor_is_finite"])  # fixed that one: the next check's hints start at 1
    assert _hint()["hints"] == ["tensor 1"]


def test_a_not_graded_check_is_hinted_only_when_nothing_failed(hinted: Path) -> None:
    _graded(["tensor_is_finite"], ungraded=["imports"])
    assert _hint()["check"] == "tensor_is_finite"
    _graded([], ungraded=["answer_is_42"])
    assert _hint()["check"] == "answer_is_42"


def test_after_a_pass_there_is_nothing_to_hint(hinted: Path) -> None:
    _graded([])
    data = _hint()
    assert data["passed"] is True and data["hints"] == []
    assert "no hint needed" in run_cli(["lab", "1", "--hint"]).stdout


def test_every_real_lab_has_hints_for_every_check_in_grader_order() -> None:
    from coursekit.lab.checking import expected_checks
    from coursekit.lab.manifest import discover_labs

    for spec in discover_labs():
        names = [c.name for c in expected_checks(spec.grader_path)]
        assert [name for name, _ in spec.check_hints] == names, spec.slug
        assert all(items for _, items in spec.check_hints)
