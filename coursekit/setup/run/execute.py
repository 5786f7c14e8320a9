"""Carrying out a setup :class:`~coursekit.setup.plan.model.Plan`: resumable, idempotent, never
destructive.

Every step first looks at the env (:mod:`coursekit.setup.engines.state`) and is skipped when its
result is already there, so a second run on a healthy env only verifies, and a run after an
interruption (Ctrl-C, a kill, a closed lid) does only what is missing or wrong. External
commands go through :func:`coursekit.proc.run_tool` with a time limit; network steps are
retried. The env is removed only with ``--force``. Per-step logic is in
:mod:`coursekit.setup.run.steps`; this module runs the loop and reports.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from coursekit.errors import EnvironmentProblem, InterruptNoted
from coursekit.proc import Runner, run_tool
from coursekit.setup.engines.base import Engine
from coursekit.setup.plan.model import Plan
from coursekit.setup.run.context import (
    Confirm,
    Context,
    Reporter,
    RunOptions,
    SetupResult,
    SilentReporter,
    StepFailed,
    StepOutcome,
    never_confirm,
)
from coursekit.setup.run.failures import Failure


def carry_out(
    plan: Plan,
    engine: Engine,
    options: RunOptions | None = None,
    *,
    runner: Runner = run_tool,
    environ: Mapping[str, str] | None = None,
    reporter: Reporter | None = None,
    confirm: Confirm = never_confirm,
    os_name: str | None = None,
    home: Path | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SetupResult:
    """Run ``plan``'s steps with ``engine``; returns what happened (never raises for a step
    failure; ``KeyboardInterrupt`` propagates after the reporter was told)."""
    from coursekit.resources import coursekit_home

    env = dict(os.environ if environ is None else environ)
    ctx = Context(
        plan,
        engine,
        options or RunOptions(),
        runner,
        env,
        reporter or SilentReporter(),
        confirm,
        os_name or _this_os(),
        home or coursekit_home(env),
        sleep,
    )
    with setup_lock(ctx.home / "state" / "setup.lock"):
        return _carry_out(ctx)


def _carry_out(ctx: Context) -> SetupResult:
    from coursekit.setup.run import steps as execsteps

    plan, engine = ctx.plan, ctx.engine
    if ctx.judge is None:
        from coursekit.setup.run.verify import judge

        ctx.judge = judge
    try:
        execsteps.prepare(ctx)  # finds the env; --force / wrong-Python handling
    except StepFailed as exc:
        none_run = tuple(StepOutcome(s.id, s.title, "not-run") for s in plan.steps)
        return SetupResult(
            plan, engine, none_run, ctx.location, None, exc.failure, "create_env", tuple(ctx.notes)
        )
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
            outcome = StepOutcome(
                step.id, step.title, "done" if did else "ok", time.monotonic() - start, detail
            )
        except StepFailed as exc:
            failure, failed_step = exc.failure, step.id
            outcome = StepOutcome(
                step.id, step.title, "failed", time.monotonic() - start, exc.failure.message
            )
        except KeyboardInterrupt:
            ctx.reporter.finish(
                StepOutcome(step.id, step.title, "interrupted", time.monotonic() - start)
            )
            ctx.reporter.note(
                f"Interrupted during '{step.title}'. Run `coursekit setup` again: "
                "finished steps are kept and this one is completed."
            )
            raise InterruptNoted from None
        outcomes.append(outcome)
        ctx.reporter.finish(outcome)
    if failure is None:
        outcomes += execsteps.after_verify(ctx)
    return SetupResult(
        plan,
        engine,
        tuple(outcomes),
        ctx.location,
        ctx.verification,
        failure,
        failed_step,
        tuple(ctx.notes),
        execsteps.activation(ctx),
    )


@contextlib.contextmanager
def setup_lock(path: Path) -> Iterator[None]:
    """One setup at a time per user: two at once would race on the same env (students do
    start it twice). The lock is an OS file lock (``filelock``: ``flock``/``LockFileEx``), so
    it dies with its holder, even one killed with SIGKILL; the holder's pid is written beside
    it (``setup.lock.pid``) for the message. Installers a killed setup left running are
    stopped by :func:`coursekit.setup.run.preflight.stop_leftovers` before any step."""
    from filelock import FileLock, Timeout

    path.parent.mkdir(parents=True, exist_ok=True)
    pidfile = path.with_name(path.name + ".pid")
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        try:
            holder = pidfile.read_text(encoding="utf-8").strip()
        except OSError:
            holder = "?"
        raise EnvironmentProblem(
            f"another `coursekit setup` is running (process {holder}).",
            "Wait for it to finish (or stop it), then run `coursekit setup` again.",
        ) from None
    try:
        pidfile.write_text(str(os.getpid()), encoding="utf-8")
        yield
    finally:
        pidfile.unlink(missing_ok=True)
        lock.release()


def _this_os() -> str:
    from coursekit.setup.plan.detect import system_os

    return system_os()
