"""``coursekit class grade N SUBMISSION...``: the grade of record for a whole class.

Each submission is graded in its own fresh, sealed worker process
(:mod:`coursekit.grading.sealed`) with the lab's time and memory limits, up to ``jobs`` at
once. The worker's folder holds only the submission's declared files and the helper files
of the *instructor's* course (never the student's copies of them), so nothing else the
student sent can reach the grading. The parent decides every verdict from what it knows
itself: the checks and points it parsed from the grader's source, the limits from the
grader's ``lab.toml``, what the process did (exit, timeout, memory), and the signed result
lines (see :mod:`coursekit.grading.sealed` for why the key cannot be reached by student code).

Re-running skips submissions whose content hash and graders hash are in the cache file
(``--force`` grades again), so a class can be graded in pieces.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from coursekit import __version__
from coursekit.errors import UsageError
from coursekit.grading.sandbox import run_sandboxed
from coursekit.jsondata import read_section
from coursekit.instructor import submissions as subs
from coursekit.lab.checking import (
    ExpectedCheck,
    GraderSourceError,
    Status,
    _runtime_copy,
    decide,
    expected_checks,
    verify_events,
)
from coursekit.lab.manifest import LabSpec, discover_labs, find_lab, parse_lab_number

VERDICTS = ("graded", "timeout", "crash", "could-not-grade", "invalid")
CACHE_SCHEMA = 1
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); from coursekit.grading.sealed import main; main()"
)
_ENV_KEEP = (
    "PATH",
    "SYSTEMROOT",
    "WINDIR",
    "LD_LIBRARY_PATH",
    "DYLD_LIBRARY_PATH",
    "LANG",
    "LC_ALL",
    "CONDA_PREFIX",
)


@dataclass(frozen=True)
class GradeRow:
    """One submission's grade of record."""

    student: str
    lab: int
    score: int
    max_score: int
    passed: bool
    points: dict[str, int]
    verdict: str  # one of VERDICTS
    seconds: float
    content_hash: str
    source: str
    message: str = ""
    graders_hash: str = ""
    cached: bool = False


@dataclass(frozen=True)
class Graders:
    """The graders of one lab: the installed course's or an instructor's ``--graders DIR``."""

    spec: LabSpec
    expected: tuple[ExpectedCheck, ...]
    helpers: dict[str, bytes]  # course-provided files laid beside the student's (not theirs)
    grader_files: dict[str, bytes]  # grader.py and the .py files beside it
    hash: str
    origin: str
    deny: tuple[Path, ...]


@dataclass(frozen=True)
class ClassGradeRequest:
    lab: str
    submissions: tuple[str, ...]
    python: str
    graders_dir: Path | None = None
    jobs: int = 0  # 0: the number of cores
    force: bool = False
    cache: Path | None = None
    seeds: tuple[int, ...] = (0, 1, 2)


@dataclass(frozen=True)
class ClassGradeResult:
    lab: int
    slug: str
    checks: tuple[ExpectedCheck, ...]
    rows: tuple[GradeRow, ...]
    graders: str
    graders_hash: str
    cache: Path
    graded_now: int
    from_cache: int
    seconds: float
    jobs: int


def _runtime_hash() -> str:
    pkg = Path(__file__).resolve().parent.parent / "grading"
    h = hashlib.sha256(__version__.encode())
    for p in sorted(pkg.glob("*.py")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def load_graders(number_text: str, graders_dir: Path | None) -> Graders:
    """Lab N's graders; with ``graders_dir`` its layout is ``labs/``'s (NN-slug/lab.toml,
    grader.py)."""
    from coursekit.resources import labs_dir

    installed = labs_dir()
    number = parse_lab_number(number_text)
    if graders_dir is not None and not graders_dir.is_dir():
        raise UsageError(
            f"--graders {graders_dir}: no such folder.",
            "Give a folder laid out like the course's labs/ (NN-slug/lab.toml, grader.py).",
        )
    spec = find_lab(discover_labs(graders_dir if graders_dir is not None else installed), number)
    try:
        expected = expected_checks(spec.grader_path)
    except GraderSourceError as exc:
        raise UsageError(
            f"the grader of lab {number} cannot be read: {exc}",
            "Fix grader.py (every check is a top-level @check function).",
        ) from None
    starter = spec.starter_dir
    if not starter.is_dir() and graders_dir is not None:
        try:
            starter = find_lab(discover_labs(installed), number).starter_dir
        except UsageError:
            pass
    helpers: dict[str, bytes] = {}
    if starter.is_dir():
        for p in sorted(starter.rglob("*")):
            rel = p.relative_to(starter).as_posix()
            if p.is_file() and "__pycache__" not in p.parts and rel not in spec.student_files:
                helpers[rel] = p.read_bytes()
    grader_files = {p.name: p.read_bytes() for p in sorted(spec.content_dir.glob("*.py"))}
    h = hashlib.sha256(_runtime_hash().encode())
    for group in (grader_files, helpers):
        for name in sorted(group):
            h.update(name.encode() + b"\0" + hashlib.sha256(group[name]).digest())
    h.update((spec.content_dir / "lab.toml").read_bytes())
    deny = tuple({installed.resolve(), spec.content_dir.parent.resolve()})
    origin = str(graders_dir) if graders_dir is not None else "the installed course"
    return Graders(spec, expected, helpers, grader_files, h.hexdigest(), origin, deny)


def worker_env(environ: Mapping[str, str], home: Path) -> dict[str, str]:
    """A small environment: no tokens or secrets of the instructor's shell reach student code."""
    env = {k: v for k, v in environ.items() if k in _ENV_KEEP}
    env.update(
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        CUDA_VISIBLE_DEVICES="",
        MPLBACKEND="Agg",
        HOME=str(home),
        USERPROFILE=str(home),
        PYTHONHASHSEED="0",
    )
    return env


def _row(
    sub: subs.Submission,
    g: Graders,
    verdict: str,
    message: str,
    seconds: float = 0.0,
    points: dict[str, int] | None = None,
) -> GradeRow:
    pts = points if points is not None else {c.name: 0 for c in g.expected}
    score = sum(pts.values())
    max_score = sum(c.points for c in g.expected)
    return GradeRow(
        sub.student,
        g.spec.number,
        score,
        max_score,
        verdict == "graded" and score == max_score,
        pts,
        verdict,
        round(seconds, 2),
        sub.content_hash,
        sub.source,
        message,
        g.hash,
    )


def grade_submission(
    sub: subs.Submission,
    g: Graders,
    python: str,
    *,
    environ: Mapping[str, str] | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    sandbox: Callable[..., Any] = run_sandboxed,
) -> GradeRow:
    """Grade one valid submission in a fresh sealed worker; the row is decided here."""
    if sub.invalid is not None:
        return _row(sub, g, "invalid", sub.invalid)
    start = time.monotonic()
    spec = g.spec
    with tempfile.TemporaryDirectory(prefix="coursekit-class-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp).resolve()
        rt = _runtime_copy(root / "rt")
        gdir, sdir, home = root / "grader", root / "student", root / "home"
        for d in (gdir, sdir, home):
            d.mkdir()
        for name, data in g.grader_files.items():
            (gdir / name).write_bytes(data)
        for rel, data in {**g.helpers, **sub.files}.items():
            target = sdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        events_path = root / f"events-{secrets.token_hex(8)}.jsonl"
        events_path.touch(mode=0o600)
        key = secrets.token_bytes(32)
        cfg = {
            "key": key.hex(),
            "events": str(events_path),
            "grader": str(gdir / "grader.py"),
            "student_dir": str(sdir),
            "figures_dir": str(root / "figures"),
            "seeds": list(seeds),
            "memory_mb": spec.memory_mb,
            "threads": 1,
            "read_roots": [str(sdir), str(rt)],
            "deny_roots": [str(gdir), *[str(p) for p in g.deny]],
        }
        lines: list[str] = []
        argv = [python, "-I", "-B", "-X", "utf8", "-c", _BOOT, str(rt)]
        outcome = sandbox(
            argv,
            stdin_text=json.dumps(cfg) + "\n",
            events_path=events_path,
            timeout_s=spec.timeout_s,
            memory_mb=spec.memory_mb,
            on_event_line=lines.append,
            cwd=sdir,
            env=worker_env(environ if environ is not None else os.environ, home),
        )
        events, forged = verify_events(lines, key)
    report = decide(spec, g.expected, events, forged, outcome)
    seconds = time.monotonic() - start
    points = {c.name: c.points for c in report.checks}
    failed = "; ".join(f"{c.name}: {c.message}" for c in report.checks if not c.passed)[:2000]
    done = any(e.get("e") == "done" for e in events)
    if forged:
        return _row(
            sub, g, "invalid", "the worker's results were tampered with (unsigned lines)", seconds
        )
    if report.status is Status.ERROR and (
        outcome.start_error is not None
        or not done
        and not outcome.timed_out
        and not any(e.get("e") == "begin" for e in events)
    ):
        return _row(
            sub, g, "could-not-grade", f"{report.problem} {report.fix or ''}".strip(), seconds
        )
    if report.status is Status.ERROR:
        return _row(
            sub, g, "could-not-grade", report.problem or "the grader failed", seconds, points
        )
    if outcome.timed_out:
        return _row(
            sub,
            g,
            "timeout",
            f"did not finish within {spec.timeout_s:g} s; {failed}",
            seconds,
            points,
        )
    if not done:
        return _row(sub, g, "crash", failed or "the worker stopped", seconds, points)
    message = "; ".join([*sub.notes, failed] if failed else list(sub.notes))
    return _row(sub, g, "graded", message, seconds, points)


# -- the cache ---------------------------------------------------------------------------


def default_cache(lab: int, cwd: Path) -> Path:
    return cwd / f"coursekit-grades-lab{lab:02d}.cache.json"


def load_cache(path: Path) -> dict[str, dict[str, Any]]:
    """``{"<content_hash>:<graders_hash>": row}``; a missing or damaged cache is empty."""
    rows = read_section(path, CACHE_SCHEMA, "rows")
    return {k: v for k, v in rows.items() if isinstance(v, dict)}


def save_cache(path: Path, rows: dict[str, dict[str, Any]]) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(
        json.dumps({"schema": CACHE_SCHEMA, "rows": rows}, sort_keys=True), encoding="utf-8"
    )
    os.replace(tmp, path)


def _from_cache(sub: subs.Submission, cached: dict[str, Any]) -> GradeRow | None:
    try:
        return GradeRow(
            sub.student,
            int(cached["lab"]),
            int(cached["score"]),
            int(cached["max_score"]),
            bool(cached["passed"]),
            {str(k): int(v) for k, v in dict(cached["points"]).items()},
            str(cached["verdict"]),
            float(cached["seconds"]),
            sub.content_hash,
            sub.source,
            str(cached.get("message", "")),
            str(cached["graders_hash"]),
            cached=True,
        )
    except (KeyError, TypeError, ValueError):
        return None


def cacheable(row: GradeRow) -> bool:
    """Only verdicts about the code itself are reused. A timeout is tried again (a busy machine
    can cause one), and so is an environment failure."""
    return row.verdict in ("graded", "crash") and bool(row.content_hash)


# -- the whole class ---------------------------------------------------------------------


@dataclass
class Progress:
    done: int
    total: int
    elapsed_s: float
    eta_s: float | None
    row: GradeRow | None = None
    running: list[str] = field(default_factory=list)


def grade_class(
    req: ClassGradeRequest,
    cwd: Path,
    *,
    on_progress: Callable[[Progress], None] = lambda p: None,
    environ: Mapping[str, str] | None = None,
    grade_one: Callable[..., GradeRow] = grade_submission,
) -> ClassGradeResult:
    """Grade every submission; each bad one is a row with its verdict, never the end of the run."""
    start = time.monotonic()
    g = load_graders(req.lab, req.graders_dir)
    spec = g.spec
    paths = subs.collect(list(req.submissions), spec.student_files)
    if not paths:
        raise UsageError(
            "no submissions found in " + " ".join(req.submissions),
            "Give zip files, submission folders, folders of them, or a glob like 'in/*.zip'.",
        )
    loaded = [subs.load(p, spec.number, spec.slug, spec.student_files, spec.version) for p in paths]
    cache_path = req.cache if req.cache is not None else default_cache(spec.number, cwd)
    cache = load_cache(cache_path)  # with --force: looked up never, still updated
    rows: list[GradeRow | None] = [None] * len(loaded)
    todo: list[int] = []
    for i, sub in enumerate(loaded):
        hit = (
            cache.get(f"{sub.content_hash}:{g.hash}")
            if sub.invalid is None and not req.force
            else None
        )
        row = _from_cache(sub, hit) if hit else None
        if row is not None:
            rows[i] = row
        else:
            todo.append(i)
    jobs = req.jobs if req.jobs > 0 else (os.cpu_count() or 1)
    jobs = max(1, min(jobs, len(todo) or 1))
    lock = threading.Lock()
    done_count = len(loaded) - len(todo)
    graded_times: list[float] = []
    on_progress(Progress(done_count, len(loaded), 0.0, None))

    def work(i: int) -> GradeRow:
        return grade_one(loaded[i], g, req.python, environ=environ, seeds=req.seeds)

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(work, i): i for i in todo}
        for fut in concurrent.futures.as_completed(futures):
            i = futures[fut]
            try:
                row = fut.result()
            except Exception as exc:  # noqa: BLE001 - one submission never ends the run
                row = _row(
                    loaded[i],
                    g,
                    "could-not-grade",
                    f"coursekit failed: {type(exc).__name__}: {exc}",
                )
            rows[i] = row
            with lock:
                done_count += 1
                graded_times.append(time.monotonic())
                if cacheable(row):
                    cache[f"{row.content_hash}:{g.hash}"] = asdict(row)
                    try:
                        save_cache(cache_path, cache)
                    except OSError:
                        pass  # a read-only folder: grading still works, only resuming does not
                elapsed = time.monotonic() - start
                left = len(loaded) - done_count
                rate = (len(graded_times) / elapsed) if elapsed > 0 and graded_times else 0.0
                eta = left / rate if rate > 0 else None
                on_progress(Progress(done_count, len(loaded), elapsed, eta, row))
    final = tuple(r for r in rows if r is not None)
    return ClassGradeResult(
        spec.number,
        spec.slug,
        g.expected,
        final,
        g.origin,
        g.hash,
        cache_path,
        len(todo),
        len(loaded) - len(todo),
        time.monotonic() - start,
        jobs,
    )
