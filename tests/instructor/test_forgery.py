"""Forgery does not pay: submissions that try to forge the class grade get what their code earns.

Every forger is the same runnable but wrong ``make_mlp`` (layers right, inits left at
PyTorch's default: it earns the ``layers`` and ``sigmoid_vanishes`` points only) plus one attack
(tests/instructor/forgers/*.py). ``honest`` is that code without an attack. Graded for real, in
sealed workers, by ``coursekit class grade``'s own function.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from coursekit.instructor.classgrade import ClassGradeRequest, grade_class

pytestmark = [pytest.mark.torch, pytest.mark.slow, pytest.mark.realtool]

FORGERS = Path(__file__).parent / "forgers"
ATTACKS = sorted(p.stem for p in FORGERS.glob("*.py") if not p.stem.startswith("_")
                 and p.stem != "probe")


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("forgers")
    base = (FORGERS / "_forge.py").read_text(encoding="utf-8")
    for name in ATTACKS:
        folder = root / "in" / name
        folder.mkdir(parents=True)
        (folder / "vanishing.py").write_text(base + "\n" + (FORGERS / f"{name}.py").read_text(
            encoding="utf-8"), encoding="utf-8")
        # files a forger might add: never taken (only declared files are)
        (folder / "grader.py").write_text("raise SystemExit", encoding="utf-8")
        (folder / "flowtools.py").write_text("import os; os._exit(0)", encoding="utf-8")
    probe = root / "in" / "probe"
    probe.mkdir()
    (probe / "vanishing.py").write_text((FORGERS / "probe.py").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    req = ClassGradeRequest("2", (str(root / "in"),), sys.executable, jobs=2,
                            cache=root / "cache.json")
    result = grade_class(req, root)
    return {r.student: r for r in result.rows}


def test_the_honest_baseline_earns_only_what_its_code_does(graded: dict[str, object]) -> None:
    honest = graded["honest"]
    assert honest.verdict == "graded"  # type: ignore[attr-defined]
    # lab 2's grader gained a default_init check (issue 11): the baseline's untouched default init earns it
    assert honest.points == {"layers": 1, "default_init": 1, "normal_init": 0,  # type: ignore[attr-defined]
                             "sigmoid_normal_saturates": 0, "sigmoid_vanishes": 1, "he_init": 0,
                             "relu_he_flows": 0}


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a != "honest"])
def test_a_forger_earns_no_more_than_its_code(graded: dict[str, object], attack: str) -> None:
    row = graded[attack]
    honest = graded["honest"]
    assert not row.passed, row  # type: ignore[attr-defined]
    assert row.verdict != "could-not-grade", row  # type: ignore[attr-defined]
    assert row.score <= honest.score, row  # type: ignore[attr-defined]
    for name, points in row.points.items():  # type: ignore[attr-defined]
        assert points <= honest.points[name], (attack, name, row)  # type: ignore[attr-defined]


def test_every_escape_the_probe_knows_is_refused(graded: dict[str, object]) -> None:
    row = graded["probe"]
    assert "ALLOWED=[]" in row.message, row.message  # type: ignore[attr-defined]
