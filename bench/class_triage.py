"""``coursekit class triage`` of 500 reports over ``coursekit doctor --from`` on one report.

The class is realistic, not copies (:mod:`tests.instructor.classgen`, seeded): typical
student machines with their own OS, GPU, driver, Python and torch, the doctor's fixture for
every finding, and the real public failure reports, each with the student's own name, paths,
clock, RAM, disk and timings; some Windows files are UTF-16 and a few students sent two
reports. Every command runs as a fresh process on this machine, interleaved in each round
(the baseline is measured in the same run, under the same load): ``doctor --from`` on one of
those reports, then triage as text (the default), ``--json``, ``--csv FILE`` and ``--html FILE``,
each reading with the default ``--jobs`` (the cores: on Linux the class is shared among forked
copies), and the text once more with ``--jobs 1`` (one process: what a machine without fork
gets, and the CPU cost).
Medians of RUNS, of the wall time (the goal) and of the CPU time (user + system: on a
machine others are busy on, the wall time of a longer run suffers more from waiting for a
core, so the CPU ratio is shown beside it). Goal (issue 14): triage of 500 <= 2x doctor --from
on one. Prints, never asserts.

Usage: python bench/class_triage.py [--n 500] [--runs 5] [--seed 14]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.instructor.classgen import write_class  # noqa: E402


def once(argv: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + system) of one run of ``argv`` in ``cwd`` (not the
    caller's folder: ``python -m`` puts it first on the path, before this checkout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False, cwd=cwd)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # 1: a student is blocked (the expected verdict)
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n"
                         + done.stderr.decode(errors="replace"))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as tmp:
        folder = Path(tmp) / "reports"
        paths = write_class(folder, args.n, args.seed)
        env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1",
                   COURSEKIT_HOME=str(Path(tmp) / "home"),
                   # compiled once, as an installed coursekit is (pip writes the .pyc files),
                   # not on every run: a checkout may have none, or stale ones
                   PYTHONPYCACHEPREFIX=str(Path(tmp) / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        one = paths[0]
        py = [sys.executable, "-m", "coursekit"]
        commands = {
            "doctor --from (1 report)": py + ["doctor", "--from", str(one)],
            "triage (text)": py + ["class", "triage", str(folder)],
            "triage (text) --jobs 1": py + ["class", "triage", str(folder), "--jobs", "1"],
            "triage --json": py + ["class", "triage", str(folder), "--json"],
            "triage --csv": py + ["class", "triage", str(folder), "--csv", f"{tmp}/t.csv"],
            "triage --html": py + ["class", "triage", str(folder), "--html", f"{tmp}/t.html"],
        }
        for argv in commands.values():  # a first, untimed run of each writes the bytecode
            once(argv, env, tmp)
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in commands}
        for _ in range(args.runs):
            for label, argv in commands.items():
                times[label].append(once(argv, env, tmp))
        wall = {k: statistics.median(t for t, _ in v) for k, v in times.items()}
        cpu = {k: statistics.median(c for _, c in v) for k, v in times.items()}
        base, base_cpu = wall["doctor --from (1 report)"], cpu["doctor --from (1 report)"]
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"{args.n} reports (seed {args.seed}), medians of {args.runs} runs, "
              f"{os.cpu_count()} CPUs, load average {load:.1f} at the end")
        print(f"coursekit doctor --from (1 report): {base:.3f} s wall, {base_cpu:.3f} s CPU")
        for label, t in wall.items():
            if label.startswith("triage"):
                print(f"class {label}: {t:.3f} s wall, ratio {t / base:.2f} (goal <= 2); "
                      f"CPU {cpu[label]:.3f} s, ratio {cpu[label] / base_cpu:.2f}")


if __name__ == "__main__":
    main()
