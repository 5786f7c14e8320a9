"""``coursekit class triage``: grouping, outputs, reports from every OS, the HTML page."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from coursekit.doctor.facts import from_data
from coursekit.doctor.report import make_report, report_data
from coursekit.doctor.facts import Facts
from coursekit.errors import ExitCode
from coursekit.instructor import triage as tr
from coursekit.render.instructor import triage_html
from tests.doctor.fixtures import finding_data, healthy_data
from tests.helpers import run_cli

CLASS = {  # student -> finding fixture (None: a healthy machine)
    "Ada": "env-missing", "Bo": "env-missing", "Cy": "env-missing",
    "Dee": "driver-too-old", "Eve": "driver-too-old",
    "Fay": "windows-dll-error",
    "Gus": "kernel-missing",
    "Hal": None, "Ivy": None,
}


def write_report(folder: Path, student: str, finding: str | None, *, named: bool = True,
                 when: str = "2026-12-01T10:00:00Z", encoding: str = "utf-8",
                 filename: str | None = None) -> Path:
    data = finding_data(finding) if finding else healthy_data("gpu_linux")
    facts = from_data(Facts, data)
    facts = dataclasses.replace(facts, student=student if named else "", collected_at=when)
    path = folder / (filename or f"doctor-{student.lower()}-2026-12-01.json")
    text = json.dumps(report_data(make_report(facts)), indent=2)
    path.write_bytes(text.encode(encoding) if encoding != "utf-16" else "\ufeff".encode("utf-16-le")
                     + text.encode("utf-16-le"))
    return path


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    folder.mkdir()
    for student, finding in CLASS.items():
        write_report(folder, student, finding, encoding="utf-16" if student == "Fay" else "utf-8")
    (folder / "doctor-jo-2026-12-01.json").write_text('{"kind": "coursekit-doctor-report", "sch')
    return folder


def test_groups_are_ordered_by_how_many_they_block(reports: Path) -> None:
    t = tr.triage([str(reports)])
    order = [(g.finding, len(g.students), g.blocked) for g in t.groups]
    assert order[0] == ("env-missing", 3, 3)
    assert order[1] == ("driver-too-old", 2, 2)
    assert ("kernel-missing", 1, 0) == order[-1]  # a warning blocks nobody: last
    assert {g.finding for g in t.groups} == {"env-missing", "driver-too-old", "windows-dll-error",
                                             "unreadable-report", "kernel-missing"}
    assert [s.student for s in t.ready] == ["Hal", "Ivy"]
    assert t.total == 10 and t.blocked == 7
    env = t.groups[0]
    assert env.names == ("Ada", "Bo", "Cy")
    assert env.fixes[0].students == ("Ada", "Bo", "Cy") and "coursekit setup" in env.fixes[0].fix
    jo = next(g for g in t.groups if g.finding == "unreadable-report")
    assert jo.names == ("jo",) and "doctor --save" in jo.fixes[0].fix


def test_every_os_report_is_read_on_this_os(reports: Path) -> None:
    t = tr.triage([str(reports / "doctor-fay-2026-12-01.json")])  # Windows, UTF-16 (PowerShell)
    assert [g.finding for g in t.groups] == ["windows-dll-error"]
    student = t.groups[0].students[0]
    assert student.student == "Fay" and student.facts["os"].startswith("windows")


def test_the_newest_report_of_a_student_counts(tmp_path: Path) -> None:
    write_report(tmp_path, "Ada", "env-missing", when="2026-12-01T10:00:00Z", filename="old.json")
    write_report(tmp_path, "Ada", None, when="2026-12-02T10:00:00Z", filename="new.json")
    t = tr.triage([str(tmp_path / "*.json")])
    assert [s.student for s in t.ready] == ["Ada"] and not t.groups
    assert t.duplicates == (str(tmp_path / "old.json"),)


def test_names_come_from_the_report_else_the_file_name(tmp_path: Path) -> None:
    p = write_report(tmp_path, "Zoë O'Neil", None, named=True, filename="doctor-zoe-o-neil-2026-12-01.json")
    assert tr.read_one(p).student == "Zoë O'Neil"
    q = write_report(tmp_path, "x", None, named=False, filename="doctor-bo-b-2026-12-01.json")
    assert tr.read_one(q).student == "bo-b"
    assert tr.name_from_file(Path("report.json")) == "report"


def test_cli_text_json_csv_and_exit_codes(reports: Path, tmp_path: Path) -> None:
    out_csv, out_html = tmp_path / "t.csv", tmp_path / "t.html"
    text = run_cli(["class", "triage", str(reports), "--csv", str(out_csv), "--html", str(out_html)])
    assert text.code == ExitCode.FAILED
    assert text.stdout.index("env-missing") < text.stdout.index("driver-too-old")
    assert "ready (2): Hal, Ivy" in text.stdout
    data = json.loads(run_cli(["class", "triage", str(reports), "--json"]).stdout)
    assert data["kind"] == "coursekit-class-triage"
    assert [(g["finding"], g["count"], g["blocked"]) for g in data["groups"]][:2] == [
        ("env-missing", 3, 3), ("driver-too-old", 2, 2)]
    with open(out_csv, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["student"]: r["root_cause"] for r in rows}["Hal"] == "ready"
    assert {r["student"]: r["root_cause"] for r in rows}["Dee"] == "driver-too-old"
    ready_only = tmp_path / "ready"
    ready_only.mkdir()
    write_report(ready_only, "Hal", None)
    assert run_cli(["class", "triage", str(ready_only)]).code == ExitCode.OK
    assert run_cli(["class", "triage", str(tmp_path / "none-*.json")]).code == ExitCode.USAGE


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sections: list[dict[str, str]] = []
        self.details = 0
        self.tags: set[str] = set()
        self.urls: list[str] = []
        self.counts: dict[str, str] = {}
        self._count_for: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        if tag == "section":
            self.sections.append(a)
        if tag == "details":
            self.details += 1
        for key in ("src", "href"):
            if key in a and not a[key].startswith("#"):
                self.urls.append(a[key])
        if tag == "span" and "data-group" in a:
            self._count_for = a["data-group"]

    def handle_data(self, data: str) -> None:
        if self._count_for is not None:
            self.counts[self._count_for] = data.strip()
            self._count_for = None


def _check_page(page: _Page) -> None:
    found = {s["data-finding"]: (int(s["data-count"]), int(s["data-blocked"])) for s in page.sections}
    assert found["env-missing"] == (3, 3) and found["driver-too-old"] == (2, 2)
    assert found["ready"] == (2, 0) and found["kernel-missing"] == (1, 0)
    assert [s["data-finding"] for s in page.sections][:2] == ["env-missing", "driver-too-old"]
    assert page.counts["env-missing"] == "3" and page.counts["ready"] == "2"
    assert not page.urls, page.urls  # self-contained: no external asset, no link out
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags


def test_the_html_page_is_self_contained_and_complete(reports: Path) -> None:
    t = tr.triage([str(reports)])
    html = triage_html(t)
    page = _Page()
    page.feed(html)
    _check_page(page)
    # each student's findings folded under their name (+ one "all facts" fold per readable one)
    assert page.details >= t.total
    assert "&lt;" not in "".join(g.finding for g in t.groups)


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


@pytest.mark.realtool
@pytest.mark.skipif(_chromium() is None, reason="no Chromium here (apt-get install -y chromium); "
                                                "the page is still checked by parsing")
def test_the_html_page_renders_in_a_real_browser(reports: Path, tmp_path: Path) -> None:
    page_file = tmp_path / "triage.html"
    assert run_cli(["class", "triage", str(reports), "--html", str(page_file)]).code == ExitCode.FAILED
    browser = _chromium()
    assert browser is not None
    base = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    env = {**os.environ, "HOME": str(tmp_path)}
    dom = subprocess.run([*base, "--dump-dom", page_file.as_uri()], capture_output=True, text=True,
                         timeout=120, env=env)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = _Page()
    page.feed(dom.stdout)
    _check_page(page)
    shot = tmp_path / "triage.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,1600", page_file.as_uri()],
                   capture_output=True, timeout=120, env=env)
    assert shot.is_file() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    keep = os.environ.get("COURSEKIT_KEEP_SCREENSHOT")
    if keep:
        shutil.copyfile(shot, keep)


def test_facts_summary_handles_partial_reports() -> None:
    report = make_report(Facts())
    assert tr.facts_summary(report) == {}
    assert tr.top_finding(()) is None


def test_grouping_is_pure_and_stable() -> None:
    from coursekit.doctor.view import Finding

    f_err = Finding("env-missing", "error", "env", "t", "d", "fix A")
    f_warn = Finding("kernel-missing", "warning", "packages", "t", "d", "fix B")
    students = [tr.StudentReport(n, f"{n}.json", st, top, fs, {}, {}) for n, st, top, fs in [
        ("b", "error", "env-missing", (f_err, f_warn)), ("a", "error", "env-missing", (f_err,)),
        ("c", "warning", "kernel-missing", (f_warn,)), ("d", "ok", None, ())]]
    t = tr.group(students)
    assert [(g.finding, g.names) for g in t.groups] == [("env-missing", ("a", "b")),
                                                        ("kernel-missing", ("c",))]
    assert tr.group(list(reversed(students))) == t


def _unused(x: Any) -> None:  # keeps the typing import used in every Python
    return None


def test_the_root_cause_is_the_first_error_even_after_a_warning() -> None:
    from coursekit.doctor.view import Finding

    warn = Finding("macos-intel", "warning", "platform", "t", "d", "fix W")
    err = Finding("env-missing", "error", "env", "t", "d", "fix E")
    info = Finding("no-gpu", "info", "gpu", "t", "d", None)
    assert tr.top_finding((info, warn, err)) == err
    assert tr.top_finding((info, warn)) == warn
    assert tr.top_finding((info,)) is None


def _only_json_values(value: Any) -> bool:
    if type(value) is dict:
        return all(type(k) is str and _only_json_values(v) for k, v in value.items())
    if type(value) is list:
        return all(_only_json_values(v) for v in value)
    return type(value) in (str, int, float, bool, type(None))


def test_the_triage_json_is_made_of_json_values_only(tmp_path: Path) -> None:
    """``--json`` writes triage_data without converting it first (``plain=True``): that holds
    only while triage_data gives JSON's own values, for every kind of student."""
    from coursekit.jsondata import to_jsonable
    from coursekit.render.instructor import triage_data
    from tests.instructor.classgen import make_class

    for name, raw in make_class(120, seed=11):
        (tmp_path / name).write_bytes(raw)
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    data = triage_data(tr.triage([str(tmp_path)], keep_facts=False, jobs=1))
    assert _only_json_values(data)
    assert to_jsonable(data) == data
    assert data["groups"] and data["ready"]
