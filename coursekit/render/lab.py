"""Text and JSON output of ``coursekit lab`` and ``coursekit progress``."""

from __future__ import annotations

from typing import Any

from coursekit.lab.checking import GradeReport, Status
from coursekit.lab.service import CheckRun, Handout, Hints, LabList, Solution
from coursekit.render import Console

_STATE_STYLE = {"passed": ("green",), "in progress": ("yellow",), "not started": ("dim",)}
_ACTION_TEXT = {
    "added": "added",
    "updated": "updated (you had not edited it)",
    "unchanged": "unchanged",
    "kept": "kept (your version)",
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
    width = max((len(s.title) for s in result.labs), default=10)
    for s in result.labs:
        score = f"{s.score}/{s.max_score}" if s.score is not None and s.max_score else ""
        state = console.style(f"{s.state:<12}", *_STATE_STYLE.get(s.state, ()))
        console.print(f"  {s.number:>2}  {s.title:<{width}}  {state} {score}")
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
    for f in r.files:
        console.print(f"  {f.path:<28} {_ACTION_TEXT.get(f.action, f.action)}")
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


def check(console: Console, run: CheckRun, as_json: bool) -> None:
    """Each check (passed or not, message, points), the score, and what to do next."""
    warnings(console, run.warnings)
    report = run.report
    if as_json:
        console.json(check_json(report))
        return
    console.print(f"lab {report.lab}: {report.title}")
    for c in report.checks:
        mark = (
            console.style("PASS", "green", "bold")
            if c.passed
            else console.style("FAIL", "red", "bold")
        )
        console.print(f"  {mark} {c.title}  [{c.points}/{c.max_points}]")
        for line in c.message.splitlines() or [""]:
            console.print(f"         {line}")
    if report.figures and report.folder is not None:
        console.print(f"figures: {', '.join(f'figures/{f}' for f in report.figures)}")
    console.print()
    if report.status is Status.ERROR:
        console.eprint(
            f"{console.style('error:', 'red', 'bold')} could not grade: {report.problem}"
        )
        if report.output_tail.strip():
            console.eprint("last output of the grading process:")
            console.eprint(_indent(report.output_tail[-2000:]))
        console.eprint(f"{console.style('  fix:', 'bold')} {report.fix}")
        return
    verdict = "passed" if report.passed else "not passing yet"
    style = ("green", "bold") if report.passed else ("yellow", "bold")
    console.print(console.style(f"score {report.score}/{report.max_score}: {verdict}", *style))
    died = any(
        "crashed" in c.message or "ended the grading process" in c.message for c in report.checks
    )
    if died and report.output_tail.strip():
        console.print("last output of your code:")
        console.print(_indent(report.output_tail[-2000:]))
    console.print(f"{console.style('next:', 'bold')} {run.next_step}")


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines()[-25:])


def check_json(report: GradeReport) -> dict[str, Any]:
    """The ``--json`` contract: ``{lab, passed, score, max_score, checks: [...]}`` plus context."""
    return {
        "lab": report.lab,
        "passed": report.passed,
        "score": report.score,
        "max_score": report.max_score,
        "checks": [
            {
                "name": c.name,
                "passed": c.passed,
                "points": c.points,
                "max_points": c.max_points,
                "title": c.title,
                "message": c.message,
            }
            for c in report.checks
        ],
        "status": report.status.value,
        "problem": report.problem,
        "fix": report.fix,
        "folder": str(report.folder) if report.folder else None,
        "figures": [f"figures/{f}" for f in report.figures],
    }


def hints(console: Console, result: Hints, as_json: bool) -> None:
    warnings(console, result.warnings)
    if as_json:
        console.json({"lab": result.lab, "hints": list(result.shown), "total": result.total})
        return
    if not result.total:
        console.print(f"lab {result.lab} has no hints.")
        return
    for i, text in enumerate(result.shown, 1):
        console.print(f"hint {i} of {result.total}: {text}")
    if len(result.shown) < result.total:
        console.print(
            console.style(f"(ask again with --hint for hint {len(result.shown) + 1})", "dim")
        )


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
