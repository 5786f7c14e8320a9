"""rules_env's decisions pinned at their edges (issue 18: what its mutation run left unpinned).

Each test builds facts from a healthy fixture with a small patch and asserts the verdict that
diagnose() gives (finding or none, severity, the fix command), not how the rule computes it.
"""

from __future__ import annotations

from typing import Any

import pytest

from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.view import Finding
from tests.doctor.fixtures import healthy_data, merge

GIB = 1024

STUDENT_HOME = "/home/student"  # a student's home in report data
S_HOME = "/home/s"


def found(
    base: str, patch: dict[str, Any] | None = None, **replace: Any
) -> dict[str, list[Finding]]:
    """Findings by id (a list: some rules fire more than once) for a patched healthy fixture;
    ``replace`` sets top-level keys outright (lists are not merged)."""
    data = merge(healthy_data(base), patch or {})
    data.update(replace)
    out: dict[str, list[Finding]] = {}
    for f in diagnose(from_data(Facts, data)):
        out.setdefault(f.id, []).append(f)
    return out


def no_torch() -> dict[str, Any]:
    """The probe ran, torch is not installed (setup has not installed it yet)."""
    return {"probe": {"data": {"torch": {"status": "missing", "version": None, "error": None}}}}


def disk(free: int, label: str = "course env", total: int = 500_000) -> dict[str, Any]:
    return {
        "label": label,
        "path": "/home/student/miniforge3/envs/pt",
        "free_mib": free,
        "total_mib": total,
    }


# --- disk-low: warn and error thresholds, before and after torch is installed -------------------


@pytest.mark.parametrize(
    ("free", "severity"),
    [(2 * GIB, None), (2 * GIB - 1, "warning"), (GIB // 2, "warning"), (GIB // 2 - 1, "error")],
)
def test_disk_thresholds_once_torch_is_installed(free: int, severity: str | None) -> None:
    hits = found("cpu_linux", disks=[disk(free)]).get("disk-low", [])
    assert [f.severity for f in hits] == ([severity] if severity else [])
    if severity:
        assert "free at least 2 GB" in (hits[0].fix or "")
        assert f"{free} MiB free of 500000 MiB" in hits[0].detail


CPU_NEED, GPU_NEED = int(4e9 / 2**20), int(10e9 / 2**20)  # ENV_DISK_GB in MiB: 3814, 9536


@pytest.mark.parametrize(
    ("base", "free", "severity"),
    [
        ("cpu_linux", CPU_NEED, None),
        ("cpu_linux", CPU_NEED - 1, "warning"),
        ("cpu_linux", 3 * GIB, "warning"),
        ("cpu_linux", 3 * GIB - 1, "error"),
        ("gpu_linux", GPU_NEED, None),
        ("gpu_linux", GPU_NEED - 1, "warning"),
    ],
)
def test_disk_thresholds_before_torch_is_installed(
    base: str, free: int, severity: str | None
) -> None:
    # What a fresh env needs: 4 GB for a CPU machine, 10 GB with an NVIDIA GPU (a CUDA build).
    hits = found(base, no_torch(), disks=[disk(free)]).get("disk-low", [])
    assert [f.severity for f in hits] == ([severity] if severity else [])
    if severity:
        need = 4 if base == "cpu_linux" else 10
        assert f"free at least {need} GB there" in (hits[0].fix or "")


def test_disk_fix_depends_on_what_the_folder_is() -> None:
    hits = found(
        "cpu_linux",
        disks=[disk(100, "pip cache"), disk(101, "temp folder", 7), disk(102, "course env", 9)],
    )["disk-low"]
    fixes = {f.title.split(" for the ")[1]: f.fix or "" for f in hits}
    assert "pip cache purge" in fixes["pip cache"]
    assert "TMPDIR=" in fixes["temp folder"] and "2 GB" not in fixes["temp folder"]
    assert "free at least 2 GB" in fixes["course env"]


def test_the_same_filesystem_is_reported_once() -> None:
    same = [disk(100, "course env"), disk(100, "pip cache"), disk(100, "temp folder", 9)]
    assert (
        len(found("cpu_linux", disks=same)["disk-low"]) == 2
    )  # (100, 500000) twice, (100, 9) once


def test_pip_out_of_space_is_an_error_only_without_a_low_disk() -> None:
    log = (
        "Collecting torch\nERROR: Could not install packages due to an OSError: "
        "[Errno 28] No space left on device\n"
    )
    hits = found("cpu_linux", pip_log={"path": "/tmp/pip.log", "tail": log})["disk-low"]
    assert len(hits) == 1 and hits[0].severity == "error"
    assert hits[0].detail.startswith("ERROR: Could not install packages") and "TMPDIR" in (
        hits[0].fix or ""
    )
    both = found("cpu_linux", pip_log={"path": "/tmp/pip.log", "tail": log}, disks=[disk(100)])[
        "disk-low"
    ]
    assert len(both) == 1 and "MiB free" in both[0].detail
    quiet = found(
        "cpu_linux", pip_log={"path": "/tmp/pip.log", "tail": "Successfully installed torch\n"}
    )
    assert "disk-low" not in quiet


# --- ram-low ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "fires"), [(6 * GIB, False), (6 * GIB - 1, True)])
def test_ram_threshold(total: int, fires: bool) -> None:
    hits = found("cpu_linux", {"memory": {"total_mib": total, "available_mib": 1000}}).get(
        "ram-low", []
    )
    assert bool(hits) is fires
    if fires:
        assert f"{total} MiB total, 1000 MiB available" in hits[0].detail


# --- env-python-version: advice while torch serves that Python, a warning when it does not -----


def _py(version: str, explicit: bool = False) -> dict[str, Any]:
    return {
        "env": {"python_version": version, "explicit": explicit},
        "probe": {"data": {"python": {"version": version}}},
    }


def test_env_python_version_served_is_info_unserved_is_a_warning() -> None:
    from coursekit.doctor.advice import course_planner

    wanted = course_planner().course_python
    assert "env-python-version" not in found("cpu_linux", _py(f"{wanted}.3"))
    served = found("cpu_linux", _py("3.11.9"))["env-python-version"][0]
    assert served.severity == "info" and "this is advice" in served.detail
    assert served.fix and "coursekit setup --force" in served.fix
    unserved = found("cpu_linux", _py("3.9.18"))["env-python-version"][0]
    assert unserved.severity == "warning" and "publishes no wheel" in unserved.detail
    assert "env-python-version" not in found("cpu_linux", _py("3.9.18", explicit=True))


def test_course_torch_pythons_are_the_newest_lines() -> None:
    from coursekit.doctor.rules_env import course_torch_pythons
    from coursekit.setup.plan.matrix import load_matrix

    matrix = load_matrix()
    newest = matrix.newest
    assert course_torch_pythons(matrix) == tuple(
        tuple(map(int, p.split("."))) for p in newest.python
    )
    assert (3, 12) in course_torch_pythons(matrix)


# --- glibc-too-old: the oldest manylinux baseline any course torch needs, or musl ---------------


def _least_glibc() -> str:
    from packaging.version import Version

    from coursekit.setup.plan.matrix import load_matrix

    return min((r.glibc for r in load_matrix().releases if r.glibc), key=Version)


@pytest.mark.parametrize(
    ("glibc", "fires"),
    [("least", False), ("2.17", True), ("musl", True), ("2.99", False), ("unknown", False)],
)
def test_glibc_boundary(glibc: str, fires: bool) -> None:
    value = _least_glibc() if glibc == "least" else glibc
    hits = found("cpu_linux", {"platform": {"glibc": value}, **no_torch()}).get("glibc-too-old", [])
    assert bool(hits) is fires
    if glibc == "musl":
        assert "musl" in hits[0].detail
    elif fires:
        assert f"glibc >= {_least_glibc()}" in hits[0].detail
        assert f"manylinux_{_least_glibc().replace('.', '_')}" in hits[0].detail


def test_glibc_is_not_judged_when_torch_works_or_off_linux() -> None:
    assert "glibc-too-old" not in found("cpu_linux", {"platform": {"glibc": "2.17"}})
    assert "glibc-too-old" not in found(
        "windows_x86_64", {"platform": {"glibc": "2.17"}, **no_torch()}
    )


def test_glibc_says_why_pip_found_no_torch() -> None:
    log = "ERROR: No matching distribution found for torch==2.13.0\n"
    hit = found(
        "cpu_linux",
        {"platform": {"glibc": "2.17"}, **no_torch()},
        pip_log={"path": "/tmp/pip.log", "tail": log},
    )["glibc-too-old"][0]
    assert "that is why pip said" in hit.detail


# --- platform and Python shape ----------------------------------------------------------------


def test_platform_without_any_torch_wheel() -> None:
    arm = {"platform": {"arch": "arm64", "machine": "ARM64"}, **no_torch()}
    hit = found("windows_x86_64", arm)["platform-no-torch-wheel"][0]
    assert "not windows-arm64" in hit.detail and "linux-x86_64" in hit.detail
    assert "No PyTorch build for windows on ARM64" == hit.title
    assert "platform-no-torch-wheel" not in found("windows_x86_64", no_torch())
    assert "platform-no-torch-wheel" not in found(
        "macos_arm64", {"platform": {"arch": "x86_64"}, **no_torch()}
    )


def test_python_32bit_names_the_os_bits() -> None:
    hit = found(
        "windows_x86_64", {"probe": {"data": {"python": {"bits": 32}}}, "platform": {"bits": 64}}
    )["python-32bit"][0]
    assert "reports a 32-bit build on a 64-bit system" in hit.detail
    assert "python-32bit" not in found(
        "windows_x86_64", {"probe": {"data": {"python": {"bits": 64}}}}
    )


STORE = (
    r"C:\Users\s\AppData\Local\Microsoft\WindowsApps"
    r"\PythonSoftwareFoundation.Python.3.12_qbz5n2kfra8p0\python.exe"
)


@pytest.mark.parametrize("key", ["executable", "prefix", "user_site"])
def test_ms_store_python_is_found_in_any_of_its_paths(key: str) -> None:
    hit = found("windows_x86_64", {"probe": {"data": {"python": {key: STORE}}}})["python-ms-store"][
        0
    ]
    assert hit.detail.startswith(STORE) and hit.severity == "warning"


def test_ms_store_python_without_torch_is_an_error_and_needs_windows_and_the_store_folder() -> None:
    gone = {
        "probe": {
            "data": {
                "python": {"executable": STORE},
                "torch": {"status": "missing"},
                "distributions": {"items": []},
            }
        }
    }
    hit = found("windows_x86_64", gone)["python-ms-store"][0]
    assert hit.severity == "error" and "that is why torch is not installed" in hit.detail
    other = STORE.replace("WindowsApps", "Programs")
    assert "python-ms-store" not in found(
        "windows_x86_64", {"probe": {"data": {"python": {"executable": other}}}}
    )
    packages = STORE.replace("Microsoft\\WindowsApps", "Packages")
    assert "python-ms-store" in found(
        "windows_x86_64", {"probe": {"data": {"python": {"executable": packages}}}}
    )
    assert "python-ms-store" in found("windows_x86_64", {"env": {"python": STORE}})
    assert "python-ms-store" in found("windows_x86_64", {"env": {"prefix": STORE}})


def test_python_without_a_torch_wheel_names_the_span() -> None:
    from coursekit.doctor.planning import torch_pythons
    from coursekit.setup.plan.matrix import load_matrix

    pythons = torch_pythons(load_matrix())
    hit = found(
        "cpu_linux", merge({"probe": {"data": {"python": {"version": "3.8.10"}}}}, no_torch())
    )
    f = hit["python-no-torch-wheel"][0]
    assert f.title == "No PyTorch wheel exists for Python 3.8"
    lo, hi = pythons[0], pythons[-1]
    assert f"Python {lo[0]}.{lo[1]}-{hi[0]}.{hi[1]}" in f.detail
    assert "python-no-torch-wheel" not in found(
        "cpu_linux", {"probe": {"data": {"python": {"version": "3.8.10"}}}}
    )
    assert "python-no-torch-wheel" not in found(
        "cpu_linux", merge({"probe": {"data": {"python": {"version": "3.12.1"}}}}, no_torch())
    )


def test_rosetta_and_intel_macs() -> None:
    assert "macos-rosetta" in found(
        "macos_arm64", {"probe": {"data": {"python": {"machine": "x86_64"}}}}
    )
    assert "macos-rosetta" not in found(
        "macos_arm64", {"probe": {"data": {"python": {"machine": "arm64"}}}}
    )
    intel = {"platform": {"apple_silicon": False, "arch": "x86_64", "machine": "x86_64"}}
    assert found("macos_arm64", intel)["macos-intel"][0].severity == "warning"
    unknown = {"platform": {"apple_silicon": None}}
    assert "macos-intel" not in found("macos_arm64", unknown)
    missing = merge(
        intel, {"probe": {"data": {"torch": {"status": "missing"}, "distributions": {"items": []}}}}
    )
    hit = found("macos_arm64", missing)["macos-intel"][0]
    assert hit.severity == "error" and "that is why pip found no torch" in hit.detail


# --- the env and its Python ---------------------------------------------------------------------


def test_env_missing_lists_tools_and_problems_and_respects_explicit() -> None:
    gone = {"env": {"exists": False, "engine_problems": ["mamba: broken"]}}
    hit = found("cpu_linux", gone)["env-missing"][0]
    assert "looked through: conda (" in hit.detail and "; problems: mamba: broken" in hit.detail
    assert hit.fix == "coursekit setup"
    none = found("cpu_linux", {"env": {"exists": False, "engines": []}})["env-missing"][0]
    assert "no conda, mamba or micromamba found" in none.detail and "problems" not in none.detail
    assert "env-missing" not in found("cpu_linux", {"env": {"exists": False, "explicit": True}})


def test_env_python_broken_unconfirmed_and_probe_failures() -> None:
    hit = found("cpu_linux", {"env": {"confirmed": False, "problem": None}})["env-python-broken"][0]
    assert hit.detail == "it did not confirm its prefix"
    assert hit.fix == "Recreate the env: coursekit setup --force  (deletes and recreates the env)"
    crashed = {
        "probe": {"status": "crashed", "returncode": 139, "stderr": "a\nSegmentation fault\n"}
    }
    hit = found("cpu_linux", crashed)["env-python-broken"][0]
    assert hit.detail == "Segmentation fault" and "(crashed)" in hit.title
    silent = {"probe": {"status": "bad-output", "returncode": 2, "stderr": ""}}
    assert found("cpu_linux", silent)["env-python-broken"][0].detail == "exit code 2"
    assert "env-python-broken" in found("cpu_linux", {"probe": {"status": "not-found"}})
    assert "env-python-broken" not in found("cpu_linux", {"probe": {"status": "timeout"}})


def test_probe_timeout_names_the_limit() -> None:
    checks = [
        c if c["name"] != "probe" else dict(c, status="timeout", timeout_s=45.0)
        for c in healthy_data("cpu_linux")["checks"]
    ]
    hit = found("cpu_linux", {"probe": {"status": "timeout"}}, checks=checks)["probe-timeout"][0]
    assert "no answer within 45 s" in hit.detail
    assert "check-failed" not in found("cpu_linux", {"probe": {"status": "timeout"}}, checks=checks)
    assert "probe-timeout" in found("cpu_linux", {"probe": {"status": "timeout"}})


def test_check_failed_per_check_with_its_category() -> None:
    checks = [
        dict(c, status="crashed", error="boom\nline 2") if c["name"] == "gpu" else c
        for c in healthy_data("cpu_linux")["checks"]
    ]
    checks += [
        {"name": "disks", "status": "timeout", "duration_ms": 1, "error": None, "timeout_s": 7.5}
    ]
    hits = found("cpu_linux", checks=checks)["check-failed"]
    by_title = {f.title: f for f in hits}
    gpu = by_title["The gpu check itself failed (crashed)"]
    assert gpu.detail == "boom"
    from coursekit.doctor.catalogue import CHECK_CATEGORY

    assert gpu.category == CHECK_CATEGORY["gpu"]
    disks = by_title["The disks check itself failed (timed out after 7.5 s)"]
    assert disks.detail == "timed out after 7.5 s" and disks.category == CHECK_CATEGORY.get(
        "disks", "platform"
    )
    assert "check-failed" not in found("cpu_linux")


# --- pip configuration ------------------------------------------------------------------------


def test_pip_extra_index_from_files_and_environment() -> None:
    cfg = {
        "files": [f"{S_HOME}/.config/pip/pip.conf"],
        "env": {"PIP_EXTRA_INDEX_URL": "https://x.test/simple"},
        "settings": [
            {
                "file": f"{S_HOME}/.config/pip/pip.conf",
                "section": "global",
                "key": "extra-index-url",
                "value": "https://y.test/simple",
            },
            {
                "file": "/etc/pip.conf",
                "section": "global",
                "key": "index-url",
                "value": "https://z.test/simple",
            },
        ],
    }
    hit = found("cpu_linux", {"probe": {"data": {"pip_config": cfg}}})["pip-extra-index"][0]
    assert hit.detail == (
        f"{S_HOME}/.config/pip/pip.conf [global] extra-index-url = https://y.test/simple; "
        "PIP_EXTRA_INDEX_URL=https://x.test/simple"
    )
    assert hit.fix == (
        "unset PIP_EXTRA_INDEX_URL (and remove it from your shell profile); "
        "delete the extra-index-url line from /home/s/.config/pip/pip.conf"
    )
    only_index = dict(cfg, env={}, settings=cfg["settings"][1:])
    assert "pip-extra-index" not in found(
        "cpu_linux", {"probe": {"data": {"pip_config": only_index}}}
    )


# --- Jupyter kernels ---------------------------------------------------------------------------


def _kernel(name: str, **kw: Any) -> dict[str, Any]:
    base = {
        "name": name,
        "display_name": name,
        "directory": f"{STUDENT_HOME}/.local/share/jupyter/kernels/{name}",
        "argv0": "/home/student/miniforge3/envs/pt/bin/python",
        "argv0_exists": True,
        "same_env": True,
        "scope": "user",
    }
    return dict(base, **kw)


def test_kernel_missing_with_and_without_ipykernel() -> None:
    hit = found("cpu_linux", kernels=[_kernel("other")])["kernel-missing"][0]
    assert hit.fix_action == "register-kernel" and "kernels found: other" == hit.detail
    assert hit.fix == (
        "/home/student/miniforge3/envs/pt/bin/python -m ipykernel install --user --name pt "
        '--display-name "Python (pt)"'
    )
    items = [
        d
        for d in healthy_data("cpu_linux")["probe"]["data"]["distributions"]["items"]
        if d["name"] != "ipykernel"
    ]
    bare = found("cpu_linux", {"probe": {"data": {"distributions": {"items": items}}}}, kernels=[])
    hit = bare["kernel-missing"][0]
    assert hit.detail == "kernels found: none" and hit.fix_action is None
    assert "-m pip install ipykernel && " in (hit.fix or "")
    win = found(
        "windows_x86_64", {"probe": {"data": {"distributions": {"items": items}}}}, kernels=[]
    )
    assert "-m pip install ipykernel\n" in (win["kernel-missing"][0].fix or "")


def test_kernel_checks_are_skipped_without_a_listing_or_an_explicit_env() -> None:
    assert not {"kernel-missing", "kernel-broken"} & set(found("cpu_linux", kernels=None))
    assert "kernel-missing" not in found("cpu_linux", {"env": {"explicit": True}}, kernels=[])
    assert "kernel-missing" not in found("cpu_linux", {"env": {"exists": False}}, kernels=[])


def test_kernel_wrong_python_dead_or_other_env() -> None:
    dead = found("cpu_linux", kernels=[_kernel("pt", argv0_exists=False, argv0="/gone/python")])
    hit = dead["kernel-wrong-python"][0]
    assert (
        hit.detail.endswith("runs /gone/python, which does not exist")
        and hit.fix_action == "register-kernel"
    )
    assert hit.detail.startswith(f"{STUDENT_HOME}/.local/share/jupyter/kernels/pt/kernel.json")
    other = found("cpu_linux", kernels=[_kernel("pt", same_env=False, argv0="/usr/bin/python3")])
    assert "is not the env's Python" in other["kernel-wrong-python"][0].detail
    assert "kernel-wrong-python" not in found("cpu_linux", kernels=[_kernel("pt", same_env=None)])


@pytest.mark.parametrize(
    ("scope", "same", "exists", "fires"),
    [
        ("user", False, True, True),
        ("JUPYTER_PATH", False, True, True),
        ("system", False, True, False),
        ("user", None, True, False),
        ("user", True, True, False),
        ("user", False, False, False),
    ],
)
def test_kernel_shadowing(scope: str, same: bool | None, exists: bool, fires: bool) -> None:
    k = _kernel(
        "python3", scope=scope, same_env=same, argv0_exists=exists, argv0="/usr/bin/python3"
    )
    hits = found("cpu_linux", kernels=[_kernel("pt"), k])
    assert ("kernel-shadowing" in hits) is fires
    assert ("kernel-broken" in hits) is (not exists)


def test_kernel_broken_other_kernels_only() -> None:
    hits = found("cpu_linux", kernels=[_kernel("pt"), _kernel("old", argv0_exists=False, argv0="")])
    hit = hits["kernel-broken"][0]
    assert (
        hit.detail.endswith("runs (nothing)")
        and hit.fix
        and hit.fix.startswith("jupyter kernelspec remove old")
    )
    assert "The 'old' kernel's Python no longer exists" == hit.title


# --- issue 18, second pass: what the rules_env mutation run still left unpinned ----------------


def test_probe_timeout_from_the_check_alone_and_without_a_check_record() -> None:
    checks = [
        c if c["name"] != "probe" else dict(c, status="timeout", timeout_s=45.0)
        for c in healthy_data("cpu_linux")["checks"]
    ]
    assert "no answer within 45 s" in found("cpu_linux", checks=checks)["probe-timeout"][0].detail
    bare = [c for c in healthy_data("cpu_linux")["checks"] if c["name"] != "probe"]
    hit = found("cpu_linux", {"probe": {"status": "timeout"}}, checks=bare)["probe-timeout"][0]
    assert hit.detail.startswith("no answer within the time limit from ")


def test_a_probe_timeout_does_not_hide_the_checks_after_it() -> None:
    checks = [
        dict(c, status="timeout", timeout_s=45.0) if c["name"] == "probe" else c
        for c in healthy_data("cpu_linux")["checks"]
    ]
    checks = [c for c in checks if c["name"] == "probe"] + [
        {"name": "kernels", "status": "crashed", "duration_ms": 1, "error": "", "timeout_s": 5.0}
    ]
    hits = found("cpu_linux", checks=checks)["check-failed"]
    assert [f.title for f in hits] == ["The kernels check itself failed (crashed)"]
    assert hits[0].detail == "crashed"


def test_env_python_broken_needs_an_existing_env_and_takes_the_last_line() -> None:
    gone = found("cpu_linux", {"env": {"exists": False, "confirmed": False}})
    assert "env-python-broken" not in gone and "env-missing" in gone
    three = {"probe": {"status": "crashed", "returncode": 1, "stderr": "one\ntwo\nthree\n"}}
    hit = found("cpu_linux", three)["env-python-broken"][0]
    assert hit.detail == "three"
    assert hit.fix == "Recreate the env: coursekit setup --force  (deletes and recreates the env)"


def test_env_python_version_prefers_what_the_probe_saw() -> None:
    both = {
        "env": {"python_version": "3.12.11"},
        "probe": {"data": {"python": {"version": "3.11.9"}}},
    }
    assert "Python 3.11.9" in found("cpu_linux", both)["env-python-version"][0].title
    env_only = {
        "env": {"python_version": "3.11.9"},
        "probe": {"data": {"python": {"version": None}}},
    }
    assert "Python 3.11.9" in found("cpu_linux", env_only)["env-python-version"][0].title


def test_course_torch_pythons_without_a_matrix() -> None:
    from types import SimpleNamespace

    from coursekit.doctor.rules_env import course_torch_pythons

    assert course_torch_pythons(None) == ()
    assert course_torch_pythons(SimpleNamespace(releases=[])) == ()


@pytest.mark.parametrize(
    ("env", "fix"),
    [
        (
            {"engine": "embedded", "prefix": "/home/s/ck/envs/pt"},
            "delete /home/s/ck/envs/pt, then run `coursekit setup`",
        ),
        (
            {"engine": "embedded", "prefix": None},
            "delete the env folder, then run `coursekit setup`",
        ),
        ({"engine": "mamba"}, "`mamba env remove -n pt -y`, then `coursekit setup`"),
        ({"engine": None}, "`conda env remove -n pt -y`, then `coursekit setup`"),
        (None, "`conda env remove -n pt -y`, then `coursekit setup`"),
    ],
)
def test_remove_and_setup_uses_the_tool_that_made_the_env(
    env: dict[str, Any] | None, fix: str
) -> None:
    from coursekit.doctor.view import View, remove_and_setup

    data = healthy_data("cpu_linux")
    data["env"] = None if env is None else merge(data["env"], env)
    assert remove_and_setup(View(from_data(Facts, data))) == fix


def _view(
    base: str, patch: dict[str, Any] | None = None, planner: Any = None, **replace: Any
) -> Any:
    """A View as diagnose() builds it: the course's planner unless another is given."""
    from coursekit.doctor.advice import course_planner
    from coursekit.doctor.view import View

    data = merge(healthy_data(base), patch or {})
    data.update(replace)
    return View(from_data(Facts, data), course_planner() if planner is None else planner)


def _planner_with(matrix: Any) -> Any:
    """The course's planner answering ``matrix`` (None: unreadable) as its matrix."""
    from coursekit.doctor.advice import course_planner

    real = course_planner()

    class Planner:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    fake = Planner()
    fake.matrix = matrix  # type: ignore[attr-defined]
    return fake


def test_platform_rule_needs_a_platform_a_matrix_and_a_broken_torch() -> None:
    from coursekit.doctor.rules_env import platform_no_torch_wheel

    arm = {"platform": {"arch": "arm64", "machine": "ARM64"}}
    assert platform_no_torch_wheel(_view("windows_x86_64", arm)) == []  # torch works there
    assert platform_no_torch_wheel(_view("windows_x86_64", no_torch(), platform=None)) == []
    assert platform_no_torch_wheel(_view("windows_x86_64", merge(arm, no_torch()))) != []
    unread = _planner_with(None)
    assert platform_no_torch_wheel(_view("windows_x86_64", merge(arm, no_torch()), unread)) == []


def test_glibc_needs_a_known_glibc_and_a_matrix() -> None:
    from coursekit.doctor.rules_env import glibc_too_old

    assert glibc_too_old(_view("cpu_linux", merge({"platform": {"glibc": None}}, no_torch()))) == []
    old = merge({"platform": {"glibc": "2.17"}}, no_torch())
    assert glibc_too_old(_view("cpu_linux", old)) != []
    assert glibc_too_old(_view("cpu_linux", old, _planner_with(None))) == []


def test_glibc_minimum_is_ordered_as_versions() -> None:
    # 2.9 < 2.28 as versions (as strings "2.28" < "2.9"): glibc 2.10 runs a 2.9 wheel.
    from types import SimpleNamespace

    from coursekit.doctor.rules_env import glibc_too_old

    fake = _planner_with(
        SimpleNamespace(releases=[SimpleNamespace(glibc="2.28"), SimpleNamespace(glibc="2.9")])
    )
    new = merge({"platform": {"glibc": "2.10"}}, no_torch())
    assert glibc_too_old(_view("cpu_linux", new, fake)) == []
    old = glibc_too_old(_view("cpu_linux", merge({"platform": {"glibc": "2.8"}}, no_torch()), fake))
    assert len(old) == 1 and "needs glibc >= 2.9" in old[0].detail


def test_musl_is_named_as_musl() -> None:
    hit = found("cpu_linux", merge({"platform": {"glibc": "musl"}}, no_torch()))["glibc-too-old"][0]
    assert "uses musl (Alpine); PyTorch publishes Linux wheels for glibc only" in hit.detail
    assert "has glibc" not in hit.detail


def test_ms_store_python_with_a_broken_but_installed_torch_is_a_warning() -> None:
    broken = {"probe": {"data": {"python": {"executable": STORE}, "torch": {"status": "failed"}}}}
    hit = found("windows_x86_64", broken)["python-ms-store"][0]
    assert hit.severity == "warning" and "that is why" not in hit.detail
    fine = found("windows_x86_64", {"probe": {"data": {"python": {"executable": STORE}}}})
    assert fine["python-ms-store"][0].detail.endswith("(pip fails with [Errno 2])")


def test_ms_store_python_without_an_env_record() -> None:
    from coursekit.doctor.rules_env import python_ms_store

    view = _view("windows_x86_64", {"probe": {"data": {"python": {"executable": STORE}}}}, env=None)
    assert [f.id for f in python_ms_store(view)] == ["python-ms-store"]


def test_python_32bit_with_and_without_the_os_bits() -> None:
    from coursekit.doctor.rules_env import python_32bit

    py32 = {"probe": {"data": {"python": {"bits": 32}}}}
    hit = found("windows_x86_64", py32)["python-32bit"][0]
    assert hit.fix and hit.fix.endswith("then run `coursekit setup`")
    bare = python_32bit(_view("windows_x86_64", py32, platform=None))
    assert len(bare) == 1 and bare[0].detail.endswith("reports a 32-bit build")


def test_python_without_a_torch_wheel_from_a_two_part_version() -> None:
    hit = found("cpu_linux", merge({"probe": {"data": {"python": {"version": "3.8"}}}}, no_torch()))
    assert hit["python-no-torch-wheel"][0].title == "No PyTorch wheel exists for Python 3.8"


def test_rosetta_needs_macos_on_apple_silicon() -> None:
    x86 = {"probe": {"data": {"python": {"machine": "x86_64"}}}}
    intel = merge(
        x86, {"platform": {"apple_silicon": False, "arch": "x86_64", "machine": "x86_64"}}
    )
    assert "macos-rosetta" not in found("macos_arm64", intel)
    asahi = merge(x86, {"platform": {"os": "linux", "apple_silicon": True}})
    assert "macos-rosetta" not in found("macos_arm64", asahi)


def test_intel_mac_only_on_macos_and_an_error_only_without_torch() -> None:
    intel = {"platform": {"apple_silicon": False, "arch": "x86_64", "machine": "x86_64"}}
    assert "macos-intel" not in found("cpu_linux", {"platform": {"apple_silicon": False}})
    broken = merge(intel, {"probe": {"data": {"torch": {"status": "failed"}}}})
    hit = found("macos_arm64", broken)["macos-intel"][0]
    assert hit.severity == "warning" and "that is why" not in hit.detail
    assert found("macos_arm64", intel)["macos-intel"][0].detail.endswith("arm64 only since 2.3")


@pytest.mark.parametrize(
    ("log", "line"),
    [
        ("Collecting torch\nOSError: [Errno 28]\n", "OSError: [Errno 28]"),
        (
            "a\ntar: write error: No space left on device\nb\n",
            "tar: write error: No space left on device",
        ),
        (
            "tar: No space left on device\nERROR: [Errno 28] No space left on device\n",
            "tar: No space left on device",
        ),
    ],
)
def test_pip_out_of_space_from_either_text(log: str, line: str) -> None:
    hit = found("cpu_linux", pip_log={"path": "/tmp/pip.log", "tail": log})["disk-low"][0]
    assert hit.detail == line and hit.title == "pip ran out of disk space while installing"


def test_pip_extra_index_from_the_environment_alone() -> None:
    from coursekit.doctor.rules_env import pip_extra_index

    view = _view("cpu_linux")
    view.data["pip_config"] = {"env": {"PIP_EXTRA_INDEX_URL": "https://x.test/simple"}}
    hit = pip_extra_index(view)
    assert [f.detail for f in hit] == ["PIP_EXTRA_INDEX_URL=https://x.test/simple"]
    assert hit[0].fix == "unset PIP_EXTRA_INDEX_URL (and remove it from your shell profile)"
    view = _view("cpu_linux")
    view.data["pip_config"] = None
    assert pip_extra_index(view) == []


def test_kernels_without_a_listing_give_nothing_and_the_bare_env_is_named() -> None:
    from coursekit.doctor.rules_env import kernels

    assert kernels(_view("cpu_linux", kernels=None)) == []
    items = [
        d
        for d in healthy_data("cpu_linux")["probe"]["data"]["distributions"]["items"]
        if d["name"] != "ipykernel"
    ]
    hit = kernels(
        _view("cpu_linux", {"probe": {"data": {"distributions": {"items": items}}}}, kernels=[])
    )
    assert hit[0].title == "No Jupyter kernel named 'pt', and the env has no ipykernel"


def test_env_missing_lists_every_tool() -> None:
    gone = {"env": {"exists": False, "engines": ["conda (/a/conda)", "mamba (/b/mamba)"]}}
    hit = found("cpu_linux", gone)["env-missing"][0]
    assert hit.detail == "looked through: conda (/a/conda), mamba (/b/mamba)"


def test_env_python_version_without_any_version() -> None:
    from coursekit.doctor.rules_env import env_python_version

    view = _view("cpu_linux", {"probe": {"data": {"python": {"version": None}}}}, env=None)
    assert env_python_version(view) == []
