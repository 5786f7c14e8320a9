"""Issue 13 item 10: every lab hands out ``explore.ipynb`` (nbformat 4, kernel ``pt``, no
outputs) beside the student's file, never overwrites an edited one, and each notebook runs top
to bottom with the reference solution: its experiment draws a figure and its check cell
reports a pass."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys
from pathlib import Path

import nbformat
import pytest

from coursekit.lab import layout
from coursekit.lab.manifest import LabSpec, discover_labs
from tests.labhelpers import REPO, overlay

from tests.prereqs import need_module
LABS = discover_labs()


def _generator() -> object:
    spec = importlib.util.spec_from_file_location("make_notebooks", REPO / "labs" / "_notebook" / "make_notebooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.slug)
def test_every_lab_ships_a_clean_pt_notebook(spec: LabSpec) -> None:
    path = spec.starter_dir / "explore.ipynb"
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)
    assert nb.nbformat == 4 and nb.metadata.kernelspec.name == "pt"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "no outputs committed"
    text = "\n".join(c.source for c in code)
    module = Path(spec.student_files[0]).stem
    assert f"import {module} as lab" in text and "%autoreload 2" in text
    assert '"--check"' in text and nb.cells[-2].cell_type == "code"
    assert "What to look for" in "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def test_notebooks_are_what_the_generator_writes() -> None:
    rendered = _generator().rendered()  # type: ignore[attr-defined]
    for spec in LABS:
        assert (spec.starter_dir / "explore.ipynb").read_text(encoding="utf-8") == rendered[spec.number], (
            f"{spec.slug}: run python labs/_notebook/make_notebooks.py")


def test_handout_puts_the_notebook_beside_the_py_and_keeps_an_edited_one(tmp_path: Path) -> None:
    spec = LABS[0]
    folder = tmp_path / spec.folder_name
    result = layout.lay_out(spec, folder)
    assert {"explore.ipynb", spec.student_files[0]} <= {f.path for f in result.files}
    assert (folder / "explore.ipynb").is_file() and (folder / spec.student_files[0]).is_file()
    marker = json.loads((folder / layout.MARKER).read_text())
    assert Path(marker["coursekit"]["python"]).name.startswith("python")
    nb = nbformat.read(folder / "explore.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("my own experiment"))
    nbformat.write(nb, folder / "explore.ipynb")
    edited = (folder / "explore.ipynb").read_text()
    newer = dataclasses.replace(spec, version=spec.version + 1)
    again = {f.path: f.action for f in layout.lay_out(newer, folder).files}
    assert again["explore.ipynb"].startswith("kept")
    assert (folder / "explore.ipynb").read_text() == edited


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.realtool
@pytest.mark.timeout(900)
@pytest.mark.parametrize("spec", LABS, ids=lambda s: s.slug)
def test_notebook_runs_with_the_solution_draws_and_passes(spec: LabSpec, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    need_module("torch")
    need_module("ipykernel")
    from nbclient import NotebookClient

    folder = tmp_path / spec.folder_name
    layout.lay_out(spec, folder)
    overlay(spec.solution_dir, folder)
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(folder / "explore.ipynb", as_version=4)
    # The test venv's own kernel stands in for 'pt' (it has torch, matplotlib and ipykernel).
    client = NotebookClient(nb, kernel_name="python3", timeout=600,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    experiment = code[1]
    assert any("image/png" in o.get("data", {}) for o in experiment.outputs), "a figure inline"
    check = code[2]
    said = "".join(o.get("text", "") for o in check.outputs if o.output_type == "stream")
    assert "PASSED" in said and ": passed" in said, said[-3000:]
    shown = code[3]
    assert any("image/png" in o.get("data", {}) for o in shown.outputs) or \
        "lab.figure(" not in spec.grader_path.read_text(encoding="utf-8")
    assert sys.executable  # the kernel ran this interpreter: the check used it too
