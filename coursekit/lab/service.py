"""One domain function per ``coursekit lab`` action; the CLI calls exactly one of them.

Each returns a frozen result for :mod:`coursekit.render.lab`. Progress is loaded and
saved here (the progress file is the only shared state), and warnings from a damaged
progress file travel with the result so the renderer can show them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursekit.errors import CoursekitError, ExitCode, UsageError
from coursekit.lab import layout
from coursekit.lab import progress as prog
from coursekit.lab.checking import GradeReport, grade
from coursekit.lab.interpreter import choose_python
from coursekit.lab.manifest import LabSpec, discover_labs, find_lab, parse_lab_number


@dataclass(frozen=True)
class LabState:
    """One row of ``coursekit lab`` / ``coursekit progress``."""

    number: int
    slug: str
    title: str
    state: str  # "not started" | "in progress" | "passed"
    score: int | None
    max_score: int | None
    folder: str | None


@dataclass(frozen=True)
class LabList:
    labs: tuple[LabState, ...]
    next_step: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Handout:
    result: layout.HandoutResult
    next_step: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckRun:
    report: GradeReport
    next_step: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hints:
    lab: int
    title: str
    shown: tuple[str, ...]
    total: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Solution:
    lab: int
    folder: Path
    files: tuple[layout.FileAction, ...] = field(default_factory=tuple)
    warnings: tuple[str, ...] = ()


def lab_state(spec: LabSpec, record: dict[str, Any] | None, folder: Path | None) -> LabState:
    """A lab's state from its progress record and whether its folder was found (pure)."""
    record = record or {}
    if record.get("passed"):
        state = "passed"
    elif folder is not None or record.get("handed_out_at") or "last_score" in record:
        state = "in progress"
    else:
        state = "not started"
    where = str(folder) if folder is not None else record.get("folder")
    return LabState(
        spec.number,
        spec.slug,
        spec.title,
        state,
        record.get("best_score"),
        record.get("max_score"),
        where,
    )


def next_step(specs: tuple[LabSpec, ...], states: tuple[LabState, ...]) -> str:
    """What the student should do next: the first lab not passed yet (pure)."""
    for spec, st in zip(specs, states):
        if st.state == "not started":
            return f"coursekit lab {spec.number}   (hands out lab {spec.number}: {spec.title})"
        if st.state == "in progress":
            files = ", ".join(spec.student_files)
            return (
                f"edit {files} in {spec.folder_name}/, then: coursekit lab {spec.number} --check"
                f"   (stuck? coursekit lab {spec.number} --hint)"
            )
    return "every lab has passed. Well done!"


def _spec(number_text: str, labs_root: Path | None) -> tuple[tuple[LabSpec, ...], LabSpec]:
    specs = discover_labs(labs_root)
    return specs, find_lab(specs, parse_lab_number(number_text))


def _recorded_folder(progress: prog.Progress, spec: LabSpec) -> Path | None:
    folder = progress.labs.get(spec.slug, {}).get("folder")
    return Path(folder) if isinstance(folder, str) else None


def list_labs(cwd: Path, labs_root: Path | None = None) -> LabList:
    """``coursekit lab`` and ``coursekit progress``: every lab, its state and the next step."""
    specs = discover_labs(labs_root)
    progress = prog.load()
    states = tuple(
        lab_state(
            s, progress.labs.get(s.slug), layout.locate(s, cwd, None, _recorded_folder(progress, s))
        )
        for s in specs
    )
    return LabList(states, next_step(specs, states), tuple(progress.warnings))


def handout(
    number_text: str, cwd: Path, base: Path | None, labs_root: Path | None = None
) -> Handout:
    """``coursekit lab N``: create or complete the lab folder, never overwriting edits."""
    _, spec = _spec(number_text, labs_root)
    result = layout.lay_out(spec, layout.handout_target(spec, cwd, base))
    progress = prog.load()
    prog.record_handout(progress, spec.slug, spec.number, result.folder.resolve())
    prog.save(progress)
    return Handout(result, _work_step(spec, result.folder, cwd), tuple(progress.warnings))


def _work_step(spec: LabSpec, folder: Path, cwd: Path) -> str:
    try:
        shown = folder.resolve().relative_to(cwd.resolve()).as_posix() or "."
    except ValueError:
        shown = str(folder)
    files = ", ".join(spec.student_files)
    return (
        f"read {shown}/README.md, fill in the TODOs in {files}, "
        f"then run: coursekit lab {spec.number} --check"
    )


def find_folder(spec: LabSpec, cwd: Path, base: Path | None, progress: prog.Progress) -> Path:
    """The existing lab folder, or a :class:`UsageError` (exit 2) saying how to get one."""
    folder = layout.locate(spec, cwd, base, _recorded_folder(progress, spec))
    if folder is None:
        where = base if base is not None else cwd
        raise UsageError(
            f"lab {spec.number}'s folder {spec.folder_name}/ was not found in {where}.",
            f"Run coursekit lab {spec.number} to hand it out, or pass --dir to where it is.",
        )
    return folder


def check(
    number_text: str,
    cwd: Path,
    base: Path | None,
    python: str | None,
    *,
    on_event: Callable[[dict[str, Any]], None] = lambda e: None,
    labs_root: Path | None = None,
) -> CheckRun:
    """``coursekit lab N --check``: grade in a sandboxed worker and record the result."""
    _, spec = _spec(number_text, labs_root)
    progress = prog.load()
    folder = find_folder(spec, cwd, base, progress)
    choice = choose_python(python)
    report = grade(spec, folder, choice.path, on_event=on_event)
    warnings = list(progress.warnings)
    if report.status.value != "error":
        progress = prog.load()  # re-read: grading takes a while, another command may have saved
        prog.record_grade(
            progress, spec.slug, spec.number, report.score, report.max_score, report.passed
        )
        prog.save(progress)
        warnings += [w for w in progress.warnings if w not in warnings]
    if report.passed:
        nxt = list_labs(cwd, labs_root).next_step
    elif report.status.value == "error":
        nxt = report.fix or "coursekit doctor"
    else:
        nxt = (
            f"fix the failing checks and run coursekit lab {spec.number} --check again "
            f"(stuck? coursekit lab {spec.number} --hint)"
        )
    return CheckRun(report, nxt, tuple(warnings))


def hints(number_text: str, labs_root: Path | None = None) -> Hints:
    """``--hint``: one more hint each time it is asked (progressive, like rustlings' ``h``)."""
    _, spec = _spec(number_text, labs_root)
    progress = prog.load()
    count = prog.next_hint(progress, spec.slug, len(spec.hints)) if spec.hints else 0
    prog.save(progress)
    return Hints(
        spec.number, spec.title, spec.hints[:count], len(spec.hints), tuple(progress.warnings)
    )


def reset(number_text: str, cwd: Path, base: Path | None, labs_root: Path | None = None) -> Handout:
    """``--reset``: move the lab folder to a timestamped backup, then lay the starter out again."""
    _, spec = _spec(number_text, labs_root)
    progress = prog.load()
    folder = layout.locate(spec, cwd, base, _recorded_folder(progress, spec))
    if folder is None:
        folder = layout.handout_target(spec, cwd, base)
    inside = _is_within(cwd, folder)
    result = layout.reset(spec, folder, from_inside=inside)
    prog.record_handout(progress, spec.slug, spec.number, folder.resolve())
    prog.save(progress)
    step = _work_step(spec, folder, cwd if not inside else folder.parent)
    if inside:  # the shell's current folder moved with the backup
        step = f"cd {folder} (your shell is still inside the backup), then {step}"
    return Handout(result, step, tuple(progress.warnings))


def _is_within(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except (ValueError, OSError):
        return False


def solution(
    number_text: str, cwd: Path, base: Path | None, labs_root: Path | None = None
) -> Solution:
    """``--solution``: the reference solution, only once the lab has passed."""
    _, spec = _spec(number_text, labs_root)
    progress = prog.load()
    if not progress.labs.get(spec.slug, {}).get("passed"):
        raise _not_yet(spec)
    folder = find_folder(spec, cwd, base, progress)
    return Solution(
        spec.number, folder, layout.reveal_solution(spec, folder), tuple(progress.warnings)
    )


def _not_yet(spec: LabSpec) -> CoursekitError:
    return CoursekitError(
        f"the solution of lab {spec.number} is shown once the lab has passed "
        "(coursekit lab --check).",
        f"Keep going: coursekit lab {spec.number} --hint gives you the next hint.",
        exit_code=ExitCode.FAILED,
    )
