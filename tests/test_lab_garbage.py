"""Garbage from the student's code is a verdict, never a grader error (exit 3, "not your
fault"): every public function and every forward() of each lab's student files (the reference
solution, one file garbled at a time) rewritten to return None, a wrong-shaped tensor, NaN or a
string must fail the checks that use it without the grader breaking."""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from coursekit.grading.api import LabContext, run_checks
from coursekit.lab.manifest import LabSpec, discover_labs
from coursekit.resources import labs_dir

from tests.prereqs import need_module
FILES = [(spec, name) for spec in discover_labs(labs_dir()) for name in spec.student_files]
GARBAGE = ["None", "torch.zeros(3)", "float('nan')", "'x'"]


def _garbled(source: str, value: str) -> str:
    """Every public top-level function and every forward() returns ``value``."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and (node.name == "forward" or (
                not node.name.startswith("_") and node in tree.body)):
            node.body = [ast.parse(f"return {value}").body[0]]
    return ast.unparse(tree)


@pytest.fixture(autouse=True)
def _restore_torch_threads() -> Iterator[None]:
    torch = need_module("torch")
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.torch
@pytest.mark.parametrize("value", GARBAGE)
@pytest.mark.parametrize(("spec", "filename"), FILES,
                         ids=[f"{s.content_dir.name}-{f}" for s, f in FILES])
def test_garbage_is_a_verdict_not_a_grader_error(spec: LabSpec, filename: str, value: str,
                                                 tmp_path: Path) -> None:
    shutil.copytree(spec.solution_dir, tmp_path, dirs_exist_ok=True)
    source = (spec.solution_dir / filename).read_text(encoding="utf-8")
    (tmp_path / filename).write_text(_garbled(source, value), encoding="utf-8")
    results = run_checks(spec.grader_path, LabContext(student_dir=tmp_path, figures_dir=tmp_path / "fig"))
    errors = [f"{r.name}: {r.message}" for r in results if r.error]
    assert not errors
    passed = [r.name for r in results if r.passed]
    if len(spec.student_files) == 1:  # every check reads this file
        assert not passed, passed
    else:  # checks of the other files may pass
        assert len(passed) < len(results), passed
