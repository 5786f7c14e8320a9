"""The versioned doctor report (``--json``) and its loader (``--from FILE``).

Schema 1 (documented in README.md, section ``coursekit doctor``)::

    {"kind": "coursekit-doctor-report", "schema": 1, "coursekit_version": "0.1.0",
     "source": "this machine" | "<file given to --from>",
     "summary": {"status": "ok"|"warning"|"error", "errors": N, "warnings": N, "infos": N,
                 "checks_failed": N},
     "findings": [{"id", "severity", "category", "title", "detail", "fix", "fix_action"}],
     "facts": {...}}

``--from`` reads only ``facts`` and diagnoses them again with this coursekit's catalogue,
so an instructor's newer coursekit gives better answers on an older student report.
Older schema versions are upgraded by :data:`MIGRATIONS` (a function per version, from N to
N+1); a newer or unknown schema, a truncated or corrupt file, or facts of the wrong shape
are a :class:`~coursekit.errors.SpecError` (exit 2) that says what to do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from coursekit.doctor import untrusted
from coursekit.doctor.advice import course_planner
from coursekit.doctor.engine import diagnose_all
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.planning import Planner
from coursekit.doctor.results import KIND, SCHEMA, Report, report_data, summarize
from coursekit.errors import CoursekitError, SpecError

__all__ = [
    "KIND",
    "MIGRATIONS",
    "SCHEMA",
    "Report",
    "decode_report",
    "load_report",
    "make_report",
    "parse_report",
    "report_data",
]


def _schema1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 only added facts (``shell``, ``project``, ``pip_log``, ``gpu.pci_nvidia``,
    ``platform.wsl_lib``, a "temp folder" disk, the probe's cuDNN convolution): a schema-1
    report lacks them, and a missing fact stays unknown (None), which no rule reads as a problem."""
    return {**data, "schema": 2}


MIGRATIONS: Final[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {1: _schema1_to_2}
"""``{N: upgrade}``: turns a schema-N report into schema N+1; keep a fixture of every old
version under tests/data/doctor/reports/."""

_FIX = "Ask the student to run `coursekit doctor --json > report.json` again and send that file."


def make_report(
    facts: Facts, source: str = "this machine", planner: Planner | None = None
) -> Report:
    """Diagnose ``facts`` (pure) with ``planner`` (None: the course's, :mod:`.advice`)."""
    planner = course_planner() if planner is None else planner
    findings, hidden = diagnose_all(facts, planner)
    return Report(facts, findings, summarize(findings), source, hidden, planner)


def _upgrade(data: dict[str, Any], where: str) -> dict[str, Any]:
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise SpecError(f"{where}: no schema version; this is not a coursekit doctor report.", _FIX)
    if schema > SCHEMA:
        raise SpecError(
            f"{where}: report schema {schema} is newer than this coursekit understands "
            f"(schema {SCHEMA}).",
            "Update coursekit: python -m pip install --upgrade coursekit",
        )
    if any(v not in MIGRATIONS for v in range(schema, SCHEMA)):
        raise SpecError(
            f"{where}: report schema {schema} is not supported (this coursekit reads "
            f"schema {SCHEMA}{' and older' if MIGRATIONS else ''}).",
            _FIX,
        )
    for version in range(schema, SCHEMA):
        data = MIGRATIONS[version](data)
    return data


def parse_report(text: str, where: str = "report") -> Facts:
    """The facts of a saved report (after upgrading old schemas); SpecError when invalid.

    The text is untrusted (:mod:`coursekit.doctor.untrusted`): numbers and nesting are bounded,
    the probe's section is type-checked, and every string is neutralised for printing."""
    where = untrusted.neutral(where, 300)
    data = untrusted.loads(text, where)
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise SpecError(f'{where}: not a coursekit doctor report (no "kind": "{KIND}").', _FIX)
    data = untrusted.neutralise(data)
    data = _upgrade(data, where)
    facts = data.get("facts")
    probe = facts.get("probe") if isinstance(facts, dict) else None
    if isinstance(probe, dict):
        untrusted.check_shape(probe.get("data"), untrusted.PROBE_SHAPE, "facts.probe.data")
    try:
        return from_data(Facts, facts, "facts")
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{where}: the report's facts are malformed: {exc}.", _FIX) from exc


def decode_report(raw: bytes) -> str:
    """The text of a saved report, in whichever Unicode encoding it was saved.

    Windows PowerShell 5.1's ``coursekit doctor --json > report.json`` writes UTF-16 LE with a
    BOM, and ``Out-File -Encoding utf8`` UTF-8 with a BOM; :func:`json.detect_encoding` (what
    ``json.loads`` does with bytes, RFC 8259 Sec. 8.1) recognises both, and plain UTF-8.
    """
    return raw.decode(json.detect_encoding(raw))


def load_report(path: Path, planner: Planner | None = None) -> Report:
    """Read ``path`` (``-`` for stdin, at most 16 MiB of a regular file) and diagnose its facts
    again. Anything wrong with the file is a SpecError/UsageError (exit 2), never a crash."""
    raw = untrusted.read_bounded(path)
    where = untrusted.neutral(str(path), 300)
    try:
        text = decode_report(raw)
    except (UnicodeDecodeError, LookupError) as exc:
        reason = getattr(exc, "reason", str(exc))
        raise SpecError(f"{where}: not a text file in UTF-8 or UTF-16 ({reason}).", _FIX) from exc
    facts = parse_report(text, where)
    try:
        return make_report(facts, source=where, planner=planner)
    except CoursekitError:
        raise
    except Exception as exc:
        raise SpecError(
            f"{where}: the report's facts are malformed and cannot be diagnosed "
            f"({type(exc).__name__}: {untrusted.neutral(str(exc), 200)}).",
            _FIX,
        ) from exc
