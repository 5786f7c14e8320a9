"""Write ``labs/NN-slug/starter/explore.ipynb`` for every lab from ``experiments.py``.

Run it after changing an experiment: ``python labs/_notebook/make_notebooks.py``. The
notebooks are committed without outputs (nbformat 4, kernel ``pt``) so ``nbdime`` diffs stay
readable; ``tests/test_lab_notebooks.py`` checks they are up to date and executes each one
with the reference solution.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from experiments import EXPERIMENTS  # noqa: E402

KERNEL = {"name": "pt", "display_name": "Python (pt)", "language": "python"}

SETUP = '''%matplotlib inline
%load_ext autoreload
%autoreload 2
import matplotlib.pyplot as plt
import torch
import {module} as lab  # your file: saved edits are reloaded before each cell runs'''

CHECK = '''# The same check as `coursekit lab {number} --check`, run on your saved files with this
# kernel's Python. coursekit wrote where it lives into .coursekit-lab.json when it handed the
# lab out; if that is missing, the `coursekit` command on PATH is used.
import json, os, subprocess, sys
from pathlib import Path

tool = json.loads(Path(".coursekit-lab.json").read_text()).get("coursekit") or {{}}
if tool.get("python"):
    boot = "import sys; sys.path.insert(0, sys.argv.pop(1)); from coursekit.cli import main; main()"
    cmd = [tool["python"], "-I", "-c", boot, tool.get("path", "")]
else:
    cmd = ["coursekit"]
env = dict(os.environ, COLUMNS="100", NO_COLOR="1")
done = subprocess.run(cmd + ["lab", "--check", "--python", sys.executable],
                      capture_output=True, text=True, env=env)
print(done.stdout)
print(done.stderr[-3000:], file=sys.stderr)
print("PASSED" if done.returncode == 0 else f"not passing yet (exit {{done.returncode}})")'''

FIGURES = '''# The figures the check drew into figures/ (from your code):
from IPython.display import Image, display
for png in sorted(Path("figures").glob("*.png")):
    print(png)
    display(Image(filename=str(png)))'''


def notebook(number: int, title: str, module: str, intro: str, code: str, look_for: str) -> nbformat.NotebookNode:
    nb = new_notebook(metadata={"kernelspec": KERNEL,
                                "language_info": {"name": "python"}})
    nb.cells = [
        new_markdown_cell(f"# Lab {number}: {title}\n\n{intro}\n\n"
                          f"Edit `{module}.py` in your editor or here; `autoreload` picks up every "
                          "saved change. Run the cells top to bottom."),
        new_code_cell(SETUP.format(module=module)),
        new_markdown_cell("## The experiment"),
        new_code_cell(code.strip("\n")),
        new_markdown_cell(f"**What to look for:** {look_for}"),
        new_markdown_cell("## Check your work\n\nThis runs the grader on your saved files, "
                          "exactly like `coursekit lab --check` in a terminal."),
        new_code_cell(CHECK.format(number=number)),
        new_code_cell(FIGURES),
    ]
    for i, cell in enumerate(nb.cells):  # stable ids: no churn in nbdime diffs
        cell["id"] = f"lab{number:02d}-cell{i}"
    return nb


def rendered() -> dict[int, str]:
    """Lab number -> the text of its explore.ipynb, as this script writes it."""
    out = {}
    for number, exp in sorted(EXPERIMENTS.items()):
        nb = notebook(number, exp["title"], exp["module"], exp["intro"], exp["code"], exp["look_for"])
        nbformat.validate(nb)
        out[number] = nbformat.writes(nb) + "\n"
    return out


def main() -> None:
    labs = HERE.parent
    for number, text in rendered().items():
        folder = next(labs.glob(f"{number:02d}-*"))
        (folder / "starter" / "explore.ipynb").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
