"""``coursekit class triage REPORT...``: a class's doctor reports grouped by root cause.

Each report (``coursekit doctor --save`` / ``--json``; files, folders of them, globs) is
diagnosed again with this coursekit's catalogue (:func:`coursekit.doctor.report.load_report`,
which reads every OS's paths in that OS's flavour). A student's *root cause* is their top
finding: the first error in the doctor's category order (platform, GPU, env, ...), else the
first warning. Groups are ordered by how many students they block; each carries the fix
line(s) and the names in it. Students with no error or warning are *ready*. Pure apart from
reading the files.
"""

from __future__ import annotations

import gc
import json
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from coursekit.doctor.advice import course_planner
from coursekit.doctor.catalogue import entry
from coursekit.doctor.planning import Planner
from coursekit.doctor.report import Report, decode_report, load_report, load_report_data
from coursekit.doctor.view import Finding
from coursekit.errors import CoursekitError, UsageError
from coursekit.instructor.triaged import FixLine, Group, StudentReport, Triage

__all__ = ["FixLine", "Group", "StudentReport", "Triage", "group", "read_all", "read_one", "triage"]

UNREADABLE = "unreadable-report"
_SAVED_NAME = re.compile(r"^doctor-(?P<name>.+?)-(?P<date>\d{4}-\d{2}-\d{2})(?:-\d+)?$")


def report_paths(args: Iterable[str]) -> list[Path]:
    """REPORT arguments to files: a file, a folder (its ``*.json``, recursively), a glob."""
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            out += sorted(p for p in path.rglob("*.json") if p.is_file())
        elif not path.exists() and _has_magic(arg):
            import glob

            matched = sorted(glob.glob(arg, recursive=True))
            for m in matched:
                mp = Path(m)
                out += sorted(mp.rglob("*.json")) if mp.is_dir() else [mp]
        else:
            out.append(path)
    seen: set[str] = set()
    unique = []
    for p in out:
        key = os.path.normcase(os.path.abspath(p))
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _has_magic(arg: str) -> bool:
    """Whether ``arg`` is a glob pattern (``glob.has_magic``, without importing glob)."""
    return any(c in arg for c in "*?[")


def name_from_file(path: Path) -> str:
    """``doctor-ada-lovelace-2026-12-04.json`` -> ``ada-lovelace``; else the file's stem."""
    m = _SAVED_NAME.match(path.stem)
    return m.group("name") if m else path.stem


def top_finding(findings: tuple[Finding, ...]) -> Finding | None:
    """The root cause: the first error in category order, else the first warning."""
    for severity in ("error", "warning"):
        for f in findings:
            if f.severity == severity:
                return f
    return None


def facts_summary(report: Report) -> dict[str, str]:
    """The facts a TA looks at first, as short strings."""
    f = report.facts
    out: dict[str, str] = {}
    if f.platform:
        p = f.platform
        os_text = (
            p.os + (f" {p.macos_version}" if p.macos_version else "") + (" (WSL)" if p.wsl else "")
        )
        out["os"] = f"{os_text} {p.arch}".strip()
    if f.gpu and f.gpu.gpus:
        out["gpu"] = ", ".join(getattr(g, "name", "?") for g in f.gpu.gpus)
        if f.gpu.cuda_driver_api:
            out["driver CUDA"] = f.gpu.cuda_driver_api
    elif f.gpu is not None:
        out["gpu"] = "none found"
    if f.env:
        out["env"] = (
            f"{f.env.name} at {f.env.prefix}"
            if f.env.exists and f.env.prefix
            else f"{f.env.name}: not found"
        )
        if f.env.python_version:
            out["python"] = f.env.python_version
    if f.probe is not None:
        torch_version = _probe_torch(f.probe)
        if torch_version:
            out["torch"] = torch_version
    if f.memory:
        out["memory"] = f"{f.memory.total_mib // 1024} GiB"
    if f.coursekit_version:
        out["coursekit"] = f.coursekit_version
    if f.collected_at:
        out["collected"] = f.collected_at
    return out


def _probe_torch(probe: Any) -> str | None:
    try:
        torch = probe.torch
        version = torch.get("version") if isinstance(torch, dict) else None
        if isinstance(version, str) and version:
            return version
        items = probe.data.get("distributions", {}).get("items", [])
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and item.get("name") == "torch":
                return str(item.get("version"))
    except (AttributeError, TypeError):
        return None
    return None


def _raw_facts(path: Path) -> dict[str, Any]:
    """The report's facts as saved (for the page's "all facts"), without re-serialising."""
    try:
        data = json.loads(decode_report(path.read_bytes()))
        facts = data.get("facts") if isinstance(data, dict) else None
        return facts if isinstance(facts, dict) else {}
    except (OSError, ValueError):
        return {}


def facts_json(facts: dict[str, Any]) -> str:
    """A report's saved facts as the page shows them: JSON, keys sorted, any character as it is
    (made where the report is read, so a forked reader sends text, not objects, back)."""
    return json.dumps(facts, sort_keys=True, ensure_ascii=False)


def read_one(
    path: Path,
    load: Callable[[Path], Report] = load_report,
    *,
    keep_facts: bool = True,
    planner: Planner | None = None,
) -> StudentReport:
    """One report, diagnosed again; an unreadable file is a student with UNREADABLE.

    With the doctor's own loader the file is read and parsed once (its saved facts come from
    the same parse) and diagnosed with ``planner`` (None: the course's, as ``doctor --from``);
    another ``load`` (tests) reads them from the file again."""
    try:
        if load is load_report:
            report, raw_facts = load_report_data(path, planner)
        else:
            report = load(path)
            raw_facts = _raw_facts(path) if keep_facts else {}
    except CoursekitError as exc:
        return StudentReport(
            name_from_file(path), str(path), "invalid", UNREADABLE, (), {}, "", error=exc.message
        )
    name = report.facts.student.strip() or name_from_file(path)
    top = top_finding(report.findings)
    return StudentReport(
        name,
        str(path),
        report.summary.status,
        top.id if top else None,
        report.findings,
        facts_summary(report),
        facts_json(raw_facts) if keep_facts else "",
        collected_at=report.facts.collected_at,
    )


def _fix_lines(members: list[StudentReport], fid: str) -> tuple[FixLine, ...]:
    by_fix: dict[str, list[str]] = {}
    for s in members:
        f = next((x for x in s.findings if x.id == fid), None)
        text = (
            f.fix
            if f is not None and f.fix
            else "Ask the student to run `coursekit doctor --save` again and send the new file."
            if fid == UNREADABLE
            else "(no command: see the finding's detail)"
        )
        by_fix.setdefault(text, []).append(s.student)
    ordered = sorted(by_fix.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return tuple(FixLine(fix, tuple(names)) for fix, names in ordered)


def group(students: list[StudentReport]) -> Triage:
    """Group by root cause (pure). The same student twice: the newest report counts."""
    newest: dict[str, StudentReport] = {}
    dropped: list[str] = []
    for s in students:
        key = s.student.casefold()
        old = newest.get(key)
        if old is None:
            newest[key] = s
        elif (s.collected_at, s.source) > (old.collected_at, old.source):
            dropped.append(old.source)
            newest[key] = s
        else:
            dropped.append(s.source)
    kept = sorted(newest.values(), key=lambda s: (s.student.casefold(), s.source))
    members: dict[str, list[StudentReport]] = {}
    for s in kept:
        if s.top is not None:
            members.setdefault(s.top, []).append(s)
    groups = []
    for fid, ms in members.items():
        if fid == UNREADABLE:
            title, severity = "The report could not be read", "error"
        else:
            f = next(x for x in ms[0].findings if x.id == fid)
            title, severity = _catalogue_title(fid, f.title), f.severity
        blocked = sum(
            1
            for s in ms
            if s.status in ("error", "invalid")
            and (
                s.top == UNREADABLE
                or any(x.id == fid and x.severity == "error" for x in s.findings)
            )
        )
        groups.append(Group(fid, title, severity, blocked, tuple(ms), _fix_lines(ms, fid)))
    groups.sort(key=lambda g: (-g.blocked, -len(g.students), g.finding))
    ready = tuple(s for s in kept if s.top is None)
    return Triage(tuple(groups), ready, len(kept), sum(g.blocked for g in groups), tuple(dropped))


def _catalogue_title(fid: str, fallback: str) -> str:
    try:
        e = entry(fid)
    except (KeyError, ValueError):
        return fallback
    return str(getattr(e, "title", "") or getattr(e, "summary", "") or fallback)


def triage(
    args: Iterable[str],
    load: Callable[[Path], Report] = load_report,
    *,
    keep_facts: bool = True,
    jobs: int = 0,
) -> Triage:
    """``coursekit class triage``: read every report and group the class.

    ``keep_facts=False`` drops each report's saved facts once diagnosed (only the HTML page
    shows them). ``jobs``: processes reading at once (0: the cores this process may use)."""
    paths = report_paths(args)
    if not paths:
        raise UsageError(
            "no reports found in " + " ".join(args),
            "Give doctor report files (coursekit doctor --save), folders of them, or "
            "a glob like 'reports/*.json'.",
        )
    return group(read_all(paths, load, keep_facts=keep_facts, jobs=jobs))


def read_all(
    paths: list[Path],
    load: Callable[[Path], Report] = load_report,
    *,
    keep_facts: bool = True,
    jobs: int = 1,
) -> list[StudentReport]:
    """Every report, read and diagnosed, in order.

    The course's planner (its env spec and matrix) is made once for the class, as
    ``doctor --from`` makes it once for its report. With ``jobs`` > 1 (0: the usable cores)
    a large class is shared among forked copies of this process (:mod:`.forkmap`: Linux, about
    50 reports a process at least); the result is the same, in the same order. The garbage
    collector is paused meanwhile: parsing allocates many objects, few of them in cycles, and
    its passes cost a sixth of the time."""
    from coursekit.instructor.forkmap import fork_map, usable_cores

    planner = course_planner()  # the course's data, read once for the class

    def read(path: Path) -> StudentReport:
        return read_one(path, load, keep_facts=keep_facts, planner=planner)

    enabled = gc.isenabled()
    gc.disable()
    try:
        return fork_map(read, paths, jobs if jobs > 0 else usable_cores())
    finally:
        if enabled:
            gc.enable()
