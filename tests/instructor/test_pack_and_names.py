"""``lab N --pack`` and ``doctor --name/--save``."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import pytest

from coursekit.doctor.facts import Facts
from coursekit.doctor.report import make_report
from coursekit.doctor.save import save_name, save_report
from coursekit.errors import ExitCode, UsageError
from coursekit.instructor import submissions as subs
from coursekit.names import file_slug, student_name
from tests.helpers import run_cli
from tests.labhelpers import FIXTURE_COURSE


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import coursekit.resources

    monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: FIXTURE_COURSE)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_pack_zips_only_the_declared_files_and_a_manifest(course: Path) -> None:
    assert run_cli(["lab", "1"]).code == ExitCode.OK
    folder = course / "lab01-fixture"
    (folder / "work.py").write_text("def answer():\n    return 42\n", encoding="utf-8")
    (folder / "figures").mkdir(exist_ok=True)
    (folder / "figures" / "x.png").write_bytes(b"png")
    (folder / "__pycache__").mkdir(exist_ok=True)
    (folder / "notes.txt").write_text("private")
    result = run_cli(["lab", "1", "--pack", "--name", "Zoë O'Neil", "--json"])
    assert result.code == ExitCode.OK, result.stderr
    data = json.loads(result.stdout)
    zpath = Path(data["zip"])
    assert zpath == course / "lab01-zoe-o-neil.zip"
    with zipfile.ZipFile(zpath) as zf:
        assert sorted(zf.namelist()) == ["coursekit-submission.json", "work.py"]
        manifest = json.loads(zf.read("coursekit-submission.json"))
    assert manifest["student"] == "Zoë O'Neil" and manifest["lab"] == 1
    assert manifest["slug"] == "fixture" and manifest["content_version"] == 1
    assert set(manifest["files"]) == {"work.py"} and manifest["created_at"].endswith("Z")
    sub = subs.load(zpath, 1, "fixture", ("work.py",))
    assert sub.invalid is None and sub.student == "Zoë O'Neil" and not sub.notes


def test_pack_takes_the_name_from_the_environment_and_needs_one(course: Path) -> None:
    run_cli(["lab", "1"])
    assert run_cli(["lab", "1", "--pack"], env={"COURSEKIT_STUDENT": "Ada"}).code == ExitCode.OK
    assert (course / "lab01-ada.zip").is_file()
    missing = run_cli(["lab", "1", "--pack"], env={"COURSEKIT_STUDENT": None})
    assert missing.code == ExitCode.USAGE and "--name" in missing.stderr
    assert run_cli(["lab", "1", "--name", "x"]).code == ExitCode.USAGE
    assert run_cli(["lab", "1", "--pack", "--check", "--name", "x"]).code == ExitCode.USAGE


def test_pack_refuses_a_missing_or_symlinked_work_file(course: Path) -> None:
    run_cli(["lab", "1"])
    (course / "lab01-fixture" / "work.py").unlink()
    (course / "lab01-fixture" / "work.py").symlink_to("/etc/hostname")
    result = run_cli(["lab", "1", "--pack", "--name", "Ada"])
    assert result.code == ExitCode.USAGE and "work.py" in result.stderr


@pytest.mark.parametrize("name,slug", [("Ada Lovelace", "ada-lovelace"), ("Zoë O'Neil", "zoe-o-neil"),
                                       ("../../etc", "etc"), ("李雷", None), ("  x  ", "x")])
def test_file_slugs_are_safe(name: str, slug: str | None) -> None:
    got = file_slug(name)
    assert "/" not in got and "\\" not in got and ".." not in got and got
    if slug is not None:
        assert got == slug


def test_student_name_rules() -> None:
    assert student_name(None, {"COURSEKIT_STUDENT": " Bo "}) == "Bo"
    assert student_name("Cy", {"COURSEKIT_STUDENT": "Bo"}) == "Cy"
    assert student_name(None, {}, required=False) == ""
    with pytest.raises(UsageError):
        student_name(None, {})
    with pytest.raises(UsageError):
        student_name("a\nb", {})


def test_doctor_save_writes_a_named_dated_report(tmp_path: Path) -> None:
    facts = Facts(student="Ada Lovelace")
    path = save_report(make_report(facts), tmp_path, dt.date(2026, 12, 4))
    assert path.name == "doctor-ada-lovelace-2026-12-04.json" == save_name("Ada Lovelace", dt.date(2026, 12, 4))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["kind"] == "coursekit-doctor-report" and data["facts"]["student"] == "Ada Lovelace"
    with pytest.raises(UsageError):
        save_report(make_report(Facts()), tmp_path)


def test_doctor_name_and_save_usage(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    save_report(make_report(Facts(student="Bo")), tmp_path, dt.date(2026, 1, 1))
    saved = tmp_path / "doctor-bo-2026-01-01.json"
    saved.rename(report)
    assert run_cli(["doctor", "--from", str(report), "--save"]).code == ExitCode.USAGE
    assert run_cli(["doctor", "--save"], env={"COURSEKIT_STUDENT": None}).code == ExitCode.USAGE


def test_an_old_report_without_a_student_still_loads() -> None:
    from coursekit.doctor.report import parse_report

    path = Path(__file__).parent.parent / "data" / "doctor" / "reports" / "schema1-rtx5090-cu126.json"
    assert parse_report(path.read_text(encoding="utf-8")).student == ""


class _Tty:
    def __init__(self, tty: bool) -> None:
        self.text, self._tty = "", tty

    def isatty(self) -> bool:
        return self._tty

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass


def test_the_progress_bar_draws_an_eta_on_a_terminal_and_lines_otherwise() -> None:
    from coursekit.instructor.classgrade import GradeRow, Progress
    from coursekit.render import Console
    from coursekit.render.instructor import ProgressBar

    row = GradeRow("Ada", 2, 10, 10, True, {}, "graded", 3.0, "h", "a.zip")
    tty = _Tty(True)
    bar = ProgressBar(Console(), stream=tty)  # type: ignore[arg-type]
    bar(Progress(0, 4, 0.0, None))
    bar(Progress(2, 4, 10.0, 10.0, row))
    bar(Progress(4, 4, 20.0, 0.0, row))
    assert "[###############---------------] 2/4" in tty.text and "ETA 00:10" in tty.text
    assert "ETA --:--" in tty.text and tty.text.endswith("\n")
    pipe = _Tty(False)
    plain = ProgressBar(Console(), stream=pipe)  # type: ignore[arg-type]
    plain(Progress(0, 4, 0.0, None))
    plain(Progress(1, 4, 3.0, 9.0, row))
    assert pipe.text == "[1/4] Ada: graded 10/10 (3.0 s)\n"


def test_readme_documents_every_instructor_option() -> None:
    import click

    from coursekit.cli.classcmd import class_group
    from coursekit.cli.doctor import doctor
    from coursekit.cli.lab import lab

    repo = Path(__file__).resolve().parents[2]
    readme = "\n".join(p.read_text(encoding="utf-8") for p in (repo / "README.md", *sorted((repo / "docs").glob("*.md"))))
    commands: list[click.Command] = [*class_group.commands.values()]
    for command in commands:
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}" in readme, (command.name, opt)
    for opt in ("--pack", "--name", "--save", "COURSEKIT_STUDENT", "class grade", "class triage",
                "coursekit-submission.json", "doctor-<name>-<YYYY-MM-DD>.json"):
        assert opt in readme, opt
    assert lab is not None and doctor is not None
