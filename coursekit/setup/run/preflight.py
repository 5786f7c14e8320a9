"""Before setup changes anything: free disk space, and installers a killed setup left behind.

A SIGKILL (or a crash) cannot stop setup's children: pip runs in its own session (so a time
limit can kill its whole tree) and goes on downloading and installing after setup is gone.
The next setup stops such leftovers before it works on the same env.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from coursekit.constants import ENV_DISK_GB
from coursekit.setup.engines.discovery import embedded_env_prefix
from coursekit.setup.run.context import Context

NEEDED_GB = ENV_DISK_GB  # a finished env and pip's download (coursekit.constants)


def _free_gb(folder: Path) -> float | None:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free / 1e9
    return None


def disk_note(ctx: Context) -> str | None:
    """A warning before a long download when the disk is nearly full (None: enough room)."""
    if ctx.location is not None and ctx.location.confirmed:
        folder = ctx.location.prefix
    elif not ctx.engine.external:
        folder = embedded_env_prefix(ctx.plan.env_name, ctx.environ)
    else:
        folder = ctx.home
    free = _free_gb(folder)
    need = NEEDED_GB["gpu" if ctx.plan.torch.gpu else "cpu"]
    if free is None or free >= need:
        return None
    return (
        f"only {free:.1f} GB free where the env goes ({folder}); a fresh env with this torch "
        f"build needs about {need} GB. Free at least {need} GB there first, or setup may stop "
        "with 'disk full' (it can be re-run then)."
    )


def leftover_installers(prefix: Path) -> list[int]:
    """Pids of installers a killed setup left running in ``prefix``: ``pip install`` by the
    env's Python or the embedded engine on that prefix, started in their own session (as
    :func:`coursekit.proc.run_tool` does) and no longer owned by a live coursekit. A pip the
    student runs from a shell, and a Jupyter kernel of the env, never match."""
    import psutil

    found = []
    inside = (str(prefix), str(prefix) + os.sep)
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmd = proc.info.get("cmdline") or []
        # The env's Python or the prefix itself as an argument: a substring test would also
        # match a pip working on a neighbour env (`pt2`, `pt-old`).
        if (
            not any(a == inside[0] or a.startswith(inside[1]) for a in cmd)
            or proc.info["pid"] == os.getpid()
        ):
            continue
        # the engine helper: `-m coursekit.setup.engines.embedded` as pasted, or setup's own
        # isolated `-I -c "...from coursekit.setup.engines.embedded import run..."`
        helper = any("coursekit.setup.engines.embedded" in a for a in cmd)
        if not (("pip" in cmd and "install" in cmd) or helper):
            continue
        if _orphaned(proc):
            found.append(int(proc.info["pid"]))
    return found


def _orphaned(proc: object) -> bool:
    import psutil

    assert isinstance(proc, psutil.Process)
    try:
        parent = proc.parent()
        if parent is not None and "coursekit" in " ".join(parent.cmdline()):
            return False  # a live coursekit (setup, doctor --fix) owns it
        if hasattr(os, "getsid"):
            leader: bool = os.getsid(proc.pid) == proc.pid  # run_tool starts tools that way
            return leader
        return parent is None
    except (psutil.Error, OSError):
        return False


def stop_leftovers(ctx: Context, prefix: Path) -> None:
    import psutil

    for pid in leftover_installers(prefix):
        try:
            proc = psutil.Process(pid)
            for child in proc.children(recursive=True):
                child.kill()
            proc.kill()
        except psutil.Error:
            continue
        note = f"stopped an installer (process {pid}) left running by an interrupted setup"
        ctx.notes.append(note)
        ctx.reporter.note(note)
