"""How ``class grade`` turns what a worker did into a row (fake workers: no torch, instant)."""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from coursekit.grading.sandbox import SandboxOutcome
from coursekit.grading.sealed import _is_lab_secret, _under
from coursekit.instructor import classgrade as cg
from coursekit.instructor.submissions import Submission
from tests.labhelpers import FIXTURE_COURSE

SUB = Submission("in/ada", "ada", {"work.py": b"x"})


@pytest.fixture
def graders(monkeypatch: pytest.MonkeyPatch) -> cg.Graders:
    import coursekit.resources

    monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: FIXTURE_COURSE)
    return cg.load_graders("1", None)


def fake_worker(events: list[dict[str, Any]], *, timed_out: bool = False, memory: bool = False,
                returncode: int | None = 0, extra_lines: tuple[str, ...] = ()) -> Any:
    def sandbox(argv: list[str], *, stdin_text: str, on_event_line: Any, **kw: Any) -> SandboxOutcome:
        cfg = json.loads(stdin_text)
        key = bytes.fromhex(cfg["key"])
        assert "student_dir" in cfg and cfg["read_roots"] and cfg["deny_roots"]
        for event in events:
            payload = json.dumps(event, sort_keys=True)
            mac = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
            on_event_line(json.dumps({"p": payload, "m": mac}))
        for line in extra_lines:
            on_event_line(line)
        return SandboxOutcome(returncode, timed_out, memory, 10.0, "", "", 0, 1.0)
    return sandbox


READY = [{"e": "ready", "python": "3.11", "torch": "2.13"},
         {"e": "loaded", "checks": ["imports", "answer_is_42", "tensor_is_finite"]}]


def result(name: str, passed: bool) -> list[dict[str, Any]]:
    return [{"e": "begin", "name": name},
            {"e": "result", "name": name, "passed": passed, "error": False, "message": "m"}]


def grade(g: cg.Graders, sandbox: Any) -> cg.GradeRow:
    return cg.grade_submission(SUB, g, sys.executable, sandbox=sandbox)


def test_all_passed_is_graded_full_marks(graders: cg.Graders) -> None:
    events = READY + result("imports", True) + result("answer_is_42", True) \
        + result("tensor_is_finite", True) + [{"e": "done"}]
    row = grade(graders, fake_worker(events))
    assert (row.verdict, row.score, row.max_score, row.passed) == ("graded", 5, 5, True)
    assert row.content_hash == SUB.content_hash and row.graders_hash == graders.hash


def test_a_timeout_keeps_the_points_earned_before_it(graders: cg.Graders) -> None:
    events = READY + result("imports", True) + [{"e": "begin", "name": "answer_is_42"}]
    row = grade(graders, fake_worker(events, timed_out=True, returncode=-9))
    assert (row.verdict, row.score, row.passed) == ("timeout", 1, False)


def test_a_dead_worker_is_a_crash(graders: cg.Graders) -> None:
    events = READY + result("imports", True) + [{"e": "begin", "name": "answer_is_42"}]
    assert grade(graders, fake_worker(events, returncode=-11)).verdict == "crash"
    assert grade(graders, fake_worker(events, memory=True, returncode=-9)).verdict == "crash"


def test_a_claimed_pass_without_a_done_is_not_a_pass(graders: cg.Graders) -> None:
    events = READY + result("imports", True) + result("answer_is_42", True) \
        + result("tensor_is_finite", True)
    row = grade(graders, fake_worker(events, returncode=0))
    assert row.verdict == "crash" and not row.passed


def test_one_unsigned_line_makes_the_whole_run_invalid(graders: cg.Graders) -> None:
    events = READY + result("imports", True) + result("answer_is_42", True) \
        + result("tensor_is_finite", True) + [{"e": "done"}]
    forged = json.dumps({"p": json.dumps({"e": "result", "name": "imports", "passed": True}),
                         "m": "0" * 64})
    row = grade(graders, fake_worker(events, extra_lines=(forged,)))
    assert (row.verdict, row.score) == ("invalid", 0)


def test_extra_or_renamed_checks_from_the_worker_are_not_points(graders: cg.Graders) -> None:
    events = [READY[0], {"e": "loaded", "checks": ["imports", "bonus"]}] + result("bonus", True) \
        + [{"e": "done"}]
    row = grade(graders, fake_worker(events))
    assert row.verdict == "could-not-grade" and row.score == 0 and "bonus" not in row.points


def test_an_invalid_submission_never_starts_a_worker(graders: cg.Graders) -> None:
    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("started")
    row = cg.grade_submission(Submission("x.zip", "x", invalid="path traversal"), graders,
                              sys.executable, sandbox=boom)
    assert (row.verdict, row.message, row.score) == ("invalid", "path traversal", 0)


@pytest.mark.parametrize("path,secret", [
    ("/site/coursekit/_data/labs/02-x/solution/vanishing.py", True),
    ("/repo/labs/02-x/mistakes/a/vanishing.py.diff", True),
    ("/anything/grader.py", True),
    ("/site/torch/nn/init.py", False),
    ("/tmp/s/student/vanishing.py", False),
    ("/home/me/solution/notes.py", False),
])
def test_lab_secrets_are_recognised_wherever_installed(path: str, secret: bool) -> None:
    assert _is_lab_secret(path) is secret


def test_under_is_a_folder_test_not_a_prefix_test() -> None:
    import os
    assert _under(os.sep + os.path.join("a", "b", "c"), (os.sep + os.path.join("a", "b"),))
    assert not _under(os.sep + os.path.join("a", "bc"), (os.sep + os.path.join("a", "b"),))
