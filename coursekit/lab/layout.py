"""The student's lab folder: hand out, update, locate, reset, reveal the solution.

The rule from every exercise tool's bug tracker (exercism#5432, nbgrader#565,
rustlings#463): **never lose a student byte**. Handing a lab out again only adds
files that are missing; a file is replaced by a newer starter only when its bytes
still equal the starter it was laid out from (recorded as a SHA-256 in
``.coursekit-lab.json``); ``reset`` first moves the whole folder to a timestamped
backup.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from coursekit.errors import EnvironmentProblem, UsageError
from coursekit.lab.manifest import LabSpec

MARKER = ".coursekit-lab.json"


@dataclass(frozen=True)
class FileAction:
    """What happened to one file of the lab folder."""

    path: str
    action: (
        str  # "added" | "updated" | "kept" | "unchanged" | "kept-edited-newer-starter" | "withheld"
    )


@dataclass(frozen=True)
class HandoutResult:
    """``coursekit lab N``: where the lab is and what was written."""

    lab: LabSpec
    folder: Path
    created: bool
    files: tuple[FileAction, ...]
    backup: Path | None = None  # set by --reset


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_marker(folder: Path) -> dict[str, object] | None:
    """The folder's ``.coursekit-lab.json``, or None when missing or unreadable."""
    try:
        data = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def coursekit_location() -> dict[str, str]:
    """How the lab's notebook reaches this coursekit from the course env's kernel: this
    Python and the folder holding the ``coursekit`` package (run with ``-I``, that folder first
    on ``sys.path``: the lab folder's own files can never shadow it)."""
    import sys

    import coursekit

    return {"python": sys.executable, "path": str(Path(coursekit.__file__).resolve().parent.parent)}


def _write_marker(folder: Path, spec: LabSpec, hashes: dict[str, str]) -> None:
    data = {
        "lab": spec.number,
        "slug": spec.slug,
        "version": spec.version,
        "starter_sha256": hashes,
        "coursekit": coursekit_location(),
    }
    if read_marker(folder) == data:
        return  # nothing changed: a read-only, already handed-out lab is not an error
    _atomic_write(folder / MARKER, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def _atomic_write(dst: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Write ``dst`` through a temporary file in the same folder, then rename: a full disk or
    an interrupt leaves the old file or none, never a cut-off one. ``exclusive``: never
    replace an existing ``dst`` (a hard link publishes the file only if the name is free)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".coursekit-tmp", dir=dst.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if not exclusive:
            os.replace(tmp, dst)
            return
        try:
            os.link(tmp, dst)  # atomic and refuses an existing name
        except FileExistsError:
            raise
        except OSError:  # a file system without hard links: check, then rename
            if dst.exists():
                raise FileExistsError(str(dst)) from None
            os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _copy_new(src: Path, dst: Path) -> None:
    """Create ``dst`` as a copy of ``src`` only if it does not exist (no overwrite), atomically."""
    _atomic_write(dst, src.read_bytes(), exclusive=True)


def _replace_unedited(src: Path, dst: Path) -> None:
    _atomic_write(dst, src.read_bytes())


def _cut_off_copy(dst: Path, src: Path) -> bool:
    """``dst`` is a strict beginning of ``src`` (0 bytes included): what an older coursekit left
    when a hand-out failed part-way (a full disk), never the student's work on that file."""
    try:
        have, want = dst.read_bytes(), src.read_bytes()
    except OSError:
        return False
    return len(have) < len(want) and want.startswith(have)


def plan_file(
    relpath: str, exists: bool, current: str | None, recorded: str | None, starter: str
) -> str:
    """Decide what to do with one file (pure): never touch bytes the student changed."""
    if not exists:
        return "added"
    if current == starter:
        return "unchanged"
    if recorded is not None and current == recorded:
        return "updated"  # the student never edited it and the lab shipped a newer starter
    if recorded is not None and recorded != starter:
        return "kept-edited-newer-starter"
    return "kept"


def lay_out(spec: LabSpec, folder: Path, withhold: frozenset[str] = frozenset()) -> HandoutResult:
    """Create or complete the lab folder; returns what happened to each file.

    Files in ``withhold`` (another lab's answers, see ``LabSpec.after_pass``) are not written
    while missing; handing the lab out again once that lab passed adds them.
    """
    created = not folder.exists()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} exists and is not a folder.", "Move it away or use --dir.")
    marker = read_marker(folder) if not created else None
    if marker is not None and marker.get("lab") not in (None, spec.number):
        raise UsageError(
            f"{folder} holds lab {marker.get('lab')}, not lab {spec.number}.",
            "Use --dir to choose another place.",
        )
    recorded = marker.get("starter_sha256", {}) if marker else {}
    recorded = recorded if isinstance(recorded, dict) else {}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        actions, hashes = [], {}
        for rel in spec.starter_files():
            src, dst = spec.source_of(rel), folder / rel
            starter = sha256_file(src)
            current = sha256_file(dst) if dst.is_file() else None
            if rel in withhold and not dst.exists():
                actions.append(FileAction(rel, "withheld"))
                continue
            action = plan_file(rel, dst.exists(), current, recorded.get(rel), starter)
            if action == "kept" and rel not in recorded and _cut_off_copy(dst, src):
                action = "completed"  # an unfinished earlier hand-out: finish it
            if action == "added":
                _copy_new(src, dst)
            elif action in ("updated", "completed"):
                _replace_unedited(src, dst)
            actions.append(FileAction(rel, action))
            hashes[rel] = (
                starter
                if action in ("added", "updated", "unchanged", "completed")
                else str(recorded.get(rel, starter))
            )
        _write_marker(folder, spec, hashes)
    except OSError as exc:  # no permission, a read-only disk, a --dir path through a file
        raise EnvironmentProblem(
            f"cannot write the lab folder {folder}: {exc}",
            "Choose a folder you can write to with --dir.",
        ) from None
    return HandoutResult(spec, folder, created, tuple(actions))


def timestamp() -> str:
    return _dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def backup_path(folder: Path, stamp: str) -> Path:
    """``labNN-slug.backup-<stamp>`` beside ``folder``; a counter avoids clashes."""
    candidate = folder.with_name(f"{folder.name}.backup-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = folder.with_name(f"{folder.name}.backup-{stamp}-{n}")
    return candidate


def reset(
    spec: LabSpec, folder: Path, from_inside: bool = False, withhold: frozenset[str] = frozenset()
) -> HandoutResult:
    """Move ``folder`` to a timestamped backup, then lay the starter out again."""
    backup = None
    if folder.exists():
        backup = backup_path(folder, timestamp())
        try:
            os.rename(folder, backup)  # a rename: atomic, nothing copied, nothing lost
        except OSError as exc:
            # Windows refuses to rename a folder that is some process's current folder.
            fix = (
                "Run it from the course folder: cd .. then the same command."
                if from_inside
                else "Close programs using files in the lab folder and retry."
            )
            raise EnvironmentProblem(f"cannot move {folder} to {backup.name}: {exc}", fix) from None
    result = lay_out(spec, folder, withhold)
    return HandoutResult(spec, folder, True, result.files, backup)


def is_lab_folder(folder: Path, spec: LabSpec) -> bool:
    """True when ``folder`` is lab ``spec``'s folder (its marker or its name says so)."""
    marker = read_marker(folder)
    if marker is not None:
        return marker.get("lab") == spec.number
    return folder.name == spec.folder_name and folder.is_dir()


def locate(spec: LabSpec, cwd: Path, base: Path | None, recorded: Path | None) -> Path | None:
    """Find an existing lab folder: ``--dir``, the cwd itself, ``cwd/labNN-slug``, a parent, the
    record."""
    candidates: list[Path] = []
    if base is not None:
        candidates += [base, base / spec.folder_name]
    else:
        candidates += [cwd, cwd / spec.folder_name, *cwd.parents]
        home = enclosing_lab_folder(cwd)
        if home is not None:  # inside another lab's folder: look beside it
            candidates.append(home.parent / spec.folder_name)
        if recorded is not None:
            candidates.append(recorded)
    for candidate in candidates:
        if candidate.is_dir() and is_lab_folder(candidate, spec):
            return candidate
    return None


def handout_target(spec: LabSpec, cwd: Path, base: Path | None) -> Path:
    """Where ``coursekit lab N`` puts the lab: an existing lab folder here, else
    ``BASE/labNN-slug``."""
    if base is not None and is_lab_folder(base, spec):
        return base
    if base is None and is_lab_folder(cwd, spec):
        return cwd
    if base is None:
        home = enclosing_lab_folder(cwd)
        if home is not None:  # inside another lab's folder: never nest labs, put it beside
            return home.parent / spec.folder_name
    return (base if base is not None else cwd) / spec.folder_name


def enclosing_lab_folder(cwd: Path) -> Path | None:
    """The lab folder (any lab) that ``cwd`` is in, found by its marker file."""
    for folder in (cwd, *cwd.parents):
        if (folder / MARKER).is_file():
            return folder
    return None


def reveal_solution(spec: LabSpec, folder: Path) -> tuple[FileAction, ...]:
    """Copy the reference solution into ``folder/solution/`` (only files not already there)."""
    actions = []
    for src in sorted(spec.solution_dir.rglob("*.py")):
        rel = src.relative_to(spec.solution_dir).as_posix()
        dst = folder / "solution" / rel
        if dst.exists():
            actions.append(FileAction(f"solution/{rel}", "kept"))
            continue
        try:
            _copy_new(src, dst)
        except OSError as exc:  # read-only folder, a file named solution: exit 3, not a crash
            raise EnvironmentProblem(
                f"cannot write {dst}: {exc}",
                f"Make {folder} writable (or move a file named 'solution' away) and ask again.",
            ) from None
        actions.append(FileAction(f"solution/{rel}", "added"))
    return tuple(actions)
