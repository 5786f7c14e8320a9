"""End to end: ``grade()`` runs the fixture course's grader in a real sandboxed worker
(the test interpreter, which has torch) against student code that misbehaves in every
way the issue lists. Each case spawns one worker (~1 s for ``import torch``)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from coursekit.errors import ExitCode
from coursekit.grading.sandbox import TAIL_BYTES
from coursekit.lab.checking import GradeReport, Status, grade
from coursekit.lab.manifest import LabSpec, discover_labs
from tests.labhelpers import FIXTURE_COURSE, FIXTURE_STUDENTS
from tests.prereqs import need_module

need_module("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow, pytest.mark.realtool]

FIXTURE, BROKEN = discover_labs(FIXTURE_COURSE)


def _folder(tmp_path: Path, source: Path) -> Path:
    folder = tmp_path / "lab01-fixture"
    folder.mkdir()
    shutil.copy(source, folder / "work.py")
    return folder


def _grade(tmp_path: Path, student: str, spec: LabSpec = FIXTURE, **limits: float) -> GradeReport:
    source = (FIXTURE_COURSE / "01-fixture" / student / "work.py" if student in ("starter", "solution")
              else FIXTURE_STUDENTS / student / "work.py")
    folder = _folder(tmp_path, source)
    return grade(dataclasses.replace(spec, **limits), folder, sys.executable)


def _messages(report: GradeReport) -> str:
    return "\n".join(f"{c.name}: {c.message}" for c in report.checks)


def test_solution_passes_with_score_and_figure(tmp_path: Path) -> None:
    events: list[str] = []
    folder = _folder(tmp_path, FIXTURE_COURSE / "01-fixture" / "solution" / "work.py")
    report = grade(FIXTURE, folder, sys.executable, on_event=lambda e: events.append(e["e"]))
    assert report.status is Status.PASSED, _messages(report)
    assert (report.score, report.max_score, report.exit_code) == (5, 5, ExitCode.OK)
    assert report.figures == ("fixture.png",) and (folder / "figures" / "fixture.png").is_file()
    assert events[0] == "ready" and events.count("begin") == 3 and events[-1] == "done"
    assert not (folder / "__pycache__").exists(), "the worker runs with -B"


def test_a_grader_in_the_student_folder_changes_nothing(tmp_path: Path) -> None:
    folder = _folder(tmp_path, FIXTURE_COURSE / "01-fixture" / "starter" / "work.py")
    (folder / "grader.py").write_text("from coursekit.grading.api import check\n"
                                      "@check(points=1)\ndef imports(lab):\n    return 'ok'\n")
    report = grade(FIXTURE, folder, sys.executable)
    assert report.status is Status.NOT_YET and report.max_score == 5


def test_starter_is_not_yet(tmp_path: Path) -> None:
    report = _grade(tmp_path, "starter")
    assert report.status is Status.NOT_YET and report.exit_code == ExitCode.FAILED
    assert report.score == 1 and "NotImplementedError" in _messages(report)


@pytest.mark.parametrize(("student", "words"), [
    ("wrong-answer", "returned 41, not 42"),
    ("sys-exit-at-import", "called sys.exit(3) while being imported"),
    ("syntax-error", "line 1: syntax error"),
    ("not-utf8", "can't decode byte 0xe9"),
    ("nan", "NaN"),
    ("crash", "crashed the Python interpreter (SIGSEGV)"),
    ("os-exit-in-check", "ended the grading process"),
    ("patch-torch", "replaced torch.isfinite"),
    ("patch-grader", "replaced coursekit.grading.api.CheckFailed"),
    ("patch-tensor-method", "replaced torch.Tensor.sum"),
    ("forge-results", "tampered with"),
])
def test_misbehaving_student_code_gets_a_clear_verdict(tmp_path: Path, student: str,
                                                       words: str) -> None:
    if student in ("forge-results", "crash") and not sys.platform.startswith("linux"):
        pytest.skip("uses /proc or a Linux signal")
    report = _grade(tmp_path, student)
    assert report.status is Status.NOT_YET, (report.problem, _messages(report))
    assert report.exit_code == ExitCode.FAILED
    assert not report.passed and report.score < report.max_score
    assert words in _messages(report), _messages(report)


def test_after_a_crash_a_fresh_worker_grades_the_other_checks(tmp_path: Path) -> None:
    events: list[dict[str, object]] = []
    folder = _folder(tmp_path, FIXTURE_STUDENTS / "os-exit-in-check" / "work.py")
    report = grade(FIXTURE, folder, sys.executable, on_event=events.append)
    by_name = {c.name: c for c in report.checks}
    assert by_name["imports"].passed and by_name["tensor_is_finite"].passed
    assert "ended the grading process" in by_name["answer_is_42"].message
    assert report.status is Status.NOT_YET and report.score == 3
    assert [e["after"] for e in events if e["e"] == "restart"] == ["answer_is_42"]


def test_restarts_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import coursekit.lab.checking

    monkeypatch.setattr(coursekit.lab.checking, "MAX_RESTARTS", 1)
    report = _grade(tmp_path, "crash")  # crashes at import, so in every check
    assert [("SIGSEGV" in c.message) for c in report.checks] == [True, True, False]
    assert report.checks[2].message.startswith("not run")


@pytest.mark.timeout(90)
def test_endless_loop_is_killed_with_its_children(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import coursekit.lab.checking

    monkeypatch.setattr(coursekit.lab.checking, "HEARTBEAT_S", 1.0)
    events: list[dict[str, object]] = []
    folder = _folder(tmp_path, FIXTURE_STUDENTS / "hang-with-child" / "work.py")
    report = grade(dataclasses.replace(FIXTURE, timeout_s=30), folder, sys.executable,
                   on_event=events.append)
    beats = [e for e in events if e["e"] == "still-running"]
    assert beats and beats[-1]["name"] == "answer_is_42", "a long check shows a heartbeat"
    assert report.status is Status.NOT_YET
    by_name = {c.name: c.message for c in report.checks}
    assert "did not finish within the lab's time limit of 30 s" in by_name["answer_is_42"]
    assert "not run" in by_name["tensor_is_finite"]
    pid = int((tmp_path / "lab01-fixture" / "child.pid").read_text())
    for _ in range(50):  # the kill is synchronous; allow the kernel a moment to reap
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "the student's child process survived the kill"


def test_processes_left_running_are_killed_after_a_normal_finish(tmp_path: Path) -> None:
    report = _grade(tmp_path, "leaves-child-running")
    assert report.status is Status.PASSED, _messages(report)
    pid = int((tmp_path / "lab01-fixture" / "child.pid").read_text())
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "a process the student's code started outlived grading"


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.timeout(90)
def test_memory_hog_is_stopped(tmp_path: Path) -> None:
    report = _grade(tmp_path, "memory-hog", memory_mb=700)
    assert report.status is Status.NOT_YET
    assert "memory cap of 700 MB" in _messages(report), _messages(report)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux")
def test_huge_single_allocation_is_refused_by_the_address_space_cap(tmp_path: Path) -> None:
    report = _grade(tmp_path, "huge-allocation")
    assert report.status is Status.NOT_YET
    message = report.checks[1].message
    assert "can't allocate memory" in message and "memory cap of 1500 MB" in message, message
    assert report.checks[2].passed, "grading went on after the refused allocation"


def test_output_flood_is_capped_and_the_verdict_stays_right(tmp_path: Path) -> None:
    report = _grade(tmp_path, "flood-then-answer")
    assert report.status is Status.PASSED, _messages(report)
    assert 0 < len(report.output_tail) <= TAIL_BYTES


def test_student_file_missing_or_a_folder_is_a_verdict(tmp_path: Path) -> None:
    folder = tmp_path / "lab01-fixture"
    (folder / "work.py").mkdir(parents=True)
    report = grade(FIXTURE, folder, sys.executable)
    assert report.status is Status.NOT_YET and "work.py is missing" in _messages(report)


def test_broken_grader_is_an_error_not_the_students_fault(tmp_path: Path) -> None:
    folder = _folder(tmp_path, FIXTURE_COURSE / "02-broken-grader" / "solution" / "work.py")
    report = grade(BROKEN, folder, sys.executable)
    assert report.status is Status.ERROR and report.exit_code == ExitCode.ENVIRONMENT
    assert "grader failed" in (report.problem or "") and "NameError" in (report.problem or "")
    assert "not your fault" in (report.fix or "")


def test_python_without_torch_is_an_environment_error(tmp_path: Path) -> None:
    from tests.prereqs import require_python

    python = require_python("3.12")  # a base Python 3.12 has no torch
    folder = _folder(tmp_path, FIXTURE_COURSE / "01-fixture" / "solution" / "work.py")
    report = grade(FIXTURE, folder, str(python))
    assert report.status is Status.ERROR and report.exit_code == ExitCode.ENVIRONMENT
    assert "torch could not be imported" in (report.problem or "")
    assert "coursekit doctor" in (report.fix or "")


@pytest.mark.skipif(sys.platform == "win32", reason="the fake interpreter is a /bin/sh script")
def test_python_that_dies_at_start_is_an_environment_error(tmp_path: Path) -> None:
    from tests.helpers import make_fake_exe

    python = make_fake_exe(tmp_path / "bin", "python", "echo 'fatal: broken env' >&2\nexit 1\n")
    folder = _folder(tmp_path, FIXTURE_COURSE / "01-fixture" / "solution" / "work.py")
    report = grade(FIXTURE, folder, str(python))
    assert report.status is Status.ERROR and "your code had not run yet" in (report.problem or "")
    assert "broken env" in report.output_tail


def test_a_temp_folder_that_cannot_be_removed_does_not_crash_the_grade(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows keeps a killed worker's files locked for a moment; rmtree then fails (WinError 32).
    import errno

    from coursekit.grading.sandbox import SandboxOutcome

    real_rmtree = shutil.rmtree

    def locked_rmtree(path: str, *args: object, onerror: object = None, onexc: object = None,
                      **kwargs: object) -> None:
        exc = OSError(errno.EBUSY, "The process cannot access the file", str(path))
        if onexc is not None:
            onexc(os.unlink, path, exc)  # type: ignore[operator]
        elif onerror is not None:
            onerror(os.unlink, path, (OSError, exc, None))  # type: ignore[operator]
        else:
            raise exc
        real_rmtree(path, ignore_errors=True)

    def no_python(*args: object, **kwargs: object) -> SandboxOutcome:
        return SandboxOutcome(None, False, False, 0.0, "", "", 0, 0.0, start_error="no such file")

    monkeypatch.setattr(shutil, "rmtree", locked_rmtree)
    folder = tmp_path / "lab01-fixture"
    folder.mkdir()
    report = grade(FIXTURE, folder, sys.executable, sandbox=no_python)
    assert report.status is Status.ERROR and "could not be started" in (report.problem or "")
