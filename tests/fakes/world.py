"""A whole offline world for ``coursekit setup``: a local conda channel, a PyTorch-style index
on 127.0.0.1 with wheels at the versions the real planner picks, a private HOME and PATH, and
a helper that runs the real CLI in a subprocess (so it can be killed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.fakes.pyindex import IndexServer

BACKEND = "cpu"  # forced: the tests must not depend on the machine's GPU


@dataclass
class SetupWorld:
    """Paths, environment and the CLI runner of one test."""

    tmp: Path
    channel: Path
    index: IndexServer
    env: dict[str, str]
    torch_version: str
    extra_args: list[str] = field(default_factory=list)
    channel_url: str | None = None  # the channel over HTTP instead of file://

    @property
    def home(self) -> Path:
        return Path(self.env["HOME"])

    @property
    def prefix(self) -> Path:
        return Path(self.env["COURSEKIT_HOME"]) / "envs" / "pt"

    @property
    def python(self) -> Path:
        return self.prefix / "bin" / "python"

    @property
    def kernel_json(self) -> Path:
        return self.home / ".local" / "share" / "jupyter" / "kernels" / "pt" / "kernel.json"

    def site_packages(self) -> Path:
        return next(self.prefix.glob("lib/python3*/site-packages"))

    def argv(self, *extra: str) -> list[str]:
        return [sys.executable, "-m", "coursekit", "setup", "--backend", BACKEND, "--yes",
                "--channel", self.channel_url or self.channel.as_uri(), "--index-url",
                self.index.url(f"whl/{BACKEND}"), *self.extra_args, *extra]

    def run(self, *extra: str, env: dict[str, str] | None = None) -> tuple[int, dict, str]:
        """``coursekit setup ... --json``: (exit code, JSON result, stderr)."""
        proc = subprocess.run(self.argv("--json", *extra), env=env or self.env,
                              capture_output=True, text=True, timeout=240)
        try:
            data = json.loads(proc.stdout) if proc.stdout.strip() else {}
        except ValueError:
            data = {"raw": proc.stdout}
        return proc.returncode, data, proc.stderr

    def states(self, data: dict) -> dict[str, str]:
        """step id -> state from a ``--json`` result."""
        return {o["id"]: o["state"] for o in data["result"]["outcomes"]}

    def start(self, *extra: str, env: dict[str, str] | None = None) -> RunningSetup:
        """Setup as started from a terminal: Ctrl-C, SIGTERM and SIGHUP at their defaults
        (a test run started in the background or under ``nohup`` has them ignored, and a child
        inherits that: Python then installs no Ctrl-C handler and setup rightly ignores them)."""
        proc = subprocess.Popen(self.argv(*extra), env=env or self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                preexec_fn=_terminal_signals if os.name == "posix" else None)
        return RunningSetup(proc)


def _terminal_signals() -> None:
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, signal.SIG_DFL)


class RunningSetup:
    """A setup running in the background; its output lines are collected as they come."""

    def __init__(self, proc: subprocess.Popen[str]):
        self.proc = proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, ready: Callable[[], bool], timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None:
                raise AssertionError("setup ended early:\n" + "\n".join(self.lines))
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting:\n" + "\n".join(self.lines))
            time.sleep(0.05)

    def saw(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    def kill_all(self) -> None:
        """SIGKILL setup and everything it started (a crash, a closed lid, a power cut)."""
        import psutil

        try:
            family = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(True)]
        except psutil.NoSuchProcess:
            family = []
        for p in family:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        self.proc.wait(timeout=30)

    def interrupt(self, sig: int = signal.SIGINT) -> int:
        """Ctrl-C (SIGINT, or another signal) to setup; returns its exit code."""
        # send_signal does nothing to a process that has ended: say so instead of returning its code
        assert self.proc.poll() is None, "setup ended before the signal:\n" + "\n".join(self.lines)
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=240)  # generous: a loaded 2-core CI machine
        self._reader.join(timeout=5)
        return code


def world_env(tmp: Path, index: IndexServer, base: Sequence[str] = ("/usr/bin", "/bin")
              ) -> dict[str, str]:
    """No conda on PATH, no PIP_* but PIP_INDEX_URL (the 'user's PyPI' = the test /simple),
    pip config files off, private HOME and COURSEKIT_HOME, offline planning."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "CONDA", "MAMBA", "PYTHON", "VIRTUAL_ENV", "JUPYTER",
                                "XDG_", "COURSEKIT_"))}
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), COURSEKIT_HOME=str(tmp / "ck"), COURSEKIT_OFFLINE="1",
               NO_COLOR="1", COLUMNS="1000", PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL=index.url("simple"),
               PATH=os.pathsep.join([str(Path(sys.executable).parent), *base]),
               GIT_CONFIG_GLOBAL=str(home / ".gitconfig"), GIT_CONFIG_NOSYSTEM="1")
    return env


def planned_trio() -> tuple[str, str, str]:
    """The base versions (no local tag) the real planner picks for the forced backend."""
    from coursekit.setup.plan.request import SetupRequest, build_plan

    old = os.environ.get("COURSEKIT_OFFLINE")
    os.environ["COURSEKIT_OFFLINE"] = "1"
    try:
        plan = build_plan(SetupRequest(engine="embedded", backend=BACKEND))
    finally:
        if old is None:
            os.environ.pop("COURSEKIT_OFFLINE", None)
    t = plan.torch
    return tuple(v.split("+")[0] for v in (t.version, t.torchvision, t.torchaudio))  # type: ignore[return-value]
