"""``coursekit doctor --save``: the report as ``doctor-<name>-<date>.json``, ready to hand in."""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

from coursekit.doctor.results import Report, report_data
from coursekit.errors import UsageError
from coursekit.names import file_slug


def save_name(student: str, today: _dt.date) -> str:
    return f"doctor-{file_slug(student)}-{today.isoformat()}.json"


def save_report(report: Report, folder: Path, today: _dt.date | None = None) -> Path:
    """Write the ``--json`` report into ``folder``; the name carries the student and the date."""
    if not report.facts.student:
        raise UsageError(
            "--save needs your name for the file name.",
            'Add --name "Your Name" (or set COURSEKIT_STUDENT).',
        )
    path = folder / save_name(report.facts.student, today or _dt.date.today())
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(
            json.dumps(report_data(report), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        os.replace(tmp, path)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc}",
            "Run it from a folder you can write to (e.g. your home folder).",
        ) from exc
    return path
