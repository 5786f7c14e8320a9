"""Reading version strings for the rules: :func:`as_version` to order, :func:`version_tuple` to
read components. Imports nothing of coursekit (under :mod:`.planning` and :mod:`.view`).
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version


def as_version(text: object) -> Version | None:
    """``packaging.version.Version`` of ``text`` (None when it is not a PEP 440 version).

    Every ordering of versions goes through this: a hand-made tuple reads ``2.6.6rc1`` as
    ``2.6.6`` and would pass it against the Lightning 2.6.6 security fix."""
    try:
        return Version(str(text).strip())
    except InvalidVersion:
        return None


def version_tuple(text: str | None) -> tuple[int, ...]:
    """``"2.13.0+cu130"`` -> ``(2, 13, 0)``: the release numbers, for reading components
    (major/minor), never for ordering (use :func:`as_version`); ``()`` when not a version."""
    if not text:
        return ()
    parsed = as_version(text)
    if parsed is not None:
        return parsed.release
    parts = []
    for piece in text.split("+")[0].split("."):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts)
