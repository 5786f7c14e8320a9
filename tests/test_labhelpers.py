"""The test helper that turns a stored mistake diff into the wrong answer it describes."""

from __future__ import annotations

import difflib

import pytest

from tests.labhelpers import REPO, apply_diff

SOLUTION = "def f(x):\n    y = x + 1\n    return y\n"
WRONG = "def f(x):\n    y = x - 1  # off by two\n    return y\n"


def _diff(a: str, b: str) -> str:
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "a", "b"))


def test_applies_a_unified_diff() -> None:
    assert apply_diff(SOLUTION, _diff(SOLUTION, WRONG)) == WRONG


def test_a_diff_that_no_longer_fits_the_solution_fails_loudly() -> None:
    drifted = SOLUTION.replace("x + 1", "x + 2")
    with pytest.raises(AssertionError, match="does not apply at line 2"):
        apply_diff(drifted, _diff(SOLUTION, WRONG))


def test_every_stored_mistake_applies_to_its_solution() -> None:
    diffs = sorted(REPO.glob("labs/*/mistakes/*/*.py.diff"))
    assert len(diffs) >= 50
    for path in diffs:
        solution = path.parents[2] / "solution" / path.name.removesuffix(".diff")
        wrong = apply_diff(solution.read_text(encoding="utf-8"), path.read_text(encoding="utf-8"))
        assert wrong != solution.read_text(encoding="utf-8"), path
