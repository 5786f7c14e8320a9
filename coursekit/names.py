"""Student names: from ``--name`` or ``COURSEKIT_STUDENT``, and as a safe file-name part."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping

from coursekit.errors import UsageError

STUDENT_ENV = "COURSEKIT_STUDENT"


def student_name(explicit: str | None, environ: Mapping[str, str], *, required: bool = True) -> str:
    """``--name`` > ``COURSEKIT_STUDENT``; without either a UsageError (exit 2) when required."""
    name = (explicit if explicit is not None else environ.get(STUDENT_ENV, "")).strip()
    if not name:
        if not required:
            return ""
        raise UsageError(
            "who is this? No --name and no COURSEKIT_STUDENT.",
            'Add --name "Your Name" (or set COURSEKIT_STUDENT once).',
        )
    if len(name) > 120 or any(unicodedata.category(c).startswith("C") for c in name):
        raise UsageError(
            "--name must be at most 120 printable characters.",
            'Give your name as the course knows it, e.g. --name "Ada Lovelace".',
        )
    return name


def file_slug(name: str) -> str:
    """A name as a safe, portable file-name part: ``Zoë O'Neil`` -> ``zoe-o-neil``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    if slug:
        return slug[:60].strip("-")
    return "student-" + hashlib.sha256(name.encode()).hexdigest()[:8]
