"""Lab hand-out writes each file atomically (issue 10, item 9): a full disk leaves the old file
or none, never a cut-off README that the next hand-out then keeps; a hand-out that failed
part-way completes on the next ``coursekit lab N``; and re-handing-out an unchanged read-only lab
is not an error (item 18)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.lab import layout
from coursekit.lab.manifest import discover_labs

REPO = Path(__file__).resolve().parent.parent
SPEC = discover_labs(REPO / "labs")[0]

_FULL_DISK = r'''
import resource, signal, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from coursekit.lab import layout
from coursekit.lab.manifest import discover_labs
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
spec = discover_labs(Path(sys.argv[1]) / "labs")[0]
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
try:
    layout.lay_out(spec, Path(sys.argv[2]))
except Exception as exc:
    print(type(exc).__name__, exc)
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_FSIZE as a full disk")
@pytest.mark.parametrize("limit", [0, 100, 1000])
def test_a_full_disk_leaves_no_cut_off_file_and_the_next_handout_completes(tmp_path: Path,
                                                                          limit: int) -> None:
    folder = tmp_path / "lab"
    subprocess.run([sys.executable, "-I", "-c", _FULL_DISK, str(REPO), str(folder), str(limit)],
                   check=True, timeout=120, capture_output=True)
    for rel in SPEC.starter_files():
        path = folder / rel
        if path.exists():
            assert path.read_bytes() == SPEC.source_of(rel).read_bytes(), f"{rel} was cut off"
    assert not [p for p in folder.rglob("*coursekit-tmp*")], "temporary files left behind"
    result = layout.lay_out(SPEC, folder)  # the disk has room again
    for rel in SPEC.starter_files():
        assert (folder / rel).read_bytes() == SPEC.source_of(rel).read_bytes(), rel
    assert {a.action for a in result.files} <= {"added", "unchanged", "completed"}


def test_a_cut_off_file_from_an_older_coursekit_is_completed(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    folder.mkdir()
    readme = next(r for r in SPEC.starter_files() if r.endswith(".md"))
    (folder / readme).write_bytes(b"")  # what a crashed hand-out left, with no marker
    result = layout.lay_out(SPEC, folder)
    assert (folder / readme).read_bytes() == SPEC.source_of(readme).read_bytes()
    assert dict((a.path, a.action) for a in result.files)[readme] == "completed"


def test_a_student_edit_is_still_kept(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    layout.lay_out(SPEC, folder)
    rel = SPEC.starter_files()[-1]
    (folder / rel).write_text("my own work\n", encoding="utf-8")
    layout.lay_out(SPEC, folder)
    assert (folder / rel).read_text(encoding="utf-8") == "my own work\n"


@pytest.mark.skipif(os.name == "nt" or os.geteuid() == 0, reason="root ignores read-only modes")
def test_rehanding_out_an_unchanged_read_only_lab_is_not_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    layout.lay_out(SPEC, folder)
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    try:
        result = layout.lay_out(SPEC, folder)
        assert {a.action for a in result.files} == {"unchanged"}
    finally:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_rehanding_out_an_unchanged_lab_writes_nothing(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The read-only case for every user, root included (root ignores file modes): a second
    hand-out of an unchanged lab must not try to write at all, so a read-only folder (a
    course share, a chmod'ed copy) is not an error."""
    folder = tmp_path / "lab"
    layout.lay_out(SPEC, folder)

    def read_only(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied (read-only folder)")

    monkeypatch.setattr(layout, "_atomic_write", read_only)
    result = layout.lay_out(SPEC, folder)
    assert {a.action for a in result.files} == {"unchanged"}


def test_unchanged_handout_does_not_rewrite_the_marker(tmp_path: Path) -> None:
    folder = tmp_path / "lab"
    layout.lay_out(SPEC, folder)
    marker = folder / layout.MARKER
    before = marker.stat().st_mtime_ns
    os.utime(marker, ns=(before - 10**9, before - 10**9))
    layout.lay_out(SPEC, folder)
    assert marker.stat().st_mtime_ns == before - 10**9
