"""Mutation testing of the graders in CI (issue 11): a fixed sample of each lab's mutants (the
reference solution with one student-like mistake, see bench/mutate_grader.py) must each fail a
check, unless ``labs/<lab>/mutants-equivalent.toml`` says why it behaves the same. The full run
is ``python bench/mutate_grader.py``. A lab without that file is not mutation-tested yet (skipped,
so it shows in the summary)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.mutate_grader import (
    equivalents,
    grade_mutant,
    lab_dirs,
    lab_mutants,
    mutants_of,
    sample,
)

from tests.prereqs import need_module
SAMPLE = 30
LABS = lab_dirs()


def test_operators_model_student_mistakes() -> None:
    """The mutator changes only the student's TODO functions, one site at a time, with stable ids."""
    starter = "def f(w):\n    raise NotImplementedError\n\ndef helper(x):\n    return x.sum()\n"
    solution = ("def f(w):\n    fan_out, fan_in = w.shape\n    s = (w.abs() > 0.97).float().mean()\n"
                "    return s * 2.0 / fan_in\n\ndef helper(x):\n    return x.sum()\n")
    mutants = mutants_of(solution, starter, "m.py")
    ids = [m.id for m in mutants]
    assert len(ids) == len(set(ids)) and all(i.startswith("m.f:") for i in ids)
    changed = {m.description.split(": ", 1)[1] for m in mutants}
    for expected in (".mean -> .sum", "Gt -> GtE", "2.0 -> 4.0 (x2)", ".abs() dropped",
                     "fan_in -> fan_out"):
        assert any(expected in c for c in changed), (expected, sorted(changed))
    assert any(":swap-tuple:" in i for i in ids) and any(":drop-return:" in i for i in ids)
    for m in mutants:
        tree = ast.parse(m.source)
        assert ast.unparse(tree.body[1]) == "def helper(x):\n    return x.sum()"
    assert ids == [m.id for m in mutants_of(solution, starter, "m.py")], "ids are deterministic"
    assert {m.id for m in sample(mutants, 5)} == {m.id for m in sample(mutants[::-1], 5)}
    assert len(sample(mutants, 5)) == 5


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    torch = need_module("torch")
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("lab", LABS, ids=[p.name for p in LABS])
def test_equivalent_mutants_exist_and_say_why(lab: Path) -> None:
    equiv = equivalents(lab)
    if not (lab / "mutants-equivalent.toml").is_file():
        pytest.skip(f"{lab.name}: not mutation-tested yet (no mutants-equivalent.toml)")
    ids = {m.id for m in lab_mutants(lab)}
    assert set(equiv) <= ids, f"stale ids in mutants-equivalent.toml: {sorted(set(equiv) - ids)}"
    assert all(len(why) >= 20 for why in equiv.values()), "each equivalent mutant says why"


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("lab", LABS, ids=[p.name for p in LABS])
def test_sampled_mutants_are_killed(lab: Path) -> None:
    if not (lab / "mutants-equivalent.toml").is_file():
        pytest.skip(f"{lab.name}: not mutation-tested yet (no mutants-equivalent.toml)")
    mutants = sample(lab_mutants(lab), SAMPLE)
    assert len(mutants) >= SAMPLE
    equiv = equivalents(lab)
    holes = []
    for mutant in mutants:
        if mutant.id in equiv:
            continue
        outcome = grade_mutant(lab, mutant)
        if outcome.status != "killed":
            holes.append(f"{outcome.status}: {mutant.id} ({mutant.description}) {outcome.message[:200]}")
    assert not holes, "\n".join(holes)
