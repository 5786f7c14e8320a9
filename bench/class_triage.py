"""``coursekit class triage`` of 500 reports over ``coursekit doctor --from`` on one report.

The reports are made from the doctor's test fixtures (one per catalogue finding plus the
healthy machines, cycled, each with its own student name). Both commands run as fresh
processes, alternately, median of RUNS. Goal (issue 14): triage of 500 <= 2x doctor --from on
one. Prints, never asserts.

Usage: python bench/class_triage.py [--n 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from coursekit.doctor.facts import Facts, from_data  # noqa: E402
from coursekit.doctor.report import make_report, report_data  # noqa: E402
from tests.doctor.fixtures import finding_data, healthy_data  # noqa: E402


def once(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    data_dir = REPO / "tests" / "data" / "doctor"
    sources = [finding_data(p.stem) for p in sorted((data_dir / "findings").glob("*.json"))]
    sources += [healthy_data(p.stem) for p in sorted((data_dir / "healthy").glob("*.json"))]
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as tmp:
        folder = Path(tmp) / "reports"
        folder.mkdir()
        for i in range(args.n):
            facts = dataclasses.replace(from_data(Facts, sources[i % len(sources)]),
                                        student=f"Student {i:03d}")
            (folder / f"doctor-student-{i:03d}-2026-12-01.json").write_text(
                json.dumps(report_data(make_report(facts))), encoding="utf-8")
        env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1",
                   COURSEKIT_HOME=str(Path(tmp) / "home"))
        one = sorted(folder.glob("*.json"))[0]
        doctor = [sys.executable, "-m", "coursekit", "doctor", "--from", str(one)]
        triage = [sys.executable, "-m", "coursekit", "class", "triage", str(folder), "--json",
                  "--html", str(Path(tmp) / "t.html")]
        d_times, t_times = [], []
        for _ in range(args.runs):
            d_times.append(once(doctor, env))
            t_times.append(once(triage, env))
        d, t = statistics.median(d_times), statistics.median(t_times)
        print(f"coursekit doctor --from (1 report): {d:.2f} s (median of {args.runs})")
        print(f"coursekit class triage ({args.n} reports, --json --html): {t:.2f} s "
              f"(median of {args.runs})")
        print(f"ratio: {t / d:.2f} (goal <= 2)")


if __name__ == "__main__":
    main()
