"""Each lab's ``coursekit lab N --check`` (reference solution) over ``python -c "import torch"``.

Both are measured in the same run, in fresh subprocesses, median of RUNS. Goals: at most 3
per lab (issue 5) and at most 20 for all labs together (issue 6). Prints, never asserts.
Usage: python bench/lab_check.py [RUNS]
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from coursekit.lab.manifest import discover_labs


def median_time(argv: list[str], runs: int, env: dict[str, str], cwd: Path) -> tuple[float, int]:
    times, code = [], 0
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env, cwd=cwd)
        times.append(time.perf_counter() - start)
        code = done.returncode
    return statistics.median(times), code


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    labs = discover_labs(REPO / "labs")
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as tmp:
        env = dict(os.environ, COURSEKIT_HOME=str(Path(tmp) / "home"), NO_COLOR="1")
        base, _ = median_time([sys.executable, "-c", "import torch"], runs, env, Path(tmp))
        print(f"python -c 'import torch': {base:.2f} s (median of {runs})")
        total = 0.0
        for spec in labs:
            folder = Path(tmp) / spec.folder_name
            subprocess.run([sys.executable, "-m", "coursekit", "lab", str(spec.number), "--dir",
                            tmp], env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
            for src in spec.solution_dir.rglob("*.py"):
                shutil.copyfile(src, folder / src.relative_to(spec.solution_dir))
            argv = [sys.executable, "-m", "coursekit", "lab", str(spec.number), "--check",
                    "--dir", tmp, "--python", sys.executable]
            took, code = median_time(argv, runs, env, Path(tmp))
            total += took
            verdict = "passed" if code == 0 else f"exit {code}"
            print(f"lab {spec.number} ({spec.slug}): {took:.2f} s, ratio {took / base:.2f} "
                  f"(goal <= 3), {verdict}")
        print(f"all {len(labs)} labs: {total:.2f} s, ratio {total / base:.2f} (goal <= 20)")


if __name__ == "__main__":
    main()
