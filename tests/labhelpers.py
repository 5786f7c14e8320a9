"""Helpers for the lab tests: lay out a student folder from lab content, grade it in-process."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from coursekit.grading.api import CheckResult, LabContext, run_checks
from coursekit.lab.manifest import LabSpec

REPO = Path(__file__).resolve().parent.parent
FIXTURE_COURSE = REPO / "tests" / "fixtures_labs" / "course"
FIXTURE_STUDENTS = REPO / "tests" / "fixtures_labs" / "students"


def student_folder(spec: LabSpec, dest: Path, *overlays: Path) -> Path:
    """The starter laid out in ``dest``, then each overlay folder's .py files copied on top."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in spec.starter_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(spec.source_of(rel), target)
    for overlay in overlays:
        for src in overlay.rglob("*.py"):
            target = dest / src.relative_to(overlay)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)
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
