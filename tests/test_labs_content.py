"""Every lab in labs/ (discovered, so labs 3-8 are picked up automatically) is gradeable:
its starter fails, its reference solution passes (the grader runs all 3 seeds), and every
known wrong answer in ``mistakes/<name>/`` fails, with a message containing the text of
``mistakes/<name>/expect.txt`` when that file exists. Graded in-process (``run_checks``):
the sandboxed worker has its own tests (test_grading_worker.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coursekit.lab.checking import expected_checks
from coursekit.lab.manifest import LabSpec, discover_labs
from coursekit.resources import labs_dir
from tests.labhelpers import grade_in_process, student_folder, summary

LABS = discover_labs(labs_dir())
MISTAKES = [(spec, m) for spec in LABS
            for m in sorted(p for p in (spec.content_dir / "mistakes").glob("*") if p.is_dir())]

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _id(spec: LabSpec) -> str:
    return spec.content_dir.name


@pytest.mark.parametrize("spec", LABS, ids=_id)
def test_lab_content_is_complete(spec: LabSpec) -> None:
    assert spec.readme_path.is_file(), "README.md with the instructions"
    for name in spec.student_files:
        starter = spec.starter_dir / name
        assert starter.is_file(), f"starter/{name}"
        assert (spec.solution_dir / name).is_file(), f"solution/{name}"
        text = starter.read_text(encoding="utf-8")
        assert "TODO" in text and "NotImplementedError" in text, f"starter/{name} has TODOs"
    assert spec.hints or spec.check_hints, "at least one hint"
    assert spec.timeout_s <= 120 and spec.memory_mb >= 512


@pytest.mark.parametrize("spec", LABS, ids=_id)
def test_grader_source_matches_runtime(spec: LabSpec) -> None:
    """The parent reads check names and points from the grader's source: they must agree."""
    from coursekit.grading.api import collect_checks, load_grader

    runtime = [(c.name, c.points) for c in collect_checks(load_grader(spec.grader_path))]
    assert [(c.name, c.points) for c in expected_checks(spec.grader_path)] == runtime


@pytest.mark.parametrize("spec", LABS, ids=_id)
def test_starter_fails(spec: LabSpec, tmp_path: Path) -> None:
    results = grade_in_process(spec, student_folder(spec, tmp_path / "s"), figures=False)
    assert not any(r.error for r in results), summary(results)
    assert not all(r.passed for r in results), summary(results)


@pytest.mark.parametrize("spec", LABS, ids=_id)
def test_solution_passes(spec: LabSpec, tmp_path: Path) -> None:
    folder = student_folder(spec, tmp_path / "s", spec.solution_dir)
    results = grade_in_process(spec, folder)
    assert all(r.passed for r in results), summary(results)
    if "lab.figure(" in spec.grader_path.read_text(encoding="utf-8"):
        pngs = list((folder / "figures").glob("*.png"))
        assert pngs and all(p.stat().st_size > 1000 for p in pngs), "the lab's figures were drawn"


@pytest.mark.parametrize("spec", LABS, ids=_id)
def test_solution_passes_on_other_seeds(spec: LabSpec, tmp_path: Path) -> None:
    """Thresholds must hold beyond the 3 fixed seeds, or the calibration is too tight."""
    folder = student_folder(spec, tmp_path / "s", spec.solution_dir)
    results = grade_in_process(spec, folder, figures=False, seeds=(101, 202, 303))
    assert all(r.passed for r in results), summary(results)


@pytest.mark.parametrize(("spec", "mistake"), MISTAKES,
                         ids=[f"{_id(s)}-{m.name}" for s, m in MISTAKES])
def test_known_mistake_fails_and_is_named(spec: LabSpec, mistake: Path, tmp_path: Path) -> None:
    folder = student_folder(spec, tmp_path / "s", spec.solution_dir, mistake)
    results = grade_in_process(spec, folder, figures=False)
    assert not any(r.error for r in results), summary(results)
    failed = [r for r in results if not r.passed]
    assert failed, f"{mistake.name} passed every check:\n{summary(results)}"
    expect = mistake / "expect.txt"
    if expect.is_file():
        words = expect.read_text(encoding="utf-8").strip().lower()
        assert any(words in r.message.lower() for r in failed), (
            f"no failing check names the mistake ({words!r}):\n{summary(results)}")
