"""Garbage from the student's code is a verdict, never a grader error (exit 3, "not your
fault"): every public function and every forward() of labs 3-8 rewritten to return None, a
wrong-shaped tensor, NaN or a string must fail the checks without the grader breaking."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from coursekit.grading.api import LabContext, run_checks
from tests.prereqs import need_module

LABS = Path(__file__).resolve().parent.parent / "labs"
FILES = {"03-initialisation": "init.py", "04-activations": "activations.py", "05-batch-norm": "batchnorm.py",
         "06-gradient-clipping": "clipping.py", "07-residual-connections": "residual.py",
         "08-rnn-long-sequences": "long_rnn.py"}
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
@pytest.mark.parametrize("lab", sorted(FILES))
def test_garbage_is_a_verdict_not_a_grader_error(lab: str, value: str, tmp_path: Path) -> None:
    filename = FILES[lab]
    (tmp_path / filename).write_text(_garbled((LABS / lab / "solution" / filename).read_text(encoding="utf-8"), value),
                                     encoding="utf-8")
    results = run_checks(LABS / lab / "grader.py", LabContext(student_dir=tmp_path, figures_dir=tmp_path / "fig"))
    errors = [f"{r.name}: {r.message}" for r in results if r.error]
    assert not errors
    assert not any(r.passed for r in results), [r.name for r in results if r.passed]
