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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coursekit.proc import kill_tree, own_process_group

HEAD_BYTES = 4_000
TAIL_BYTES = 8_000


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


class _OutputDrain(threading.Thread):
    """Reads a pipe to its end, keeping the first HEAD and last TAIL bytes."""

    def __init__(self, stream: object):
        super().__init__(daemon=True)
        self._stream = stream
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def run(self) -> None:
        read = self._stream.read1 if hasattr(self._stream, "read1") else self._stream.read  # type: ignore[attr-defined]
        while True:
            try:
                chunk = read(65536)
            except (OSError, ValueError):
                return
            if not chunk:
                return
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
) -> SandboxOutcome:
    """Start ``argv``, feed it ``stdin_text``, stream event lines, enforce the limits.

    ``on_tick(elapsed_s)`` is called about once a second while the worker runs.
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
    drain = _OutputDrain(proc.stdout)
    drain.start()
    try:
        assert proc.stdin is not None
        proc.stdin.write(stdin_text.encode("utf-8"))
        proc.stdin.close()
    except OSError:
        pass  # the worker died at once; its exit status tells why
    events = _EventTail(events_path)
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
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
    for line in events.poll():
        on_event_line(line)
    drain.join(timeout=2)
    head, tail = drain.text()
    return SandboxOutcome(
        proc.returncode,
        timed_out,
        memory_exceeded,
        peak,
        head,
        tail,
        drain.total,
        time.monotonic() - start,
    )
