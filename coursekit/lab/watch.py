"""``coursekit lab N --watch``: re-check whenever a lab file is saved.

Polling, not OS file events: it works the same on every OS and on the folders where file
events are unreliable (WSL2 with a Windows-mounted folder, network drives: the reason
rustlings grew ``--manual-run``, rust-lang/rustlings#417, #444). Saves are **debounced**: an
editor that writes a file in several steps (or a "save all") starts one re-check, once the
folder has been quiet for ``DEBOUNCE_S``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

POLL_S = 0.1
DEBOUNCE_S = 0.2
_SKIP_DIRS = frozenset({"figures", "solution", "__pycache__", ".ipynb_checkpoints"})

Snapshot = dict[str, tuple[int, int]]


def snapshot(folder: Path) -> Snapshot:
    """``{relative path: (mtime_ns, size)}`` of the lab's Python files (what a save changes)."""
    found: Snapshot = {}
    for path in sorted(folder.rglob("*.py")):
        rel = path.relative_to(folder)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        try:
            st = path.stat()
        except OSError:  # removed between listing and stat: the next poll sees it
            continue
        found[rel.as_posix()] = (st.st_mtime_ns, st.st_size)
    return found


def watch_loop(
    folder: Path,
    run_once: Callable[[], None],
    *,
    take: Callable[[Path], Snapshot] = snapshot,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    keep_going: Callable[[], bool] = lambda: True,
    poll_s: float = POLL_S,
    debounce_s: float = DEBOUNCE_S,
) -> None:
    """Run ``run_once`` now and after every (debounced) change, until ``keep_going()`` is False
    or Ctrl-C (KeyboardInterrupt, left to the caller)."""
    run_once()
    last = take(folder)
    while keep_going():
        sleep(poll_s)
        now = take(folder)
        if now == last:
            continue
        quiet_since = clock()
        while clock() - quiet_since < debounce_s:  # wait for the folder to be quiet
            sleep(poll_s / 2)
            again = take(folder)
            if again != now:
                now, quiet_since = again, clock()
        last = now
        run_once()
