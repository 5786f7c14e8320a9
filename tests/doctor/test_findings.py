"""One test per catalogue finding: it fires on its fixture and stays silent on healthy machines."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coursekit.doctor.catalogue import BY_ID, CATALOGUE, CATEGORIES, SEVERITIES
from coursekit.doctor.diagnose import diagnose, summarize
from tests.doctor.fixtures import DATA, HEALTHY, finding_facts, healthy

IDS = [e.id for e in CATALOGUE]
# Said plainly on a machine without a GPU: the healthy CPU laptop itself.
EXPECTED_ON_HEALTHY = {"cpu_linux": {"no-gpu"}}


def test_every_finding_has_a_fixture_and_no_fixture_is_orphaned() -> None:
    files = {p.stem for p in (DATA / "findings").glob("*.json")}
    assert files == set(IDS)


def test_catalogue_is_well_formed() -> None:
    assert len(IDS) == len(set(IDS))
    for e in CATALOGUE:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", e.id)
        assert e.category in CATEGORIES and e.severity in SEVERITIES and e.summary
        assert all(u in BY_ID for u in e.unless)


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_machines_have_no_issue(name: str) -> None:
    found = diagnose(healthy(name))
    assert {f.id for f in found} == EXPECTED_ON_HEALTHY.get(name, set())
    assert summarize(found).status == "ok"


@pytest.mark.parametrize("finding_id", IDS)
def test_finding_fires_on_its_fixture_only(finding_id: str) -> None:
    found = diagnose(finding_facts(finding_id))
    hits = [f for f in found if f.id == finding_id]
    assert hits, f"{finding_id} did not fire; got {[f.id for f in found]}"
    for f in hits:
        assert f.title and f.detail
        assert f.severity in SEVERITIES
        if f.severity != "info":
            assert f.fix, f"{finding_id} has no fix line"
    for name in HEALTHY:
        if finding_id not in EXPECTED_ON_HEALTHY.get(name, set()):
            assert finding_id not in {f.id for f in diagnose(healthy(name))}


def test_fix_lines_name_the_selectors_backend() -> None:
    # RTX 5090 (sm_120) with a cu126 build: the planner's matrix says cu130 has its kernels.
    found = {f.id: f for f in diagnose(finding_facts("gpu-arch-unsupported"))}
    fix = found["gpu-arch-unsupported"].fix or ""
    assert "coursekit setup --backend cu130" in fix
    assert "sm_120" in found["gpu-arch-unsupported"].title


def test_driver_too_old_names_the_minimum_and_the_backend_for_this_driver() -> None:
    found = {f.id: f for f in diagnose(finding_facts("driver-too-old"))}
    f = found["driver-too-old"]
    assert ">= 580" in f.fix and "found version 11040" in f.detail


def test_specific_findings_silence_generic_ones() -> None:
    ids = {f.id for f in diagnose(finding_facts("driver-too-old"))}
    assert "cuda-unavailable" not in ids
    ids = {f.id for f in diagnose(finding_facts("gpu-arch-unsupported"))}
    assert "cuda-op-failed" not in ids


def test_broken_driver_is_only_a_warning_for_a_cpu_build() -> None:
    from coursekit.doctor.facts import Facts, from_data
    from tests.doctor.fixtures import finding_data, merge

    data = merge(finding_data("driver-not-loaded"), {"probe": {"data": {"torch": {"cuda": None}}}})
    found = {f.id: f for f in diagnose(from_data(Facts, data))}
    assert found["driver-not-loaded"].severity == "warning"


def test_fixture_texts_are_used(tmp_path: Path) -> None:
    facts = finding_facts("windows-dll-error")
    assert "fbgemm.dll" in facts.probe.data["torch"]["error"]["message"]  # type: ignore[union-attr]


def test_readme_documents_every_finding_id(repo_root: Path) -> None:
    readme = (repo_root / "docs" / "doctor.md").read_text(encoding="utf-8")
    start, end = readme.index("<!-- section:doctor -->"), readme.index("<!-- /section:doctor -->")
    section = readme[start:end]
    missing = [e.id for e in CATALOGUE if f"| `{e.id}` | {e.severity} | {e.category} |" not in section]
    assert not missing, f"README's doctor section lacks: {missing}"


def test_pascal_on_a_cu128_build_is_caught_although_cuda_is_available() -> None:
    # GTX 1080 Ti (sm_61) with 2.11.0+cu128 (sm_75 ... sm_120): is_available() says True,
    # every kernel launch fails (astral-sh/uv#14742, envs/SOURCES.md W10).
    from coursekit.doctor.facts import Facts, from_data
    from tests.doctor.fixtures import healthy_data, merge

    gpu = {"vendor": "nvidia", "name": "NVIDIA GeForce GTX 1080 Ti", "driver_version": "580.95.05",
           "compute_capability": "6.1", "gfx": None, "memory_mib": 11264, "index": 0}
    data = merge(healthy_data("gpu_linux"), {"gpu": {"gpus": [gpu]}, "probe": {"data": {"torch": {
        "version": "2.11.0+cu128", "cuda": "12.8", "cuda_available": True,
        "arch_list": ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"],
        "devices": [{"index": 0, "name": "NVIDIA GeForce GTX 1080 Ti", "capability": "6.1"}],
        "cuda_op": {"ok": True, "error": None}}}}})
    found = {f.id: f for f in diagnose(from_data(Facts, data))}
    assert "GTX 1080 Ti (sm_61)" in found["gpu-arch-unsupported"].title
    assert "--backend cu126" in (found["gpu-arch-unsupported"].fix or "")


def test_same_major_cubins_and_ptx_cover_newer_gpus() -> None:
    from coursekit.doctor.advice import covers

    assert covers(["sm_80", "sm_86"], "8.9")  # Ada runs sm_86 cubins
    assert not covers(["sm_75", "sm_80"], "6.1")
    assert covers(["sm_90", "compute_90"], "12.0")  # PTX JIT
    assert not covers(["sm_90a"], "9.1") and covers(["sm_90a"], "9.0")


def test_amd_gpu_with_a_cpu_build_points_at_rocm() -> None:
    from coursekit.doctor.facts import Facts, from_data
    from tests.doctor.fixtures import healthy_data, merge

    amd = {"vendor": "amd", "name": "gfx1100", "driver_version": None, "compute_capability": None,
           "gfx": "gfx1100", "memory_mib": None, "index": 0}
    data = merge(healthy_data("cpu_linux"), {"gpu": {"gpus": [amd], "notes": []}})
    found = {f.id: f for f in diagnose(from_data(Facts, data))}
    assert "--backend rocm" in (found["cpu-torch-on-gpu"].fix or "")
    assert "no-gpu" not in found


def test_kernel_fix_installs_ipykernel_first_when_the_env_lacks_it() -> None:
    from coursekit.doctor.facts import Facts, from_data
    from tests.doctor.fixtures import finding_data

    data = finding_data("kernel-missing")
    items = data["probe"]["data"]["distributions"]["items"]
    data["probe"]["data"]["distributions"]["items"] = [d for d in items if d["name"] != "ipykernel"]
    found = {f.id: f for f in diagnose(from_data(Facts, data))}
    assert (found["kernel-missing"].fix or "").endswith('-m pip install ipykernel && '
        '/home/student/miniforge3/envs/pt/bin/python -m ipykernel install --user --name pt '
        '--display-name "Python (pt)"')
    assert found["kernel-missing"].fix_action is None


@pytest.mark.parametrize(("value", "hidden"), [("", True), ("-1", True), ("1", True), ("0", False),
                                               ("0,1", False), ("GPU-8f3c", False), ("x,0", True)])
def test_cuda_visible_devices_values(value: str, hidden: bool) -> None:
    from coursekit.doctor.rules_torch import _hides

    assert _hides(value, 1) is hidden


def test_disk_thresholds_depend_on_whether_torch_is_installed() -> None:
    from coursekit.doctor.facts import Facts, from_data
    from tests.doctor.fixtures import healthy_data, merge

    disks = [{"label": "course env", "path": "/home/s", "free_mib": 5000, "total_mib": 250000}]
    installed = merge(healthy_data("gpu_linux"), {"disks": disks})
    assert "disk-low" not in {f.id for f in diagnose(from_data(Facts, installed))}
    before = merge(installed, {"probe": {"data": {"torch": {"status": "missing"}}}})
    found = {f.id: f for f in diagnose(from_data(Facts, before))}
    assert found["disk-low"].severity == "warning"


def test_a_gpu_hidden_on_purpose_is_not_an_arch_error() -> None:
    # The planner's advice for mixed GPUs: hide the one no build serves (CUDA_VISIBLE_DEVICES=0).
    from coursekit.doctor.facts import Facts, from_data
    from tests.doctor.fixtures import healthy_data, merge

    base = healthy_data("gpu_linux")
    old = {"vendor": "nvidia", "name": "NVIDIA GeForce GTX 780", "driver_version": "580.95.05",
           "compute_capability": "3.5", "gfx": None, "memory_mib": 3072, "index": 1}
    gpus = [*base["gpu"]["gpus"], old]
    hidden = merge(base, {"gpu": {"gpus": gpus}, "platform": {"cuda_visible_devices": "0"},
                          "probe": {"data": {"env": {"CUDA_VISIBLE_DEVICES": "0"}}}})
    assert "gpu-arch-unsupported" not in {f.id for f in diagnose(from_data(Facts, hidden))}
    shown = merge(base, {"gpu": {"gpus": gpus}})
    assert "gpu-arch-unsupported" in {f.id for f in diagnose(from_data(Facts, shown))}


def test_readme_findings_table_is_generated_from_the_catalogue(repo_root: Path) -> None:
    """README's table is `coursekit doctor --list --markdown`'s output, never kept by hand."""
    from tests.helpers import run_cli

    readme = (repo_root / "docs" / "doctor.md").read_text(encoding="utf-8")
    start = readme.index("-->\n", readme.index("<!-- findings table:")) + len("-->\n")
    end = readme.index("<!-- /findings table -->")
    result = run_cli(["doctor", "--list", "--markdown"])
    assert result.code == 0
    assert readme[start:end] == result.stdout, (
        "README's findings table is stale: paste `coursekit doctor --list --markdown` into it")
    assert run_cli(["doctor", "--markdown"]).code == 2  # --markdown goes with --list


def test_every_rule_belongs_to_exactly_one_category_unit() -> None:
    """A category is one unit (title, status, details, checks, rules); diagnose runs them all."""
    from coursekit.doctor.categories import UNITS
    from coursekit.doctor.diagnose import RULES

    owned = [rule for unit in UNITS for rule in unit.rules]
    assert sorted(map(id, owned)) == sorted(map(id, RULES)) and len(owned) == len(set(owned))
    assert [u.id for u in UNITS] == list(CATEGORIES)
    assert [u.title for u in UNITS] == list(CATEGORIES.values())


def test_a_rules_findings_are_in_the_category_it_is_listed_under() -> None:
    """Each rules module's ``BY_CATEGORY`` is the only list of its rules (issue 16); the units
    and the run order are derived from it, so the grouping must be true: run every rule alone
    on every finding's fixture and on the healthy machines, with the course's planner.
    ``check_failed`` reports a failed check under that check's own category."""
    from coursekit.doctor import (
        rules_env,
        rules_install,
        rules_packages,
        rules_release,
        rules_torch,
    )
    from coursekit.doctor.advice import course_planner
    from coursekit.doctor.view import View

    planner = course_planner()
    # (rule-failed's fixture makes a rule crash on purpose: the engine reports that itself)
    cases = [finding_facts(i) for i in IDS if i != "rule-failed"] + [healthy(n) for n in HEALTHY]
    seen: set[str] = set()
    for module in (rules_env, rules_install, rules_packages, rules_torch, rules_release):
        for category, rules in module.BY_CATEGORY.items():
            for rule in rules:
                for facts in cases:
                    for f in rule(View(facts, planner)):
                        seen.add(f.id)
                        if rule is not rules_env.check_failed:
                            assert f.category == category, (rule.__name__, f.id, f.category)
    assert seen >= set(IDS) - {"rule-failed"}  # every finding was made by some listed rule


def test_the_markdown_table_is_never_wrapped() -> None:
    from tests.helpers import run_cli

    # Text output wraps to the width (COLUMNS); a markdown table row must stay one line.
    result = run_cli(["doctor", "--list", "--markdown"], env={"COLUMNS": "40"})
    assert result.code == 0
    assert all(line.startswith("|") and line.endswith("|") for line in result.stdout.splitlines())


def test_glibc_too_old_names_the_baseline_and_pip_s_answer() -> None:
    found = {f.id: f for f in diagnose(finding_facts("glibc-too-old"))}
    f = found["glibc-too-old"]
    assert "glibc 2.27" in f.detail and ">= 2.28" in f.detail and "No matching distribution" in f.detail
    assert "torch-missing" not in found  # the C library explains the missing torch
    assert diagnose(finding_facts("glibc-too-old"))[0].id == "glibc-too-old"


def _driver_case(driver: str, *, os_name: str = "linux", wsl: bool = False) -> dict[str, object]:
    from coursekit.doctor.facts import Facts, from_data
    from tests.doctor.fixtures import healthy_data, merge

    gpu = dict(healthy_data("gpu_linux")["gpu"]["gpus"][0], driver_version=driver)
    data = merge(healthy_data("gpu_linux"), {
        "platform": {"os": os_name, "wsl": wsl}, "gpu": {"gpus": [gpu], "cuda_driver_api": "12.6"},
        "probe": {"data": {"torch": {"version": "2.13.0+cu126", "cuda": "12.6"}}}})
    return {f.id: f for f in diagnose(from_data(Facts, data))}


def test_driver_too_old_uses_the_windows_table_on_windows_and_wsl() -> None:
    # CUDA 12.6 needs 525.60.13 on Linux but 528.33 on Windows, whose driver WSL runs
    # (NVIDIA release notes Table 2; envs/SOURCES.md W10): 527.41 is enough only on Linux.
    assert "driver-too-old" not in _driver_case("527.41")
    for case in (_driver_case("527.41", wsl=True), _driver_case("527.41", os_name="windows")):
        f = case["driver-too-old"]
        assert f.fix.startswith("Install NVIDIA driver >= 528.33")  # type: ignore[attr-defined]
        assert "needs driver >= 528.33; this machine has 527.41" in f.detail  # type: ignore[attr-defined]
    assert "driver-too-old" not in _driver_case("528.33", wsl=True)  # exactly at the minimum
    low = _driver_case("525.60.12")["driver-too-old"]
    assert ">= 525.60.13" in low.fix  # type: ignore[attr-defined]
    assert "driver-too-old" not in _driver_case("525.60.13")
