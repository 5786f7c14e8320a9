"""What setup records in the env it made: the channels and the PyTorch index it used.

``<env prefix>/etc/coursekit/setup.json`` (documented in docs/setup.md and docs/json.md) is
written as soon as the env exists (before the pip steps, so a failed install is still
fixed from the same sources). ``coursekit doctor`` reads it (:mod:`coursekit.doctor.recorded`):
its fix lines and ``doctor --fix`` then use the class mirror or offline folder, not the public
defaults. Not under ``conda-meta/``: conda and py-rattler read every ``conda-meta/*.json`` as
a package record.

The file keeps URLs as given, credentials included (``https://user:token@mirror/...``): a fix
run later must reach the same authenticated mirror, as pip's own config file would. It is
written atomically (temp file + rename in the same folder) and readable by its owner only
(0600 on POSIX); nothing that prints it shows the credentials (the doctor redacts them in its
facts, so neither ``--json``, ``--save`` nor a fix line carries them).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

RECORD_PARTS: Final = ("etc", "coursekit", "setup.json")
"""Where the record lives, relative to the env prefix."""
RECORD_KIND: Final = "coursekit-setup-record"
RECORD_SCHEMA: Final = 1


def record_path(prefix: Path) -> Path:
    """``<prefix>/etc/coursekit/setup.json``."""
    return prefix.joinpath(*RECORD_PARTS)


def record_data(
    *,
    engine: str,
    channels: tuple[str, ...],
    channels_given: bool,
    index: str,
    index_is_folder: bool,
    index_given: bool,
    pypi_index_url: str | None,
    backend: str,
    torch: str,
) -> dict[str, Any]:
    """The record's JSON object (pure)."""
    from coursekit import __version__

    return {
        "kind": RECORD_KIND,
        "schema": RECORD_SCHEMA,
        "coursekit_version": __version__,
        "engine": engine,
        "channels": list(channels),
        "channels_given": channels_given,
        "index_url": index,
        "index_is_folder": index_is_folder,
        "index_given": index_given,
        "pypi_index_url": pypi_index_url,
        "backend": backend,
        "torch": torch,
    }


def write_record(prefix: Path, data: Mapping[str, Any]) -> Path:
    """Write the record atomically, owner-only; OSError when the prefix is not writable."""
    path = record_path(prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        if path.read_text(encoding="utf-8") == text:
            return path  # a re-run with the same sources: nothing to write
    except (OSError, UnicodeDecodeError):
        pass
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path
