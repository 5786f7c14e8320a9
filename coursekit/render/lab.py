"""Text and JSON output of ``coursekit lab`` and ``coursekit progress``."""

from __future__ import annotations

import dataclasses
import os
import re
import textwrap
from pathlib import Path
from typing import Any

from coursekit.lab.checking import CheckOutcome, GradeReport, Status, Verdict
from coursekit.lab.service import CheckRun, Handout, Hints, LabList, Solution
from coursekit.render import Console

_STATE_STYLE = {"passed": ("green",), "in progress": ("yellow",), "not started": ("dim",)}
_ACTION_TEXT = {
    "added": "added",
    "updated": "updated (you had not edited it)",
    "unchanged": "unchanged",
    "kept": "kept (your version)",
    "completed": "completed (an earlier hand-out stopped part-way)",
    "kept-edited-newer-starter": "kept (your version; this lab version's starter "
    "differs, see --reset)",
}


def warnings(console: Console, items: tuple[str, ...]) -> None:
    for item in items:
        console.eprint(f"{console.style('warning:', 'yellow', 'bold')} {item}")


def lab_list(console: Console, result: LabList, as_json: bool) -> None:
    """The lab table with each lab's state and score, and the next step."""
    warnings(console, result.warnings)
    if as_json:
        console.json({"labs": [_state_json(s) for s in result.labs], "next": result.next_step})
        return
    # the title column takes what the width leaves (number 6, state 13, score 7 columns)
    width = max(min(max((len(s.title) for s in result.labs), default=10), console.width - 28), 16)
    for s in result.labs:
        score = f"{s.score}/{s.max_score}" if s.score is not None and s.max_score else ""
        state = console.style(f"{s.state:<12}", *_STATE_STYLE.get(s.state, ()))
        title = textwrap.wrap(s.title, width, break_long_words=False) or [""]
        console.print(f"  {s.number:>2}  {title[0]:<{width}}  {state} {score}".rstrip())
        for more in title[1:]:
            console.print(f"      {more}")
    console.print()
    console.print(f"{console.style('next:', 'bold')} {result.next_step}")


def _state_json(s: Any) -> dict[str, Any]:
    return {
        "lab": s.number,
        "slug": s.slug,
        "title": s.title,
        "state": s.state,
        "score": s.score,
        "max_score": s.max_score,
        "folder": s.folder,
    }


def handout(console: Console, result: Handout, as_json: bool, verb: str = "handed out") -> None:
    """What ``lab N`` / ``--reset`` wrote, file by file."""
    warnings(console, result.warnings)
    r = result.result
    if as_json:
        console.json(
            {
                "lab": r.lab.number,
                "folder": str(r.folder),
                "created": r.created,
                "backup": str(r.backup) if r.backup else None,
                "files": [{"path": f.path, "action": f.action} for f in r.files],
                "next": result.next_step,
            }
        )
        return
    if r.backup is not None:
        console.print(f"moved your previous work to {r.backup}")
    head = "created" if r.created else "updated"
    console.print(f"lab {r.lab.number}: {r.lab.title} -- {verb} ({head} {r.folder})")
    owners = dict(r.lab.after_pass)
    for f in r.files:
        text = _ACTION_TEXT.get(f.action, f.action)
        if f.action == "withheld":
            n = owners.get(f.path)
            text = (
                f"held back: it holds lab {n}'s answers; coursekit lab {r.lab.number} adds "
                f"it once lab {n} has passed"
            )
        console.print(f"  {f.path:<28} {text}")
    console.print()
    console.print(f"{console.style('next:', 'bold')} {result.next_step}")


def progress_event(console: Console, event: dict[str, Any]) -> None:
    """Live progress while checks run (stderr, so ``--json`` stdout stays clean)."""
    kind = event.get("e")
    if kind == "ready":
        console.eprint(
            console.style(
                f"grading with Python {event.get('python')}, torch {event.get('torch')} ...", "dim"
            )
        )
    elif kind == "report":
        console.eprint(console.style(f"  ... {event.get('message')}", "dim"))
    elif kind == "restart":
        console.eprint(
            console.style(
                f"  ... your code stopped the grader during "
                f"'{event.get('title')}'; grading the other checks "
                "in a fresh process",
                "dim",
            )
        )
    elif kind == "still-running":
        console.eprint(
            console.style(
                f"  ... still running: {event.get('title')} ({event.get('check_s')} s; the whole "
                f"check stops at {event.get('limit_s'):g} s)",
                "dim",
            )
        )


_MARKS = {
    Verdict.PASSED: ("PASS", ("green", "bold")),
    Verdict.FAILED: ("FAIL", ("red", "bold")),
    Verdict.NOT_GRADED: ("N/A ", ("yellow", "bold")),
}


def check(console: Console, run: CheckRun, as_json: bool) -> None:
    """Each check (verdict, message, points, what the code printed), the counts, what next."""
    warnings(console, run.warnings)
    report = run.report
    if as_json:
        console.json(check_json(report))
        return
    console.print(f"lab {report.lab}: {report.title}")
    paths = figure_paths(report)
    moved = {f"figures/{f}": p for f, p in zip(report.figures, paths) if p != f"figures/{f}"}
    for c in report.checks:
        if moved:  # graders name figures from the lab folder; say where they are from here
            c = dataclasses.replace(c, message=_relocate(c.message, moved))
        word, style = _MARKS[c.verdict]
        if c.verdict is Verdict.NOT_GRADED:
            console.print(f"  {console.style(word, *style)} {c.title}  [not graded]")
            console.print(f"       not graded, no points lost: {c.message}")
        else:
            console.print(f"  {console.style(word, *style)} {c.title}  [{c.points}/{c.max_points}]")
            for line in c.message.splitlines() or [""]:
                console.print(f"       {line}")
        _check_output(console, c)
    if report.figures and report.folder is not None:
        console.print(f"figures: {', '.join(paths)}")
    console.print()
    console.print(summary_line(report))
    if report.status is Status.ERROR:
        console.eprint(
            f"{console.style('error:', 'red', 'bold')} could not grade: {report.problem}"
        )
        if report.output_tail.strip():
            console.eprint("last output of the grading process:")
            console.eprint(_indent(report.output_tail[-2000:]))
        console.eprint(f"{console.style('  fix:', 'bold')} {report.fix}")
        return
    died = any(
        "crashed" in c.message or "ended the grading process" in c.message
        for c in report.checks
        if not c.output
    )
    if died and report.output_tail.strip():
        console.print("last output of your code:")
        console.print(_indent(report.output_tail[-2000:]))
    console.print(f"{console.style('next:', 'bold')} {run.next_step}")


def watch_frame(console: Console, run: CheckRun, folder: Path, cwd: Path | None = None) -> None:
    """One ``--watch`` screen: cleared (on a terminal), the check, and what is being watched."""
    console.clear(f"re-checked at {_now()}")
    check(console, run, as_json=False)
    try:
        shown = folder.resolve().relative_to((cwd or Path.cwd()).resolve()).as_posix() or "."
    except ValueError:
        shown = str(folder)
    console.print(console.style(f"watching {shown}/ for saves (Ctrl-C to stop)", "dim"))


def _now() -> str:
    import datetime as _dt

    return _dt.datetime.now().strftime("%H:%M:%S")


def _check_output(console: Console, c: CheckOutcome) -> None:
    """What the student's code printed during this check: the last lines, and how many were cut."""
    if not c.output and not c.output_cut:
        return
    kept = len(c.output.split("\n")) if c.output else 0
    head = (
        f"your code printed ({c.output_cut} earlier lines cut, the last {kept} shown):"
        if c.output_cut
        else "your code printed:"
    )
    console.print(console.style(f"       {head}", "dim"))
    for line in c.output.split("\n") if c.output else ():
        console.print(f"       | {line}")


def _relocate(message: str, moved: dict[str, str]) -> str:
    for old, new in moved.items():
        message = re.sub(r"(?<![\w/.])" + re.escape(old), new, message)
    return message


def summary_line(report: GradeReport) -> str:
    """``score 3/5: not passing yet (1 passed, 1 failed, 1 not graded: 2 points)`` (pure)."""
    counts = (
        f"{report.count(Verdict.PASSED)} passed, {report.count(Verdict.FAILED)} failed, "
        f"{report.count(Verdict.NOT_GRADED)} not graded"
    )
    if report.ungraded_points:
        counts += f" ({report.ungraded_points} points could not be graded)"
    verdict = {
        Status.PASSED: "passed",
        Status.NOT_YET: "not passing yet",
        Status.ERROR: "could not grade",
    }[report.status]
    return f"score {report.score}/{report.max_score}: {verdict} -- {counts}"


def figure_paths(report: GradeReport, cwd: Path | None = None) -> list[str]:
    """The figures' paths as the student can open them: relative to the current folder when
    the lab folder is below it, else absolute."""
    if report.folder is None:
        return [f"figures/{f}" for f in report.figures]
    folder = report.folder.resolve() / "figures"
    here = (cwd or Path.cwd()).resolve()
    try:
        base = folder.relative_to(here).as_posix()
        prefix = "" if base == "." else base + "/"
    except ValueError:
        try:
            prefix = os.path.relpath(folder, here).replace(os.sep, "/") + "/"
        except ValueError:  # another drive on Windows
            prefix = str(folder) + os.sep
    return [prefix + f for f in report.figures]


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-25:])


def check_json(report: GradeReport) -> dict[str, Any]:
    """The ``--json`` contract: ``{lab, passed, score, max_score, counts, checks: [...]}`` and
    context."""
    return {
        "lab": report.lab,
        "passed": report.passed,
        "score": report.score,
        "max_score": report.max_score,
        "counts": {
            "passed": report.count(Verdict.PASSED),
            "failed": report.count(Verdict.FAILED),
            "not_graded": report.count(Verdict.NOT_GRADED),
        },
        "checks": [
            {
                "name": c.name,
                "verdict": c.verdict.value,
                "passed": c.passed,
                "points": c.points,
                "max_points": c.max_points,
                "title": c.title,
                "message": c.message,
                "output": c.output,
                "output_cut": c.output_cut,
            }
            for c in report.checks
        ],
        "status": report.status.value,
        "problem": report.problem,
        "fix": report.fix,
        "folder": str(report.folder) if report.folder else None,
        "figures": figure_paths(report),
    }


def hints(console: Console, result: Hints, as_json: bool) -> None:
    """The hints of the first failing check so far, and whether more are left."""
    warnings(console, result.warnings)
    if as_json:
        console.json(
            {
                "lab": result.lab,
                "check": result.check,
                "check_title": result.check_title,
                "hints": list(result.shown),
                "total": result.total,
                "new": result.new,
                "no_more": result.no_more,
                "passed": result.passed,
                "checked": result.checked,
            }
        )
        return
    if result.passed:
        console.print(f"lab {result.lab}: your last --check passed every check; no hint needed.")
        return
    if not result.total:
        console.print(f"lab {result.lab} has no hints for '{result.check_title}'.")
        return
    if result.checked:
        console.print(f"lab {result.lab}, first failing check: {result.check_title}")
    else:
        console.print(
            f"lab {result.lab}, first check (after a --check, hints follow the first "
            f"one that fails): {result.check_title}"
        )
    for i, text in enumerate(result.shown, 1):
        console.print(f"hint {i} of {result.total}: {text}")
    if result.no_more:
        console.print(
            console.style(
                f"no more hints for this check: you have seen all {result.total} (above).", "yellow"
            )
        )
    elif len(result.shown) < result.total:
        console.print(
            console.style(f"(ask again with --hint for hint {len(result.shown) + 1})", "dim")
        )
    else:
        console.print(console.style("that was the last hint for this check.", "dim"))


def solution(console: Console, result: Solution, as_json: bool) -> None:
    warnings(console, result.warnings)
    if as_json:
        console.json(
            {
                "lab": result.lab,
                "files": [{"path": f.path, "action": f.action} for f in result.files],
            }
        )
        return
    for f in result.files:
        console.print(f"  {result.folder / f.path}  {_ACTION_TEXT.get(f.action, f.action)}")
    console.print("Compare it with your own: there is more than one right answer.")
