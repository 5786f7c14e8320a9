"""`coursekit doctor` on a healthy env over `python -m torch.utils.collect_env` on the same env.

Goal: at most 1.0, while the doctor diagnoses (findings with fixes) what collect_env only
prints. Both run against the same interpreter (default: this one, which must have torch;
``--python PATH`` for another env) and are run alternately, so a busy machine slows both
alike; medians are compared, minimums printed as the least noisy figure. collect_env's
output goes to /dev/null, the doctor's too; the doctor's exit code (0 healthy, 1 errors) is
printed, not asserted: a benchmark reports. Exits 0 whatever the ratio.

Usage: python bench/doctor_vs_collect_env.py [--runs N] [--python PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def once(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                          check=False)
    return time.perf_counter() - start, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--python", default=sys.executable, help="the env to examine (has torch)")
    args = parser.parse_args()
    env = dict(os.environ, NO_COLOR="1")
    base_argv = [args.python, "-m", "torch.utils.collect_env"]
    ours_argv = [sys.executable, "-m", "coursekit", "doctor", "--python", args.python]
    once(base_argv, env), once(ours_argv, env)  # warm the file cache (torch is ~900 MB)
    base, ours, codes = [], [], set()
    for _ in range(args.runs):
        t, _code = once(base_argv, env)
        base.append(t)
        t, code = once(ours_argv, env)
        ours.append(t)
        codes.add(code)
    b, o = statistics.median(base), statistics.median(ours)
    print(f"python -m torch.utils.collect_env: {b:.2f} s (median of {args.runs}; min {min(base):.2f})")
    print(f"coursekit doctor --python ...:     {o:.2f} s (median of {args.runs}; min {min(ours):.2f}); "
          f"exit codes {sorted(codes)}")
    print(f"ratio: {o / b:.2f} (goal <= 1.0); ratio of minimums: {min(ours) / min(base):.2f}")


if __name__ == "__main__":
    main()
