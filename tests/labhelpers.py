"""Helpers for the lab tests: lay out a student folder from lab content, grade it in-process."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

from coursekit.grading.api import CheckResult, LabContext, run_checks
from coursekit.lab.manifest import LabSpec

REPO = Path(__file__).resolve().parent.parent
FIXTURE_COURSE = REPO / "tests" / "fixtures_labs" / "course"
FIXTURE_STUDENTS = REPO / "tests" / "fixtures_labs" / "students"


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def apply_diff(original: str, diff: str) -> str:
    """Apply a unified diff (as ``difflib.unified_diff`` or ``git diff`` writes it) strictly.

    Every context and removed line must match exactly where the hunk says, so a mistake
    written against an older solution fails loudly instead of testing something else.
    """
    lines = original.splitlines(keepends=True)
    out: list[str] = []
    pos = 0
    for line in diff.splitlines(keepends=True):
        if line.startswith(("---", "+++")):
            continue
        hunk = _HUNK.match(line)
        if hunk:
            start = int(hunk.group(1)) - (0 if hunk.group(2) == "0" else 1)
            assert start >= pos, f"hunks out of order at {line.strip()}"
            out += lines[pos:start]
            pos = start
        elif line[:1] in (" ", "-"):
            assert pos < len(lines) and lines[pos] == line[1:], (
                f"diff does not apply at line {pos + 1}: expected {line[1:]!r}, "
                f"found {lines[pos] if pos < len(lines) else 'end of file'!r}")
            if line[0] == " ":
                out.append(lines[pos])
            pos += 1
        elif line.startswith("+"):
            out.append(line[1:])
    return "".join(out + lines[pos:])


def overlay(folder: Path, dest: Path) -> None:
    """Copy ``folder``'s .py files onto ``dest``; a ``NAME.py.diff`` is applied to ``dest/NAME.py``."""
    for src in folder.rglob("*.py"):
        target = dest / src.relative_to(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    for src in folder.rglob("*.py.diff"):
        target = dest / src.relative_to(folder).with_suffix("")
        patched = apply_diff(target.read_text(encoding="utf-8"), src.read_text(encoding="utf-8"))
        target.write_text(patched, encoding="utf-8")


def mistake_folder(spec_dir: Path, mistake: Path, dest: Path) -> Path:
    """A known wrong answer laid out in ``dest``: the reference solution with the mistake on top."""
    dest.mkdir(parents=True, exist_ok=True)
    overlay(spec_dir / "solution", dest)
    overlay(mistake, dest)
    return dest


def student_folder(spec: LabSpec, dest: Path, *overlays: Path) -> Path:
    """The starter laid out in ``dest``, then each overlay folder on top (see :func:`overlay`)."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in spec.starter_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(spec.source_of(rel), target)
    for folder in overlays:
        overlay(folder, dest)
    return dest


class _NoFigures(LabContext):
    """A context that skips drawing (figures cost ~0.3 s each; solution runs still draw)."""

    def figure(self, filename: str, draw: Any) -> Path | None:
        return None


def grade_in_process(spec: LabSpec, folder: Path, figures: bool = True,
                     seeds: tuple[int, ...] | None = None) -> list[CheckResult]:
    """``run_checks`` with the lab's grader; forgets the student's modules afterwards."""
    before = set(sys.modules)
    cls = LabContext if figures else _NoFigures
    ctx = cls(student_dir=folder, figures_dir=folder / "figures")
    if seeds is not None:
        ctx.seeds = seeds
    try:
        return run_checks(spec.grader_path, ctx)
    finally:
        root = str(folder.resolve())
        for name in set(sys.modules) - before:
            file = getattr(sys.modules.get(name), "__file__", None) or ""
            if file.startswith(root) or name.startswith(("student_", "coursekit_grader_")):
                sys.modules.pop(name, None)


def summary(results: list[CheckResult]) -> str:
    return "\n".join(f"{'PASS' if r.passed else 'FAIL'}{' ERROR' if r.error else ''} {r.name}: "
                     f"{r.message}" for r in results)
