"""rules_packages' decisions pinned at their edges (issue 18: what its mutation run left unpinned).

Facts are a healthy fixture with a small patch; the assertions are on diagnose()'s verdict
(which finding, its severity, its fix), not on how the rule computes it.
"""

from __future__ import annotations

from typing import Any

import pytest

from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.view import Finding
from tests.doctor.fixtures import healthy_data, merge

SITE = "/home/student/miniforge3/envs/pt/lib/python3.12/site-packages"

STUDENT_HOME = "/home/student"  # a student's home in report data


def dist(name: str, version: str, **kw: Any) -> dict[str, Any]:
    return dict(
        {
            "name": name,
            "version": version,
            "location": SITE,
            "installer": "pip",
            "requested": True,
            "direct_url": None,
            "mtime": 1795400000.0,
            "in_user_site": False,
        },
        **kw,
    )


def found(
    base: str | dict[str, Any] = "cpu_linux",
    patch: dict[str, Any] | None = None,
    *,
    items: list[dict[str, Any]] | None = None,
    drop: tuple[str, ...] = (),
    add: tuple[dict[str, Any], ...] = (),
    conda: tuple[dict[str, Any], ...] = (),
) -> dict[str, Finding]:
    if isinstance(base, dict):  # found(patch, ...) on the healthy CPU laptop
        base, patch = "cpu_linux", base
    data = merge(healthy_data(base), patch or {})
    pdata = data["probe"]["data"]
    if items is None:
        items = [d for d in pdata["distributions"]["items"] if d["name"] not in drop]
        replaced = {d["name"] for d in add}
        items = [d for d in items if d["name"] not in replaced] + list(add)
    pdata["distributions"]["items"] = items
    pdata["conda_meta"]["packages"] = pdata["conda_meta"]["packages"] + list(conda)
    return {f.id: f for f in diagnose(from_data(Facts, data))}


def conda_pkg(
    name: str, version: str = "2.5.1", build: str = "cpu_py312", channel: str | None = "conda-forge"
) -> dict[str, Any]:
    return {"name": name, "version": version, "build": build, "channel": channel}


# --- who owns torch ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["pytorch", "pytorch-cpu", "pytorch-gpu", "libtorch"])
def test_conda_torch_alone_or_beside_pip(name: str) -> None:
    conda_only = [
        d
        for d in healthy_data("cpu_linux")["probe"]["data"]["distributions"]["items"]
        if d["name"] != "torch"
    ] + [dist("torch", "2.5.1", installer="conda")]
    alone = found(items=conda_only, conda=(conda_pkg(name),))
    assert "torch-from-conda" in alone and "torch-conda-and-pip" not in alone
    assert (
        f"conda-meta lists {name} 2.5.1 (conda-forge, build cpu_py312)"
        in alone["torch-from-conda"].detail
    )
    assert (
        alone["torch-from-conda"].fix
        == "Recreate the env: `conda env remove -n pt -y`, then `coursekit setup`"
    )
    both = found(conda=(conda_pkg(name),))
    hit = both["torch-conda-and-pip"]
    assert "pip installed torch 2.13.0+cpu" in hit.detail and "torch-from-conda" not in both


def test_conda_torch_without_a_channel_and_the_embedded_engine() -> None:
    hit = found({"env": {"engine": "embedded"}}, conda=(conda_pkg("pytorch", channel=None),))[
        "torch-conda-and-pip"
    ]
    assert "pytorch 2.5.1 (conda, build cpu_py312)" in hit.detail
    assert hit.fix and hit.fix.endswith(
        "delete /home/student/miniforge3/envs/pt, then run `coursekit setup`"
    )
    mamba = found({"env": {"engine": "mamba"}}, conda=(conda_pkg("pytorch"),))[
        "torch-conda-and-pip"
    ]
    assert "`mamba env remove -n pt -y`" in (mamba.fix or "")
    none = found({"env": {"engine": None}}, conda=(conda_pkg("pytorch"),))["torch-conda-and-pip"]
    assert "`conda env remove -n pt -y`" in (none.fix or "")


def test_other_conda_packages_are_not_torch() -> None:
    assert not {"torch-from-conda", "torch-conda-and-pip"} & set(
        found(conda=(conda_pkg("pytorch-lightning"),))
    )


# --- duplicates ----------------------------------------------------------------------------------


def test_two_copies_one_in_user_site() -> None:
    user = dist(
        "torch",
        "2.4.0",
        location=f"{STUDENT_HOME}/.local/lib/python3.12/site-packages",
        in_user_site=True,
    )
    hit = found(add=(dist("torch", "2.13.0+cpu"),), items=None)
    assert "torch-duplicate" not in hit
    items = healthy_data("cpu_linux")["probe"]["data"]["distributions"]["items"] + [user]
    hit2 = found(items=items)["torch-duplicate"]
    assert (
        "torch 2.4.0 in /home/student/.local/lib/python3.12/site-packages (user site)"
        in hit2.detail
    )
    assert (
        f"torch 2.13.0+cpu in {SITE};" in hit2.detail and f"{SITE} (user site)" not in hit2.detail
    )
    assert "pip uninstall -y torch torchvision torchaudio" in (hit2.fix or "")


def test_two_copies_outside_user_site_and_an_import_from_outside() -> None:
    other = dist("torch", "2.4.0", location="/opt/extra")
    items = healthy_data("cpu_linux")["probe"]["data"]["distributions"]["items"] + [other]
    hit = found(items=items)["torch-duplicate"]
    assert hit.fix and hit.fix.startswith("Remove the other folder from PYTHONPATH")
    outside = found({"probe": {"data": {"torch": {"file": "/opt/extra/torch/__init__.py"}}}})[
        "torch-duplicate"
    ]
    assert (
        "Python imports /opt/extra/torch/__init__.py, "
        "outside the env /home/student/miniforge3/envs/pt" in outside.detail
    )
    broken = {
        "probe": {"data": {"torch": {"file": "/opt/extra/torch/__init__.py", "status": "failed"}}}
    }
    assert "torch-duplicate" not in found(broken)


# --- torch from PyPI --------------------------------------------------------------------------


def _pypi(version: str = "2.13.0", **kw: Any) -> tuple[dict[str, Any], ...]:
    return (dist("torch", version, **kw),)


def test_untagged_torch_on_linux_and_windows_x86_64() -> None:
    hit = found(drop=("lightning",), add=_pypi())["torch-from-pypi"]
    assert hit.title == "torch 2.13.0 came from PyPI, not the PyTorch index"
    assert hit.fix_action == "reinstall-torch" and "installed together" not in hit.detail
    assert "torch-from-pypi" in found("windows_x86_64", add=_pypi())
    assert "torch-from-pypi" not in found(add=_pypi("2.13.0+cpu"))
    assert "torch-from-pypi" not in found("macos_arm64", add=_pypi())
    assert "torch-from-pypi" not in found(add=_pypi(installer="conda"))
    assert "torch-from-pypi" not in found({"platform": {"arch": "arm64"}}, add=_pypi())


def test_untagged_torch_beside_lightning_says_lightning_replaced_it() -> None:
    light = dist("lightning", "2.6.6", mtime=1795400000.0 + 599)
    hit = found(add=(*_pypi(), light))["torch-from-pypi"]
    assert "installed together with lightning 2.6.6" in hit.detail
    late = dist("lightning", "2.6.6", mtime=1795400000.0 + 600)
    assert "installed together" not in found(add=(*_pypi(), late))["torch-from-pypi"].detail
    early = dist("pytorch-lightning", "2.6.6", mtime=1795400000.0 - 599)
    assert (
        "together with pytorch-lightning 2.6.6"
        in found(drop=("lightning",), add=(*_pypi(), early))["torch-from-pypi"].detail
    )
    unknown = dist("lightning", "2.6.6", mtime=None)
    assert "installed together" not in found(add=(*_pypi(), unknown))["torch-from-pypi"].detail


def test_untagged_torch_beside_conda_torch_is_the_conda_finding() -> None:
    hits = found(add=_pypi(), conda=(conda_pkg("pytorch"),))
    assert "torch-from-pypi" not in hits and "torch-conda-and-pip" in hits


def test_pypi_cuda_wheel_that_ran_on_the_gpu_is_fine() -> None:
    gpu = healthy_data("gpu_linux")["probe"]["data"]["torch"]
    assert gpu["cuda_available"] and gpu["cuda_op"]["ok"]
    assert "torch-from-pypi" not in found("gpu_linux", add=_pypi())
    failed_op = {"probe": {"data": {"torch": {"cuda_op": {"ok": False, "error": "boom"}}}}}
    assert "torch-from-pypi" in found("gpu_linux", failed_op, add=_pypi())
    no_cuda = {"probe": {"data": {"torch": {"cuda_available": False}}}}
    assert "torch-from-pypi" in found("gpu_linux", no_cuda, add=_pypi())


# --- conda after pip --------------------------------------------------------------------------


@pytest.mark.parametrize(("after", "fires"), [(3600, False), (3601, True), (-10, False)])
def test_conda_after_pip_needs_an_hour(after: int, fires: bool) -> None:
    patch = {"probe": {"data": {"conda_meta": {"history_mtime": 1795400000.0 + after}}}}
    hits = found(patch)
    assert ("conda-after-pip" in hits) is fires
    if fires:
        assert hits["conda-after-pip"].fix == (
            "If anything breaks, recreate the env: "
            "`conda env remove -n pt -y`, then `coursekit setup`"
        )


def test_conda_after_pip_takes_the_newest_pip_torch() -> None:
    patch = {"probe": {"data": {"conda_meta": {"history_mtime": 1795400000.0 + 4000}}}}
    newer = dist(
        "torch",
        "2.4.0",
        location=f"{STUDENT_HOME}/.local/lib",
        in_user_site=True,
        mtime=1795400000.0 + 1000,
    )
    items = healthy_data("cpu_linux")["probe"]["data"]["distributions"]["items"] + [newer]
    assert "conda-after-pip" not in found(patch, items=items)
    assert "conda-after-pip" not in found(
        {"probe": {"data": {"conda_meta": {"history_mtime": None}}}}
    )


# --- companions -----------------------------------------------------------------------------


def test_companion_missing_names_each_missing_one() -> None:
    hit = found(drop=("torchaudio",))["companion-missing"]
    assert (
        hit.title == "torchaudio not installed beside torch 2.13.0+cpu"
        and hit.fix_action == "reinstall-torch"
    )
    both = found(drop=("torchaudio", "torchvision"))["companion-missing"]
    assert both.title.startswith("torchvision and torchaudio not installed")
    assert "but no torchvision, no torchaudio;" in both.detail
    assert "companion-missing" not in found(
        {"probe": {"data": {"torch": {"status": "failed"}}}}, drop=("torchaudio",)
    )


def test_companion_tag_and_import_and_operator_problems() -> None:
    tag = found(add=(dist("torchvision", "0.28.0+cu130"),))["torchvision-mismatch"]
    assert (
        "torchvision is +cu130 but torch is +cpu" in tag.detail
        and tag.fix_action == "reinstall-torch"
    )
    broken = {
        "probe": {
            "data": {
                "imports": {
                    "torchaudio": {
                        "ok": False,
                        "version": None,
                        "error": {"type": "OSError", "message": "libsox.so: nope"},
                    }
                }
            }
        }
    }
    assert (
        "import torchaudio fails: OSError: libsox.so: nope"
        in found(broken)["torchaudio-mismatch"].detail
    )
    gone = {
        "probe": {
            "data": {
                "imports": {
                    "torchaudio": {
                        "ok": False,
                        "version": None,
                        "error": {
                            "type": "ModuleNotFoundError",
                            "message": "No module named 'torchaudio'",
                        },
                    }
                }
            }
        }
    }
    assert "torchaudio-mismatch" not in found(gone)
    ops = {
        "probe": {
            "data": {
                "imports": {
                    "torchvision": {
                        "ok": True,
                        "version": "0.28.0+cpu",
                        "error": None,
                        "op_error": "Traceback\n"
                        "RuntimeError: operator torchvision::nms does not exist\n",
                    }
                }
            }
        }
    }
    hit = found(ops)["torchvision-mismatch"]
    assert (
        hit.detail == "torchvision's operators do not load: "
        "RuntimeError: operator torchvision::nms does not exist"
    )
    dead_torch = merge(ops, {"probe": {"data": {"torch": {"status": "failed"}}}})
    assert "torchvision-mismatch" not in found(dead_torch)


def test_companion_for_another_torch_line() -> None:
    hit = found(add=(dist("torchvision", "0.20.0+cpu"),))["torchvision-mismatch"]
    assert "torchvision 0.20.0+cpu is for torch 2.5, not 2.13.0+cpu" in hit.detail
    assert hit.title == "torchvision 0.20.0+cpu does not match torch 2.13.0+cpu"


# --- NumPy --------------------------------------------------------------------------------------


def _numpy(torch: str, numpy: str, bridge: bool | None, **texts: Any) -> dict[str, Finding]:
    patch = {"probe": {"data": {"torch": {"version": torch, "numpy_ok": bridge, **texts}}}}
    return found(patch, add=(dist("torch", torch), dist("numpy", numpy, installer="conda")))


@pytest.mark.parametrize(
    ("torch", "numpy", "bridge", "fires"),
    [
        ("2.2.2+cpu", "2.0.0", None, True),
        ("2.2.2+cpu", "2.0.0", False, True),
        ("2.2.2+cpu", "2.0.0", True, False),
        ("2.3.0+cpu", "2.0.0", None, False),
        ("2.2.2+cpu", "1.26.4", None, False),
        ("2.2.2+cpu", "3.0.0", None, True),
    ],
)
def test_numpy2_with_torch_before_2_3(
    torch: str, numpy: str, bridge: bool | None, fires: bool
) -> None:
    hit = _numpy(torch, numpy, bridge).get("numpy-abi")
    is_old_torch_finding = bool(hit and hit.title == f"torch {torch} cannot use NumPy {numpy}")
    assert is_old_torch_finding is fires
    if fires:
        assert hit is not None and '-m pip install "numpy<2"  (keeps torch' in (hit.fix or "")


def test_numpy2_with_old_torch_quotes_what_torch_said() -> None:
    said = "UserWarning: Failed to initialize NumPy: _ARRAY_API not found (triggered internally)"
    hit = _numpy("2.2.2+cpu", "2.0.0", None, warnings=[said])["numpy-abi"]
    assert hit.detail.endswith(f"({said})")
    for text in ("Numpy is not available", "compiled using NumPy 1.x cannot be run in"):
        assert (
            text in _numpy("2.2.2+cpu", "2.0.0", None, warnings=[f"x {text} y"])["numpy-abi"].detail
        )


@pytest.mark.parametrize(
    "text",
    [
        "A module that was compiled using NumPy 1.x cannot be run in NumPy 2.0.0",
        "AttributeError: _ARRAY_API not found",
        "ImportError: numpy.core.multiarray failed to import",
        "ValueError: numpy.dtype size changed, may indicate binary incompatibility",
    ],
)
def test_abi_texts_in_an_import_error(text: str) -> None:
    broken = {
        "probe": {
            "data": {
                "imports": {
                    "torchvision": {
                        "ok": False,
                        "version": None,
                        "error": {"type": "ImportError", "message": f"x\n {text}\n"},
                    }
                }
            }
        }
    }
    hit = found(broken)["numpy-abi"]
    assert hit.detail == text and hit.title.endswith("loaded with NumPy 2.3.4")


def test_numpy_missing_or_broken() -> None:
    items = [
        d
        for d in healthy_data("cpu_linux")["probe"]["data"]["distributions"]["items"]
        if d["name"] != "numpy"
    ]
    gone = {
        "probe": {
            "data": {
                "imports": {
                    "numpy": {
                        "ok": False,
                        "version": None,
                        "error": {
                            "type": "ModuleNotFoundError",
                            "message": "No module named 'numpy'",
                        },
                    }
                }
            }
        }
    }
    hit = found(gone, items=items)["numpy-missing"]
    assert (
        hit.detail == "No module named 'numpy'"
        and hit.fix
        and hit.fix.endswith("-m pip install --force-reinstall numpy")
    )
    bridge = found(
        {
            "probe": {
                "data": {
                    "torch": {
                        "numpy_ok": False,
                        "numpy_error": "RuntimeError: Numpy is not available",
                    }
                }
            }
        }
    )
    assert bridge["numpy-missing"].detail == "RuntimeError: Numpy is not available"
    warned = found(
        {
            "probe": {
                "data": {"torch": {"warnings": ["UserWarning: Failed to initialize NumPy: no"]}}
            }
        }
    )
    assert warned["numpy-missing"].detail == "UserWarning: Failed to initialize NumPy: no"
    assert "numpy-missing" not in found({"probe": {"data": {"torch": {"numpy_ok": None}}}})
    assert "numpy-missing" not in found(
        merge(gone, {"probe": {"data": {"torch": {"status": "failed"}}}})
    )


# --- Lightning ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "verdict"),
    [
        ("2.6.2", "lightning-malware"),
        ("2.6.3", "lightning-malware"),
        ("2.6.5", "lightning-old"),
        ("2.6.6rc1", "lightning-old"),
        ("2.6.6", None),
        ("2.7.0", None),
        ("garbage", "lightning-old"),
    ],
)
@pytest.mark.parametrize("name", ["lightning", "pytorch-lightning"])
def test_lightning_versions(name: str, version: str, verdict: str | None) -> None:
    hits = found(drop=("lightning",), add=(dist(name, version),))
    got = {"lightning-malware", "lightning-old"} & set(hits)
    assert got == ({verdict} if verdict else set())
    if verdict == "lightning-old":
        assert hits[verdict].fix == (
            f'/home/student/miniforge3/envs/pt/bin/python -m pip install "{name}>=2.6.6" '
            "torch==2.13.0+cpu  (keeps torch)"
        )
    if verdict == "lightning-malware":
        assert f"-m pip uninstall -y {name};" in (hits[verdict].fix or "")
        assert f"{name} {version} in {SITE}" in hits[verdict].detail


# --- MPS ------------------------------------------------------------------------------------------


def test_mps_unavailable_on_old_and_new_macos() -> None:
    off = {"probe": {"data": {"torch": {"mps_available": False, "mps_built": True}}}}
    old = found("macos_arm64", merge(off, {"platform": {"macos_version": "13.6"}}))[
        "mps-unavailable"
    ]
    assert (
        old.fix and old.fix.startswith("Update macOS to 14") and "MPS needs macOS 14+" in old.detail
    )
    assert "mps built=True" in old.detail
    new = found("macos_arm64", merge(off, {"platform": {"macos_version": "14.0"}}))[
        "mps-unavailable"
    ]
    assert (
        new.fix
        and new.fix.startswith("Reinstall torch from PyPI")
        and "MPS needs" not in new.detail
    )
    unknown = found(
        "macos_arm64",
        merge(
            off,
            {"platform": {"macos_version": None}, "probe": {"data": {"python": {"mac_ver": ""}}}},
        ),
    )["mps-unavailable"]
    assert "macOS unknown" in unknown.detail and unknown.fix and unknown.fix.startswith("Reinstall")
    from_python = found(
        "macos_arm64",
        merge(
            off,
            {
                "platform": {"macos_version": None},
                "probe": {"data": {"python": {"mac_ver": "12.7"}}},
            },
        ),
    )
    assert "macOS 12.7" in from_python["mps-unavailable"].detail
    assert "mps-unavailable" not in found("macos_arm64")
    assert "mps-unavailable" not in found(
        "macos_arm64", merge(off, {"probe": {"data": {"python": {"machine": "x86_64"}}}})
    )
    assert "mps-unavailable" not in found(
        "macos_arm64", merge(off, {"probe": {"data": {"torch": {"status": "failed"}}}})
    )
    assert "mps-unavailable" not in found(
        "macos_arm64", merge(off, {"platform": {"arch": "x86_64"}})
    )


# --- issue 18, second pass: what the rules_packages mutation run still left unpinned -----------


def test_every_conda_torch_package_is_listed() -> None:
    hit = found(conda=(conda_pkg("pytorch"), conda_pkg("libtorch", build="h1")))[
        "torch-conda-and-pip"
    ]
    assert (
        "conda-meta lists pytorch 2.5.1 (conda-forge, build cpu_py312), "
        "libtorch 2.5.1 (conda-forge, build h1);"
    ) in hit.detail


def _numpy_import(message: str) -> dict[str, Any]:
    return {
        "probe": {
            "data": {
                "imports": {
                    "numpy": {
                        "ok": False,
                        "version": None,
                        "error": {"type": "ImportError", "message": message},
                    }
                }
            }
        }
    }


def test_numpy_missing_quotes_the_last_line_or_says_what_failed() -> None:
    tb = "Traceback (most recent call last):\n  File x\n"
    tb += "ImportError: libopenblas.so.0: cannot open\n\n"
    assert found(_numpy_import(tb))["numpy-missing"].detail == (
        "ImportError: libopenblas.so.0: cannot open"
    )
    assert found(_numpy_import(""))["numpy-missing"].detail == "Failed to initialize NumPy"
    assert found(_numpy_import(" "))["numpy-missing"].detail == " "


def test_mps_is_judged_on_macos_only() -> None:
    arm_linux = {"platform": {"arch": "arm64", "machine": "aarch64"}}
    assert "mps-unavailable" not in found(arm_linux)
