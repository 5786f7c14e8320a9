"""Shared pieces of setup's steps: the env's state, its location, and running a tool with
retries (network failures only) and a time limit through :func:`coursekit.proc.run_tool`."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from coursekit.constants import ENV_DISK_GB
from coursekit.proc import ToolResult
from coursekit.setup.engines.discovery import confirm_env, embedded_env_prefix, locate_env
from coursekit.setup.engines.state import EnvState, read_state
from coursekit.setup.plan.envspec import TRIO
from coursekit.setup.plan.model import Step
from coursekit.setup.run.context import Context, StepFailed
from coursekit.setup.run.failures import Failure, classify

TIMEOUTS = {"create_env": 3600.0, "install_torch": 3600.0, "install_dependents": 1800.0}


def spec_name(spec: str) -> str:
    """``jupyterlab>=4`` / ``python=3.12`` / ``lightning>=2.6.6`` -> the package name."""
    return re.split(r"[\s=<>!~\[;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def trio_pins(ctx: Context) -> tuple[str, ...]:
    """The exact torch pins this plan installs (the spec may list fewer than all three)."""
    try:
        holds = ctx.plan.step("install_torch").holds
    except KeyError:
        holds = ()
    return holds or ctx.plan.torch.pins()


def step_names(ctx: Context) -> list[str]:
    """The pip distributions the steps look at."""
    return [*TRIO, "ipykernel", *(spec_name(s) for s in ctx.plan.pip_dependents)]


def env_state(ctx: Context, fresh: bool = False) -> EnvState:
    """The env's state, read once per run and again only after a step changed the env."""
    if fresh or ctx.state is None:
        ctx.state = read_state(ctx.location, step_names(ctx), runner=ctx.runner, env=ctx.environ)
    return ctx.state


def channels(ctx: Context) -> tuple[str, ...]:
    """The conda channels: --channel, else the plan's."""
    return ctx.options.channels or ctx.plan.channels


def locate(ctx: Context) -> None:
    """Find (again) the env through the engine and confirm its Python."""
    if ctx.engine.external:
        ctx.location = locate_env(ctx.engine, ctx.plan.env_name, runner=ctx.runner, env=ctx.environ)
    else:
        prefix = embedded_env_prefix(ctx.plan.env_name, ctx.environ)
        ctx.location = (
            confirm_env(ctx.plan.env_name, prefix, "embedded", runner=ctx.runner, env=ctx.environ)
            if (prefix / "conda-meta").is_dir()
            else None
        )


# A pip --log line: "2026-11-23T19:26:22,670 ERROR: No matching distribution found for x".
_LOG_LINE = re.compile(r"^\S+ ((?:WARNING|ERROR): .*)$")


def logged_messages(log: Path) -> str:
    """The WARNING/ERROR lines of pip's ``--log`` file, timestamps cut: what pip prints on
    the terminal, without the debug lines (urllib3 'connection' chatter, resolver tracebacks
    naming ResolutionImpossible for a plain missing wheel) that would mislead :func:`classify`."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(m.group(1) for m in map(_LOG_LINE.match, text.splitlines()) if m)


def run_checked(
    ctx: Context,
    step: Step,
    argv: Sequence[str],
    *,
    timeout: float,
    network: bool,
    source: str = "",
    capture: bool = True,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
) -> ToolResult:
    """Run ``argv`` (retrying network failures); raise :class:`StepFailed` when it fails.

    ``log``: the pip ``--log`` file of an uncaptured run (at a terminal pip's output goes to
    the screen): a failure is explained, and retried or not, from its messages there.
    """
    attempts = ctx.options.attempts if network else 1
    wait = ctx.options.backoff_s
    for attempt in range(1, attempts + 1):
        if log is not None:
            log.unlink(missing_ok=True)  # pip appends: each attempt is judged on its own lines
        result = ctx.runner(list(argv), timeout=timeout, env=env or ctx.environ, capture=capture)
        if result.ok:
            return result
        if log is not None and not (result.stdout or result.stderr):
            result = dataclasses.replace(result, stderr=logged_messages(log))
        need = ENV_DISK_GB["gpu" if ctx.plan.torch.gpu else "cpu"]
        failure = classify(step.title, result, source=source, disk_gb=need)
        if not (failure.transient and attempt < attempts):
            raise StepFailed(failure)
        ctx.reporter.retry(step.id, attempt + 1, failure.tool_line or failure.message, wait)
        ctx.sleep(wait)
        wait *= 2
    raise AssertionError("unreachable")


def check_after(ctx: Context, step: Step, ok: bool, why: str) -> None:
    """A tool said yes but the env does not show it: fail the step with ``why``."""
    if not ok:
        raise StepFailed(
            Failure(
                "tool",
                f"{step.title}: the command succeeded but {why}",
                "Run `coursekit doctor` to see what is wrong.",
                None,
            )
        )
