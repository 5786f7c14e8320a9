"""A class triage as values: each student's report, the groups sharing a root cause.

Apart from :mod:`.triage` (which reads and diagnoses the reports) so the renderer
(:mod:`coursekit.render.instructor`) reads a triage without importing the doctor's report
loader and the planner under it (issue 9). May import the doctor's :mod:`~coursekit.doctor.view`
(the :class:`~coursekit.doctor.view.Finding` type) only.
"""

from __future__ import annotations

from dataclasses import dataclass

from coursekit.doctor.view import Finding


@dataclass(frozen=True)
class StudentReport:
    """One student's report as triaged."""

    student: str
    source: str
    status: str  # "error" | "warning" | "ok" | "invalid"
    top: str | None  # the root-cause finding id, UNREADABLE, or None (ready)
    findings: tuple[Finding, ...]
    facts: dict[str, str]  # a short summary of the machine (os, python, torch, gpu, ...)
    facts_json: str  # the report's facts as saved, as JSON (keys sorted), for the HTML page; ""
    error: str | None = None
    collected_at: str = ""


@dataclass(frozen=True)
class FixLine:
    fix: str
    students: tuple[str, ...]


@dataclass(frozen=True)
class Group:
    """Students sharing a root cause."""

    finding: str
    title: str
    severity: str
    blocked: int  # students this stops (top finding is an error, or the report is unreadable)
    students: tuple[StudentReport, ...]
    fixes: tuple[FixLine, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.student for s in self.students)


@dataclass(frozen=True)
class Triage:
    groups: tuple[Group, ...]
    ready: tuple[StudentReport, ...]
    total: int
    blocked: int
    duplicates: tuple[str, ...]  # sources dropped because the same student sent a newer report
