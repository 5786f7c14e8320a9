"""Issue 13, items 1 and 2: a check is passed, failed or not graded (shown and counted apart),
and what the student's code printed during a check is shown under that check and in --json."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coursekit.grading.sandbox import CHECK_OUTPUT_LINES, SandboxOutcome, _Segments
from coursekit.lab.checking import ExpectedCheck, Status, Verdict, decide, grade
from coursekit.lab.manifest import discover_labs
from coursekit.lab.service import CheckRun
from coursekit.render import Console
from coursekit.render.lab import check, check_json, summary_line
from tests.labhelpers import FIXTURE_COURSE, FIXTURE_STUDENTS

from tests.prereqs import need_module
SPEC = discover_labs(FIXTURE_COURSE)[0]
EXPECTED = (ExpectedCheck("a", "A", 1), ExpectedCheck("b", "B", 2), ExpectedCheck("c", "C", 3))
MARK = b"\x1ecoursekit-output-test"


def _outcome(code: int | None = 0, **kw: Any) -> SandboxOutcome:
    base: dict[str, Any] = {"timed_out": False, "memory_exceeded": False, "peak_rss_mb": 0.0,
                                "output_head": "", "output_tail": "", "output_bytes": 0, "duration_s": 1.0}
    base.update(kw)
    return SandboxOutcome(code, **base)


def _ready() -> list[dict[str, Any]]:
    return [{"e": "ready", "python": "3.11", "torch": "2.13"},
            {"e": "loaded", "checks": ["a", "b", "c"]}]


def _result(name: str, passed: bool, error: bool = False) -> list[dict[str, Any]]:
    return [{"e": "begin", "name": name},
            {"e": "result", "name": name, "passed": passed, "error": error, "message": "m"}]


def _text(run: CheckRun) -> str:
    out = io.StringIO()
    check(Console(out=out, err=out, color=False), run, as_json=False)
    return out.getvalue()


def test_environment_error_marks_every_check_not_graded_with_the_reason() -> None:
    report = decide(SPEC, EXPECTED, [], False, _outcome(start_error="no such file"))
    assert report.status is Status.ERROR
    assert [c.verdict for c in report.checks] == [Verdict.NOT_GRADED] * 3
    assert all("could not be started" in c.message for c in report.checks)
    assert report.count(Verdict.FAILED) == 0 and report.ungraded_points == 6


def test_checks_after_a_timeout_are_not_graded_the_running_one_failed() -> None:
    events = _ready() + _result("a", True) + [{"e": "begin", "name": "b"}]
    report = decide(SPEC, EXPECTED, events, False, _outcome(None, timed_out=True))
    assert [c.verdict for c in report.checks] == [Verdict.PASSED, Verdict.FAILED,
                                                  Verdict.NOT_GRADED]
    assert "'B' did not finish" in report.checks[2].message
    assert report.status is Status.NOT_YET


def test_a_grader_bug_on_one_check_is_not_graded_the_others_keep_their_verdict() -> None:
    events = _ready() + _result("a", False) + _result("b", False, error=True) + _result("c", True)
    report = decide(SPEC, EXPECTED, events + [{"e": "done"}], False, _outcome())
    assert [c.verdict for c in report.checks] == [Verdict.FAILED, Verdict.NOT_GRADED,
                                                  Verdict.PASSED]
    assert report.status is Status.ERROR
    assert summary_line(report).endswith("1 passed, 1 failed, 1 not graded "
                                         "(2 points could not be graded)")


@given(st.lists(st.sampled_from(["pass", "fail", "error", "missing"]), min_size=3, max_size=3))
def test_counts_always_add_up_and_not_graded_never_scores(kinds: list[str]) -> None:
    events = _ready()
    for name, kind in zip("abc", kinds):
        if kind != "missing":
            events += _result(name, kind == "pass", error=kind == "error")
    report = decide(SPEC, EXPECTED, events + [{"e": "done"}], False, _outcome())
    counts = [report.count(v) for v in Verdict]
    assert sum(counts) == 3
    assert all(c.points == 0 for c in report.checks if c.verdict is not Verdict.PASSED)
    assert report.count(Verdict.PASSED) == kinds.count("pass")
    assert report.count(Verdict.NOT_GRADED) == kinds.count("error") + kinds.count("missing")
    assert report.passed == (kinds == ["pass"] * 3)


def test_not_graded_is_shown_apart_from_a_failure() -> None:
    events = _ready() + _result("a", False) + [{"e": "begin", "name": "b"}]
    report = decide(SPEC, EXPECTED, events, False, _outcome(None, timed_out=True))
    text = _text(CheckRun(report, "", "next"))
    fail_line = next(line for line in text.splitlines() if line.strip().startswith("FAIL") and " A" in line)
    na_line = next(line for line in text.splitlines() if " C " in line + " ")
    assert "N/A" in na_line and "not graded" in na_line and "[0/3]" not in na_line
    assert "[0/1]" in fail_line
    assert "not graded, no points lost:" in text
    assert "2 failed" in text and "1 not graded" in text
    data = check_json(report)
    assert [c["verdict"] for c in data["checks"]] == ["failed", "failed", "not-graded"]
    assert data["counts"] == {"passed": 0, "failed": 2, "not_graded": 1}


def _segments(chunks: list[bytes]) -> dict[str, tuple[str, int]]:
    seg = _Segments(MARK)
    for chunk in chunks:
        seg.feed(chunk)
    seg.close()
    return seg.result()


def test_output_is_split_per_check_keeping_the_last_lines_and_the_cut_count() -> None:
    lines = b"".join(b"line %d\n" % i for i in range(35))
    stream = (b"before\n\n" + MARK + b" a\n" + lines + b"\n" + MARK + b" \n" + b"between\n"
              + b"\n" + MARK + b" b\n" + b"no newline at the end" + b"\n" + MARK + b" \n")
    out = _segments([stream])
    assert out["a"] == ("\n".join(f"line {i}" for i in range(15, 35)), 15)
    assert out["b"] == ("no newline at the end", 0)
    assert set(out) == {"a", "b"}


@given(st.binary(max_size=300), st.integers(min_value=1, max_value=50))
def test_splitting_does_not_depend_on_how_the_pipe_cuts_the_stream(noise: bytes, size: int) -> None:
    noise = noise.replace(b"\x1e", b"")
    stream = MARK + b" a\n" + noise + b"\n" + MARK + b" \n"
    whole = _segments([stream])
    pieces = _segments([stream[i:i + size] for i in range(0, len(stream), size)])
    assert whole == pieces
    text, _cut = whole.get("a", ("", 0))
    assert len(text.split("\n")) <= CHECK_OUTPUT_LINES




def _grade(tmp_path: Path, student: str) -> Any:
    need_module("torch")
    folder = tmp_path / "lab01-fixture"
    folder.mkdir()
    shutil.copy(FIXTURE_STUDENTS / student / "work.py", folder / "work.py")
    return grade(SPEC, folder, sys.executable)


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.realtool
def test_student_prints_show_under_their_check_and_in_json(tmp_path: Path) -> None:
    report = _grade(tmp_path, "chatty")
    by = {c.name: c for c in report.checks}
    assert by["imports"].output == "importing work.py"
    assert by["answer_is_42"].output.split("\n") == [f"debug line {i}" for i in range(10, 30)]
    assert by["answer_is_42"].output_cut == 10 and by["answer_is_42"].verdict is Verdict.FAILED
    assert by["tensor_is_finite"].output == "\n".join(["tensor coming"] * 3)  # one per seed
    data = check_json(report)
    assert data["checks"][0]["output"] == "importing work.py"
    assert data["checks"][1]["output_cut"] == 10
    text = _text(CheckRun(report, "", "next"))
    assert "10 earlier lines cut" in text and "| debug line 29" in text
    assert "| debug line 9" not in text


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.realtool
def test_output_before_the_worker_dies_stays_with_the_check(tmp_path: Path) -> None:
    report = _grade(tmp_path, "prints-then-exits")
    by = {c.name: c for c in report.checks}
    assert by["answer_is_42"].output == "about to leave"
    assert by["answer_is_42"].verdict is Verdict.FAILED
    assert by["tensor_is_finite"].verdict is Verdict.PASSED and by["tensor_is_finite"].output == ""
    assert json.dumps(check_json(report))  # serialisable
    assert dataclasses.asdict(report.checks[0])


def test_figure_paths_are_relative_to_where_the_student_stands(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "course" / "lab01-fixture"
    (folder / "figures").mkdir(parents=True)
    events = _ready() + _result("a", True) + _result("b", True) + _result("c", True)
    events[3]["message"] = "flow -0.2. Figure: figures/fixture.png"
    report = dataclasses.replace(decide(SPEC, EXPECTED, events + [{"e": "done"}], False, _outcome()),
                                 folder=folder, figures=("fixture.png",))
    monkeypatch.chdir(tmp_path / "course")
    text = _text(CheckRun(report, "", "next"))
    assert "Figure: lab01-fixture/figures/fixture.png" in text
    assert "figures: lab01-fixture/figures/fixture.png" in text
    assert check_json(report)["figures"] == ["lab01-fixture/figures/fixture.png"]
    monkeypatch.chdir(folder)
    assert "Figure: figures/fixture.png" in _text(CheckRun(report, "", "next"))
    monkeypatch.chdir(folder / "figures")
    assert "figures: fixture.png" in _text(CheckRun(report, "", "next"))
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert "../course/lab01-fixture/figures/fixture.png" in _text(CheckRun(report, "", "next"))
