"""Issue 13 item 5: ``coursekit lab N --watch`` re-checks after each (debounced) save, redraws,
ends with exit 130 on Ctrl-C, and grades in processes forked from a warm worker that give the
same verdicts, limits and isolation as ``--check``'s cold worker."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from coursekit.errors import ExitCode
from coursekit.lab.checking import Status, Verdict, grade
from coursekit.lab.manifest import discover_labs
from coursekit.lab.warm import fork_available, warm_worker
from coursekit.lab.watch import snapshot, watch_loop
from tests.helpers import run_cli
from tests.labhelpers import FIXTURE_COURSE, FIXTURE_STUDENTS

from tests.prereqs import need_module
FIXTURE = discover_labs(FIXTURE_COURSE)[0]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, s: float) -> None:
        self.now += s

    def clock(self) -> float:
        return self.now


def _run_loop(changes: dict[float, str], until: float) -> list[float]:
    """Drive watch_loop with a fake clock; ``changes`` maps a time to a new file state."""
    t = FakeTime()
    runs: list[float] = []

    def take(_folder: Path) -> dict[str, tuple[int, int]]:
        state = "start"
        for when, value in sorted(changes.items()):
            if t.now >= when:
                state = value
        return {"work.py": (hash(state), 1)}

    watch_loop(Path("."), lambda: runs.append(t.now), take=take, sleep=t.sleep, clock=t.clock,
               keep_going=lambda: t.now < until, poll_s=0.2, debounce_s=0.3)
    return runs


def test_checks_once_at_start_and_once_per_save() -> None:
    runs = _run_loop({1.0: "a", 3.0: "b"}, until=5.0)
    assert len(runs) == 3 and runs[0] == 0.0
    assert 1.0 <= runs[1] < 2.0 and 3.0 <= runs[2] < 4.0


def test_a_burst_of_saves_is_one_recheck_after_it_is_quiet() -> None:
    burst = {1.0: "a", 1.1: "b", 1.25: "c", 1.4: "d"}
    runs = _run_loop(burst, until=4.0)
    assert len(runs) == 2
    assert runs[1] >= 1.4 + 0.3  # only once the folder has been quiet for the debounce time


def test_nothing_saved_means_no_recheck() -> None:
    assert len(_run_loop({}, until=10.0)) == 1


def test_snapshot_sees_lab_files_but_not_figures_solutions_or_caches(tmp_path: Path) -> None:
    (tmp_path / "work.py").write_text("x = 1\n")
    (tmp_path / "helpers").mkdir()
    (tmp_path / "helpers" / "h.py").write_text("")
    for skip in ("figures", "solution", "__pycache__", ".ipynb_checkpoints"):
        (tmp_path / skip).mkdir()
        (tmp_path / skip / "x.py").write_text("")
    assert set(snapshot(tmp_path)) == {"work.py", "helpers/h.py"}
    before = snapshot(tmp_path)
    time.sleep(0.01)
    (tmp_path / "work.py").write_text("x = 22\n")
    assert snapshot(tmp_path) != before


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import coursekit.resources

    monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: FIXTURE_COURSE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_watch_has_no_json_and_goes_alone(course: Path) -> None:
    assert run_cli(["lab", "1", "--watch", "--json"]).code == ExitCode.USAGE
    assert run_cli(["lab", "1", "--watch", "--check"]).code == ExitCode.USAGE


pytestmark_real = pytest.mark.skipif(not fork_available(), reason="the warm worker forks (POSIX)")


@pytestmark_real
@pytest.mark.torch
@pytest.mark.slow
def test_watch_redraws_after_a_save_and_ctrl_c_is_130(course: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    need_module("torch")
    import coursekit.lab.service

    run_cli(["lab", "1"])
    folder = course / "lab01-fixture"

    def two_runs_then_ctrl_c(watched: Path, run_once: object) -> None:
        assert watched.resolve() == folder.resolve()
        run_once()  # type: ignore[operator]
        shutil.copy(FIXTURE_COURSE / "01-fixture" / "solution" / "work.py", folder / "work.py")
        run_once()  # type: ignore[operator]
        raise KeyboardInterrupt

    monkeypatch.setattr(coursekit.lab.service, "watch_loop", two_runs_then_ctrl_c)
    monkeypatch.chdir(folder)  # inside the folder: no number needed
    result = run_cli(["lab", "--watch", "--python", sys.executable])
    assert result.code == ExitCode.INTERRUPTED, result
    frames = result.stdout.split("---- re-checked at ")
    assert len(frames) == 3  # not a terminal: a separator instead of clearing the screen
    assert "not passing yet" in frames[1] and "score 5/5: passed" in frames[2]
    assert "watching ./ for saves (Ctrl-C to stop)" in frames[2]
    assert "stopped watching." in result.stderr and "Traceback" not in result.stderr


def _folder(tmp_path: Path, student: str) -> Path:
    folder = tmp_path / student / "lab01-fixture"
    folder.mkdir(parents=True)
    source = (FIXTURE_COURSE / "01-fixture" / "solution" / "work.py" if student == "solution"
              else FIXTURE_STUDENTS / student / "work.py")
    shutil.copy(source, folder / "work.py")
    return folder


def _summary(report: object) -> list[tuple[str, str, str]]:
    return [(c.name, c.verdict.value, c.message.split(" (at ")[0]) for c in report.checks]  # type: ignore[attr-defined]


STUDENTS = ["solution", "wrong-answer", "chatty", "sys-exit-at-import", "os-exit-in-check",
            "patch-torch", "forge-results", "nan", "syntax-error"]


@pytestmark_real
@pytest.mark.torch
@pytest.mark.slow
def test_warm_runs_give_the_cold_verdicts_each_in_a_fresh_process(tmp_path: Path) -> None:
    need_module("torch")
    with warm_worker(sys.executable) as worker:
        assert worker.start()
        for student in STUDENTS:
            folder = _folder(tmp_path, student)
            cold = grade(FIXTURE, folder, sys.executable)
            warm = grade(FIXTURE, folder, sys.executable, sandbox=worker)
            assert _summary(warm) == _summary(cold), student
            assert [c.output for c in warm.checks] == [c.output for c in cold.checks], student
            assert warm.status == cold.status
        assert worker.cold_runs == 0
        assert len(set(worker.forked_pids)) == len(worker.forked_pids) >= len(STUDENTS)
        assert os.getpid() not in worker.forked_pids


@pytestmark_real
@pytest.mark.torch
@pytest.mark.slow
def test_nothing_one_run_does_reaches_the_next(tmp_path: Path) -> None:
    need_module("torch")
    folder = _folder(tmp_path, "remembers")
    with warm_worker(sys.executable) as worker:
        outputs = [grade(FIXTURE, folder, sys.executable, sandbox=worker).checks[0].output
                   for _ in range(3)]
    assert outputs == ["runs 1 1"] * 3


@pytestmark_real
@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.timeout(120)
def test_warm_runs_keep_the_time_limit_and_kill_the_children(tmp_path: Path) -> None:
    need_module("torch")
    import psutil

    folder = _folder(tmp_path, "hang-with-child")
    with warm_worker(sys.executable) as worker:
        report = grade(dataclasses.replace(FIXTURE, timeout_s=4), folder, sys.executable,
                       sandbox=worker)
        by = {c.name: c for c in report.checks}
        assert "time limit of 4 s" in by["answer_is_42"].message
        assert by["tensor_is_finite"].verdict is Verdict.NOT_GRADED
        child = int((folder / "child.pid").read_text())
        deadline = time.monotonic() + 10
        while psutil.pid_exists(child) and psutil.Process(child).status() != "zombie" \
                and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not psutil.pid_exists(child) or psutil.Process(child).status() == "zombie"
        again = grade(FIXTURE, _folder(tmp_path, "solution"), sys.executable, sandbox=worker)
        assert again.status is Status.PASSED  # the warm worker survived the kill


@pytestmark_real
@pytest.mark.torch
@pytest.mark.slow
def test_warm_runs_keep_the_memory_cap(tmp_path: Path) -> None:
    need_module("torch")
    folder = _folder(tmp_path, "memory-hog")
    with warm_worker(sys.executable) as worker:
        report = grade(dataclasses.replace(FIXTURE, memory_mb=700), folder, sys.executable,
                       sandbox=worker)
    assert report.status is Status.NOT_YET
    assert "memory cap of 700 MB" in " ".join(c.message for c in report.checks)


def test_without_fork_the_cold_worker_grades(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from coursekit.lab import warm

    monkeypatch.setattr(warm, "fork_available", lambda: False)
    calls: list[str] = []

    def cold(argv: object, **kwargs: object) -> object:
        calls.append("cold")
        raise RuntimeError("stop here")

    monkeypatch.setattr(warm, "run_sandboxed", cold)
    worker = warm.warm_worker(sys.executable)
    assert worker.start() is False
    with pytest.raises(RuntimeError):
        worker([], stdin_text="{}", events_path=tmp_path / "e", timeout_s=1, memory_mb=1,
               on_event_line=lambda line: None, cwd=tmp_path, env={})
    assert calls == ["cold"] and worker.cold_runs == 1
