"""``coursekit lab N --pack``: the zip a student hands in.

It holds only the files the lab declares as the student's work (``student_files``), never
graders, solutions, figures, caches or helper files the course provides, plus the manifest
:data:`coursekit.instructor.submissions.MANIFEST`. The zip is written to a temporary name
and renamed, so a half-written zip never sits under the final name.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from coursekit.errors import UsageError
from coursekit.instructor.submissions import MANIFEST
from coursekit.lab.manifest import LabSpec
from coursekit.names import file_slug, student_name

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip entries carry no local clock: same files, same bytes


@dataclass(frozen=True)
class PackResult:
    """What ``--pack`` wrote."""

    lab: int
    zip_path: Path
    student: str
    files: tuple[tuple[str, str], ...]  # (name, sha256)
    manifest: dict[str, object]


def build_manifest(
    spec: LabSpec, student: str, hashes: dict[str, str], now: _dt.datetime
) -> dict[str, object]:
    return {
        "kind": "coursekit-submission",
        "schema": 1,
        "lab": spec.number,
        "slug": spec.slug,
        "content_version": spec.version,
        "student": student,
        "created_at": now.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "files": hashes,
    }


def pack(
    spec: LabSpec,
    folder: Path,
    student: str,
    out_dir: Path | None = None,
    now: _dt.datetime | None = None,
) -> PackResult:
    """Write ``labNN-<student>.zip`` (into ``out_dir``, default the lab folder's parent)."""
    contents: dict[str, bytes] = {}
    missing = []
    for name in spec.student_files:
        path = folder / name
        if path.is_symlink() or not path.is_file():
            missing.append(name)
            continue
        contents[name] = path.read_bytes()
    if missing:
        raise UsageError(
            f"{', '.join(missing)} not found in {folder} (or not a regular file).",
            f"Pack from the lab folder you worked in (coursekit lab {spec.number} "
            "--pack --dir FOLDER), or restore the file.",
        )
    hashes = {n: hashlib.sha256(b).hexdigest() for n, b in contents.items()}
    manifest = build_manifest(spec, student, hashes, now or _dt.datetime.now(_dt.timezone.utc))
    target_dir = out_dir if out_dir is not None else folder.parent
    zip_path = target_dir / f"lab{spec.number:02d}-{file_slug(student)}.zip"
    tmp = zip_path.with_name(zip_path.name + ".tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(contents):
                zf.writestr(
                    zipfile.ZipInfo(name, _FIXED_TIME),
                    contents[name],
                    compress_type=zipfile.ZIP_DEFLATED,
                )
            zf.writestr(
                zipfile.ZipInfo(MANIFEST, _FIXED_TIME),
                json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                compress_type=zipfile.ZIP_DEFLATED,
            )
        os.replace(tmp, zip_path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise UsageError(
            f"cannot write {zip_path}: {exc}",
            "Pack into a folder you can write to (run it from another folder).",
        ) from exc
    return PackResult(spec.number, zip_path, student, tuple(sorted(hashes.items())), manifest)


def pack_lab(
    number_text: str,
    cwd: Path,
    base: Path | None,
    name: str | None,
    environ: Mapping[str, str],
    labs_root: Path | None = None,
) -> PackResult:
    """``coursekit lab N --pack``: find the student's lab folder and zip the declared files."""
    from coursekit.lab import progress as prog
    from coursekit.lab.manifest import discover_labs, find_lab, parse_lab_number
    from coursekit.lab.service import find_folder

    spec = find_lab(discover_labs(labs_root), parse_lab_number(number_text))
    student = student_name(name, environ)
    folder = find_folder(spec, cwd, base, prog.load())
    return pack(spec, folder, student)
