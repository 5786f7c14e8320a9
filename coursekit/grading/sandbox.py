"""Run the grading worker in a separate process with a wall clock and a memory cap.

Runs in the *tool's* interpreter. The worker gets its own session/process group
(so :func:`coursekit.proc.kill_tree` takes its whole tree down on overrun), a
merged stdout+stderr pipe that is drained by a thread keeping only a bounded head
and tail (student code that floods the output costs CPU, never memory), and an
events file the parent polls for progress. Memory is capped twice: ``RLIMIT_AS``
inside the worker (POSIX, see ``worker._cap_memory``) and RSS polling of the whole
tree here (every platform; this is the only cap on Windows, where a Job Object
would be the stronger tool, not implemented).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from coursekit.proc import kill_tree, own_process_group

HEAD_BYTES = 4_000
TAIL_BYTES = 8_000
CHECK_OUTPUT_LINES = 20  # lines of a check's output kept (the last ones; the rest counted)
LINE_CHARS = 500  # one kept line is cut to this many characters
_PARTIAL_BYTES = 8_192  # a "line" longer than this without a newline is cut into pieces


@dataclass(frozen=True)
class SandboxOutcome:
    """What the worker process did (not what it graded)."""

    returncode: int | None
    timed_out: bool
    memory_exceeded: bool
    peak_rss_mb: float
    output_head: str
    output_tail: str
    output_bytes: int
    duration_s: float
    start_error: str | None = None
    # check name -> (its last CHECK_OUTPUT_LINES lines of output, how many earlier lines were cut)
    check_output: dict[str, tuple[str, int]] = field(default_factory=dict)


class _Segments:
    """Splits the worker's output into one bounded tail per check, by the worker's marker lines.

    The worker writes ``<mark> <check name>`` on a line of its own before each check and
    ``<mark>`` (no name) after it; ``mark`` is a per-run random token. Only display depends
    on it (verdicts come from the signed events file), so a forged marker can only mislabel
    a student's own output.
    """

    def __init__(self, mark: bytes):
        self._mark = mark
        self._partial = b""
        self._current: str | None = None
        self._blank = 0  # blank lines held back: the one before a marker is the worker's
        self.lines: dict[str, deque[str]] = {}
        self.counts: dict[str, int] = {}

    def feed(self, chunk: bytes) -> None:
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        if len(self._partial) > _PARTIAL_BYTES:
            lines.append(self._partial)
            self._partial = b""
        for line in lines:
            self._line(line)

    def close(self) -> None:
        if self._partial:
            self._line(self._partial)
            self._partial = b""

    def _line(self, raw: bytes) -> None:
        at = raw.find(self._mark)
        if at < 0:
            if not raw.strip():
                self._blank += 1
                return
            self._add(raw)
            return
        if raw[:at].strip():
            self._add(raw[:at])
        name = raw[at + len(self._mark) :].strip().decode("utf-8", "replace")
        self._blank = max(self._blank - 1, 0)
        self._flush_blanks()
        self._current = name or None
        self._blank = 0

    def _flush_blanks(self) -> None:
        for _ in range(self._blank):
            self._store("")
        self._blank = 0

    def _add(self, raw: bytes) -> None:
        self._flush_blanks()
        self._store(raw.rstrip(b"\r").decode("utf-8", "replace")[:LINE_CHARS])

    def _store(self, text: str) -> None:
        if self._current is None:
            return
        name = self._current
        if name not in self.lines:
            self.lines[name] = deque(maxlen=CHECK_OUTPUT_LINES)
            self.counts[name] = 0
        self.lines[name].append(text)
        self.counts[name] += 1

    def result(self) -> dict[str, tuple[str, int]]:
        return {
            name: ("\n".join(kept), self.counts[name] - len(kept))
            for name, kept in self.lines.items()
        }


class _OutputDrain(threading.Thread):
    """Reads a pipe to its end, keeping the first HEAD and last TAIL bytes."""

    def __init__(self, stream: object, mark: bytes | None = None):
        super().__init__(daemon=True)
        self._stream = stream
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self.segments = _Segments(mark) if mark else None

    def run(self) -> None:
        read = self._stream.read1 if hasattr(self._stream, "read1") else self._stream.read  # type: ignore[attr-defined]
        while True:
            try:
                chunk = read(65536)
            except (OSError, ValueError):
                return
            if not chunk:
                if self.segments is not None:
                    self.segments.close()
                return
            if self.segments is not None:
                self.segments.feed(chunk)
            self.total += len(chunk)
            if len(self.head) < HEAD_BYTES:
                self.head += chunk[: HEAD_BYTES - len(self.head)]
            self.tail += chunk
            if len(self.tail) > 2 * TAIL_BYTES:
                del self.tail[:-TAIL_BYTES]

    def text(self) -> tuple[str, str]:
        return (
            self.head.decode("utf-8", "replace"),
            bytes(self.tail[-TAIL_BYTES:]).decode("utf-8", "replace"),
        )


class _EventTail:
    """Reads complete lines appended to the events file since the last call."""

    def __init__(self, path: Path):
        self._path = path
        self._pos = 0
        self._partial = b""

    def poll(self) -> list[str]:
        try:
            with open(self._path, "rb") as fh:
                fh.seek(self._pos)
                data = fh.read(4 * 1024 * 1024)
                self._pos = fh.tell()
        except OSError:
            return []
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        return [line.decode("utf-8", "replace") for line in lines]


def _tree_rss_mb(pid: int) -> float:
    try:
        import psutil  # lazy: only the checking path pays for it

        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
        return float(total) / (1024 * 1024)
    except Exception:  # noqa: BLE001 - the process may be gone; polling is best effort
        return 0.0


def run_sandboxed(
    argv: Sequence[str],
    *,
    stdin_text: str,
    events_path: Path,
    timeout_s: float,
    memory_mb: int,
    on_event_line: Callable[[str], None],
    cwd: Path,
    env: Mapping[str, str],
    poll_s: float = 0.05,
    on_tick: Callable[[float], None] | None = None,
    output_mark: str | None = None,
) -> SandboxOutcome:
    """Start ``argv``, feed it ``stdin_text``, stream event lines, enforce the limits.

    ``on_tick(elapsed_s)`` is called about once a second while the worker runs. With
    ``output_mark`` the output is also split per check (see :class:`_Segments`).
    """
    kwargs = own_process_group()  # one process group: killed as a whole
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=os.fspath(cwd),
            env=dict(env),
            **kwargs,
        )  # type: ignore[call-overload]
    except OSError as exc:
        return SandboxOutcome(None, False, False, 0.0, "", "", 0, 0.0, start_error=str(exc))
    drain = _OutputDrain(proc.stdout, output_mark.encode() if output_mark else None)
    drain.start()
    try:
        assert proc.stdin is not None
        proc.stdin.write(stdin_text.encode("utf-8"))
        proc.stdin.close()
    except OSError:
        pass  # the worker died at once; its exit status tells why
    events = _EventTail(events_path)
    return supervise(
        proc,
        events,
        drain,
        start,
        timeout_s=timeout_s,
        memory_mb=memory_mb,
        on_event_line=on_event_line,
        poll_s=poll_s,
        on_tick=on_tick,
    )


class Supervised(Protocol):
    """A grading process being watched: a :class:`subprocess.Popen`, or a forked run of the
    warm worker (:mod:`coursekit.grading.warm`)."""

    pid: int

    def poll(self) -> int | None: ...

    def kill(self) -> None: ...

    @property
    def returncode(self) -> int | None: ...


def supervise(
    proc: Supervised,
    events: _EventTail,
    drain: _OutputDrain,
    start: float,
    *,
    timeout_s: float,
    memory_mb: int,
    on_event_line: Callable[[str], None],
    poll_s: float = 0.05,
    on_tick: Callable[[float], None] | None = None,
    wait: Callable[[], None] | None = None,
) -> SandboxOutcome:
    """Stream ``proc``'s events and enforce the wall clock and the memory cap until it ends;
    then kill whatever is left of its process group and collect its output."""
    timed_out = memory_exceeded = False
    peak = 0.0
    next_rss = 0.0
    next_tick = start + 1.0
    try:
        while proc.poll() is None:
            for line in events.poll():
                on_event_line(line)
            now = time.monotonic()
            if now - start > timeout_s:
                timed_out = True
                break
            if now >= next_rss:
                rss = _tree_rss_mb(proc.pid)
                peak = max(peak, rss)
                if rss > memory_mb:
                    memory_exceeded = True
                    break
                next_rss = now + 0.2
            if on_tick is not None and now >= next_tick:
                on_tick(now - start)
                next_tick = now + 1.0
            time.sleep(poll_s)
    finally:
        # Always, even after a clean exit: processes the student's code started (and left
        # running) share the worker's process group and must not outlive grading.
        kill_tree(proc)  # type: ignore[arg-type, unused-ignore]
        if wait is not None:
            wait()
        elif isinstance(proc, subprocess.Popen):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
    for line in events.poll():
        on_event_line(line)
    drain.join(timeout=2)
    head, tail = drain.text()
    per_check = drain.segments.result() if drain.segments is not None else {}
    return SandboxOutcome(
        proc.returncode,
        timed_out,
        memory_exceeded,
        peak,
        head,
        tail,
        drain.total,
        time.monotonic() - start,
        check_output=per_check,
    )
