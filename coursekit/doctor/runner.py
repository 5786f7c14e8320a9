"""Run small independent checks concurrently, each with its own time limit.

Like flutter doctor's validators (envs/SOURCES.md H6): every check starts as soon as the
checks it depends on have finished, in its own thread; an exception becomes a
``crashed`` :class:`~coursekit.doctor.facts.CheckRun` and a check that runs past its
limit becomes ``timeout`` and is abandoned, while the others still report. Checks whose
parent failed are ``skipped``.

Daemon threads rather than :class:`concurrent.futures.ThreadPoolExecutor`: the executor
joins its worker threads at interpreter exit, so one hung check (a wedged ``nvidia-smi``
that ignores its own limit, a stuck network mount) would hang ``coursekit doctor`` at
exit; an abandoned daemon thread does not. Subprocesses are killed by
:func:`coursekit.proc.run_tool`'s own limits.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coursekit.doctor.facts import CheckRun

CheckFn = Callable[[Mapping[str, Any]], Any]
"""A check receives the values of the checks it depends on, by name, and returns its facts."""


@dataclass(frozen=True)
class Check:
    """One small check: a name, what it depends on, its function and time limit."""

    name: str
    fn: CheckFn
    timeout_s: float
    deps: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Done:
    name: str
    value: Any
    error: str | None
    duration_ms: int


def _worker(check: Check, inputs: Mapping[str, Any], out: queue.Queue[_Done]) -> None:
    start = time.perf_counter()
    try:
        value, error = check.fn(inputs), None
    except Exception as exc:  # noqa: BLE001 - a crashing check is a finding, not a crash
        value = None
        error = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_tb(exc.__traceback__))
    out.put(_Done(check.name, value, error, int((time.perf_counter() - start) * 1000)))


SLOW_AFTER_S = 10.0
"""flutter doctor's ``slowWarningDuration``: after this long, say which checks are still running."""


def run_checks(
    checks: Sequence[Check],
    on_slow: Callable[[list[str]], None] | None = None,
    slow_after_s: float = SLOW_AFTER_S,
) -> tuple[dict[str, Any], tuple[CheckRun, ...]]:
    """Run ``checks`` (dependencies first, the rest concurrently); return values and runs.

    The values dict holds only the checks that finished without error. The runs are in
    the order of ``checks``. ``on_slow`` is called once, with the names still running, when
    the run takes longer than ``slow_after_s``.
    """
    slow_at = time.monotonic() + slow_after_s if on_slow else None
    by_name = {c.name: c for c in checks}
    values: dict[str, Any] = {}
    runs: dict[str, CheckRun] = {}
    started: dict[str, float] = {}  # name -> monotonic deadline
    done: queue.Queue[_Done] = queue.Queue()
    while len(runs) < len(checks):
        _start_ready(checks, values, runs, started, done)
        if not started:
            break  # nothing running and nothing could start: unknown deps
        now = time.monotonic()
        wake = min([*started.values(), *([slow_at] if slow_at else [])])
        try:
            item = done.get(timeout=max(0.0, wake - now))
        except queue.Empty:
            if slow_at is not None and time.monotonic() >= slow_at and on_slow is not None:
                on_slow(sorted(started))
                slow_at = None
            _expire(by_name, runs, started)
            continue
        if item.name not in started:
            continue  # a check that was already given up on finished late: ignore it
        del started[item.name]
        check = by_name[item.name]
        if item.error is None:
            values[item.name] = item.value
            runs[item.name] = CheckRun(item.name, "ok", item.duration_ms, None, check.timeout_s)
        else:
            runs[item.name] = CheckRun(
                item.name, "crashed", item.duration_ms, item.error, check.timeout_s
            )
    for check in checks:  # deps that name no check
        runs.setdefault(
            check.name, CheckRun(check.name, "skipped", 0, "unknown dependency", check.timeout_s)
        )
    return values, tuple(runs[c.name] for c in checks)


def _start_ready(
    checks: Sequence[Check],
    values: dict[str, Any],
    runs: dict[str, CheckRun],
    started: dict[str, float],
    done: queue.Queue[_Done],
) -> None:
    for check in checks:
        if check.name in runs or check.name in started:
            continue
        failed = [d for d in check.deps if d in runs and runs[d].status != "ok"]
        if failed:
            runs[check.name] = CheckRun(
                check.name,
                "skipped",
                0,
                f"needs {', '.join(failed)}, which did not finish",
                check.timeout_s,
            )
            continue
        if all(d in values for d in check.deps):
            inputs = {d: values[d] for d in check.deps}
            started[check.name] = time.monotonic() + check.timeout_s
            thread = threading.Thread(
                target=_worker,
                args=(check, inputs, done),
                name=f"doctor-check-{check.name}",
                daemon=True,
            )
            thread.start()


def _expire(
    by_name: Mapping[str, Check], runs: dict[str, CheckRun], started: dict[str, float]
) -> None:
    now = time.monotonic()
    for name, deadline in list(started.items()):
        if now >= deadline:
            del started[name]
            limit = by_name[name].timeout_s
            runs[name] = CheckRun(
                name, "timeout", int(limit * 1000), f"timed out after {limit:g} s", limit
            )
