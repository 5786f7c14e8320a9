"""``coursekit lab N --check``: grade the student's folder in a sandboxed worker.

The decision is a pure function, :func:`decide`, over three plain inputs: the checks
the parent found by *parsing* the shipped grader (names, points: never taken from
the worker), the signed events the worker wrote, and what the process did (exit
status, timeout, memory). Everything unverifiable counts against a pass; anything
that is the environment's or the grader's fault is ``ERROR`` (exit 3), never blamed
on the student.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursekit.errors import ExitCode
from coursekit.grading.sandbox import SandboxOutcome, run_sandboxed
from coursekit.lab.manifest import LabSpec

Sandbox = Callable[..., SandboxOutcome]
WORKER_THREADS = 1  # fixed: reproducible reductions, and 2-core laptops stay responsive
HEARTBEAT_S = 5.0  # a check running longer than this shows "still running" lines
MAX_RESTARTS = 2  # fresh workers after student code killed one (each costs an import of torch)
MIN_RESTART_BUDGET_S = 5.0  # no restart when less of the lab's wall clock is left


class Status(enum.Enum):
    PASSED = "passed"
    NOT_YET = "not-yet"
    ERROR = "error"


@dataclass(frozen=True)
class ExpectedCheck:
    """A check as the parent reads it from the grader's source."""

    name: str
    title: str
    points: int


class Verdict(enum.Enum):
    """One check's verdict. NOT_GRADED is coursekit's or the grader's problem, never the
    student's."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_GRADED = "not-graded"


@dataclass(frozen=True)
class CheckOutcome:
    """One check as shown to the student and in ``--json``.

    ``graded=False``: the check could not be run or judged (the environment, the grader, or
    an earlier check that used up the time); ``message`` says why and no point is lost.
    ``output`` is the last lines the student's code printed during the check and
    ``output_cut`` how many earlier lines were left out.
    """

    name: str
    title: str
    passed: bool
    points: int
    max_points: int
    message: str
    duration_s: float = 0.0
    graded: bool = True
    output: str = ""
    output_cut: int = 0

    @property
    def verdict(self) -> Verdict:
        if self.passed:
            return Verdict.PASSED
        return Verdict.FAILED if self.graded else Verdict.NOT_GRADED


@dataclass(frozen=True)
class GradeReport:
    """The verdict of one ``--check``."""

    lab: int
    slug: str
    title: str
    status: Status
    checks: tuple[CheckOutcome, ...]
    problem: str | None = None  # why grading could not be done (ERROR)
    fix: str | None = None
    output_tail: str = ""
    python: str = ""
    duration_s: float = 0.0
    folder: Path | None = None
    figures: tuple[str, ...] = field(default_factory=tuple)

    @property
    def score(self) -> int:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> int:
        return sum(c.max_points for c in self.checks)

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    def count(self, verdict: Verdict) -> int:
        """How many checks have ``verdict``."""
        return sum(1 for c in self.checks if c.verdict is verdict)

    @property
    def ungraded_points(self) -> int:
        """Points of the checks that could not be graded (not lost, not earned)."""
        return sum(c.max_points for c in self.checks if c.verdict is Verdict.NOT_GRADED)

    @property
    def exit_code(self) -> ExitCode:
        return {
            Status.PASSED: ExitCode.OK,
            Status.NOT_YET: ExitCode.FAILED,
            Status.ERROR: ExitCode.ENVIRONMENT,
        }[self.status]


class GraderSourceError(Exception):
    """The grader's source cannot be read for its check list (a content bug: exit 3)."""


def _literal(node: ast.expr, what: str) -> Any:
    try:
        return ast.literal_eval(node)
    except ValueError:
        raise GraderSourceError(f"@check {what} must be a literal") from None


def expected_checks(grader_path: Path) -> tuple[ExpectedCheck, ...]:
    """The ``@check`` functions of a grader, in source order, found without importing it."""
    try:
        tree = ast.parse(grader_path.read_text(encoding="utf-8"), str(grader_path))
    except (OSError, SyntaxError, UnicodeDecodeError) as exc:
        raise GraderSourceError(f"cannot read {grader_path}: {exc}") from None
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for deco in node.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call else deco
            if not (
                isinstance(target, ast.Name)
                and target.id == "check"
                or isinstance(target, ast.Attribute)
                and target.attr == "check"
            ):
                continue
            points, name = 1, node.name
            if call:
                if call.args:
                    points = _literal(call.args[0], "points")
                for kw in call.keywords:
                    if kw.arg == "points":
                        points = _literal(kw.value, "points")
                    elif kw.arg == "name":
                        name = _literal(kw.value, "name")
            doc = ast.get_docstring(node) or node.name.replace("_", " ")
            found.append(ExpectedCheck(str(name), doc.strip().splitlines()[0], int(points)))
    if not found:
        raise GraderSourceError(f"{grader_path} defines no @check functions")
    return tuple(found)


def verify_events(lines: list[str], key: bytes) -> tuple[list[dict[str, Any]], bool]:
    """Parse signed event lines; returns the events and whether any line was forged."""
    events, forged = [], False
    for line in lines:
        if not line.strip():
            continue
        try:
            wrapper = json.loads(line)
            payload, mac = wrapper["p"], wrapper["m"]
            good = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(good, str(mac)):
                raise ValueError("bad signature")
            event = json.loads(payload)
            if not isinstance(event, dict):
                raise ValueError("not an object")  # noqa: TRY004 - caught below: a forged line
        except (ValueError, KeyError, TypeError, AttributeError):
            forged = True
            continue
        events.append(event)
    return events, forged


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def _death_message(outcome: SandboxOutcome, timeout_s: float, memory_mb: int) -> str:
    if outcome.timed_out:
        return (
            f"did not finish within the lab's time limit of {timeout_s:g} s: an endless loop, "
            "or code far slower than it needs to be?"
        )
    if outcome.memory_exceeded:
        return (
            f"used more than the lab's memory cap of {memory_mb} MB: does something "
            "allocate without bound?"
        )
    code = outcome.returncode
    if code is not None and code < 0:
        return f"crashed the Python interpreter ({_signal_name(code)})"
    return (
        f"ended the grading process (exit status {code}) before the check finished: "
        "os._exit() or sys.exit() in a thread?"
    )


def decide(
    spec: LabSpec,
    expected: tuple[ExpectedCheck, ...],
    events: list[dict[str, Any]],
    forged: bool,
    outcome: SandboxOutcome,
    output: dict[str, tuple[str, int]] | None = None,
) -> GradeReport:
    """Turn what the worker reported and did into a verdict (pure).

    ``output`` (default: ``outcome.check_output``) is each check's printed output.
    """
    printed = outcome.check_output if output is None else output
    python = next(
        (
            f"Python {e.get('python')}, torch {e.get('torch')}"
            for e in events
            if e.get("e") == "ready"
        ),
        "",
    )

    def make(
        status: Status,
        checks: tuple[CheckOutcome, ...],
        problem: str | None = None,
        fix: str | None = None,
    ) -> GradeReport:
        shown = tuple(
            dataclasses.replace(c, output=printed[c.name][0], output_cut=printed[c.name][1])
            if c.name in printed
            else c
            for c in checks
        )
        return GradeReport(
            spec.number,
            spec.slug,
            spec.title,
            status,
            shown,
            problem,
            fix,
            outcome.output_tail,
            python,
            outcome.duration_s,
        )

    def error(problem: str, fix: str) -> GradeReport:
        zero = tuple(
            CheckOutcome(c.name, c.title, False, 0, c.points, problem, graded=False)
            for c in expected
        )
        return make(Status.ERROR, zero, problem, fix)

    env_fix = "Run coursekit doctor; it names the problem and the command that fixes it."
    if outcome.start_error is not None:
        return error(
            f"the course environment's Python could not be started: {outcome.start_error}", env_fix
        )
    fatal = next((e for e in events if e.get("e") == "fatal"), None)
    if fatal is not None:
        if fatal.get("kind") == "env":
            return error(
                f"the course environment cannot run the grader: {fatal.get('message')}", env_fix
            )
        return error(
            f"the grader of lab {spec.number} failed: {fatal.get('message')}",
            "This is not your fault. Update coursekit, or tell your instructor.",
        )
    if not any(e.get("e") == "ready" for e in events):
        why = (
            "took longer than the time limit"
            if outcome.timed_out
            else f"stopped (exit status {outcome.returncode})"
        )
        return error(
            f"the course environment's Python {why} before it could grade; your code "
            "had not run yet.",
            env_fix,
        )
    loaded = next((e for e in events if e.get("e") == "loaded"), None)
    if loaded is None and forged is False and not outcome.timed_out:
        return error(
            "the grader stopped while loading.", "Update coursekit, or tell your instructor."
        )
    if loaded is not None and loaded.get("checks") != [c.name for c in expected]:
        return error(
            "the grader's check list does not match its source.",
            "Reinstall coursekit: python -m pip install --force-reinstall coursekit",
        )
    results = {e["name"]: e for e in events if e.get("e") == "result" and "name" in e}
    running = next(
        (
            e.get("name")
            for e in reversed(events)
            if e.get("e") == "begin" and e.get("name") not in results
        ),
        None,
    )
    done = any(e.get("e") == "done" for e in events)
    titles = {c.name: c.title for c in expected}
    checks, grader_broke = [], []
    for c in expected:
        r = results.get(c.name)
        if r is None:
            if c.name == running:
                msg = "your code " + _death_message(outcome, spec.timeout_s, spec.memory_mb)
                if outcome.output_bytes > 1_000_000:
                    msg += (
                        f" It also printed {outcome.output_bytes / 1e6:.0f} MB of output "
                        "(only the last lines are kept)."
                    )
                checks.append(CheckOutcome(c.name, c.title, False, 0, c.points, msg))
            else:
                msg = (
                    f"not run: check '{titles.get(running, running)}' did not finish, so "
                    "grading stopped before this one"
                    if running
                    else "not run: grading stopped before this check"
                )
                checks.append(CheckOutcome(c.name, c.title, False, 0, c.points, msg, graded=False))
            continue
        if r.get("error"):
            grader_broke.append(f"{c.name}: {r.get('message')}")
        passed = bool(r.get("passed")) and not forged
        checks.append(
            CheckOutcome(
                c.name,
                c.title,
                passed,
                c.points if passed else 0,
                c.points,
                str(r.get("message", "")),
                float(r.get("duration_s", 0.0)),
                graded=passed or forged or not r.get("error"),
            )
        )
    if grader_broke:
        return make(
            Status.ERROR,
            tuple(checks),
            "the grader failed on " + "; ".join(grader_broke),
            "This is not your fault. Update coursekit, or tell your instructor.",
        )
    if forged:
        checks = [
            CheckOutcome(
                c.name,
                c.title,
                False,
                0,
                c.max_points,
                "the grading results were tampered with (unsigned lines in the "
                "results file); nothing can be trusted from this run.",
            )
            for c in checks
        ]
    complete = done and len(results) == len(expected) and not forged
    status = Status.PASSED if complete and all(c.passed for c in checks) else Status.NOT_YET
    return make(status, tuple(checks))


def _runtime_copy(dest: Path) -> Path:
    """Copy ``coursekit/__init__.py`` and ``coursekit/grading/*.py`` into ``dest`` (stdlib-only)."""
    import coursekit

    pkg = Path(coursekit.__file__).resolve().parent
    (dest / "coursekit" / "grading").mkdir(parents=True)
    shutil.copyfile(pkg / "__init__.py", dest / "coursekit" / "__init__.py")
    for src in (pkg / "grading").glob("*.py"):
        shutil.copyfile(src, dest / "coursekit" / "grading" / src.name)
    return dest


_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from coursekit.grading.worker import main; main()"
)


def worker_env(base: dict[str, str]) -> dict[str, str]:
    """The worker's environment: this one, with thread counts pinned and CPU only."""
    env = dict(base)
    env.update(
        OMP_NUM_THREADS=str(WORKER_THREADS),
        MKL_NUM_THREADS=str(WORKER_THREADS),
        CUDA_VISIBLE_DEVICES="",
        MPLBACKEND="Agg",
    )
    return env


def _crashed_check(events: list[dict[str, Any]]) -> str | None:
    """The check the worker was running when it died, or None (it finished, or never began one)."""
    if any(e.get("e") in ("done", "fatal") for e in events):
        return None
    finished = {e.get("name") for e in events if e.get("e") == "result"}
    begun = [e.get("name") for e in events if e.get("e") == "begin"]
    return str(begun[-1]) if begun and begun[-1] not in finished else None


def grade(
    spec: LabSpec,
    student_dir: Path,
    python: str,
    *,
    on_event: Callable[[dict[str, Any]], None] = lambda e: None,
    sandbox: Sandbox = run_sandboxed,
    seeds: tuple[int, ...] = (0, 1, 2),
) -> GradeReport:
    """Grade ``student_dir`` with ``spec``'s shipped grader in ``python`` (a sandboxed worker).

    When student code kills the worker during a check (a crash, ``os._exit``, the memory cap),
    that check fails and a fresh worker grades the remaining ones (check50's lesson: one bad
    function must not hide the other results), at most MAX_RESTARTS times and always within the
    lab's one wall clock. A timeout ends grading: its budget is spent.
    """
    try:
        expected = expected_checks(spec.grader_path)
    except GraderSourceError as exc:
        return GradeReport(
            spec.number,
            spec.slug,
            spec.title,
            Status.ERROR,
            (),
            problem=str(exc),
            fix="Reinstall coursekit: python -m pip install --force-reinstall coursekit",
        )
    key = secrets.token_bytes(32)
    state: dict[str, Any] = {"lines": [], "running": {}}
    titles = {c.name: c.title for c in expected}

    def on_line(line: str) -> None:
        state["lines"].append(line)
        running = state["running"]
        for event in verify_events([line], key)[0]:
            if event.get("e") == "begin":
                running.update(name=event.get("name"), since=time.monotonic(), last=0.0)
            elif event.get("e") in ("result", "done"):
                running.clear()
            on_event(event)

    def on_tick(elapsed: float) -> None:
        """A heartbeat every HEARTBEAT_S while one check runs long (an endless loop shows)."""
        running = state["running"]
        if not running:
            return
        busy = time.monotonic() - running["since"]
        if busy - running["last"] >= HEARTBEAT_S:
            running["last"] = busy
            on_event(
                {
                    "e": "still-running",
                    "name": running["name"],
                    "title": titles.get(str(running["name"]), running["name"]),
                    "check_s": round(busy),
                    "elapsed_s": round(elapsed),
                    "limit_s": spec.timeout_s,
                }
            )

    merged: list[dict[str, Any]] = []
    printed: dict[str, tuple[str, int]] = {}
    mark = "\x1ecoursekit-output-" + secrets.token_hex(8)
    forged_any = False
    deadline = time.monotonic() + spec.timeout_s
    # ignore_cleanup_errors: on Windows a killed worker's files can stay locked for a moment
    # (WinError 32); a temp folder left behind must not turn a finished grade into a crash.
    with tempfile.TemporaryDirectory(prefix="coursekit-grade-", ignore_cleanup_errors=True) as tmp:
        runtime = _runtime_copy(Path(tmp) / "rt")
        argv = [python, "-I", "-B", "-X", "faulthandler", "-X", "utf8", "-c", _BOOT, str(runtime)]
        for attempt in range(MAX_RESTARTS + 1):
            state["lines"], state["running"] = [], {}
            events_path = Path(tmp) / f"events-{secrets.token_hex(8)}.jsonl"
            events_path.touch(mode=0o600)
            skip = sorted({str(e["name"]) for e in merged if e.get("e") == "result"})
            cfg = {
                "key": key.hex(),
                "events": str(events_path),
                "grader": str(spec.grader_path),
                "student_dir": str(student_dir.resolve()),
                "figures_dir": str(student_dir.resolve() / "figures"),
                "seeds": list(seeds),
                "memory_mb": spec.memory_mb,
                "threads": WORKER_THREADS,
                "skip": skip,
                "output_mark": mark,
            }
            outcome = sandbox(
                argv,
                stdin_text=json.dumps(cfg) + "\n",
                events_path=events_path,
                timeout_s=max(deadline - time.monotonic(), 1.0),
                memory_mb=spec.memory_mb,
                on_event_line=on_line,
                cwd=student_dir,
                env=worker_env(dict(os.environ)),
                on_tick=on_tick,
                output_mark=mark,
            )
            printed.update(outcome.check_output)
            events, forged = verify_events(state["lines"], key)
            forged_any = forged_any or forged
            merged += events
            crashed = _crashed_check(events)
            if (
                forged
                or crashed is None
                or outcome.timed_out
                or attempt == MAX_RESTARTS
                or deadline - time.monotonic() < MIN_RESTART_BUDGET_S
            ):
                break
            message = "your code " + _death_message(outcome, spec.timeout_s, spec.memory_mb)
            merged.append(
                {
                    "e": "result",
                    "name": crashed,
                    "passed": False,
                    "error": False,
                    "message": message,
                }
            )
            on_event({"e": "restart", "after": crashed, "title": titles.get(crashed, crashed)})
    report = decide(spec, expected, merged, forged_any, outcome, printed)
    figures = (
        tuple(sorted(p.name for p in (student_dir / "figures").glob("*.png")))
        if (student_dir / "figures").is_dir()
        else ()
    )
    return dataclasses.replace(report, folder=student_dir, figures=figures)
