"""The doctor's entry points for the CLI: examine this machine (or a saved report), exit codes.

:func:`examine` is the one domain call behind ``coursekit doctor``: it collects facts
with the concurrent checks (or loads them with ``--from``) and diagnoses them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from coursekit.doctor.collect import CollectOptions, collect_facts
from coursekit.doctor.report import Report, load_report, make_report
from coursekit.errors import ExitCode
from coursekit.proc import Runner, run_tool


@dataclass(frozen=True)
class DoctorRequest:
    """What to examine: a saved report, an interpreter, or the course env by name."""

    from_file: Path | None = None
    python: Path | None = None
    env_name: str = "pt"
    probe_timeout_s: float | None = None


def examine(request: DoctorRequest, runner: Runner = run_tool,
            on_slow: Callable[[list[str]], None] | None = None) -> Report:
    """Collect and diagnose (or re-diagnose a saved report); raises only for a bad ``--from``.

    ``on_slow`` is told which checks are still running after 10 s (flutter doctor's slow
    warning), so a student does not think the doctor hangs while torch imports."""
    if request.from_file is not None:
        return load_report(request.from_file)
    opts = CollectOptions(env_name=request.env_name, python=request.python, runner=runner,
                          environ=dict(os.environ), on_slow=on_slow)
    if request.probe_timeout_s is not None:
        opts = replace(opts, probe_timeout_s=request.probe_timeout_s)
    return make_report(collect_facts(opts))


def exit_code(report: Report) -> ExitCode:
    """1 when an error was found; else 3 when a check could not finish (the diagnosis is
    incomplete, and that is never the student's fault); else 0. Warnings alone exit 0."""
    if report.summary.errors:
        return ExitCode.FAILED
    if report.checks_failed:
        return ExitCode.ENVIRONMENT
    return ExitCode.OK
