"""``coursekit lab N --watch``: time from saving a lab file to the re-check's result on screen,
over ``python -c "import torch"`` (issue 13: goal <= 0.7).

Both measured in this run: the baseline is the median of RUNS fresh ``python -I -c "import
torch"``; the re-check is the real watch loop (polling, debounce, warm worker, a fresh forked
grading process, the progress file, the rendered report) running in a thread, timed from the
moment a changed file is written until the rendered result is out, median of RUNS saves.
Lab 0 is the engine's fixture lab (trivial checks: the loop's own cost); a real lab adds its
checks' own computing time. Prints, never asserts.
Usage: python bench/watch_recheck.py [RUNS] [LAB ...]      e.g. python bench/watch_recheck.py 5 0 1
"""

from __future__ import annotations

import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from coursekit.lab import service
from coursekit.lab.manifest import discover_labs
from coursekit.render import Console
from coursekit.render.lab import watch_frame

FIXTURE = REPO / "tests" / "fixtures_labs" / "course"


def import_torch(runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "import torch"], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def recheck(lab: int, runs: int, tmp: Path) -> tuple[float, float]:
    """(median save -> result seconds, first check incl. warm start seconds)."""
    root = FIXTURE if lab == 0 else REPO / "labs"
    spec = discover_labs(root)[0 if lab == 0 else lab - 1]
    work = tmp / f"lab{lab}"
    folder = work / spec.folder_name
    shutil.copytree(spec.starter_dir, folder)
    shutil.copytree(spec.solution_dir, folder, dirs_exist_ok=True)
    (folder / ".coursekit-lab.json").write_text(f'{{"lab": {spec.number}}}')
    student = folder / spec.student_files[0]
    done = threading.Event()
    stamps: list[float] = []
    console = Console(out=io.StringIO(), err=io.StringIO(), color=False)

    def on_run(run: service.CheckRun, where: Path) -> None:
        watch_frame(console, run, where, work)
        stamps.append(time.perf_counter())
        done.set()

    keep = threading.Event()
    keep.set()

    def loop(folder_: Path, once: object) -> None:
        service.watch_loop(folder_, once, keep_going=keep.is_set)  # type: ignore[arg-type]

    started = time.perf_counter()
    thread = threading.Thread(target=service.watch, args=(str(spec.number), work, None, sys.executable),
                              kwargs={"on_run": on_run, "labs_root": root, "loop": loop}, daemon=True)
    thread.start()
    done.wait(300)
    first = stamps[-1] - started
    times = []
    for i in range(runs):
        done.clear()
        time.sleep(0.5)
        saved = time.perf_counter()
        student.write_text(student.read_text() + f"\n# save {i}\n")
        done.wait(300)
        times.append(stamps[-1] - saved)
    keep.clear()
    thread.join(10)
    return statistics.median(times), first


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    labs = [int(a) for a in sys.argv[2:]] or [0]
    with tempfile.TemporaryDirectory(prefix="coursekit-bench-") as tmp:
        os.environ["COURSEKIT_HOME"] = str(Path(tmp) / "home")
        base = import_torch(runs)
        print(f"python -c 'import torch': {base:.2f} s (median of {runs})")
        for lab in labs:
            median, first = recheck(lab, runs, Path(tmp))
            name = "fixture lab" if lab == 0 else f"lab {lab}"
            print(f"{name}: re-check after a save {median:.2f} s (median of {runs}), "
                  f"ratio {median / base:.2f} (goal <= 0.7); first check incl. warm start "
                  f"{first:.2f} s")


if __name__ == "__main__":
    main()
