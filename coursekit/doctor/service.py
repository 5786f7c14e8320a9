"""The doctor's entry points for the CLI: examine this machine (or a saved report), exit codes.

The values it returns (:class:`~coursekit.doctor.results.Report`,
:class:`~coursekit.doctor.results.TriageEntry`) live in :mod:`.results`, where the renderer reads
them without importing this service (issue 9).

:func:`examine` is the one domain call behind ``coursekit doctor``: it collects facts
with the concurrent checks (or loads them with ``--from``) and diagnoses them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from coursekit.doctor.collect import CollectOptions, collect_facts
from coursekit.doctor.report import load_report, make_report
from coursekit.doctor.results import Report, TriageEntry
from coursekit.errors import CoursekitError, ExitCode
from coursekit.proc import Runner, run_tool

__all__ = ["DoctorRequest", "TriageEntry", "examine", "exit_code", "triage", "triage_exit_code"]


@dataclass(frozen=True)
class DoctorRequest:
    """What to examine: a saved report, an interpreter, or the course env by name."""

    from_file: Path | None = None
    python: Path | None = None
    env_name: str | None = None
    """``--env``; None: the env spec's name."""
    probe_timeout_s: float | None = None
    student: str = ""  # --name / COURSEKIT_STUDENT, recorded in the facts


def examine(
    request: DoctorRequest,
    runner: Runner = run_tool,
    on_slow: Callable[[list[str]], None] | None = None,
) -> Report:
    """Collect and diagnose (or re-diagnose a saved report); raises only for a bad ``--from``.

    ``on_slow`` is told which checks are still running after 10 s (flutter doctor's slow
    warning), so a student does not think the doctor hangs while torch imports."""
    if request.from_file is not None:
        return load_report(request.from_file)
    opts = CollectOptions(
        env_name=request.env_name or "",
        python=request.python,
        runner=runner,
        environ=dict(os.environ),
        on_slow=on_slow,
    )
    if request.probe_timeout_s is not None:
        opts = replace(opts, probe_timeout_s=request.probe_timeout_s)
    facts = collect_facts(opts)
    return make_report(replace(facts, student=request.student) if request.student else facts)


def exit_code(report: Report) -> ExitCode:
    """1 when an error was found; else 3 when a check could not finish (the diagnosis is
    incomplete, and that is never the student's fault); else 0. Warnings alone exit 0."""
    if report.summary.errors:
        return ExitCode.FAILED
    if report.checks_failed:
        return ExitCode.ENVIRONMENT
    return ExitCode.OK


def triage(paths: Sequence[Path]) -> tuple[TriageEntry, ...]:
    """Re-diagnose many saved reports (an instructor's ``--from a.json --from b.json ...``);
    an unreadable or invalid file is an entry with its error, not the end of the run."""
    entries = []
    for path in paths:
        try:
            entries.append(TriageEntry(str(path), load_report(path)))
        except CoursekitError as exc:
            entries.append(TriageEntry(str(path), error=exc.message))
    return tuple(entries)


def triage_exit_code(entries: Sequence[TriageEntry]) -> ExitCode:
    """2 when a file was invalid, else the worst of the reports' own exit codes."""
    if any(e.report is None for e in entries):
        return ExitCode.USAGE
    codes = [exit_code(e.report) for e in entries if e.report is not None]
    if ExitCode.FAILED in codes:
        return ExitCode.FAILED
    return ExitCode.ENVIRONMENT if ExitCode.ENVIRONMENT in codes else ExitCode.OK
