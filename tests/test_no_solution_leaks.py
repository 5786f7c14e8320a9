"""Issue 13 item 8: no lab hands out code that solves another lab the student has not passed.

Every function the student must write in lab J (a function of J's solution whose body differs
from J's starter) is compared, body for body (docstrings and names ignored), with every
function of every other lab's hand-out as a student who has passed every lab *but* J gets it.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from coursekit.errors import ExitCode
from coursekit.lab import progress as prog
from coursekit.lab.manifest import LabSpec, discover_labs
from tests.helpers import run_cli

LABS = discover_labs()
BY_NUMBER = {s.number: s for s in LABS}


def _bodies(source: str) -> dict[str, str]:
    """name -> normalised body of every function and method (docstring dropped)."""
    out: dict[str, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = list(node.body)
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]
            out[node.name] = ast.dump(ast.Module(body=body, type_ignores=[]))
    return out


def _answers(spec: LabSpec) -> dict[str, str]:
    """The bodies the student writes in ``spec``: solution functions the starter lacks."""
    answers: dict[str, str] = {}
    for path in sorted(spec.solution_dir.rglob("*.py")):
        rel = path.relative_to(spec.solution_dir)
        starter = spec.starter_dir / rel
        given = set(_bodies(starter.read_text(encoding="utf-8")).values()) if starter.is_file() else set()
        for name, body in _bodies(path.read_text(encoding="utf-8")).items():
            if body not in given and body.count("\n") + len(body) > 200:  # skip one-liners
                answers[f"{rel.as_posix()}:{name}"] = body
    return answers


def _handout_files(spec: LabSpec, not_passed: int) -> list[str]:
    passed = frozenset(s.number for s in LABS if s.number != not_passed)
    held = spec.withheld(passed)
    return [rel for rel in spec.starter_files() if rel.endswith(".py") and rel not in held]


@pytest.mark.parametrize("owner", LABS, ids=lambda s: f"lab{s.number}")
def test_no_handout_contains_another_labs_answers(owner: LabSpec) -> None:
    answers = _answers(owner)
    assert answers, f"lab {owner.number}'s solution should differ from its starter"
    leaks = []
    for other in LABS:
        if other.number == owner.number:
            continue
        gate = dict(other.after_pass)
        for rel in _handout_files(other, owner.number):
            source = other.source_of(rel).read_text(encoding="utf-8")
            # A file handed out only after lab K passed may repeat what the student wrote in K.
            own = set(_answers(BY_NUMBER[gate[rel]]).values()) if rel in gate else set()
            for name, body in _bodies(source).items():
                hits = [a for a, b in answers.items() if b == body and b not in own]
                leaks += [f"lab {other.number} hands out {rel}:{name} = lab {owner.number}'s "
                          f"{hit}" for hit in hits]
    assert not leaks, "\n".join(leaks)


def test_the_leak_check_sees_lab_1s_tools_in_lab_2_when_not_held_back() -> None:
    """The check above is not vacuous: without after_pass, lab 2's flowtools.py leaks lab 1."""
    lab1, lab2 = LABS[0], LABS[1]
    answers = _answers(lab1)
    flowtools = _bodies(lab2.source_of("flowtools.py").read_text(encoding="utf-8"))
    assert set(answers.values()) & set(flowtools.values())
    assert "flowtools.py" not in _handout_files(lab2, not_passed=1)


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_lab_whose_prerequisite_has_not_passed_says_which_and_how_to_override(work: Path) -> None:
    refused = run_cli(["lab", "2"])
    assert refused.code == ExitCode.FAILED
    assert "lab 1" in refused.stderr and "--skip-requires" in refused.stderr
    assert not (work / "lab02-vanishing-gradients").exists()
    as_json = json.loads(run_cli(["lab", "2", "--json"]).stdout)
    assert as_json["error"]["exit_code"] == 1 and "--skip-requires" in as_json["error"]["fix"]

    anyway = run_cli(["lab", "2", "--skip-requires"])
    assert anyway.code == ExitCode.OK, anyway
    folder = work / "lab02-vanishing-gradients"
    assert (folder / "vanishing.py").is_file() and not (folder / "flowtools.py").exists()
    assert "held back" in anyway.stdout and "lab 1" in anyway.stdout
    assert run_cli(["lab", "2"]).code == ExitCode.OK  # handed out already: no flag needed again
    assert not (folder / "flowtools.py").exists()

    progress = prog.load()
    prog.record_grade(progress, LABS[0].slug, 1, 10, 10, True)
    prog.save(progress)
    again = run_cli(["lab", "2"])
    assert again.code == ExitCode.OK and (folder / "flowtools.py").is_file()


def test_a_passed_prerequisite_hands_out_everything(work: Path) -> None:
    progress = prog.load()
    prog.record_grade(progress, LABS[0].slug, 1, 10, 10, True)
    prog.save(progress)
    result = run_cli(["lab", "2"])
    assert result.code == ExitCode.OK
    assert (work / "lab02-vanishing-gradients" / "flowtools.py").is_file()
