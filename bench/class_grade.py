"""``coursekit class grade N`` on many submissions over as many sequential ``lab N --check`` runs.

Both grade the same N_SUB distinct submissions of lab LAB (the reference solution, each with
its own comment line, so every content hash differs and nothing comes from the cache), in
the same run on the same machine: first N_SUB fresh ``coursekit lab LAB --check`` processes one
after another, then one ``coursekit class grade LAB --jobs JOBS --force``. Goal (issue 14): the
ratio class grade / sequential checks <= 0.55 with --jobs 2 on 2 cores. Also prints the memory
peak of the class grade's whole process tree (RSS summed over the tree, polled every 0.1 s).
Prints, never asserts.

Usage: python bench/class_grade.py [--lab 2] [--n 100] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from coursekit.lab.manifest import discover_labs, find_lab  # noqa: E402


def tree_peak(proc: subprocess.Popen[bytes], box: list[float]) -> None:
    import psutil

    try:
        root = psutil.Process(proc.pid)
    except psutil.Error:
        return
    while proc.poll() is None:
        total = 0
        try:
            for p in [root, *root.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        box[0] = max(box[0], total / (1024 * 1024))
        time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lab", type=int, default=2)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    spec = find_lab(discover_labs(REPO / "labs"), args.lab)
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as tmp:
        root = Path(tmp)
        env = dict(os.environ, COURSEKIT_HOME=str(root / "home"), NO_COLOR="1",
                   PYTHONPATH=str(REPO))
        subprocess.run([sys.executable, "-m", "coursekit", "lab", str(spec.number), "--dir", tmp],
                       env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        folder = root / spec.folder_name
        inbox = root / "in"
        for i in range(args.n):
            sub = inbox / f"student{i:03d}"
            sub.mkdir(parents=True)
            for name in spec.student_files:
                text = (spec.solution_dir / name).read_text(encoding="utf-8")
                (sub / name).write_text(text + f"\n# student {i}\n", encoding="utf-8")
        start = time.perf_counter()
        codes = set()
        for i in range(args.n):
            for name in spec.student_files:
                shutil.copyfile(inbox / f"student{i:03d}" / name, folder / name)
            done = subprocess.run([sys.executable, "-m", "coursekit", "lab", str(spec.number),
                                   "--check", "--dir", tmp, "--python", sys.executable], env=env,
                                  cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            codes.add(done.returncode)
        sequential = time.perf_counter() - start
        print(f"{args.n} x coursekit lab {spec.number} --check, one after another: {sequential:.1f} s "
              f"(exit codes {sorted(codes)})")
        argv = [sys.executable, "-m", "coursekit", "class", "grade", str(spec.number), str(inbox),
                "--jobs", str(args.jobs), "--force", "--python", sys.executable,
                "--csv", str(root / "grades.csv"), "--cache", str(root / "cache.json")]
        peak = [0.0]
        start = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        watcher = threading.Thread(target=tree_peak, args=(proc, peak), daemon=True)
        watcher.start()
        code = proc.wait()
        grade = time.perf_counter() - start
        watcher.join(timeout=2)
        rows = (root / "grades.csv").read_text(encoding="utf-8").splitlines()[1:]
        passed = sum(1 for r in rows if ",yes," in r)
        print(f"coursekit class grade {spec.number} ({args.n} submissions, --jobs {args.jobs}): "
              f"{grade:.1f} s, exit {code}, {passed}/{len(rows)} passed")
        print(f"ratio class grade / sequential --check: {grade / sequential:.3f} (goal <= 0.55)")
        print(f"memory peak of the class grade's process tree: {peak[0]:.0f} MiB "
              f"(cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
