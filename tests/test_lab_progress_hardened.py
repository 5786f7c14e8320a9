"""progress.json with wrong types is set aside like a corrupt one and the grade just measured is
kept (issue 10, item 10); a COURSEKIT_HOME that cannot be written is exit 3 with a fix line,
after the result is shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coursekit.errors import ExitCode
from coursekit.lab import progress as prog
from tests.helpers import run_cli


@pytest.mark.parametrize(("field", "value"), [
    ("best_score", "abc"), ("best_score", "7"), ("hints_shown", "x"), ("hints_shown", 1.5),
    ("passed", "yes"), ("number", True), ("max_score", [5]), ("folder", 3),
])
def test_wrong_types_are_set_aside_with_a_warning(tmp_path: Path, field: str, value: object) -> None:
    path = tmp_path / "progress.json"
    path.write_text(json.dumps({"format_version": 1, "labs": {"gradient-flow": {field: value}}}),
                    encoding="utf-8")
    loaded = prog.load(path)
    assert loaded.labs == {} and loaded.warnings and field in loaded.warnings[0]
    assert list(tmp_path.glob("progress.json.corrupt-*"))
    prog.record_grade(loaded, "gradient-flow", 1, 3, 5, False)  # the grade just measured
    prog.next_hint(loaded, "gradient-flow", 3)
    prog.save(loaded, path)
    again = prog.load(path)
    assert again.labs["gradient-flow"]["best_score"] == 3 and not again.warnings


def test_hint_with_a_hand_edited_progress_file_is_not_exit_4(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "progress.json").write_text(json.dumps(
        {"format_version": 1, "labs": {"gradient-flow": {"best_score": "abc", "hints_shown": "x"}}}),
        encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli(["lab", "1", "--hint"], env={"COURSEKIT_HOME": str(home)})
    assert result.code == ExitCode.OK, result.stderr
    assert "hint 1 of" in result.stdout and "damaged" in result.stderr


def test_an_unwritable_home_is_exit_3_with_a_fix_after_the_handout(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = run_cli(["lab", "1"], env={"COURSEKIT_HOME": str(blocker / "home")})
    assert result.code == ExitCode.ENVIRONMENT, result.stdout + result.stderr
    assert "handed out" in result.stdout  # the lab itself was still laid out and shown
    assert "could not save your progress" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr
