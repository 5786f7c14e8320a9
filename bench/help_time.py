"""`coursekit --help` time over `python -c "import click"` time, measured in the same run.

Goal: at most 1.5. Prints the medians and the ratio; exits 0 whatever the ratio (a benchmark
reports, it does not assert).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 15


def median_time(argv: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    base = median_time([sys.executable, "-c", "import click"])
    ours = median_time([sys.executable, "-m", "coursekit", "--help"])
    print(f"python -c 'import click': {base * 1000:.1f} ms (median of {RUNS})")
    print(f"coursekit --help:          {ours * 1000:.1f} ms (median of {RUNS})")
    print(f"ratio: {ours / base:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main()
