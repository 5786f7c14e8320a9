"""The progress file: ``$COURSEKIT_HOME/progress.json``, keyed by the lab's stable slug.

Written atomically (a temp file in the same folder, then :func:`os.replace`), so a
crash or Ctrl-C never leaves half a file. A file that cannot be parsed is moved aside
to ``progress.json.corrupt-<timestamp>`` with a warning and progress starts afresh:
never a crash (the wr/100-exercises#74 lesson: a progress store must not trap students).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coursekit.constants import EnvVars
from coursekit.resources import coursekit_home

FORMAT_VERSION = 1


def progress_path() -> Path:
    return coursekit_home() / "progress.json"


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class Progress:
    """The whole progress file in memory; ``warnings`` says what loading had to repair."""

    labs: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def record(self, slug: str) -> dict[str, Any]:
        """The (mutable) record of one lab, created empty if missing."""
        return self.labs.setdefault(slug, {})


def load(path: Path | None = None) -> Progress:
    """Read the progress file; a missing file is empty progress, a corrupt one is set aside."""
    path = path or progress_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Progress()
    except OSError as exc:
        return Progress(warnings=[f"could not read {path} ({exc}); progress is not shown."])
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("labs"), dict):
            raise ValueError("not a coursekit progress file")  # noqa: TRY004 - caught: set aside
        labs = {str(k): v for k, v in data["labs"].items() if isinstance(v, dict)}
        return Progress(labs)
    except ValueError as exc:
        aside = path.with_name(f"{path.name}.corrupt-{_dt.datetime.now():%Y%m%d-%H%M%S}")
        try:
            os.replace(path, aside)
            where = f"moved it to {aside}"
        except OSError:
            where = "left it in place"
        warning = (
            f"the progress file {path} was damaged ({exc}); {where} and started afresh "
            "(your lab folders are untouched)."
        )
        return Progress(warnings=[warning])


def save(progress: Progress, path: Path | None = None) -> None:
    """Write the progress file atomically (temp file + os.replace).

    A folder that cannot be written (read-only, full, ``COURSEKIT_HOME`` naming a file) adds a
    warning to ``progress.warnings`` instead of raising: like a damaged file on load, it must
    not take the lab itself (a handout, a grade already computed) down with it.
    """
    path = path or progress_path()
    try:
        _write(progress, path)
    except OSError as exc:
        progress.warnings.append(
            f"could not save your progress to {path} ({exc}); set "
            f"{EnvVars.HOME} to a folder you can write to."
        )


def _write(progress: Progress, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"format_version": FORMAT_VERSION, "labs": progress.labs}
    fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def record_handout(progress: Progress, slug: str, number: int, folder: Path) -> None:
    rec = progress.record(slug)
    rec.update(number=number, folder=str(folder))
    rec.setdefault("handed_out_at", now_iso())


def record_grade(
    progress: Progress, slug: str, number: int, score: int, max_score: int, passed: bool
) -> None:
    """Keep the last and the best score; ``passed`` stays true once earned."""
    rec = progress.record(slug)
    rec.update(number=number, last_score=score, max_score=max_score, last_checked_at=now_iso())
    rec["best_score"] = max(int(rec.get("best_score", 0)), score)
    if passed and not rec.get("passed"):
        rec["passed"] = True
        rec["passed_at"] = now_iso()
    rec.setdefault("passed", False)


def next_hint(progress: Progress, slug: str, n_hints: int) -> int:
    """How many hints to show now (one more each time, up to all of them)."""
    rec = progress.record(slug)
    shown = min(int(rec.get("hints_shown", 0)) + 1, n_hints)
    rec["hints_shown"] = shown
    return shown
