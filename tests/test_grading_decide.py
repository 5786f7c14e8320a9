"""The verdict is a pure function of the grader's parsed checks, the signed events and
what the process did: plain inputs, no subprocess."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from coursekit.grading.sandbox import SandboxOutcome
from coursekit.lab.checking import (
    ExpectedCheck,
    GraderSourceError,
    Status,
    decide,
    expected_checks,
    verify_events,
)
from coursekit.lab.manifest import discover_labs
from tests.labhelpers import FIXTURE_COURSE

SPEC = discover_labs(FIXTURE_COURSE)[0]
EXPECTED = (ExpectedCheck("a", "A", 1), ExpectedCheck("b", "B", 2))
KEY = b"k" * 32


def _outcome(code: int | None = 0, **kw: Any) -> SandboxOutcome:
    base = dict(timed_out=False, memory_exceeded=False, peak_rss_mb=0.0, output_head="",
                output_tail="", output_bytes=0, duration_s=1.0)
    base.update(kw)
    return SandboxOutcome(code, **base)  # type: ignore[arg-type]


def _events(*results: tuple[str, bool], done: bool = True, error: bool = False) -> list[dict[str, Any]]:
    ev: list[dict[str, Any]] = [{"e": "ready", "python": "3.11", "torch": "2.13"},
                                {"e": "loaded", "checks": ["a", "b"]}]
    for name, passed in results:
        ev += [{"e": "begin", "name": name},
               {"e": "result", "name": name, "passed": passed, "error": error, "message": "m"}]
    return ev + ([{"e": "done"}] if done else [])


def test_all_passed_is_passed_with_points_from_the_source() -> None:
    events = _events(("a", True), ("b", True))
    events[3]["points"] = 99  # a worker cannot award points: the parent uses the grader source
    report = decide(SPEC, EXPECTED, events, False, _outcome())
    assert report.status is Status.PASSED and (report.score, report.max_score) == (3, 3)


def test_one_failure_is_not_yet() -> None:
    report = decide(SPEC, EXPECTED, _events(("a", True), ("b", False)), False, _outcome())
    assert report.status is Status.NOT_YET and report.score == 1


def test_missing_done_or_result_is_never_a_pass() -> None:
    assert decide(SPEC, EXPECTED, _events(("a", True), ("b", True), done=False), False,
                  _outcome()).status is Status.NOT_YET
    assert decide(SPEC, EXPECTED, _events(("a", True)), False, _outcome()).status is Status.NOT_YET


def test_forged_lines_fail_everything() -> None:
    report = decide(SPEC, EXPECTED, _events(("a", True), ("b", True)), True, _outcome())
    assert report.status is Status.NOT_YET and report.score == 0
    assert all("tampered" in c.message for c in report.checks)


def test_death_during_a_check_names_it_and_skips_the_rest() -> None:
    events = _events(("a", True), done=False) + [{"e": "begin", "name": "b"}]
    report = decide(SPEC, EXPECTED, events, False, _outcome(None, timed_out=True,
                                                            output_bytes=50_000_000))
    b = report.checks[1]
    assert "time limit of 60 s" in b.message and "50 MB of output" in b.message
    report = decide(SPEC, EXPECTED, events, False, _outcome(-11))
    assert "SIGSEGV" in report.checks[1].message


def test_env_and_grader_problems_are_errors() -> None:
    fatal = [{"e": "fatal", "kind": "env", "message": "torch could not be imported"}]
    report = decide(SPEC, EXPECTED, fatal, False, _outcome())
    assert report.status is Status.ERROR and "doctor" in (report.fix or "")
    assert decide(SPEC, EXPECTED, [], False, _outcome(1)).status is Status.ERROR
    assert decide(SPEC, EXPECTED, [], False, _outcome(start_error="no such file")).status is Status.ERROR
    broken = _events(("a", True), ("b", False), error=True)
    assert decide(SPEC, EXPECTED, broken, False, _outcome()).status is Status.ERROR
    mismatch = _events(("a", True), ("b", True))
    mismatch[1]["checks"] = ["a"]
    assert decide(SPEC, EXPECTED, mismatch, False, _outcome()).status is Status.ERROR


def _signed(event: dict[str, Any], key: bytes = KEY) -> str:
    payload = json.dumps(event)
    return json.dumps({"p": payload, "m": hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()})


def test_verify_events_accepts_only_lines_signed_with_the_key() -> None:
    good = _signed({"e": "done"})
    events, forged = verify_events([good, ""], KEY)
    assert events == [{"e": "done"}] and not forged
    for bad in (_signed({"e": "done"}, b"x" * 32), '{"p": "{}", "m": "00"}', "garbage", '"str"'):
        assert verify_events([good, bad], KEY) == ([{"e": "done"}], True)


def test_expected_checks_reads_names_points_and_titles(tmp_path: Path) -> None:
    grader = tmp_path / "grader.py"
    grader.write_text('from coursekit.grading.api import check\n'
                      '@check(points=3)\ndef one(lab):\n    """First check"""\n'
                      '@check()\ndef two(lab):\n    pass\n'
                      '@check(2, name="renamed")\ndef three(lab):\n    """Third"""\n'
                      'def helper():\n    pass\n')
    assert expected_checks(grader) == (ExpectedCheck("one", "First check", 3),
                                       ExpectedCheck("two", "two", 1),
                                       ExpectedCheck("renamed", "Third", 2))
    grader.write_text("POINTS = 2\n@check(points=POINTS)\ndef x(lab):\n    pass\n")
    with pytest.raises(GraderSourceError):
        expected_checks(grader)
    grader.write_text("def x(:\n")
    with pytest.raises(GraderSourceError):
        expected_checks(grader)
