"""A pure function over many items, shared among forked copies of this process (class triage).

:func:`fork_map` is ``[fn(x) for x in items]``, in order, with the same results and the same
exceptions: where the system forks cheaply (Linux) and no other thread runs, the items are
split into contiguous shares, each share after the first goes to a forked child, the parent
does the first itself, and each child sends its results back pickled through a pipe. A child
that fails in any way (an exception, a crash, a kill, a short or garbled answer) has its share
done again in the parent, so a bug surfaces exactly as it would without children. Nothing is
shared but the results: a child ends with ``os._exit`` (no ``atexit``, no flushing of the
parent's buffered output), and an exception in the parent kills and reaps its children.

The one door to ``os.fork`` in coursekit; tests put a fake ``fork`` here. May import the
standard library only.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["MIN_SHARE", "can_fork", "fork_map", "usable_cores"]

T = TypeVar("T")
R = TypeVar("R")

MIN_SHARE = 48
"""The fewest items a child is forked for: a fork and the pickling of its results cost about as
much as reading a dozen reports, so a small class is read in one process."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says, else all)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    """Forking is cheap and safe here: Linux (macOS's system libraries are not fork-safe, and
    Windows has no fork) and no other thread is running (a forked child would inherit its
    locks held)."""
    return (
        sys.platform.startswith("linux") and hasattr(os, "fork") and (threading.active_count() == 1)
    )


def _shares(items: Sequence[T], parts: int) -> list[Sequence[T]]:
    """``items`` in ``parts`` contiguous shares whose sizes differ by one at most."""
    size, extra = divmod(len(items), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(items[start:end])
        start = end
    return out


def fork_map(
    fn: Callable[[T], R],
    items: Sequence[T],
    jobs: int,
    *,
    fork: Callable[[], int] | None = None,
    min_share: int = MIN_SHARE,
) -> list[R]:
    """``[fn(x) for x in items]``, with up to ``jobs`` processes (see the module's docstring).

    ``fn`` must be pure apart from reading files, and its results picklable. ``fork`` is the
    door (default ``os.fork``; None also when forking is not possible here)."""
    parts = min(jobs, len(items) // max(1, min_share))
    if fork is None:
        fork = os.fork if can_fork() else None
    if parts <= 1 or fork is None:
        return [fn(x) for x in items]
    shares = _shares(items, parts)
    children: list[tuple[int, int, Sequence[T]]] = []
    try:
        for share in shares[1:]:
            children.append(_start(fn, share, fork))
        out = [fn(x) for x in shares[0]]
        while children:
            pid, fd, share = children.pop(0)
            answer: list[R] | None = _answer(pid, fd)  # reaped, whatever it answered
            if answer is None or len(answer) != len(share):
                answer = [fn(x) for x in share]  # the child failed: its share is done here
            out += answer
        return out
    finally:
        for pid, fd, _ in children:  # only after an exception: stop and reap the rest
            _stop(pid, fd)


def _start(
    fn: Callable[[T], R], share: Sequence[T], fork: Callable[[], int]
) -> tuple[int, int, Sequence[T]]:
    try:
        read_end, write_end = os.pipe()
    except OSError:  # no pipe now (file descriptor limit): the parent does this share
        return -1, -1, share
    try:
        pid = fork()
    except OSError:  # no fork now (process limit, memory): the parent does this share
        os.close(read_end)
        os.close(write_end)
        return -1, -1, share
    if pid == 0:  # the child: compute, answer, and end without running the parent's exit code
        code = 1
        try:
            import pickle

            os.close(read_end)
            data = pickle.dumps([fn(x) for x in share], protocol=pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view) :]
            code = 0
        except BaseException:  # noqa: BLE001, S110 - the parent does the share again
            pass
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end, share


def _answer(pid: int, fd: int) -> list[R] | None:
    """A child's results (None when it did not answer in full); the child is reaped."""
    if pid < 0:
        return None
    chunks = []
    try:
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    except BaseException:  # interrupted while waiting: stop the child before leaving
        _stop(pid, fd)
        raise
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        return None
    import pickle

    try:
        results = pickle.loads(b"".join(chunks))
    except Exception:  # noqa: BLE001 - a garbled answer: the share is done again
        return None
    return results if isinstance(results, list) else None


def _stop(pid: int, fd: int) -> None:
    """Close a child's pipe, kill it and reap it (after an exception in the parent)."""
    if pid < 0:
        return
    try:
        os.close(fd)
    except OSError:
        pass
    try:
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
    except OSError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass
