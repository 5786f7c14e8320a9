"""The doctor on real public failure reports (issue 12): tests/data/real-reports/.

Per report: the file is a valid ``--json`` report whose facts are exactly its sidecar's
(base + stated facts), it loads through ``doctor --from``'s own code path on a POSIX and a
Windows triaging machine without a rule crashing, and a broken machine is never called
healthy. The score (hits, wrong fix lines, healthy reports on every OS) is asserted once, at
the issue's threshold, in :func:`test_corpus_meets_the_issue_threshold`.
"""

from __future__ import annotations

import json
import ntpath
import os
import re
from pathlib import Path

import pytest

from coursekit.doctor.catalogue import BY_ID
from coursekit.doctor.view import Finding
from tests.doctor.realcorpus import (
    CATEGORIES,
    FLAVOURS,
    build_facts,
    hit_rate,
    load,
    report_paths,
    score,
    score_all,
    table,
    triage,
    triaged_on,
    wrong_fix_lines,
)

REPORTS = report_paths()
MIN_REPORTS = 60
"""Issue 12 asks for at least 60 real reports."""
HIT_RATE = 0.90  # issue 12: the right root cause is the top finding on >= 90 %
_ID = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")


def _ids(path: Path) -> str:
    return path.stem


def test_corpus_size_and_spread() -> None:
    assert len(REPORTS) >= MIN_REPORTS
    data = [load(p) for p in REPORTS]
    categories = {d["corpus"]["category"] for d in data}
    assert categories == set(CATEGORIES), f"categories without a report: {set(CATEGORIES) - categories}"
    healthy_os = {d["facts"]["platform"]["os"] for d in data if d["corpus"]["category"] == "healthy"}
    assert healthy_os >= {"linux", "windows", "macos"}


@pytest.mark.parametrize("path", REPORTS, ids=_ids)
def test_report_is_well_formed(path: Path) -> None:
    data = load(path)
    corpus = data["corpus"]
    assert corpus["source"].startswith("https://"), "every report names its public source"
    assert corpus["root_cause"].strip() and corpus["stated"].strip()
    assert corpus["category"] in CATEGORIES
    accepted = corpus["accepted"]
    assert isinstance(accepted, list)
    assert (corpus["category"] == "healthy") == (accepted == [])
    assert all(_ID.fullmatch(i) for i in accepted)
    # The facts are the base machine plus what the source states, nothing else.
    assert data["facts"] == build_facts(corpus, data["schema"]), \
        "rebuild: python -m tests.doctor.realcorpus build"
    assert data["kind"] == "coursekit-doctor-report"
    assert set(corpus.get("patch_v2") or {}) <= {"shell", "project", "pip_log", "gpu", "platform", "disks",
                                                 "probe"}


def test_reports_use_the_current_schema() -> None:
    """Stated facts that only a newer schema can carry (``patch_v2``) reach the doctor only in
    reports built for it: after the schema changes, rebuild the corpus."""
    from tests.doctor.realcorpus import current_schema

    stale = [p.stem for p in REPORTS if load(p)["schema"] != current_schema()]
    assert not stale, f"rebuild with `python -m tests.doctor.realcorpus build`: {stale}"


@pytest.mark.parametrize("path", REPORTS, ids=_ids)
def test_report_triages_on_every_os(path: Path, record_property: object) -> None:
    for flavour in FLAVOURS:
        report = triage(path, flavour)
        ids = [f.id for f in report.findings]
        assert "rule-failed" not in ids, [f.detail for f in report.findings if f.id == "rule-failed"]
        assert report.summary.status in ("ok", "warning", "error")
    outcome = score(path)
    if callable(record_property):
        record_property("verdict", outcome.verdict)
        record_property("top", outcome.top)


def test_accepted_ids_outside_the_catalogue_are_listed() -> None:
    """Ids the doctor should have but does not (yet): a miss each, never silently dropped."""
    missing = sorted({i for p in REPORTS for i in load(p)["corpus"]["accepted"] if i not in BY_ID})
    for i in missing:
        assert _ID.fullmatch(i)


def test_corpus_meets_the_issue_threshold() -> None:
    outcomes = score_all()
    wrong = [w for o in outcomes for w in o.wrong_fixes]
    healthy_errors = [o.name for o in outcomes if not o.accepted and o.verdict != "hit"]
    called_healthy = [o.name for o in outcomes if o.accepted and any(
        not any(i.endswith((":error", ":warning")) for i in ids) for ids in o.found.values())]
    summary = table(outcomes)
    assert not called_healthy, f"broken machines the doctor called healthy: {called_healthy}\n{summary}"
    assert not healthy_errors, f"healthy reports with an error on some triage OS: {healthy_errors}\n{summary}"
    assert not wrong, "wrong fix lines:\n" + "\n".join(wrong) + "\n" + summary
    assert hit_rate(outcomes) >= HIT_RATE, summary


# --- the scorer itself -----------------------------------------------------------------------

def _facts(base: str, **patch: object) -> object:
    from coursekit.doctor.facts import Facts, from_data

    return from_data(Facts, build_facts({"base": base, "patch": patch}))


def _f(fix: str, fid: str = "x") -> Finding:
    return Finding(fid, "error", "torch", "t", "d", fix)


def _gpu(name: str, cc: str | None, driver: str | None) -> dict[str, object]:
    return {"gpus": [{"vendor": "nvidia", "name": name, "driver_version": driver,
                      "compute_capability": cc, "index": 0}]}


def test_wrong_fix_lines_catch_other_os_syntax() -> None:
    win = _facts("windows-nvidia")
    assert wrong_fix_lines(win, [_f("python -m pip install ipykernel && python -m ipykernel install")])
    assert wrong_fix_lines(win, [_f("echo 'export LD_LIBRARY_PATH=/usr/lib/wsl/lib' >> ~/.bashrc")])
    assert wrong_fix_lines(win, [_f("sudo apt install nvidia-driver-580")])
    assert not wrong_fix_lines(win, [_f('& "C:\\Users\\a b\\python.exe" -m pip install numpy')])
    lin = _facts("linux-nvidia")
    assert wrong_fix_lines(lin, [_f("C:\\Users\\student\\python.exe -m pip install numpy")])
    assert not wrong_fix_lines(lin, [_f("python -m pip install ipykernel && python -m ipykernel install")])
    both = "unset CUDA_VISIBLE_DEVICES  (PowerShell: Remove-Item Env:CUDA_VISIBLE_DEVICES)"
    assert not wrong_fix_lines(lin, [_f(both)]) and not wrong_fix_lines(win, [_f(both)])
    assert wrong_fix_lines(lin, [_f("Remove-Item Env:CUDA_VISIBLE_DEVICES")])
    assert wrong_fix_lines(win, [_f("Install the NVIDIA driver (Ubuntu: `sudo ubuntu-drivers install`)")])
    mac = _facts("macos-arm64")
    assert wrong_fix_lines(mac, [_f("Install the NVIDIA driver, then reboot")])


def test_wrong_fix_lines_check_the_backend_against_gpu_and_driver() -> None:
    mac = _facts("macos-arm64")
    assert wrong_fix_lines(mac, [_f("coursekit setup --backend cu130")])
    assert not wrong_fix_lines(mac, [_f("coursekit setup --backend pypi  (installs torch 2.14.0)")])
    old_driver = _facts("linux-nvidia", gpu=_gpu("NVIDIA GeForce RTX 3060", "8.6", "470.86"))
    assert wrong_fix_lines(old_driver, [_f("coursekit setup --backend cu130  (installs torch 2.14.0+cu130)")])
    assert wrong_fix_lines(old_driver, [_f("Install NVIDIA driver >= 580, or run `coursekit setup "
                                           "--backend cu130` (torch 2.14.0+cu130 runs on this driver)")])
    assert not wrong_fix_lines(old_driver, [_f("Install NVIDIA driver >= 580 (https://www.nvidia.com/drivers)")])
    blackwell = _facts("linux-nvidia", gpu=_gpu("NVIDIA GeForce RTX 5090", "12.0", "580.95.05"))
    assert wrong_fix_lines(blackwell, [_f("coursekit setup --backend cu126  (torch 2.14.0+cu126 has kernels)")])
    assert not wrong_fix_lines(blackwell, [_f("coursekit setup --backend cu130  (torch 2.14.0+cu130 has kernels)")])
    kepler = _facts("linux-nvidia", gpu=_gpu("NVIDIA GeForce GTX 770", "3.0", "470.256.02"))
    assert wrong_fix_lines(kepler, [_f("coursekit setup --backend cu130  (has kernels for it)")])
    assert not wrong_fix_lines(kepler, [_f("coursekit setup --backend cpu  (no CUDA build supports sm_30)")])
    url = "--index-url https://download.pytorch.org/whl/cu126 torch"
    assert wrong_fix_lines(blackwell, [_f(url)])


def test_verdicts_hit_partial_miss(tmp_path: Path) -> None:
    from tests.doctor.realcorpus import build_report

    def verdict(accepted: list[str], category: str = "cpu-build") -> str:
        corpus = {"source": "https://example.org", "title": "t", "category": category,
                  "root_cause": "r", "stated": "s", "accepted": accepted, "base": "linux-nvidia",
                  "python": "3.11.9", "torch": "2.14.0+cpu", "patch": {}}
        path = tmp_path / "r.json"
        path.write_text(json.dumps(build_report(corpus)), encoding="utf-8")
        return score(path).verdict

    # A CPU build on an RTX 3060 (error) in an env with Python 3.11 (warning).
    assert verdict(["cpu-torch-on-gpu"]) == "hit"
    assert verdict(["env-python-version"]) == "partial"
    assert verdict(["driver-too-old"]) == "miss"
    assert verdict(["an-id-nobody-has", "cpu-torch-on-gpu"]) == "hit"
    assert verdict([], category="healthy") == "miss"  # an error on a 'healthy' report


def test_triaged_on_windows_swaps_the_path_rules_and_restores_them() -> None:
    before = os.path
    with triaged_on("windows"):
        assert os.path is ntpath and os.path.normcase("C:\\A") == "c:\\a"
    assert os.path is before
    with triaged_on("posix"):
        assert os.path is before


def test_merge_patches_named_lists_by_name() -> None:
    from tests.doctor.realcorpus import merge

    base = {"items": [{"name": "torch", "version": "1"}, {"name": "numpy", "version": "2"}]}
    out = merge(base, {"items": {"torch": {"version": "3"}, "numpy": None, "new": {"version": "4"}}})
    assert out == {"items": [{"name": "torch", "version": "3"}, {"name": "new", "version": "4"}]}
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"$replace": True, "b": 5}}) == {"a": {"b": 5}}
    assert json.dumps(base)  # the base is not modified
    assert base["items"][1]["name"] == "numpy"
