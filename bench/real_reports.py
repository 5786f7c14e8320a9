"""Score `coursekit doctor --from` on the real-report corpus (tests/data/real-reports/).

Prints, by category: reports, hits (an accepted finding is the top finding), partial (present
but not top), misses (absent) and wrong fix lines (wrong index/backend for the machine's
GPU/driver, another OS's shell syntax); then reports per category and OS, then every
non-hit with what the doctor said and the finding it should give. Each report is triaged on
a POSIX and a Windows flavour of the triaging machine; the worse result counts. How reports
are built and scored: tests/doctor/realcorpus.py. Exits 0 whatever the score (the pass
threshold lives in tests/doctor/test_real_reports.py).

Usage: python bench/real_reports.py [-v]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from coursekit.doctor.catalogue import BY_ID
from tests.doctor.realcorpus import by_os, score_all, table


def main(argv: list[str]) -> int:
    outcomes = score_all()
    print(table(outcomes))
    print()
    print(by_os(outcomes))
    print()
    wanted: dict[str, list[str]] = {}
    for o in outcomes:
        for fid in o.accepted:
            if fid not in BY_ID:
                wanted.setdefault(fid, []).append(o.name)
    if wanted:
        print("ids the doctor should have (not in the catalogue):")
        for fid, names in sorted(wanted.items()):
            print(f"  {fid}: {len(names)} report(s): {', '.join(names)}")
        print()
    for o in outcomes:
        if o.verdict != "hit" or o.wrong_fixes or "-v" in argv:
            should = ", ".join(o.accepted) or "no error (healthy)"
            print(f"{o.verdict.upper():8} {o.name} [{o.category}, {o.os}]: top {o.top or '-'}; "
                  f"should: {should}")
            for flavour, ids in o.found.items():
                print(f"         triaged on {flavour}: {' '.join(ids) or '(nothing)'}")
            for w in o.wrong_fixes:
                print(f"         WRONG FIX {w}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
