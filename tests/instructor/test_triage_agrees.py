"""``class triage`` says, per student, exactly what ``doctor --from`` says on that report (issue 14).

Triage is made fast with caches keyed by the facts a computation reads; these tests make sure
no cache ever answers one student with another's verdict:

- a realistic, varied class (:mod:`tests.instructor.classgen`) triaged in one run (warm caches,
  reports in order and reversed) gives each student the same finding ids, severities, fix
  lines and root cause as diagnosing that report alone, with every cache in coursekit cleared
  first;
- twins that differ in one fact only (driver version, OS, Python, GPU, torch build) keep their
  own verdicts in either order;
- a sample of reports agrees with a real ``coursekit doctor --from FILE --json`` process each.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.report import load_report, make_report, report_data
from coursekit.errors import SpecError
from coursekit.instructor import triage as tr
from tests.doctor import realcorpus
from tests.doctor.fixtures import finding_data, healthy_data
from tests.instructor.classgen import make_class


def clear_caches() -> None:
    """Forget every memoised value in coursekit (module-level functools caches)."""
    for name, module in list(sys.modules.items()):
        if name == "coursekit" or name.startswith("coursekit."):
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear):
                    clear()


def verdict(report: Any) -> list[tuple[str, str, str, str]]:
    return [(f.id, f.severity, f.title, f.fix) for f in report.findings]


def alone(path: Path) -> list[tuple[str, str, str, str]] | None:
    """What the doctor says on this one report, with nothing remembered from another."""
    clear_caches()
    try:
        return verdict(load_report(path))
    except SpecError:  # an unreadable report: triage must say UNREADABLE
        return None


def student_verdict(s: tr.StudentReport) -> list[tuple[str, str, str, str]] | None:
    if s.top == tr.UNREADABLE:
        return None
    return [(f.id, f.severity, f.title, f.fix) for f in s.findings]


def write(folder: Path, files: list[tuple[str, bytes]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, raw in files:
        (folder / name).write_bytes(raw)
        out.append(folder / name)
    return out


@pytest.fixture(scope="module")
def klass(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write(tmp_path_factory.mktemp("class"), make_class(150, seed=2026))


def test_the_class_is_varied(klass: list[Path]) -> None:
    """Not copies: every file differs, and the class spans OSes, GPUs and root causes."""
    raws = {p.read_bytes() for p in klass}
    assert len(raws) == len(klass)
    oses, gpus, tops = set(), set(), set()
    for p in klass:
        try:
            r = load_report(p)
        except SpecError:  # a fixture with malformed probe data: triage's "unreadable-report"
            tops.add(tr.UNREADABLE)
            continue
        if r.facts.platform:
            oses.add((r.facts.platform.os, r.facts.platform.wsl))
        if r.facts.gpu:
            gpus.update(g.name for g in r.facts.gpu.gpus)
        top = tr.top_finding(r.findings)
        tops.add(top.id if top else None)
    assert {("linux", False), ("linux", True), ("windows", False), ("macos", False)} <= oses
    assert len(gpus) >= 6 and len(tops) >= 20 and None in tops


@pytest.mark.parametrize("order", ["forward", "reversed"])
def test_triage_agrees_with_the_doctor_per_report(klass: list[Path], order: str) -> None:
    paths = klass if order == "forward" else klass[::-1]
    expected = {str(p): alone(p) for p in paths}
    clear_caches()
    students = tr.read_all(paths)
    assert len(students) == len(paths)
    for s in students:
        assert student_verdict(s) == expected[s.source], s.source
        want = expected[s.source]
        if want is not None:
            top = next((fid for fid, sev, _, _ in want if sev == "error"), None) or next(
                (fid for fid, sev, _, _ in want if sev == "warning"), None)
            assert s.top == top, s.source


def test_the_grouping_follows_the_per_report_verdicts(klass: list[Path]) -> None:
    t = tr.triage([str(p) for p in klass])
    clear_caches()
    kept = [s for g in t.groups for s in g.students] + list(t.ready)
    assert len(kept) == t.total
    for g in t.groups:
        for s in g.students:
            want = alone(Path(s.source))
            if want is None:
                assert g.finding == tr.UNREADABLE
                continue
            assert tr.top_finding(load_report(Path(s.source)).findings).id == g.finding
            assert any(s.student in f.students and any(fix == f.fix for fid, _, _, fix in want
                                                       if fid == g.finding) for f in g.fixes) or (
                not any(fix for fid, _, _, fix in want if fid == g.finding))
    for s in t.ready:
        want = alone(Path(s.source))
        assert want is not None and not any(sev in ("error", "warning") for _, sev, _, _ in want)


def _report(facts: dict[str, Any], name: str) -> bytes:
    data = copy.deepcopy(facts)
    data["student"] = name
    return json.dumps(report_data(make_report(from_data(Facts, data)))).encode()


def _twins() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(what differs, facts A, facts B): one fact apart, different verdicts."""
    gpu = realcorpus._with_torch(healthy_data("gpu_linux"), "2.13.0+cu130")
    old_driver = copy.deepcopy(gpu)
    old_driver["gpu"]["gpus"][0]["driver_version"] = "550.163.01"
    old_driver["gpu"]["cuda_driver_api"] = "12.4"
    old_glibc = finding_data("glibc-too-old")  # on Linux only: glibc gates the wheels
    on_windows = copy.deepcopy(old_glibc)
    on_windows["platform"]["os"] = "windows"
    old_python = realcorpus._with_python(copy.deepcopy(gpu), "3.9.18")
    blackwell = copy.deepcopy(realcorpus._with_torch(healthy_data("gpu_linux"), "2.13.0+cu126"))
    blackwell["gpu"]["gpus"][0].update(name="NVIDIA GeForce RTX 5070", compute_capability="12.0")
    ampere = realcorpus._with_torch(healthy_data("gpu_linux"), "2.13.0+cu126")
    cpu_torch = realcorpus._with_torch(copy.deepcopy(gpu), "2.13.0+cpu")
    # CUDA 12.1 needs driver >= 525.60.13 on Linux and >= 528.33 on Windows and WSL (whose
    # driver is the Windows one): one flag apart, two different minimums in the fix line
    linux_old = realcorpus._with_torch(healthy_data("gpu_linux"), "2.5.1+cu121")
    linux_old["gpu"]["gpus"][0]["driver_version"] = "470.256.02"
    linux_old["gpu"]["cuda_driver_api"] = "11.4"
    wsl_old = copy.deepcopy(linux_old)
    wsl_old["platform"]["wsl"] = True
    return [("driver version", gpu, old_driver), ("driver table", linux_old, wsl_old), ("OS", old_glibc, on_windows),
            ("Python", gpu, old_python), ("GPU", ampere, blackwell), ("torch build", gpu, cpu_torch)]


@pytest.mark.parametrize("what,a,b", _twins(), ids=[t[0] for t in _twins()])
def test_twins_one_fact_apart_keep_their_own_verdicts(tmp_path: Path, what: str, a: dict[str, Any],
                                                        b: dict[str, Any]) -> None:
    paths = write(tmp_path, [("doctor-a-2026-12-01.json", _report(a, "A")),
                             ("doctor-b-2026-12-01.json", _report(b, "B"))])
    want = {str(p): alone(p) for p in paths}
    assert want[str(paths[0])] != want[str(paths[1])], f"the {what} twins should differ"
    for order in (paths, paths[::-1], paths + paths[::-1]):
        clear_caches()
        for s in tr.read_all(order):
            assert student_verdict(s) == want[s.source], (what, s.source)


def test_a_sample_agrees_with_real_doctor_from_processes(klass: list[Path]) -> None:
    """The ground truth is the CLI itself: one fresh ``doctor --from FILE --json`` per report."""
    clear_caches()
    by_source = {s.source: s for s in tr.read_all(klass)}
    repo = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(repo), NO_COLOR="1")
    for p in klass[::19]:
        res = subprocess.run([sys.executable, "-m", "coursekit", "doctor", "--from", str(p),
                              "--json"], env=env, capture_output=True, text=True, check=False)
        if res.returncode == 2:
            assert by_source[str(p)].top == tr.UNREADABLE
            continue
        data = json.loads(res.stdout)
        got = [(f["id"], f["severity"], f["fix"]) for f in data["findings"]]
        assert got == [(f.id, f.severity, f.fix) for f in by_source[str(p)].findings], p
