"""Rendering of a doctor report, in the style of ``flutter doctor``.

One status line per category: ``[✓]`` ok, ``[!]`` warning, ``[✗]`` error, ``[☠]`` the check
itself failed, ``[-]`` not checked (a check it depends on failed or found nothing to check),
or blocked by a finding in another category that explains its problem.
Findings are indented under their category (``✗`` error, ``!`` warning, ``•`` info) with
their evidence and a ``fix:`` line; ``-v`` adds the facts behind each category and every
check's time. The summary says ``Doctor found N errors and M warnings`` or ``No issues
found!``. Glyphs fall back to ASCII when the stream's encoding cannot print them (Windows
cp1252 consoles); colour only on a terminal and never with ``NO_COLOR``.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence

from coursekit.doctor.catalogue import CATEGORIES, ERROR, WARNING
from coursekit.doctor.categories import UNITS
from coursekit.doctor.categories.base import Category
from coursekit.doctor.facts import CheckRun
from coursekit.doctor.results import FixAction, FixOutcome, Report, TriageEntry, report_data
from coursekit.doctor.view import Finding, View
from coursekit.render import Console, looks_like_command

_UNICODE = {
    "ok": "✓",
    "warning": "!",
    "error": "✗",
    "crash": "☠",
    "skip": "-",
    ERROR: "✗",
    WARNING: "!",
    "info": "•",
}
_ASCII = {
    "ok": "v",
    "warning": "!",
    "error": "x",
    "crash": "#",
    "skip": "-",
    ERROR: "x",
    WARNING: "!",
    "info": "-",
}
_COLOUR = {"ok": "green", "warning": "yellow", "error": "red", "crash": "red", "skip": "dim"}


def glyphs(console: Console) -> dict[str, str]:
    """Unicode marks when the output stream can encode them, else ASCII."""
    encoding = getattr(console.out_stream, "encoding", None) or "ascii"
    try:
        "".join(_UNICODE.values()).encode(codecs.lookup(encoding).name)
    except (UnicodeEncodeError, LookupError):
        return _ASCII
    return _UNICODE


_NEEDS_ENV = frozenset({"torch", "packages", "jupyter", "pip"})
"""Categories whose check is about the course env: without one they are not checked, never [✓]."""


def _category_state(
    findings: Sequence[Finding], runs: Sequence[CheckRun], facts_known: bool
) -> str:
    severities = {f.severity for f in findings}
    if ERROR in severities:
        return "error"
    if any(r.status in ("crashed", "timeout") for r in runs):
        return "crash"
    if WARNING in severities:
        return "warning"
    if not facts_known:
        return "skip"
    return "ok"


def _blocked_info(unit: Category, state: str, report: Report, v: View) -> str | None:
    """Why a category that would look ok is really blocked by a problem elsewhere (else None).

    A finding hidden by a more specific one in *another* category (``torch-missing`` under
    ``python-no-torch-wheel``) leaves its own category without findings; a green tick there
    would say torch is fine. It shows as ``[-]`` with the reason instead.
    """
    if state != "ok":
        return None
    by = [i for h in report.hidden if h.finding.category == unit.id for i in h.by]
    others = [f for f in report.findings if f.id in by and f.category != unit.id]
    info = unit.status(v)
    if others:
        where = ", ".join(dict.fromkeys(f"{f.id} under {CATEGORIES[f.category]}" for f in others))
        return (f"{info}; " if info else "") + f"blocked by {where}"
    if unit.not_checked(v):
        return f"not checked: {info}"  # no rule explains it: never a tick (a missing torch)
    return None


def _why_skipped(v: View) -> str:
    env = v.f.env
    if env is not None and not env.exists:
        return "not checked: no course env yet"
    if v.f.probe is not None and not v.f.probe.ok:
        return f"not checked: the env's Python could not be examined ({v.f.probe.status})"
    return "not checked"


def _timing(runs: Sequence[CheckRun]) -> str:
    return " [" + ", ".join(f"{r.name} {r.duration_ms} ms" for r in runs) + "]" if runs else ""


def render_text(console: Console, report: Report, verbose: bool = False) -> None:
    """Print the report for a person."""
    g = glyphs(console)
    v = View(report.facts, report.planner)
    where = "" if report.source == "this machine" else f" for {report.source}"
    hint = "" if verbose else " (to see all details, run coursekit doctor -v)"
    console.print(f"Doctor summary{where}{hint}:")
    for unit in UNITS:
        mine = [f for f in report.findings if f.category == unit.id]
        runs = [r for r in report.facts.checks if r.name in unit.checks]
        status = unit.status(v)
        state = _category_state(mine, runs, bool(status) or bool(mine))
        if state == "ok" and unit.id in _NEEDS_ENV and v.f.env is not None and not v.f.env.exists:
            state = "skip"  # e.g. kernels scanned, but the course kernel needs the env: not checked
        info = status if state != "crash" else "the check itself failed"
        if state == "skip":
            info = _why_skipped(v)
        blocked = _blocked_info(unit, state, report, v)
        if blocked is not None:
            state, info = "skip", blocked
        head = f"[{g[state]}] {unit.title}" + (f" ({info})" if info else "")
        console.print(console.style(head, _COLOUR[state]) + (_timing(runs) if verbose else ""))
        for f in mine:
            mark = console.style(g[f.severity], _COLOUR.get(f.severity, "dim"))
            console.print(f"    {mark} {f.title}")
            console.print(f"      {f.detail}")
            if f.fix:
                fix = f.fix.replace("\n", "\n" + " " * 11)  # a two-line fix (Windows: no &&)
                console.print(
                    f"      {console.style('fix:', 'bold')} {fix}",
                    wrap=not looks_like_command(f.fix),
                )
        if verbose:
            for line in unit.details(v):
                console.print(console.style(f"    {g['info']} {line}", "dim"))
    console.print()
    console.print(summary_line(report, g))


def summary_line(report: Report, g: dict[str, str]) -> str:
    """``! Doctor found 1 error and 2 warnings in 2 categories.`` or ``• No issues found!``."""
    s = report.summary
    failed = report.checks_failed
    unfinished = (
        f"; {failed} check{'s' * (failed != 1)} could not finish (see [{g['crash']}] above)"
        if failed
        else ""
    )
    if not s.errors and not s.warnings:
        return f"{g['info']} No issues found!"
    cats = len({f.category for f in report.findings if f.severity in (ERROR, WARNING)})
    parts = [
        p
        for p in (
            f"{s.errors} error{'s' * (s.errors != 1)}" if s.errors else "",
            f"{s.warnings} warning{'s' * (s.warnings != 1)}" if s.warnings else "",
        )
        if p
    ]
    return (
        f"{g['warning']} Doctor found {' and '.join(parts)} in {cats} "
        f"categor{'ies' if cats != 1 else 'y'}{unfinished}."
    )


def render_report(console: Console, report: Report, *, as_json: bool, verbose: bool) -> None:
    """Text or the versioned JSON report."""
    if as_json:
        console.json(report_data(report))
    else:
        render_text(console, report, verbose)


def _out(console: Console, to_stderr: bool) -> Callable[..., None]:
    return console.eprint if to_stderr else console.print


def render_fix_plan(
    console: Console,
    actions: Sequence[FixAction],
    *,
    to_stderr: bool = False,
    os_name: str = "linux",
) -> None:
    """The fixes ``--fix`` would apply, each with its commands."""
    from coursekit.render.setup import format_command

    say = _out(console, to_stderr)
    say()
    if not actions:
        say("No automatic fix applies; the fix: lines above say what to do.")
        return
    say("Fixes coursekit can apply:")
    for i, action in enumerate(actions, 1):
        say(f"  {i}. {action.title}  (for {', '.join(action.findings)})")
        for argv in action.commands:
            say("       " + format_command(list(argv), os_name), wrap=False)  # pasted as is


def render_fix_outcomes(
    console: Console, outcomes: Sequence[FixOutcome], *, to_stderr: bool = False
) -> None:
    """What each applied fix did."""
    say = _out(console, to_stderr)
    for o in outcomes:
        say(f"  {o.key}: {'ok' if o.ok else 'FAILED'} {o.message}")


def render_catalogue(console: Console, *, as_json: bool, markdown: bool = False) -> None:
    """``--list``: every finding id with its default severity, category and meaning
    (``--markdown``: the README's findings table, generated from the catalogue)."""
    from coursekit.doctor.catalogue import CATALOGUE

    if markdown:  # a table row is one line whatever the width: never wrapped
        console.print("| id | severity | category | what it means |", wrap=False)
        console.print("|---|---|---|---|", wrap=False)
        for e in CATALOGUE:
            summary = e.summary.replace("|", "\\|")
            console.print(f"| `{e.id}` | {e.severity} | {e.category} | {summary} |", wrap=False)
        return

    if as_json:
        console.json(
            [
                {
                    "id": e.id,
                    "severity": e.severity,
                    "category": e.category,
                    "summary": e.summary,
                    "source": e.source,
                }
                for e in CATALOGUE
            ]
        )
        return
    width = max(len(e.id) for e in CATALOGUE)
    for cat, title in CATEGORIES.items():
        console.print(console.style(title, "bold"))
        for e in (e for e in CATALOGUE if e.category == cat):
            console.print(f"  {e.id:<{width}}  {e.severity:<7}  {e.summary}")


def render_triage(console: Console, entries: Sequence[TriageEntry], *, as_json: bool) -> None:
    """Many students' reports at once: one row each, then how often each problem occurs."""
    from collections import Counter

    counts: Counter[str] = Counter()
    rows: list[tuple[str, str, str | None, list[str]]] = []  # source, status, error, finding ids
    for e in entries:
        if e.report is None:
            rows.append((e.source, "invalid", e.error, []))
            continue
        ids = [f.id for f in e.report.findings if f.severity in (ERROR, WARNING)]
        counts.update(set(ids))
        rows.append((e.source, e.report.summary.status, None, ids))
    if as_json:
        console.json(
            {
                "kind": "coursekit-doctor-triage",
                "schema": 1,
                "reports": [
                    {"source": src, "status": st, "error": err, "findings": ids}
                    for src, st, err, ids in rows
                ],
                "counts": dict(counts.most_common()),
            }
        )
        return
    by_status = Counter(st for _, st, _, _ in rows)
    console.print(
        f"{len(rows)} reports: " + ", ".join(f"{n} {st}" for st, n in sorted(by_status.items()))
    )
    width = max(len(src) for src, _, _, _ in rows)
    for src, st, err, ids in rows:
        what = err if st == "invalid" else (", ".join(ids) or "-")
        console.print(f"  {src:<{width}}  {st:<7}  {what}")
    if counts:
        console.print("Problems across reports (errors and warnings):")
        for fid, n in counts.most_common():
            console.print(f"  {n:>4}  {fid}")
    console.print("Details for one report: coursekit doctor --from FILE")
