"""Carrying out a setup :class:`~coursekit.setup.plan.model.Plan`: resumable, idempotent, never destructive.

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

from coursekit.errors import EnvironmentProblem
from coursekit.proc import Runner, run_tool
from coursekit.setup.engines import Engine
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
            raise
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
                    "Wait for it to finish (or stop it), then run `coursekit setup` again.",
                )
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
