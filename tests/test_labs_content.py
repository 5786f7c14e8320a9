"""Every lab in labs/ is gradeable, judged from the lab's own data (no per-lab tables here;
a new lab is one folder, issue 16 item 5):

- its starter fails, every check stopping at a TODO;
- its reference solution passes on two sets of seeds;
- every known wrong answer ``mistakes/<name>/`` (a ``NAME.py.diff`` against the solution)
  fails the check ``mistakes/<name>/expect.toml`` names, with a message containing its
  fragment, and every check listed under ``[also_fails]``;
- every correct alternative ``alternatives/<name>/`` (full files laid over the solution,
  ``why.txt`` says why it is right) passes every check on seeds 0-11.

Graded in-process (``run_checks``): the sandboxed worker has its own tests.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from coursekit.grading.api import CheckFailed, LabContext, collect_checks, load_grader
from coursekit.lab.checking import expected_checks
from coursekit.lab.manifest import LabSpec, discover_labs
from coursekit.resources import labs_dir
from tests.labhelpers import grade_in_process, student_folder, summary
from tests.prereqs import need_module

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LABS = discover_labs(labs_dir())
MISTAKES = [(spec, m) for spec in LABS
            for m in sorted(p for p in (spec.content_dir / "mistakes").glob("*") if p.is_dir())]
ALTERNATIVES = [(spec, a) for spec in LABS
                for a in sorted(p for p in (spec.content_dir / "alternatives").glob("*") if p.is_dir())]
ALT_SEEDS = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (9, 10, 11)]

torch = need_module("torch")
pytestmark = [pytest.mark.torch, pytest.mark.slow]


def _id(spec: LabSpec) -> str:
    return spec.content_dir.name


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    """Graders use one torch thread (small nets); give the test process its setting back."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def expectation(mistake: Path) -> dict[str, str]:
    """``expect.toml`` as {check: message fragment}: the named check first, then ``[also_fails]``."""
    data = tomllib.loads((mistake / "expect.toml").read_text(encoding="utf-8"))
    assert isinstance(data.get("check"), str) and isinstance(data.get("message"), str), (
        f"{mistake}/expect.toml needs check = '...' and message = '...'")
    also = data.get("also_fails", {})
    assert isinstance(also, dict) and all(isinstance(v, str) for v in also.values())
    return {data["check"]: data["message"], **also}


@pytest.mark.parametrize("spec", LABS, ids=_id)
def test_lab_content_is_complete(spec: LabSpec) -> None:
    assert spec.readme_path.is_file(), "README.md with the instructions"
    assert f"coursekit lab {spec.number} --check" in spec.readme_path.read_text(encoding="utf-8")
    for name in spec.student_files:
        starter = spec.starter_dir / name
        assert starter.is_file(), f"starter/{name}"
        assert (spec.solution_dir / name).is_file(), f"solution/{name}"
        text = starter.read_text(encoding="utf-8")
        assert "TODO" in text and "NotImplementedError" in text, f"starter/{name} has TODOs"
    assert spec.hints or spec.check_hints, "at least one hint"
    assert 0 < spec.timeout_s <= 120 and spec.memory_mb >= 512


@pytest.mark.parametrize("spec", LABS, ids=_id)
def test_lab_data_is_well_formed(spec: LabSpec) -> None:
    """Each mistake says what it must fail; each alternative says why it is right; both only
    touch the lab's student files; every named check exists."""
    checks = {c.name for c in expected_checks(spec.grader_path)}
    for mistake in (p for p in (spec.content_dir / "mistakes").glob("*") if p.is_dir()):
        assert (mistake / "expect.toml").is_file(), f"{mistake.name}: expect.toml is missing"
        unknown = set(expectation(mistake)) - checks
        assert not unknown, f"{mistake.name}: no checks named {unknown}"
        files = {p.name.removesuffix(".diff") for p in mistake.glob("*.py*")}
        assert files and files <= set(spec.student_files), mistake.name
    for alt in (p for p in (spec.content_dir / "alternatives").glob("*") if p.is_dir()):
        assert (alt / "why.txt").is_file(), f"{alt.name}: why.txt says why it is correct"
        files = {p.name for p in alt.glob("*.py")}
        assert files and files <= set(spec.student_files), alt.name


@pytest.mark.parametrize("spec", LABS, ids=_id)
def test_grader_source_matches_runtime(spec: LabSpec) -> None:
    """The parent reads check names and points from the grader's source: they must agree."""
    runtime = [(c.name, c.points) for c in collect_checks(load_grader(spec.grader_path))]
    assert [(c.name, c.points) for c in expected_checks(spec.grader_path)] == runtime


@pytest.mark.parametrize("spec", LABS, ids=_id)
def test_starter_fails_at_its_todos(spec: LabSpec, tmp_path: Path) -> None:
    results = grade_in_process(spec, student_folder(spec, tmp_path / "s"), figures=False)
    assert not any(r.error for r in results), summary(results)
    assert not any(r.passed for r in results), summary(results)
    # every check stops at a TODO, not at something the starter got wrong by accident
    assert all("notimplementederror" in r.message.lower().replace(" ", "")
               or "not implemented" in r.message.lower() for r in results), summary(results)


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


def _failures(spec: LabSpec, folder: Path, names: set[str]) -> dict[str, str | None]:
    """Run only the named checks; each check's failure message, or None when it passed."""
    ctx = LabContext(student_dir=folder, figures_dir=folder / "figures")
    specs = {c.name: c for c in collect_checks(load_grader(spec.grader_path))}
    out: dict[str, str | None] = {}
    for name in names:
        try:
            specs[name].func(ctx)
            out[name] = None
        except CheckFailed as exc:  # StudentCodeError included
            out[name] = exc.message
    return out


@pytest.mark.parametrize(("spec", "mistake"), MISTAKES,
                         ids=[f"{_id(s)}-{m.name}" for s, m in MISTAKES])
def test_known_mistake_fails_and_is_named(spec: LabSpec, mistake: Path, tmp_path: Path) -> None:
    expected = expectation(mistake)
    folder = student_folder(spec, tmp_path / "s", spec.solution_dir, mistake)
    failures = _failures(spec, folder, set(expected))
    for name, phrase in expected.items():
        assert failures[name] is not None, f"{mistake.name}: check {name} passed"
        assert phrase.lower() in failures[name].lower(), (
            f"{mistake.name}: {name} failed with: {failures[name]}")


@pytest.mark.parametrize("seeds", ALT_SEEDS, ids=[f"seeds-{s[0]}-{s[-1]}" for s in ALT_SEEDS])
@pytest.mark.parametrize(("spec", "alt"), ALTERNATIVES,
                         ids=[f"{_id(s)}-{a.name}" for s, a in ALTERNATIVES])
def test_correct_alternative_passes(spec: LabSpec, alt: Path, seeds: tuple[int, ...],
                                    tmp_path: Path) -> None:
    """A grader that fails a differently-written correct answer reads the reference's incidental
    properties instead of the README's specification."""
    folder = student_folder(spec, tmp_path / "s", spec.solution_dir, alt)
    results = grade_in_process(spec, folder, figures=False, seeds=seeds)
    assert all(r.passed for r in results), summary(results)


def _code_without_docstring(path: Path) -> str:
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant):
        tree.body = tree.body[1:]
    return ast.unparse(tree)


def test_lab2_flowtools_is_lab1s_solution() -> None:
    """Lab 2 hands out a finished copy of lab 1's tools: it must not drift from lab 1's
    reference (issue 16 item 5), and starter and solution copies are the same file."""
    lab1 = next(s for s in LABS if s.number == 1)
    lab2 = next(s for s in LABS if s.number == 2)
    copy = lab2.starter_dir / "flowtools.py"
    assert copy.read_bytes() == (lab2.solution_dir / "flowtools.py").read_bytes()
    assert _code_without_docstring(copy) == _code_without_docstring(lab1.solution_dir / "diagnostics.py")
