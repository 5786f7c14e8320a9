"""The warm grading worker behind ``coursekit lab N --watch``.

A re-check after a save should not pay ``import torch`` again. :class:`WarmWorker` keeps one
process of the course env's Python alive with torch (and matplotlib) imported
(:func:`coursekit.grading.worker.serve`); every grading run is a **fresh process forked from
it**, in its own session, running exactly what ``--check``'s cold worker runs: the same
config on the same signed events file, the same ``RLIMIT_AS`` cap, and the same supervision
here (:func:`coursekit.grading.sandbox.supervise`: wall clock, RSS polling of the process
tree, the whole process group killed at the end). Student code never runs in the warm
process, so nothing one run does reaches the next.

A :class:`WarmWorker` is a drop-in ``sandbox`` for :func:`coursekit.lab.checking.grade`.
Where ``fork`` does not exist (Windows) or the warm process cannot start, it runs the cold
worker instead (:func:`coursekit.grading.sandbox.run_sandboxed`): slower, never wrong.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from coursekit.grading.sandbox import (
    SandboxOutcome,
    _EventTail,
    _OutputDrain,
    run_sandboxed,
    supervise,
)

START_TIMEOUT_S = 120.0  # import torch on a cold disk can be slow
REPLY_TIMEOUT_S = 10.0
_SERVE = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from coursekit.grading.worker import serve; serve()"
)


def fork_available() -> bool:
    """True where the warm worker can fork (POSIX)."""
    return hasattr(os, "fork") and hasattr(socket, "send_fds") and sys.platform != "win32"


class _Lines:
    """Newline-framed JSON messages from the warm process's socket."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        self._buf = b""

    def read(self, timeout_s: float) -> dict[str, Any] | None:
        """The next message, or None after ``timeout_s`` (0: just look) or at end of stream."""
        deadline = time.monotonic() + timeout_s
        while b"\n" not in self._buf:
            left = max(deadline - time.monotonic(), 0.0)
            ready, _, _ = select.select([self._sock], [], [], left)
            if not ready:
                return None
            chunk = self._sock.recv(65536)
            if not chunk:
                raise EOFError("the warm worker closed its socket")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        data = json.loads(line)
        return data if isinstance(data, dict) else None


class _ForkedRun:
    """One grading run forked by the warm process, watched like a :class:`subprocess.Popen`."""

    def __init__(self, pid: int, lines: _Lines):
        self.pid = pid
        self._lines = lines
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self._take(0.0)
        return self.returncode

    def wait_exit(self) -> None:
        """After the kill: the warm process reports the exit status once it has reaped the run."""
        deadline = time.monotonic() + REPLY_TIMEOUT_S
        while self.returncode is None and time.monotonic() < deadline:
            self._take(deadline - time.monotonic())

    def _take(self, timeout_s: float) -> None:
        try:
            msg = self._lines.read(timeout_s)
        except (EOFError, OSError, ValueError):
            msg = {"exit": -9}  # the warm process died too: the run is over
        if msg is not None and "exit" in msg:
            self.returncode = int(msg["exit"])

    def kill(self) -> None:
        try:
            os.kill(self.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass


class WarmWorker:
    """A warm course-env Python that forks one fresh grading process per run (see module doc)."""

    def __init__(self, python: str, env: Mapping[str, str], runtime_copy: Callable[[Path], Path]):
        self._python = python
        self._env = dict(env)
        self._runtime_copy = runtime_copy
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._lines: _Lines | None = None
        self.info: dict[str, Any] = {}
        self.forked_pids: list[int] = []  # for tests and --debug: every run had its own process
        self.cold_runs = 0

    def __enter__(self) -> WarmWorker:  # noqa: PYI034 - typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and self._lines is not None

    def start(self) -> bool:
        """Start the warm process and wait until torch is imported; False when it cannot."""
        if self.alive:
            return True
        self.close()
        if not fork_available():
            return False
        self._tmp = tempfile.TemporaryDirectory(
            prefix="coursekit-warm-", ignore_cleanup_errors=True
        )
        runtime = self._runtime_copy(Path(self._tmp.name) / "rt")
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        argv = [
            self._python,
            "-I",
            "-B",
            "-X",
            "faulthandler",
            "-X",
            "utf8",
            "-c",
            _SERVE,
            str(runtime),
            str(child.fileno()),
        ]
        try:
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=self._env,
                pass_fds=(child.fileno(),),
                start_new_session=True,
                cwd=self._tmp.name,
            )
        except OSError:
            parent.close()
            child.close()
            self.close()
            return False
        child.close()
        self._sock, self._lines = parent, _Lines(parent)
        try:
            ready = self._lines.read(START_TIMEOUT_S)
        except (EOFError, OSError, ValueError):
            ready = None
        if not ready or not ready.get("ready"):
            self.close()
            return False
        self.info = ready
        return True

    def __call__(
        self,
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
        """Grade one run in a process forked from the warm one (the cold worker as fallback)."""
        run = self._fork(json.loads(stdin_text), cwd) if self.start() else None
        if run is None:
            self.cold_runs += 1
            return run_sandboxed(
                argv,
                stdin_text=stdin_text,
                events_path=events_path,
                timeout_s=timeout_s,
                memory_mb=memory_mb,
                on_event_line=on_event_line,
                cwd=cwd,
                env=env,
                poll_s=poll_s,
                on_tick=on_tick,
                output_mark=output_mark,
            )
        forked, read_end, start = run
        drain = _OutputDrain(
            os.fdopen(read_end, "rb", buffering=0), output_mark.encode() if output_mark else None
        )
        drain.start()
        outcome = supervise(
            forked,
            _EventTail(events_path),
            drain,
            start,
            timeout_s=timeout_s,
            memory_mb=memory_mb,
            on_event_line=on_event_line,
            poll_s=poll_s,
            on_tick=on_tick,
            wait=forked.wait_exit,
        )
        if forked.returncode is None:  # no exit report: the warm process is unusable
            self.close()
        return outcome

    def _fork(self, cfg: dict[str, Any], cwd: Path) -> tuple[_ForkedRun, int, float] | None:
        assert self._sock is not None and self._lines is not None
        read_end, write_end = os.pipe()
        start = time.monotonic()
        try:
            request = json.dumps({"cfg": cfg, "cwd": str(cwd)}) + "\n"
            socket.send_fds(self._sock, [request.encode()], [write_end])
            reply = self._lines.read(REPLY_TIMEOUT_S)
        except (OSError, EOFError, ValueError):
            reply = None
        finally:
            os.close(write_end)
        if not reply or "pid" not in reply:
            os.close(read_end)
            self.close()
            return None
        self.forked_pids.append(int(reply["pid"]))
        return _ForkedRun(int(reply["pid"]), self._lines), read_end, start

    def close(self) -> None:
        """Stop the warm process (and forget it); safe to call twice."""
        if self._sock is not None:
            self._sock.close()
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self._tmp is not None:
            self._tmp.cleanup()
        self._sock = self._lines = self._proc = self._tmp = None


def warm_worker(python: str) -> WarmWorker:
    """A :class:`WarmWorker` for ``python`` with ``--check``'s worker environment."""
    from coursekit.lab.checking import _runtime_copy, worker_env

    return WarmWorker(python, worker_env(dict(os.environ)), _runtime_copy)
