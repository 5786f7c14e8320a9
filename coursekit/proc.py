"""The single door to external programs.

Every subprocess coursekit starts goes through :func:`run_tool`: no ``shell=True``,
the executable resolved with :func:`shutil.which` against the PATH the child will
see (so Windows ``conda.bat`` shims and fake tools on a test PATH both work), a
time limit that kills the whole process tree, and a :class:`ToolResult` instead of
an exception. A missing program is data (``found=False``), not an error.

Components take a :class:`Runner` argument defaulting to :func:`run_tool`; tests
pass a fake at that door.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

_LOG = logging.getLogger(__name__)

_ERROR_MARKERS = ("error", "failed", "fatal", "exception", "cannot", "could not", "no matching")


@dataclass(frozen=True)
class ToolResult:
    """What an external program did."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: str = ""
    stderr: str = ""
    found: bool = True
    timed_out: bool = False
    duration_s: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the program was found, finished in time and exited 0."""
        return self.found and not self.timed_out and self.returncode == 0

    def key_error_line(self) -> str | None:
        """The line a human should see first: the last error-looking line of stderr, then stdout."""
        for text in (self.stderr, self.stdout):
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            for line in reversed(lines):
                if any(marker in line.lower() for marker in _ERROR_MARKERS):
                    return line
        for text in (self.stderr, self.stdout):
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            if lines:
                return lines[-1]
        return None


class Runner(Protocol):
    """The shape of :func:`run_tool`, for injection."""

    def __call__(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        timeout: float,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        input: str | None = None,
        capture: bool = True,
    ) -> ToolResult: ...


def which(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """Find ``name`` on the PATH of ``env`` (or of this process), looked up now, never cached."""
    path = (env if env is not None else os.environ).get("PATH")
    return shutil.which(name, path=path)


def _resolve(argv0: str, env: Mapping[str, str] | None) -> str | None:
    if os.sep in argv0 or (os.altsep and os.altsep in argv0):
        return argv0 if Path(argv0).exists() else None
    return which(argv0, env)


def kill_tree(proc: subprocess.Popen[str]) -> None:
    """Kill ``proc`` and every process it started (best effort, cross-platform)."""
    try:
        import psutil  # lazy: psutil costs import time

        children = psutil.Process(proc.pid).children(recursive=True)
    except Exception:  # noqa: BLE001 - the process may already be gone (psutil.NoSuchProcess, ...)
        children = []
    if sys.platform != "win32":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for child in children:
        try:
            child.kill()
        except Exception:  # noqa: BLE001, S110 - already gone: nothing left to kill
            pass
    try:
        proc.kill()
    except OSError:
        pass


def own_process_group() -> dict[str, object]:
    """``subprocess.Popen`` keyword arguments that start a child in a process group of its own
    (a new session on POSIX, ``CREATE_NEW_PROCESS_GROUP`` on Windows), so a time limit or a
    Ctrl-C can kill it together with everything it started. Every child coursekit starts and
    may have to kill (tools, the grading worker) starts this way."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def run_tool(
    argv: Sequence[str | os.PathLike[str]],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    input: str | None = None,
    capture: bool = True,
) -> ToolResult:
    """Run ``argv`` with a time limit and return what happened; never raises for tool failures.

    ``capture=False`` lets the child write to the terminal (pip's progress bar) and
    returns empty output. On timeout the whole process tree is killed.
    """
    args = [os.fspath(a) for a in argv]
    shown = tuple(args)
    exe = _resolve(args[0], env)
    if exe is None:
        _LOG.debug("not found: %s", args[0])
        return ToolResult(shown, None, found=False)
    args[0] = exe
    child_env = dict(env) if env is not None else dict(os.environ)
    child_env.setdefault("PYTHONIOENCODING", "utf-8")
    kwargs = own_process_group()  # so a timeout can kill the whole group
    _LOG.debug("run: %s", shown)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(  # argv list, never a shell
            args,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            env=child_env,
            cwd=os.fspath(cwd) if cwd is not None else None,
            text=True,
            encoding="utf-8",
            errors="replace",
            **kwargs,  # type: ignore[call-overload]
        )
    except (FileNotFoundError, PermissionError, OSError) as exc:
        _LOG.debug("could not start %s: %s", shown, exc)
        return ToolResult(shown, None, stderr=str(exc), found=False)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        out, err = proc.communicate()
        return ToolResult(
            shown, None, out or "", err or "", timed_out=True, duration_s=time.monotonic() - start
        )
    except KeyboardInterrupt:
        kill_tree(proc)
        raise
    result = ToolResult(
        shown, proc.returncode, out or "", err or "", duration_s=time.monotonic() - start
    )
    _LOG.debug("exit %s after %.2fs: %s", result.returncode, result.duration_s, shown)
    return result
