"""Reading submissions: only declared files, every hostile zip refused per submission."""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.instructor import submissions as subs

FILES = ("vanishing.py",)
GOOD = b"def make_mlp(*a):\n    return None\n"


def _zip(path: Path, members: dict[str, bytes], **kw: object) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def load(path: Path) -> subs.Submission:
    return subs.load(path, 2, "vanishing-gradients", FILES)


def test_a_good_zip_yields_only_the_declared_files(tmp_path: Path) -> None:
    z = _zip(tmp_path / "lab02-ada.zip", {"vanishing.py": GOOD, "flowtools.py": b"evil",
                                          "grader.py": b"evil", "progress.json": b"{}",
                                          "__pycache__/x.pyc": b"x"})
    sub = load(z)
    assert sub.invalid is None
    assert sub.files == {"vanishing.py": GOOD}
    assert sub.student == "ada"
    assert len(sub.content_hash) == 64


def test_the_declared_file_may_sit_in_one_top_folder(tmp_path: Path) -> None:
    z = _zip(tmp_path / "lab02-bo.zip", {"lab02-vanishing-gradients/vanishing.py": GOOD})
    assert load(z).files == {"vanishing.py": GOOD}


@pytest.mark.parametrize("name,why", [
    ("../vanishing.py", "traversal"), ("a/../../x.py", "traversal"), ("/etc/passwd", "absolute"),
    ("C:/Windows/x.py", "absolute"), ("..\\..\\x.py", "traversal"), ("c:evil.py", "absolute"),
])
def test_traversal_and_absolute_names_are_refused(tmp_path: Path, name: str, why: str) -> None:
    z = tmp_path / "lab02-x.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("vanishing.py", GOOD)
        info = zipfile.ZipInfo("placeholder")
        info.filename = name  # bypass zipfile's own sanitising, as a hand-made zip would
        zf.writestr(info, b"x")
    sub = load(z)
    assert sub.invalid is not None and why in sub.invalid, sub.invalid
    assert sub.files == {}


def test_a_symlink_member_is_refused(tmp_path: Path) -> None:
    z = tmp_path / "lab02-link.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("vanishing.py")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    assert "symbolic link" in (load(z).invalid or "")


def test_duplicate_names_are_refused_even_by_case(tmp_path: Path) -> None:
    z = tmp_path / "lab02-dup.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("vanishing.py", GOOD)
        zf.writestr("VANISHING.py", b"other")
    assert "duplicate" in (load(z).invalid or "")
    z2 = tmp_path / "lab02-dup2.zip"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(z2, "w") as zf:
            zf.writestr("vanishing.py", GOOD)
            zf.writestr("vanishing.py", b"second")
    assert "duplicate" in (load(z2).invalid or "")


def test_the_declared_file_twice_in_two_folders_is_refused(tmp_path: Path) -> None:
    z = _zip(tmp_path / "lab02-two.zip", {"a/vanishing.py": GOOD, "b/vanishing.py": b"other"})
    assert "2 times" in (load(z).invalid or "")


def test_a_zip_bomb_is_refused_without_inflating_it(tmp_path: Path) -> None:
    z = tmp_path / "lab02-bomb.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("vanishing.py", b"\0" * (50 * 1024 * 1024))
    assert "bomb" in (load(z).invalid or "") or "limit" in (load(z).invalid or "")


def test_a_member_that_lies_about_its_size_is_capped(tmp_path: Path) -> None:
    z = tmp_path / "lab02-liar.zip"
    big = b"# " + b"a" * (3 * 1024 * 1024)
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("vanishing.py", big)
    raw = bytearray(z.read_bytes())
    # patch the sizes in both headers to claim 100 bytes
    size = len(big).to_bytes(4, "little")
    raw = raw.replace(size, (100).to_bytes(4, "little"))
    z.write_bytes(bytes(raw))
    sub = load(z)
    assert sub.invalid is not None and sub.files == {}


def test_too_many_entries_and_encryption_are_refused(tmp_path: Path) -> None:
    many = _zip(tmp_path / "lab02-many.zip", {f"f{i}.txt": b"" for i in range(subs.MAX_MEMBERS + 1)})
    assert "entries" in (load(many).invalid or "")
    enc = tmp_path / "lab02-enc.zip"
    with zipfile.ZipFile(enc, "w") as zf:
        info = zipfile.ZipInfo("vanishing.py")
        zf.writestr(info, GOOD)
    raw = bytearray(enc.read_bytes())
    raw[6] |= 1  # local header: general purpose flag, bit 0 = encrypted
    cd = raw.find(b"PK\x01\x02")
    raw[cd + 8] |= 1
    enc.write_bytes(bytes(raw))
    assert load(enc).invalid is not None


def test_not_a_zip_missing_files_and_missing_paths(tmp_path: Path) -> None:
    bad = tmp_path / "lab02-bad.zip"
    bad.write_bytes(b"PK\x03\x04 not really")
    assert "zip" in (load(bad).invalid or "")
    empty = _zip(tmp_path / "lab02-empty.zip", {"README.md": b"hi"})
    assert load(empty).invalid == "missing vanishing.py"
    assert load(tmp_path / "nope.zip").invalid == "no such file or folder"


def test_wrong_lab_by_manifest_or_by_name(tmp_path: Path) -> None:
    manifest = {"kind": "coursekit-submission", "schema": 1, "lab": 3, "slug": "initialisation",
                "student": "Cy", "files": {}}
    z = _zip(tmp_path / "x.zip", {"vanishing.py": GOOD, subs.MANIFEST: json.dumps(manifest).encode()})
    sub = load(z)
    assert sub.invalid is not None and sub.invalid.startswith("wrong lab") and sub.student == "Cy"
    z2 = _zip(tmp_path / "lab05-dee.zip", {"vanishing.py": GOOD})
    assert (load(z2).invalid or "").startswith("wrong lab")


def test_manifest_names_the_student_and_notes_edits_after_packing(tmp_path: Path) -> None:
    manifest = {"kind": "coursekit-submission", "schema": 1, "lab": 2, "slug": "vanishing-gradients",
                "student": "Zoë O'Neil", "files": {"vanishing.py": "0" * 64}}
    z = _zip(tmp_path / "whatever.zip", {"vanishing.py": GOOD, subs.MANIFEST: json.dumps(manifest).encode()})
    sub = load(z)
    assert sub.invalid is None and sub.student == "Zoë O'Neil"
    assert any("changed after packing" in n for n in sub.notes)


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_folder_submissions_refuse_symlinked_files(tmp_path: Path) -> None:
    folder = tmp_path / "eve"
    folder.mkdir()
    (folder / "vanishing.py").symlink_to("/etc/passwd")
    assert "symbolic link" in (load(folder).invalid or "")
    link = tmp_path / "lab02-link.zip"
    link.symlink_to(_zip(tmp_path / "real.zip", {"vanishing.py": GOOD}))
    assert "symbolic link" in (load(link).invalid or "")


def test_collect_opens_folders_of_submissions_and_globs(tmp_path: Path) -> None:
    inbox = tmp_path / "in"
    inbox.mkdir()
    _zip(inbox / "lab02-a.zip", {"vanishing.py": GOOD})
    (inbox / "b").mkdir()
    (inbox / "b" / "vanishing.py").write_bytes(GOOD)
    (inbox / "notes.txt").write_text("x")
    (inbox / "empty-folder").mkdir()
    found = subs.collect([str(inbox)], FILES)
    assert [p.name for p in found] == ["b", "lab02-a.zip"]
    assert [p.name for p in subs.collect([str(inbox / "*.zip"), str(inbox / "lab02-a.zip")], FILES)] \
        == ["lab02-a.zip"]
    assert subs.collect([str(inbox / "b")], FILES) == [inbox / "b"]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=4096))
def test_any_bytes_as_a_zip_are_a_verdict_never_an_exception(data: bytes) -> None:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "lab02-fuzz.zip"
        p.write_bytes(b"PK\x03\x04" + data if data[:1] == b"\0" else data)
        sub = load(p)
        assert sub.invalid is not None or sub.files


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=30), st.binary(max_size=200)), max_size=8))
def test_any_member_names_are_a_verdict_never_an_exception(members: list[tuple[str, bytes]]) -> None:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "lab02-fuzz.zip"
        with zipfile.ZipFile(p, "w") as zf:
            import warnings
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for name, data in members:
                    try:
                        info = zipfile.ZipInfo("x")
                        info.filename = name
                        zf.writestr(info, data)
                    except (ValueError, UnicodeEncodeError):
                        pass
        sub = load(p)
        assert sub.invalid is not None or set(sub.files) == {"vanishing.py"}


def test_an_older_content_version_is_noted(tmp_path: Path) -> None:
    manifest = {"kind": "coursekit-submission", "schema": 1, "lab": 2, "slug": "vanishing-gradients",
                "content_version": 1, "student": "A", "files": {}}
    z = _zip(tmp_path / "a.zip", {"vanishing.py": GOOD, subs.MANIFEST: json.dumps(manifest).encode()})
    sub = subs.load(z, 2, "vanishing-gradients", FILES, content_version=2)
    assert sub.invalid is None and any("content version 1" in n for n in sub.notes)
