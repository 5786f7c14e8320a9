"""The sealed worker of ``class grade`` judges like ``--check``: every lab's reference solution
gets full marks, and each lab's known mistakes fail the checks their ``expect.txt`` names (a text the failure message must contain).

The audit hook must never turn a correct answer into a failure, nor hide a mistake.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from coursekit.instructor.classgrade import ClassGradeRequest, grade_class
from coursekit.lab.manifest import discover_labs
from tests.labhelpers import REPO, mistake_folder

pytestmark = [pytest.mark.torch, pytest.mark.slow, pytest.mark.realtool]

SPECS = discover_labs(REPO / "labs")


def _first_mistake(spec_dir: Path) -> Path:
    return sorted(p for p in (spec_dir / "mistakes").iterdir() if p.is_dir())[0]


@pytest.mark.parametrize("spec", SPECS, ids=[s.slug for s in SPECS])
def test_solution_passes_and_a_mistake_fails_in_the_sealed_worker(spec: object, tmp_path: Path) -> None:
    content = spec.content_dir  # type: ignore[attr-defined]
    number = spec.number  # type: ignore[attr-defined]
    inbox = tmp_path / "in"
    mistake = _first_mistake(content)
    mistake_folder(content, mistake, inbox / "mistake")
    (inbox / "solution").mkdir(parents=True)
    for name in spec.student_files:  # type: ignore[attr-defined]
        (inbox / "solution" / name).write_bytes((content / "solution" / name).read_bytes())
    req = ClassGradeRequest(str(number), (str(inbox),), sys.executable, jobs=2,
                            cache=tmp_path / "cache.json")
    rows = {r.student: r for r in grade_class(req, tmp_path).rows}
    assert rows["solution"].verdict == "graded" and rows["solution"].passed, rows["solution"].message
    bad = rows["mistake"]
    assert bad.verdict == "graded" and not bad.passed, bad
    expect = mistake / "expect.txt"
    if expect.is_file():  # the message names the mistake, as it does under --check
        assert expect.read_text(encoding="utf-8").strip().lower() in bad.message.lower(), bad.message
