"""Reading submissions: zips and folders, globs and folders of them, refused per submission.

Only the files the lab declares as the student's work (``student_files`` in ``lab.toml``)
are ever taken. Everything a hostile or broken zip can do is a :class:`Submission` with an
``invalid`` reason, never an exception and never a file written anywhere: the zip is read
in memory, each declared member with a hard cap on the bytes actually inflated (headers
can lie about sizes).

The manifest ``coursekit-submission.json`` that ``coursekit lab N --pack`` writes::

    {"kind": "coursekit-submission", "schema": 1, "lab": 2, "slug": "vanishing-gradients",
     "content_version": 2, "student": "Ada Lovelace", "created_at": "2026-12-04T10:00:00Z",
     "files": {"vanishing.py": "<sha256>"}}
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

MANIFEST = "coursekit-submission.json"
MAX_FILE_BYTES = 2 * 1024 * 1024  # one student source file
MAX_MEMBERS = 2000  # entries in one zip
MAX_ZIP_BYTES = 64 * 1024 * 1024  # the zip file itself
MAX_RATIO = 200  # inflated / compressed, for members over 64 KiB
_LAB_NAME = re.compile(r"^lab(\d{1,2})[-_]", re.IGNORECASE)


@dataclass(frozen=True)
class Submission:
    """One student's submission, read and checked (``files`` only when valid)."""

    source: str
    student: str
    files: dict[str, bytes] = field(default_factory=dict)
    invalid: str | None = None
    notes: tuple[str, ...] = ()
    manifest: dict[str, Any] | None = None

    @property
    def content_hash(self) -> str:
        """sha256 over the declared files' names and bytes (empty when invalid)."""
        if self.invalid is not None:
            return ""
        return content_hash(self.files)


def content_hash(files: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).hexdigest().encode() + b"\n")
    return h.hexdigest()


def expand(args: list[str]) -> list[Path]:
    """SUBMISSION arguments to paths: a zip, a submission folder, a folder of them, a glob."""
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        if not path.exists() and glob.has_magic(arg):
            out += [Path(p) for p in sorted(glob.glob(arg))]
        else:
            out.append(path)
    return out


def is_submission_folder(folder: Path, student_files: tuple[str, ...]) -> bool:
    return (folder / MANIFEST).is_file() or any((folder / f).exists() for f in student_files)


def collect(args: list[str], student_files: tuple[str, ...]) -> list[Path]:
    """Each submission's path, in a stable order: folders of submissions are opened one level."""
    found: list[Path] = []
    for path in expand(args):
        if (
            path.is_dir()
            and not path.is_symlink()
            and not is_submission_folder(path, student_files)
        ):
            for child in sorted(path.iterdir()):
                if (
                    child.suffix.lower() == ".zip"
                    and child.is_file()
                    or (child.is_dir() and is_submission_folder(child, student_files))
                ):
                    found.append(child)
        else:
            found.append(path)
    seen: set[str] = set()
    unique = []
    for p in found:
        key = os.path.normcase(os.path.abspath(p))
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def student_from_name(path: Path) -> str:
    """``lab02-ada-lovelace.zip`` -> ``ada-lovelace``; otherwise the file or folder name."""
    stem = path.name[:-4] if path.name.lower().endswith(".zip") else path.name
    m = _LAB_NAME.match(stem)
    rest = stem[m.end() :] if m else stem
    return rest or stem


def _lab_in_name(path: Path) -> int | None:
    m = _LAB_NAME.match(path.name)
    return int(m.group(1)) if m else None


def _member_problem(name: str) -> str | None:
    """Why a zip member's name is refused: traversal, absolute, a drive, odd characters."""
    if not name or "\x00" in name:
        return f"an empty member name or one with a NUL byte ({name!r})"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return f"absolute path in the zip: {name!r}"
    if ".." in PurePosixPath(norm).parts:
        return f"path traversal in the zip: {name!r}"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | str:
    """The member's bytes, or why not (a bomb, a lie about its size, encrypted, corrupt)."""
    if info.flag_bits & 0x1:
        return f"{info.filename} is encrypted"
    if info.file_size > MAX_FILE_BYTES:
        return f"{info.filename} is {info.file_size} bytes (limit {MAX_FILE_BYTES})"
    try:
        with zf.open(info) as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except (
        zipfile.BadZipFile,
        OSError,
        NotImplementedError,
        RuntimeError,
        ValueError,
        EOFError,
        zlib.error,
    ) as exc:
        return f"{info.filename} cannot be read: {exc}"
    if len(data) > MAX_FILE_BYTES:
        return f"{info.filename} inflates past {MAX_FILE_BYTES} bytes (a zip bomb?)"
    return data


def _bomb(infos: list[zipfile.ZipInfo]) -> str | None:
    total = sum(i.file_size for i in infos)
    if total > 512 * 1024 * 1024:
        return f"the zip claims {total // (1024 * 1024)} MB uncompressed (a zip bomb?)"
    for i in infos:
        if (
            i.file_size > 65536
            and i.compress_size > 0
            and i.file_size / i.compress_size > MAX_RATIO
        ):
            return (
                f"{i.filename} compresses {i.file_size // max(i.compress_size, 1)}:1 (a zip bomb?)"
            )
    return None


def _pick(names: list[str], wanted: str) -> list[str]:
    """Members that are the declared file: at the root, or inside exactly one top folder."""
    hits = []
    for n in names:
        parts = PurePosixPath(n.replace("\\", "/")).parts
        if parts == (wanted,) or (len(parts) == 2 and parts[1] == wanted):
            hits.append(n)
    return hits


def read_zip(
    path: Path, student_files: tuple[str, ...]
) -> tuple[dict[str, bytes] | None, str | None, dict[str, Any] | None]:
    """(declared files, refusal, manifest) of a zip; never writes anything to disk."""
    try:
        size = path.stat().st_size
        if size > MAX_ZIP_BYTES:
            return (
                None,
                f"the zip is {size // (1024 * 1024)} MB (limit {MAX_ZIP_BYTES // (1024 * 1024)} "
                "MB)",
                None,
            )
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                return None, f"the zip holds {len(infos)} entries (limit {MAX_MEMBERS})", None
            for info in infos:
                problem = _member_problem(info.filename)
                if problem:
                    return None, problem, None
            bomb = _bomb(infos)
            if bomb:
                return None, bomb, None
            names = [i.filename for i in infos if not i.is_dir()]
            folded: dict[str, str] = {}
            for n in names:
                key = n.replace("\\", "/").rstrip("/").casefold()
                if key in folded:
                    return None, f"duplicate names in the zip: {folded[key]!r} and {n!r}", None
                folded[key] = n
            by_name = {i.filename: i for i in infos}
            manifest = None
            for m in _pick(names, MANIFEST):
                raw = _read_capped(zf, by_name[m])
                if isinstance(raw, bytes):
                    manifest = _parse_manifest(raw)
            files: dict[str, bytes] = {}
            for wanted in student_files:
                hits = _pick(names, wanted)
                if len(hits) > 1:
                    return (
                        None,
                        f"{wanted} appears {len(hits)} times in the zip ({', '.join(hits)})",
                        manifest,
                    )
                if not hits:
                    continue
                info = by_name[hits[0]]
                if _is_symlink(info):
                    return None, f"{hits[0]} is a symbolic link, not a file", manifest
                data = _read_capped(zf, info)
                if isinstance(data, str):
                    return None, data, manifest
                files[wanted] = data
            return files, None, manifest
    except zipfile.BadZipFile as exc:
        return None, f"not a readable zip file: {exc}", None
    except (
        OSError,
        ValueError,
        RuntimeError,
        NotImplementedError,
        EOFError,
        IndexError,
        KeyError,
        OverflowError,
    ) as exc:
        return None, f"the zip cannot be read: {type(exc).__name__}: {exc}", None


def _parse_manifest(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == "coursekit-submission" else None


def read_folder(
    folder: Path, student_files: tuple[str, ...]
) -> tuple[dict[str, bytes] | None, str | None, dict[str, Any] | None]:
    files: dict[str, bytes] = {}
    manifest = None
    mpath = folder / MANIFEST
    if mpath.is_file() and not mpath.is_symlink() and mpath.stat().st_size <= MAX_FILE_BYTES:
        manifest = _parse_manifest(mpath.read_bytes())
    for wanted in student_files:
        p = folder / wanted
        if p.is_symlink():
            return None, f"{wanted} is a symbolic link, not a file", manifest
        if not p.exists():
            continue
        if not p.is_file():
            return None, f"{wanted} is not a regular file", manifest
        try:
            with open(p, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            return None, f"{wanted} cannot be read: {exc}", manifest
        if len(data) > MAX_FILE_BYTES:
            return None, f"{wanted} is larger than {MAX_FILE_BYTES} bytes", manifest
        files[wanted] = data
    return files, None, manifest


def load(
    path: Path,
    lab: int,
    slug: str,
    student_files: tuple[str, ...],
    content_version: int | None = None,
) -> Submission:
    """Read one submission; every problem is an ``invalid`` reason on the result."""
    source = str(path)
    guess = student_from_name(path)
    if path.is_symlink():
        return Submission(source, guess, invalid="the submission is a symbolic link")
    if path.is_dir():
        files, problem, manifest = read_folder(path, student_files)
    elif path.is_file():
        files, problem, manifest = read_zip(path, student_files)
    else:
        return Submission(source, guess, invalid="no such file or folder")
    student = guess
    if (
        manifest is not None
        and isinstance(manifest.get("student"), str)
        and manifest["student"].strip()
    ):
        student = manifest["student"].strip()[:120]
    if problem is not None or files is None:
        return Submission(source, student, invalid=problem or "unreadable", manifest=manifest)
    notes: list[str] = []
    wrong = _wrong_lab(path, manifest, lab, slug)
    if wrong:
        return Submission(source, student, invalid=wrong, manifest=manifest)
    missing = [f for f in student_files if f not in files]
    if missing:
        return Submission(
            source, student, invalid=f"missing {', '.join(missing)}", manifest=manifest
        )
    if manifest is not None and isinstance(manifest.get("files"), dict):
        changed = [
            n for n, d in files.items() if manifest["files"].get(n) != hashlib.sha256(d).hexdigest()
        ]
        if changed:
            notes.append(f"{', '.join(changed)} changed after packing (graded as submitted)")
    packed = manifest.get("content_version") if manifest is not None else None
    if content_version is not None and isinstance(packed, int) and packed != content_version:
        notes.append(
            f"packed from lab content version {packed}; the graders are version {content_version}"
        )
    return Submission(source, student, files, None, tuple(notes), manifest)


def _wrong_lab(path: Path, manifest: dict[str, Any] | None, lab: int, slug: str) -> str | None:
    if manifest is not None:
        m_lab, m_slug = manifest.get("lab"), manifest.get("slug")
        if (isinstance(m_lab, int) and m_lab != lab) or (
            isinstance(m_slug, str) and m_slug != slug
        ):
            return (
                f"wrong lab: this is a submission for lab {m_lab} ({m_slug}), not lab {lab} "
                f"({slug})"
            )
        return None
    named = _lab_in_name(path)
    if named is not None and named != lab:
        return f"wrong lab: the name says lab {named}, not lab {lab}"
    return None
