""":func:`coursekit.instructor.forkmap.fork_map` is ``[fn(x) for x in items]`` (issue 14: class
triage reads a large class in forked copies of itself): the same results in the same order, the
same exceptions, whatever happens to a child, and no child left behind."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from coursekit.instructor import forkmap
from coursekit.instructor import triage as tr
from tests.instructor.classgen import make_class

pytestmark = pytest.mark.skipif(not forkmap.can_fork(), reason="forks on Linux only")


class Forks:
    """``os.fork`` that notes the children it made (the parent's view)."""

    def __init__(self) -> None:
        self.pids: list[int] = []
        self.real = os.fork

    def __call__(self) -> int:
        pid = self.real()
        if pid:
            self.pids.append(pid)
        return pid

    def all_reaped(self) -> bool:
        """Every child has ended and was waited for (none running, no zombie)."""
        for pid in self.pids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                continue
            return False
        return True


def square_noting_pid(x: int) -> tuple[int, int]:
    return x * x, os.getpid()


@pytest.mark.parametrize("n", [0, 1, 47, 96, 97, 500])
@pytest.mark.parametrize("jobs", [1, 2, 3, 8])
def test_the_same_results_in_the_same_order(n: int, jobs: int) -> None:
    items, forks = list(range(n)), Forks()
    out = forkmap.fork_map(square_noting_pid, items, jobs, fork=forks)
    assert [r for r, _ in out] == [x * x for x in items]
    pids = {pid for _, pid in out}
    expected = max(1, min(jobs, n // forkmap.MIN_SHARE)) if n else 0
    assert len(pids) == expected  # the parent did the first share, each child one more
    assert pids - {os.getpid()} == set(forks.pids) and (os.getpid() in pids or not n)
    assert forks.all_reaped()


def failing_in_children(how: str) -> Callable[[int], int]:
    parent = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != parent:
            if how == "raise":
                raise RuntimeError("a bug")
            if how == "exit":
                os._exit(3)
            if how == "kill":
                os.kill(os.getpid(), 9)
            if how == "unpicklable":
                return threading.Lock()  # type: ignore[return-value]
        return x + 1

    return fn


@pytest.mark.parametrize("how", ["raise", "exit", "kill", "unpicklable"])
def test_a_child_that_fails_has_its_share_done_in_the_parent(how: str) -> None:
    items, forks = list(range(200)), Forks()
    assert forkmap.fork_map(failing_in_children(how), items, 4, fork=forks, min_share=10) == [
        x + 1 for x in items
    ]
    assert len(forks.pids) == 3 and forks.all_reaped()


def test_an_exception_is_the_one_a_plain_loop_raises() -> None:
    def fn(x: int) -> int:
        if x == 150:  # in a child's share: the child fails, the parent meets it again
            raise ValueError("item 150")
        return x

    forks = Forks()
    with pytest.raises(ValueError, match="item 150"):
        forkmap.fork_map(fn, list(range(200)), 2, fork=forks, min_share=10)
    assert len(forks.pids) == 1 and forks.all_reaped()


def test_an_exception_in_the_parent_stops_and_reaps_every_child() -> None:
    parent = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() == parent and x == 5:
            raise KeyError("parent's share")
        return x

    forks = Forks()
    with pytest.raises(KeyError):
        forkmap.fork_map(fn, list(range(400)), 4, fork=forks, min_share=10)
    assert len(forks.pids) == 3 and forks.all_reaped()


def test_no_fork_when_a_class_is_small_or_one_job_or_fork_fails() -> None:
    calls: list[int] = []

    def fake_fork() -> int:
        calls.append(1)
        raise OSError("no more processes")

    items = list(range(200))
    assert forkmap.fork_map(lambda x: -x, items, 8, fork=fake_fork) == [-x for x in items]
    assert len(calls) == 3  # 200 items: 4 shares of 48 or more, 3 children asked for, refused
    calls.clear()
    assert forkmap.fork_map(lambda x: x, list(range(95)), 8, fork=fake_fork) == list(range(95))
    assert forkmap.fork_map(lambda x: x, list(range(500)), 1, fork=fake_fork) == list(range(500))
    assert calls == []


def test_no_fork_while_another_thread_runs() -> None:
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not forkmap.can_fork()
        out = forkmap.fork_map(square_noting_pid, list(range(200)), 4)
        assert {pid for _, pid in out} == {os.getpid()}
    finally:
        stop.set()
        t.join()
    assert forkmap.can_fork() == (threading.active_count() == 1)  # other tests' threads


def test_usable_cores_is_at_least_one() -> None:
    assert 1 <= forkmap.usable_cores() <= (os.cpu_count() or 1)


def test_triage_read_in_several_processes_is_triage_read_in_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = []
    for name, raw in make_class(240, seed=7):
        (tmp_path / name).write_bytes(raw)
        paths.append(tmp_path / name)
    one = tr.read_all(paths, jobs=1)
    forks = Forks()
    monkeypatch.setattr(forkmap, "can_fork", lambda: True)  # another test's thread may linger
    monkeypatch.setattr(forkmap.os, "fork", forks)
    for jobs in (2, 3, 5):
        assert tr.read_all(paths, jobs=jobs) == one
    assert len(forks.pids) == 1 + 2 + 4 and forks.all_reaped()
    assert tr.read_all(paths, keep_facts=False, jobs=4) == tr.read_all(paths, keep_facts=False, jobs=1)
    assert tr.triage([str(tmp_path)], jobs=3) == tr.triage([str(tmp_path)], jobs=1)



def test_no_pipe_means_the_parent_does_the_share(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_pipe() -> tuple[int, int]:
        raise OSError(24, "Too many open files")

    forks = Forks()
    monkeypatch.setattr(forkmap.os, "pipe", no_pipe)
    assert forkmap.fork_map(lambda x: x * 3, list(range(300)), 3, fork=forks) == [
        x * 3 for x in range(300)
    ]
    assert forks.pids == []


def test_an_interrupt_while_waiting_stops_and_reaps_every_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ctrl-C (or any exception) while the parent waits for an answer: the child it waited for
    and every other one are killed and reaped, once each, and the exception goes on."""
    import time

    parent, real_read = os.getpid(), os.read

    def slow(x: int) -> int:
        if os.getpid() != parent:
            time.sleep(30)  # a child that would keep the parent waiting
        return x

    def interrupted_read(fd: int, n: int) -> bytes:
        if os.getpid() == parent:
            raise KeyboardInterrupt
        return real_read(fd, n)

    forks = Forks()
    monkeypatch.setattr(forkmap.os, "read", interrupted_read)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        forkmap.fork_map(slow, list(range(300)), 3, fork=forks, min_share=10)
    assert len(forks.pids) == 2 and forks.all_reaped()
    assert time.monotonic() - started < 20  # the children were killed, not waited for
