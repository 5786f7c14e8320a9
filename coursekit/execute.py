"""Carrying out a setup :class:`~coursekit.setup.plan.model.Plan`: resumable, idempotent, never destructive.

Every step first looks at the env (:mod:`coursekit.setup.engines.state`) and is skipped when its
result is already there, so a second run on a healthy env only verifies, and a run after an
interruption (Ctrl-C, a kill, a closed lid) does only what is missing or wrong. External
commands go through :func:`coursekit.proc.run_tool` with a time limit; network steps are
retried. The env is removed only with ``--force``. Per-step logic is in
:mod:`coursekit.execsteps`; this module runs the loop and reports.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from coursekit.errors import EnvironmentProblem
from coursekit.failures import Failure
from coursekit.onetorch import Verification
from coursekit.proc import Runner, run_tool
from coursekit.setup.engines import Engine, EnvLocation
from coursekit.setup.engines.state import EnvState
from coursekit.setup.plan.model import Plan

StepState = Literal["done", "ok", "failed", "not-run", "interrupted", "skipped"]


@dataclass(frozen=True)
class RunOptions:
    """What the student chose on the command line (besides the plan's own flags)."""

    engine: str = "auto"
    """``--engine``: auto, conda, mamba, micromamba or embedded."""
    channels: tuple[str, ...] = ()
    """``--channel``: replaces the plan's conda channels (mirrors, ``file://`` channels)."""
    index_url: str | None = None
    """``--index-url``: replaces the plan's torch index (https, http to localhost, a folder)."""
    force: bool = False
    """``--force``: remove and recreate an env whose Python version is wrong."""
    nbdime: bool | None = None
    """``--nbdime``/``--no-nbdime``: configure git for notebooks; None: ask when interactive."""
    interactive: bool = False
    """A person is at a terminal: the tools show their progress, questions may be asked."""
    yes: bool = False
    """``--yes``: ask nothing (the tools' progress is still shown at a terminal)."""

    @property
    def may_ask(self) -> bool:
        """Questions go to a person: at a terminal and without ``--yes``."""
        return self.interactive and not self.yes
    attempts: int = 3
    """Tries per network step."""
    backoff_s: float = 5.0
    """Wait before the second try (doubled after)."""
    pip_retries: int = 5
    pip_timeout_s: int = 60


@dataclass(frozen=True)
class StepOutcome:
    """How one step went: ``done`` (did the work), ``ok`` (already done, skipped), ``failed``,
    ``interrupted``, ``not-run`` (after a failure), ``skipped`` (declined)."""

    id: str
    title: str
    state: StepState
    duration_s: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class SetupResult:
    """Everything ``coursekit setup`` did; ``failure`` is set when a step failed."""

    plan: Plan
    engine: Engine
    outcomes: tuple[StepOutcome, ...]
    location: EnvLocation | None = None
    verification: Verification | None = None
    failure: Failure | None = None
    failed_step: str | None = None
    notes: tuple[str, ...] = ()
    activate: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No step failed (including an opted-in extra such as nbdime's git setup)."""
        return self.failure is None and all(o.state != "failed" for o in self.outcomes)

    @property
    def changed(self) -> bool:
        """True when some step did work (False: the env was already healthy)."""
        return any(o.state == "done" and o.id != "verify" for o in self.outcomes)


class Reporter(Protocol):
    """Live progress (implemented in :mod:`coursekit.render.setup_run`)."""

    def start(self, step_id: str, title: str, index: int, total: int) -> None: ...

    def finish(self, outcome: StepOutcome) -> None: ...

    def retry(self, step_id: str, attempt: int, why: str, wait_s: float) -> None: ...

    def note(self, text: str) -> None: ...


class SilentReporter:
    """A reporter that reports nothing (library use, tests)."""

    def start(self, step_id: str, title: str, index: int, total: int) -> None: ...

    def finish(self, outcome: StepOutcome) -> None: ...

    def retry(self, step_id: str, attempt: int, why: str, wait_s: float) -> None: ...

    def note(self, text: str) -> None: ...


Confirm = Callable[[str], bool]


def _never(question: str) -> bool:
    return False


@dataclass
class Context:
    """The mutable state of one run (internal to the executor and its steps)."""

    plan: Plan
    engine: Engine
    options: RunOptions
    runner: Runner
    environ: Mapping[str, str]
    reporter: Reporter
    confirm: Confirm
    os_name: str
    home: Path
    sleep: Callable[[float], None] = time.sleep
    location: EnvLocation | None = None
    state: EnvState | None = None
    notes: list[str] = field(default_factory=list)
    verification: Verification | None = None


class StepFailed(Exception):
    """Raised by a step: carries the explained failure."""

    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.failure = failure


def carry_out(plan: Plan, engine: Engine, options: RunOptions | None = None, *,
              runner: Runner = run_tool, environ: Mapping[str, str] | None = None,
              reporter: Reporter | None = None, confirm: Confirm = _never,
              os_name: str | None = None, home: Path | None = None,
              sleep: Callable[[float], None] = time.sleep) -> SetupResult:
    """Run ``plan``'s steps with ``engine``; returns what happened (never raises for a step
    failure; ``KeyboardInterrupt`` propagates after the reporter was told)."""
    from coursekit.setup.engines import coursekit_home

    env = dict(os.environ if environ is None else environ)
    ctx = Context(plan, engine, options or RunOptions(), runner, env,
                  reporter or SilentReporter(), confirm, os_name or _this_os(),
                  home or coursekit_home(env), sleep)
    with setup_lock(ctx.home / "state" / "setup.lock"):
        return _carry_out(ctx)


def _carry_out(ctx: Context) -> SetupResult:
    from coursekit import execsteps

    plan, engine = ctx.plan, ctx.engine
    try:
        execsteps.prepare(ctx)  # finds the env; --force / wrong-Python handling
    except StepFailed as exc:
        none_run = tuple(StepOutcome(s.id, s.title, "not-run") for s in plan.steps)
        return SetupResult(plan, engine, none_run, ctx.location, None, exc.failure, "create_env",
                           tuple(ctx.notes))
    outcomes: list[StepOutcome] = []
    failure: Failure | None = None
    failed_step: str | None = None
    total = len(plan.steps)
    for index, step in enumerate(plan.steps, 1):
        if failure is not None:
            outcomes.append(StepOutcome(step.id, step.title, "not-run"))
            continue
        ctx.reporter.start(step.id, step.title, index, total)
        start = time.monotonic()
        try:
            did, detail = execsteps.run_step(ctx, step)
            outcome = StepOutcome(step.id, step.title, "done" if did else "ok",
                                  time.monotonic() - start, detail)
        except StepFailed as exc:
            failure, failed_step = exc.failure, step.id
            outcome = StepOutcome(step.id, step.title, "failed", time.monotonic() - start,
                                  exc.failure.message)
        except KeyboardInterrupt:
            ctx.reporter.finish(StepOutcome(step.id, step.title, "interrupted",
                                            time.monotonic() - start))
            ctx.reporter.note(f"Interrupted during '{step.title}'. Run `coursekit setup` again: "
                              "finished steps are kept and this one is completed.")
            raise
        outcomes.append(outcome)
        ctx.reporter.finish(outcome)
    if failure is None:
        outcomes += execsteps.after_verify(ctx)
    return SetupResult(plan, engine, tuple(outcomes), ctx.location, ctx.verification, failure,
                       failed_step, tuple(ctx.notes), execsteps.activation(ctx))


@contextlib.contextmanager
def setup_lock(path: Path) -> Iterator[None]:
    """One setup at a time per user: two at once would race on the same env (students do
    start it twice). A lock left by a killed setup is taken over (its pid is gone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                pid = 0
            if pid and pid != os.getpid() and _is_setup(pid):
                raise EnvironmentProblem(
                    f"another `coursekit setup` is running (process {pid}).",
                    "Wait for it to finish (or stop it), then run `coursekit setup` again.")
            path.unlink(missing_ok=True)  # stale: its setup was killed
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
        return
    raise EnvironmentProblem(f"could not take the lock {path}", f"Delete {path} and try again.")


def _is_setup(pid: int) -> bool:
    """True when process ``pid`` is alive and is a coursekit (a reused pid is not)."""
    import psutil

    try:
        return "coursekit" in " ".join(psutil.Process(pid).cmdline())
    except (psutil.Error, OSError):
        return False


def _this_os() -> str:
    from coursekit.setup.plan.detect import system_os

    return system_os()
