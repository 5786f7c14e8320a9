"""A lab check ends every process the student's code started, including ones that left the
worker's process group and session (issue 10, item 12): a ``setsid`` + double fork daemon is
found by the marker in its environment (and by the descendants sampled while the worker ran)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from coursekit.lab.checking import grade
from coursekit.lab.manifest import discover_labs
from tests.labhelpers import FIXTURE_COURSE

from tests.prereqs import need_module
need_module("torch")
need_module("psutil")
pytestmark = [pytest.mark.torch, pytest.mark.slow, pytest.mark.realtool,
              pytest.mark.skipif(not hasattr(os, "setsid"), reason="POSIX sessions")]

FIXTURE = discover_labs(FIXTURE_COURSE)[0]

DAEMON = '''
import os, sys, time
os.setsid()                      # a new session: out of the worker's process group
if os.fork():
    os._exit(0)                  # double fork: re-parented to init, no longer a descendant
open(sys.argv[1], "w").write(str(os.getpid()))
time.sleep({sleep})
'''


def _student(tmp_path: Path, sleep_before_return: float) -> tuple[Path, Path]:
    folder = tmp_path / "lab01-fixture"
    shutil.copytree(FIXTURE_COURSE / "01-fixture" / "solution", folder)
    pidfile = tmp_path / "daemon.pid"
    work = folder / "work.py"
    work.write_text(work.read_text(encoding="utf-8") + f'''

import subprocess as _sp
import sys as _sys
import time as _time

_real_answer = answer


def answer():
    _sp.Popen([_sys.executable, "-c", {DAEMON.format(sleep=300)!r}, {str(pidfile)!r}])
    _time.sleep({sleep_before_return})
    return _real_answer()
''', encoding="utf-8")
    return folder, pidfile


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.parametrize("wait", [0.0, 1.0], ids=["escapes-at-once", "seen-while-running"])
def test_a_daemon_that_left_the_session_is_ended(tmp_path: Path, wait: float) -> None:
    folder, pidfile = _student(tmp_path, wait)
    grade(FIXTURE, folder, sys.executable)
    for _ in range(50):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.1)
    pid = int(pidfile.read_text())
    try:
        assert not _alive(pid), "the daemon outlived grading"
    finally:
        if _alive(pid):
            os.kill(pid, 9)
