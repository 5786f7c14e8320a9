"""`coursekit --help` time over `python -c "import click"` time, measured in the same run.

Goal: at most 1.5. The two commands are run alternately (so a busy machine slows both alike)
and the medians compared; the minimums are printed too, as the least noisy figure. Exits 0
whatever the ratio (a benchmark reports, it does not assert).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 21


def once(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    base_argv = [sys.executable, "-c", "import click"]
    ours_argv = [sys.executable, "-m", "coursekit", "--help"]
    once(base_argv), once(ours_argv)  # warm the file cache
    base, ours = [], []
    for _ in range(RUNS):
        base.append(once(base_argv))
        ours.append(once(ours_argv))
    b, o = statistics.median(base), statistics.median(ours)
    print(f"python -c 'import click': {b * 1000:.1f} ms (median of {RUNS}; min {min(base) * 1000:.1f})")
    print(f"coursekit --help:          {o * 1000:.1f} ms (median of {RUNS}; min {min(ours) * 1000:.1f})")
    print(f"ratio: {o / b:.2f} (goal <= 1.5); ratio of minimums: {min(ours) / min(base):.2f}")


if __name__ == "__main__":
    main()
