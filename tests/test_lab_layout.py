"""Handing a lab out never loses a student byte: twice, after edits, with a newer lab
version, and on --reset (which moves the folder to a backup first)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from coursekit.errors import UsageError
from coursekit.lab import layout
from coursekit.lab.manifest import LabSpec, discover_labs
from tests.labhelpers import FIXTURE_COURSE


@pytest.fixture
def spec(tmp_path: Path) -> LabSpec:
    """A private copy of the fixture lab, so tests can publish a 'newer version' of it."""
    content = tmp_path / "course" / "01-fixture"
    shutil.copytree(FIXTURE_COURSE / "01-fixture", content)
    return discover_labs(tmp_path / "course")[0]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_handout_lays_out_readme_starter_and_marker(spec: LabSpec, tmp_path: Path) -> None:
    result = layout.lay_out(spec, tmp_path / "work" / spec.folder_name)
    assert result.created and {f.path: f.action for f in result.files} == {
        "README.md": "added", "work.py": "added"}
    folder = result.folder
    assert folder.name == "lab01-fixture"
    assert (folder / "work.py").read_bytes() == (spec.starter_dir / "work.py").read_bytes()
    marker = json.loads((folder / layout.MARKER).read_text())
    assert marker["lab"] == 1 and marker["version"] == 1 and set(marker["starter_sha256"]) == {
        "README.md", "work.py"}
    assert not (folder / "grader.py").exists(), "the grader is never copied to students"


def test_handout_twice_keeps_every_edit(spec: LabSpec, tmp_path: Path) -> None:
    folder = tmp_path / spec.folder_name
    layout.lay_out(spec, folder)
    (folder / "work.py").write_text("my work\n")
    (folder / "notes.txt").write_text("my notes\n")
    before = _snapshot(folder)
    result = layout.lay_out(spec, folder)
    assert {f.path: f.action for f in result.files} == {"README.md": "unchanged", "work.py": "kept"}
    after = _snapshot(folder)
    assert {k: v for k, v in after.items() if k != layout.MARKER} == {
        k: v for k, v in before.items() if k != layout.MARKER}


def test_newer_lab_version_adds_files_and_never_overwrites_edits(spec: LabSpec,
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / spec.folder_name
    layout.lay_out(spec, folder)
    (folder / "work.py").write_text("my edited work\n")
    # version 2 of the lab: a new helper file, a changed starter, a changed README
    (spec.starter_dir / "helper.py").write_text("HELP = 1\n")
    (spec.starter_dir / "work.py").write_text("# new starter\n")
    (spec.readme_path).write_text("# new instructions\n")
    v2 = dataclasses.replace(spec, version=2)
    result = layout.lay_out(v2, folder)
    actions = {f.path: f.action for f in result.files}
    assert actions == {"README.md": "updated", "helper.py": "added",
                       "work.py": "kept-edited-newer-starter"}
    assert (folder / "work.py").read_text() == "my edited work\n"
    assert (folder / "helper.py").read_text() == "HELP = 1\n"
    assert (folder / "README.md").read_text() == "# new instructions\n"  # it was never edited
    # a third hand-out still knows work.py was edited relative to its original starter
    again = {f.path: f.action for f in layout.lay_out(v2, folder).files}
    assert again["work.py"] in ("kept", "kept-edited-newer-starter")
    assert (folder / "work.py").read_text() == "my edited work\n"


def test_reset_moves_the_folder_to_a_backup_first(spec: LabSpec, tmp_path: Path) -> None:
    folder = tmp_path / spec.folder_name
    layout.lay_out(spec, folder)
    (folder / "work.py").write_text("attempt 1\n")
    (folder / "figures").mkdir()
    (folder / "figures" / "a.png").write_bytes(b"png")
    before = _snapshot(folder)
    first = layout.reset(spec, folder)
    second = layout.reset(spec, folder)
    assert first.backup is not None and second.backup is not None and first.backup != second.backup
    assert first.backup.name.startswith("lab01-fixture.backup-")
    assert _snapshot(first.backup) == before
    assert (folder / "work.py").read_bytes() == (spec.starter_dir / "work.py").read_bytes()


def test_plan_file_is_pure_and_conservative() -> None:
    assert layout.plan_file("a", False, None, None, "s") == "added"
    assert layout.plan_file("a", True, "s", "s", "s") == "unchanged"
    assert layout.plan_file("a", True, "old", "old", "new") == "updated"
    assert layout.plan_file("a", True, "edited", "old", "new") == "kept-edited-newer-starter"
    assert layout.plan_file("a", True, "edited", None, "new") == "kept"  # no record: never touch


def test_locate_from_course_folder_inside_lab_folder_and_subfolder(spec: LabSpec,
                                                                   tmp_path: Path) -> None:
    folder = layout.lay_out(spec, tmp_path / spec.folder_name).folder
    (folder / "figures").mkdir()
    assert layout.locate(spec, tmp_path, None, None) == folder
    assert layout.locate(spec, folder, None, None) == folder
    assert layout.locate(spec, folder / "figures", None, None) == folder
    assert layout.locate(spec, tmp_path / "elsewhere", tmp_path, None) == folder  # --dir parent
    assert layout.locate(spec, tmp_path / "elsewhere", folder, None) == folder  # --dir itself
    assert layout.locate(spec, tmp_path / "elsewhere", None, None) is None
    assert layout.locate(spec, tmp_path / "elsewhere", None, folder) == folder  # recorded


def test_from_inside_another_lab_the_new_lab_goes_beside_it(spec: LabSpec, tmp_path: Path) -> None:
    lab1 = layout.lay_out(spec, tmp_path / spec.folder_name).folder
    other = dataclasses.replace(spec, number=7, slug="other")
    target = layout.handout_target(other, lab1 / "figures", None)
    assert target == tmp_path / "lab07-other"
    folder = layout.lay_out(other, target).folder
    assert layout.locate(other, lab1, None, None) == folder


def test_folder_of_another_lab_is_refused(spec: LabSpec, tmp_path: Path) -> None:
    folder = layout.lay_out(spec, tmp_path / "x").folder
    other = dataclasses.replace(spec, number=7, slug="other")
    with pytest.raises(UsageError, match="holds lab 1"):
        layout.lay_out(other, folder)


def test_reveal_solution_adds_only_missing_files(spec: LabSpec, tmp_path: Path) -> None:
    folder = layout.lay_out(spec, tmp_path / spec.folder_name).folder
    (folder / "solution").mkdir()
    (folder / "solution" / "work.py").write_text("mine\n")
    actions = layout.reveal_solution(spec, folder)
    assert [(a.path, a.action) for a in actions] == [("solution/work.py", "kept")]
    assert (folder / "solution" / "work.py").read_text() == "mine\n"


def test_a_solution_that_cannot_be_written_is_exit_3_not_a_crash(spec: LabSpec, tmp_path: Path) -> None:
    from coursekit.errors import EnvironmentProblem

    folder = tmp_path / "lab01-fixture"
    layout.lay_out(spec, folder)
    (folder / "solution").write_text("a file where the solution folder goes")
    with pytest.raises(EnvironmentProblem, match="cannot write") as info:
        layout.reveal_solution(spec, folder)
    assert info.value.fix and "solution" in info.value.fix
