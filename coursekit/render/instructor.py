"""Output of the instructor commands: ``lab N --pack``, ``class grade``, ``class triage``.

Text and JSON on the console; CSV and the self-contained HTML page as files.
"""

from __future__ import annotations

import io
import os
import time
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from coursekit.errors import UsageError
from coursekit.jsondata import to_jsonable
from coursekit.render import Console, dumps

if TYPE_CHECKING:  # types only: `class triage` must not import the grading machinery
    from coursekit.instructor.classgrade import ClassGradeResult, GradeRow, Progress
    from coursekit.instructor.pack import PackResult
    from coursekit.instructor.triaged import Group, StudentReport, Triage

GRADE_KIND = "coursekit-class-grade"
TRIAGE_KIND = "coursekit-class-triage"


# -- pack ----------------------------------------------------------------------------------


def pack(console: Console, result: PackResult, as_json: bool) -> None:
    if as_json:
        console.json(
            {
                "lab": result.lab,
                "zip": str(result.zip_path),
                "student": result.student,
                "files": [{"name": n, "sha256": h} for n, h in result.files],
                "manifest": result.manifest,
            }
        )
        return
    console.print(f"packed lab {result.lab} for {result.student}: {result.zip_path}")
    for name, digest in result.files:
        console.print(f"  {name:<28} sha256 {digest[:12]}")
    console.print()
    console.print(
        f"{console.style('next:', 'bold')} hand in {result.zip_path.name} the way your "
        "course asks (upload it as it is; do not unzip or rename the files inside)."
    )


# -- class grade ---------------------------------------------------------------------------


def _fmt_s(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    s = round(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
        if s >= 3600
        else f"{s // 60:02d}:{s % 60:02d}"
    )


class ProgressBar:
    """A one-line bar with an ETA on a terminal; one line per finished submission otherwise."""

    def __init__(self, console: Console, stream: IO[str] | None = None, width: int = 30):
        self.console = console
        self.stream = stream if stream is not None else console.err_stream
        isatty = getattr(self.stream, "isatty", None)
        self.tty = bool(isatty and isatty())
        self.width = width
        self._last = 0.0

    def __call__(self, p: Progress) -> None:
        if self.tty:
            filled = int(self.width * p.done / p.total) if p.total else self.width
            bar = "#" * filled + "-" * (self.width - filled)
            line = (
                f"\r[{bar}] {p.done}/{p.total}  elapsed {_fmt_s(p.elapsed_s)}  "
                f"ETA {_fmt_s(p.eta_s)} "
            )
            self.stream.write(line)
            if p.done == p.total:
                self.stream.write("\n")
            self.stream.flush()
        elif p.row is not None:
            r = p.row
            self.stream.write(
                f"[{p.done}/{p.total}] {r.student}: {r.verdict} {r.score}/{r.max_score}"
                f" ({r.seconds:.1f} s)\n"
            )
            self.stream.flush()


def grade_columns(result: ClassGradeResult) -> list[str]:
    return (
        ["student", "lab", "score", "max_score", "passed"]
        + [f"points:{c.name}" for c in result.checks]
        + ["verdict", "seconds", "content_hash", "graders_hash", "source", "message"]
    )


def grade_record(result: ClassGradeResult, row: GradeRow) -> list[Any]:
    return (
        [row.student, row.lab, row.score, row.max_score, "yes" if row.passed else "no"]
        + [row.points.get(c.name, 0) for c in result.checks]
        + [
            row.verdict,
            f"{row.seconds:.2f}",
            row.content_hash,
            row.graders_hash,
            row.source,
            row.message,
        ]
    )


def _csv_safe(value: Any) -> Any:
    """Spreadsheets run cells that start with = + - @ as formulas (CSV injection): quote them."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write_csv(path: Path, header: list[str], records: list[list[Any]]) -> None:
    buf = io.StringIO()
    import csv  # only for --csv

    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for rec in records:
        writer.writerow([_csv_safe(v) for v in rec])
    _write_file(path, buf.getvalue())


def _write_file(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc}", "Give a file in a folder you can write to."
        ) from exc


def grade_data(result: ClassGradeResult) -> dict[str, Any]:
    return {
        "kind": GRADE_KIND,
        "schema": 1,
        "lab": result.lab,
        "slug": result.slug,
        "graders": result.graders,
        "graders_hash": result.graders_hash,
        "checks": [{"name": c.name, "title": c.title, "points": c.points} for c in result.checks],
        "rows": [to_jsonable(r) for r in result.rows],
        "summary": grade_summary(result),
    }


def grade_summary(result: ClassGradeResult) -> dict[str, Any]:
    verdicts: dict[str, int] = {}
    for r in result.rows:
        verdicts[r.verdict] = verdicts.get(r.verdict, 0) + 1
    return {
        "submissions": len(result.rows),
        "passed": sum(r.passed for r in result.rows),
        "verdicts": verdicts,
        "graded_now": result.graded_now,
        "from_cache": result.from_cache,
        "seconds": round(result.seconds, 2),
        "jobs": result.jobs,
        "cache": str(result.cache),
    }


def class_grade(
    console: Console, result: ClassGradeResult, *, as_json: bool, csv_path: Path | None
) -> None:
    if csv_path is not None:
        write_csv(csv_path, grade_columns(result), [grade_record(result, r) for r in result.rows])
    if as_json:
        console.json(grade_data(result))
        return
    width = max([len(r.student) for r in result.rows] + [7])
    console.print(f"lab {result.lab} ({result.slug}), graders: {result.graders}")
    for r in result.rows:
        style = ("green",) if r.passed else ("yellow",) if r.verdict == "graded" else ("red",)
        verdict = console.style(f"{r.verdict:<15}", *style)
        note = f"  {r.message[:90]}" if r.message and r.verdict != "graded" else ""
        cached = " (cached)" if r.cached else ""
        console.print(
            f"  {r.student:<{width}}  {r.score:>3}/{r.max_score:<3} {verdict}{cached}{note}"
        )
    s = grade_summary(result)
    parts = ", ".join(f"{n} {v}" for v, n in sorted(s["verdicts"].items()))
    console.print()
    console.print(
        f"{s['submissions']} submissions: {s['passed']} passed; {parts}; "
        f"{s['graded_now']} graded now, {s['from_cache']} from the cache "
        f"({s['seconds']:.1f} s, {s['jobs']} jobs)"
    )
    if csv_path is not None:
        console.print(f"wrote {csv_path}")


# -- class triage --------------------------------------------------------------------------


def _student_data(s: StudentReport) -> dict[str, Any]:
    return {
        "student": s.student,
        "source": s.source,
        "status": s.status,
        "top": s.top,
        "error": s.error,
        "facts": s.facts,
        "findings": [to_jsonable(f) for f in s.findings],
    }


def triage_data(t: Triage) -> dict[str, Any]:
    return {
        "kind": TRIAGE_KIND,
        "schema": 1,
        "total": t.total,
        "blocked": t.blocked,
        "ready": [_student_data(s) for s in t.ready],
        "groups": [
            {
                "finding": g.finding,
                "title": g.title,
                "severity": g.severity,
                "blocked": g.blocked,
                "count": len(g.students),
                "fixes": [{"fix": f.fix, "students": list(f.students)} for f in g.fixes],
                "students": [_student_data(s) for s in g.students],
            }
            for g in t.groups
        ],
        "duplicates_ignored": list(t.duplicates),
    }


def triage_csv(path: Path, t: Triage) -> None:
    header = [
        "student",
        "status",
        "root_cause",
        "blocked",
        "fix",
        "os",
        "python",
        "torch",
        "gpu",
        "findings",
        "source",
    ]
    records = []
    members = [(g, s) for g in t.groups for s in g.students] + [(None, s) for s in t.ready]
    fix_of = {id(g): _fix_of(g) for g in t.groups}
    for g, s in members:
        fix = ""
        if g is not None:
            fix = fix_of[id(g)].get(s.student, "")
        records.append(
            [
                s.student,
                s.status,
                s.top or "ready",
                "yes" if s.status in ("error", "invalid") else "no",
                fix,
                s.facts.get("os", ""),
                s.facts.get("python", ""),
                s.facts.get("torch", ""),
                s.facts.get("gpu", ""),
                " ".join(f.id for f in s.findings),
                s.source,
            ]
        )
    write_csv(path, header, records)


def class_triage(
    console: Console, t: Triage, *, as_json: bool, csv_path: Path | None, html_path: Path | None
) -> None:
    if csv_path is not None:
        triage_csv(csv_path, t)
    if html_path is not None:
        _write_file(html_path, triage_html(t))
    if as_json:
        # one line: a class is large (docs/json.md); triage_data is plain JSON values already
        console.json(triage_data(t), compact=True, plain=True)
        return
    console.print(
        f"{t.total} students: {t.blocked} blocked, {len(t.ready)} ready, "
        f"{t.total - t.blocked - len(t.ready)} with warnings only"
    )
    for g in t.groups:
        sev = console.style(g.severity, "red" if g.severity == "error" else "yellow")
        console.print()
        console.print(
            console.style(f"{g.finding}", "bold") + f"  {len(g.students)} students, "
            f"{g.blocked} blocked ({sev}): {g.title}"
        )
        for f in g.fixes:
            console.print(f"  fix: {f.fix}")
            console.print(f"       {', '.join(f.students)}")
    console.print()
    names = ", ".join(s.student for s in t.ready) or "none"
    console.print(f"{console.style('ready', 'green', 'bold')} ({len(t.ready)}): {names}")
    if t.duplicates:
        console.print(
            f"older reports ignored (the same student sent a newer one): {len(t.duplicates)}"
        )
    for path in (csv_path, html_path):
        if path is not None:
            console.print(f"wrote {path}")


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#222;\
max-width:70rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}
.summary{display:grid;grid-template-columns:16rem 1fr 4rem;gap:.3rem .8rem;align-items:center}
.bar{background:#eee;height:1.1rem;border-radius:3px;overflow:hidden}
.fill{height:100%;background:#c0392b}.fill.warning{background:#e6a23c}.fill.ready{background:#2e8b57}
table{border-collapse:collapse;width:100%;margin:.5rem 0}\
td,th{border:1px solid #ddd;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f5f5f5}code{background:#f3f3f3;padding:0 .2rem}
details{margin:.1rem 0}summary{cursor:pointer}.error{color:#c0392b}.warning{color:#b7791f}
.info{color:#555}.fix{font-family:ui-monospace,Menlo,Consolas,monospace;background:#f6f8fa;
padding:.4rem;border-left:3px solid #999;white-space:pre-wrap;word-break:break-all}
pre{white-space:pre-wrap;word-break:break-all;font-size:.8rem}
"""


def _e(text: Any) -> str:
    return _escape(str(text))


@lru_cache(maxsize=16384)
def _escape(text: str) -> str:
    """``html.escape`` once per distinct string (a class repeats its titles, fixes and facts)."""
    return _html_escape(text)


def _html_escape(text: str) -> str:
    """``html.escape(text, quote=True)``, without importing :mod:`html` (and its table of
    entities) for every class triage."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#x27;")
    )


def _fix_of(g: Group) -> dict[str, str]:
    """Each student of ``g`` with the first of its fix lines that names them (one pass; asking
    every fix line for every student is quadratic in a large group)."""
    out: dict[str, str] = {}
    for f in g.fixes:
        for name in f.students:
            out.setdefault(name, f.fix)
    return out


def _findings_html(s: StudentReport) -> str:
    if s.error:
        return f'<p class="error">{_e(s.error)}</p>'
    items = []
    for f in s.findings:
        fix = f'<div class="fix">{_e(f.fix)}</div>' if f.fix else ""
        items.append(
            f'<li><span class="{_e(f.severity)}">{_e(f.severity)}</span> '
            f"<code>{_e(f.id)}</code> {_e(f.title)}<br><small>{_e(f.detail)}</small>{fix}</li>"
        )
    facts = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in s.facts.items())
    raw = _html_escape(s.facts_json or "{}")  # each is its own: not worth caching
    return (
        f"<ul>{''.join(items) or '<li>no findings</li>'}</ul>"
        f'<table class="facts">{facts}</table>'
        f"<details><summary>all facts</summary><pre>{raw}</pre></details>"
    )


def _student_row(s: StudentReport, fix: str) -> str:
    return (
        f'<tr data-student="{_e(s.student)}"><td><details><summary>{_e(s.student)}</summary>'
        f"{_findings_html(s)}</details></td><td>{_e(s.status)}</td>"
        f"<td>{_e(s.facts.get('os', ''))}</td><td>{_e(s.facts.get('python', ''))}</td>"
        f"<td>{_e(s.facts.get('torch', ''))}</td><td>{_e(s.facts.get('gpu', ''))}</td>"
        f'<td>{_fix_cell(fix)}</td><td><small title="{_e(s.source)}">'
        f"{_e(Path(s.source).name)}</small></td></tr>"
    )


def _fix_cell(fix: str) -> str:
    return f'<div class="fix">{_e(fix)}</div>' if fix else "(the group's fix)"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


_HEAD = (
    "<tr><th>student (click for findings)</th><th>status</th><th>os</th><th>python</th>"
    "<th>torch</th><th>gpu</th><th>fix</th><th>report</th></tr>"
)


def triage_html(t: Triage, now: float | None = None) -> str:
    """One self-contained static page: no script, no external asset, opens from disk."""
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now))
    biggest = max([len(g.students) for g in t.groups] + [len(t.ready), 1])
    bars = []
    for g in t.groups:
        pct = 100 * len(g.students) / biggest
        kind = "error" if g.blocked else "warning"
        bars.append(
            f'<a href="#g-{_e(g.finding)}">{_e(g.finding)}</a>'
            f'<div class="bar" title="{len(g.students)} students"><div class="fill {kind}" '
            f'style="width:{pct:.1f}%"></div></div>'
            f'<span class="count" data-group="{_e(g.finding)}">{len(g.students)}</span>'
        )
    pct = 100 * len(t.ready) / biggest
    bars.append(
        f'<a href="#ready">ready</a><div class="bar"><div class="fill ready" '
        f'style="width:{pct:.1f}%"></div></div><span class="count" data-group="ready">'
        f"{len(t.ready)}</span>"
    )
    sections = []
    for g in t.groups:
        fixes = "".join(
            f"<p>Fix for {_e(', '.join(f.students)) if len(g.fixes) > 1 else 'all'}:</p>"
            f'<div class="fix">{_e(f.fix)}</div>'
            for f in g.fixes
        )
        rows = []
        fix_of = _fix_of(g)
        for s in g.students:
            fix = fix_of.get(s.student, "")
            rows.append(_student_row(s, fix if len(g.fixes) > 1 else ""))
        sections.append(
            f'<section class="group" id="g-{_e(g.finding)}" data-finding="{_e(g.finding)}" '
            f'data-count="{len(g.students)}" data-blocked="{g.blocked}">'
            f"<h2><code>{_e(g.finding)}</code> &mdash; {_n(len(g.students), 'student')}, "
            f'{g.blocked} blocked <span class="{_e(g.severity)}">({_e(g.severity)})</span></h2>'
            f"<p>{_e(g.title)}</p>{fixes}<table>{_HEAD}{''.join(rows)}</table></section>"
        )
    ready_rows = "".join(_student_row(s, "") for s in t.ready)
    sections.append(
        f'<section class="group" id="ready" data-finding="ready" '
        f'data-count="{len(t.ready)}" data-blocked="0"><h2>Ready &mdash; '
        f"{_n(len(t.ready), 'student')}</h2><table>{_HEAD}{ready_rows}</table></section>"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Class triage: {t.total} students</title><style>{_CSS}</style></head><body>"
        f"<h1>Class triage: {t.total} students, {t.blocked} blocked, {len(t.ready)} ready</h1>"
        f"<p>Made by coursekit class triage on {_e(stamp)}. Groups are ordered by how many "
        "students they block; click a name for that student's findings and facts.</p>"
        f'<div class="summary" id="summary">{"".join(bars)}</div>{"".join(sections)}'
        "</body></html>\n"
    )


def json_text(obj: Any) -> str:
    return dumps(obj)
