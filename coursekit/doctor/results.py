"""The doctor's results as values: the report (``--json``), its summary, ``--fix``'s actions
and outcomes, a triage entry.

Plain dataclasses over the facts and findings, below the rules' engine, so the renderer
(:mod:`coursekit.render.doctor`) and the instructor's triage read them without importing the
rules, the planner or the services (issue 9). May import :mod:`.facts`, :mod:`.view`,
:mod:`.planning` and :mod:`.catalogue` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from coursekit import __version__
from coursekit.constants import DEFAULT_ENV_NAME
from coursekit.doctor.catalogue import ERROR, INFO, WARNING
from coursekit.doctor.facts import Facts, to_data
from coursekit.doctor.planning import NO_PLANNER, Planner
from coursekit.doctor.view import Finding

SCHEMA: Final = 2
KIND: Final = "coursekit-doctor-report"


@dataclass(frozen=True)
class Summary:
    """Counts, and the verdict the exit code is derived from."""

    errors: int
    warnings: int
    infos: int

    @property
    def status(self) -> str:
        """``error`` when any error was found, else ``warning``, else ``ok``."""
        return ERROR if self.errors else (WARNING if self.warnings else "ok")


@dataclass(frozen=True)
class Hidden:
    """A finding left out because another one explains it (the catalogue's ``unless``).

    Kept so the report can say why a category with a problem shows no finding of its own
    (e.g. torch missing in a Python 3.8 env: ``python-no-torch-wheel`` under Platform hides
    ``torch-missing``, and PyTorch must not look ok).
    """

    finding: Finding
    by: tuple[str, ...]  # ids of the findings that explain it, in catalogue order


def summarize(findings: tuple[Finding, ...]) -> Summary:
    """Count findings by severity."""
    return Summary(
        errors=sum(f.severity == ERROR for f in findings),
        warnings=sum(f.severity == WARNING for f in findings),
        infos=sum(f.severity == INFO for f in findings),
    )


@dataclass(frozen=True)
class Report:
    """Facts, the findings made from them, and their summary."""

    facts: Facts
    findings: tuple[Finding, ...]
    summary: Summary
    source: str = "this machine"
    hidden: tuple[Hidden, ...] = ()  # findings another finding explains (not in the JSON)
    planner: Planner = field(default=NO_PLANNER, compare=False, repr=False)
    """The planner the findings were made with (not in the JSON): ``--fix`` and ``-v`` ask it."""

    @property
    def checks_failed(self) -> int:
        """How many checks (or diagnosis rules) crashed or timed out."""
        return sum(c.status in ("crashed", "timeout") for c in self.facts.checks) + sum(
            f.id == "rule-failed" for f in self.findings
        )


def report_data(report: Report) -> dict[str, Any]:
    """The ``--json`` object."""
    s = report.summary
    return {
        "kind": KIND,
        "schema": SCHEMA,
        "coursekit_version": __version__,
        "source": report.source,
        "summary": {
            "status": s.status,
            "errors": s.errors,
            "warnings": s.warnings,
            "infos": s.infos,
            "checks_failed": report.checks_failed,
        },
        "findings": to_data(report.findings),
        "facts": to_data(report.facts),
    }


@dataclass(frozen=True)
class TriageEntry:
    """One student's report in a triage: diagnosed again, or why it could not be read."""

    source: str
    report: Report | None = None
    error: str | None = None


@dataclass(frozen=True)
class FixAction:
    """One automatic fix: what it addresses and the commands that carry it out."""

    key: str  # "reinstall-torch" | "register-kernel"
    title: str
    findings: tuple[str, ...]
    commands: tuple[tuple[str, ...], ...] = ()  # run in order with the env's Python
    kernel_python: str | None = None  # register-kernel: the interpreter the kernel starts
    kernel_prefix: str | None = None
    kernel_name: str = DEFAULT_ENV_NAME


@dataclass(frozen=True)
class FixOutcome:
    """What happened to one action."""

    key: str
    ok: bool
    message: str = ""
