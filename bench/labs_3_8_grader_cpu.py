"""CPU time of each of labs 3-8's graders with the reference solution, torch import excluded.

For every lab a fresh interpreter imports torch (and matplotlib, which the figures need),
then times ``run_checks`` on a copy of the solution: CPU seconds (process_time) and wall
seconds. ``python -c "import torch"`` is measured in the same run as the yardstick. The goal
(issue 6): a whole grader in well under 3 s of CPU on a 2-core machine; the end-to-end
``coursekit lab N --check`` ratio is bench/lab_check.py's job. Prints, never asserts.
Usage: python bench/labs_3_8_grader_cpu.py [RUNS]
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LABS = ["03-initialisation", "04-activations", "05-batch-norm", "06-gradient-clipping",
        "07-residual-connections", "08-rnn-long-sequences"]

CHILD = r"""
import json, shutil, sys, tempfile, time
from pathlib import Path
import torch, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot
from coursekit.grading.api import LabContext, run_checks
lab = Path(sys.argv[1])
with tempfile.TemporaryDirectory() as tmp:
    student = Path(tmp) / "student"
    shutil.copytree(lab / "solution", student)
    cpu, wall = time.process_time(), time.perf_counter()
    results = run_checks(lab / "grader.py", LabContext(student_dir=student, figures_dir=Path(tmp) / "fig"))
    print(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                      "passed": all(r.passed for r in results),
                      "checks": {r.name: round(r.duration_s, 3) for r in results}}))
"""


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    base = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        base.append(time.perf_counter() - start)
    torch_s = statistics.median(base)
    print(f"python -c 'import torch': {torch_s:.2f} s wall (median of {runs})")
    total = 0.0
    for lab in LABS:
        rows = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, "-c", CHILD, str(REPO / "labs" / lab)], check=True,
                                 capture_output=True, text=True, cwd=REPO).stdout
            rows.append(json.loads(out.strip().splitlines()[-1]))
        cpu = statistics.median(r["cpu"] for r in rows)
        wall = statistics.median(r["wall"] for r in rows)
        total += cpu
        slowest = max(rows[-1]["checks"].items(), key=lambda kv: kv[1])
        print(f"{lab:26s} grader cpu {cpu:.2f} s, wall {wall:.2f} s ({wall / torch_s:.2f} x import torch), "
              f"{'passed' if all(r['passed'] for r in rows) else 'NOT PASSED'}; slowest check {slowest[0]} "
              f"{slowest[1]:.2f} s")
    print(f"labs 3-8 graders together: {total:.2f} s cpu")


if __name__ == "__main__":
    main()
