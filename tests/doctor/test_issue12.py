"""Issue 12: the doctor's rules on real failure shapes (each test fails on the code before it)."""

from __future__ import annotations

from typing import Any

import pytest

from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.view import Finding
from tests.doctor.fixtures import healthy_data, merge


def facts(base: str, patch: dict[str, Any]) -> Facts:
    return from_data(Facts, merge(healthy_data(base), patch))


def found(base: str, patch: dict[str, Any]) -> dict[str, Finding]:
    return {f.id: f for f in diagnose(facts(base, patch))}


def with_versions(torch: str, vision: str | None, audio: str | None, base: str = "cpu_linux",
                  bridge: bool | None = True) -> dict[str, Finding]:
    data = healthy_data(base)
    data["probe"]["data"]["torch"]["numpy_ok"] = bridge
    items = [d for d in data["probe"]["data"]["distributions"]["items"]
             if d["name"] not in ("torch", "torchvision", "torchaudio")]
    loc = data["probe"]["data"]["python"]["prefix"] + "/lib/python3.12/site-packages"
    for name, version in (("torch", torch), ("torchvision", vision), ("torchaudio", audio)):
        if version:
            items.append({"name": name, "version": version, "location": loc, "installer": "pip"})
    data["probe"]["data"]["distributions"]["items"] = items
    data["probe"]["data"]["torch"]["version"] = torch
    data["probe"]["data"]["imports"] = {}
    return {f.id: f for f in diagnose(from_data(Facts, data))}


# --- bug 2: old torchvision/torchaudio numbering -------------------------------------------------

@pytest.mark.parametrize(("torch", "vision", "audio"), [
    ("1.4.0", "0.5.0", "0.4.0"), ("1.5.1", "0.6.1", "0.5.1"), ("1.7.1", "0.8.2", "0.7.2"),
    ("1.10.2", "0.11.3", "0.10.2"), ("1.13.1+cu117", "0.14.1+cu117", "0.13.1+cu117"),
    ("2.0.0", "0.15.1", "2.0.1"), ("2.0.1+cu118", "0.15.2+cu118", "2.0.2+cu118"),
    ("2.5.1", "0.20.1", "2.5.1"), ("2.12.0+cpu", "0.27.0+cpu", "2.11.0+cpu")])
def test_published_pairs_are_not_a_mismatch(torch: str, vision: str, audio: str) -> None:
    ids = set(with_versions(torch, vision, audio))
    assert not ids & {"torchvision-mismatch", "torchaudio-mismatch"}, ids


@pytest.mark.parametrize(("torch", "vision", "audio", "bad"), [
    ("1.13.1", "0.15.1", "0.13.1", "torchvision-mismatch"), ("1.12.1", "0.13.1", "0.13.1", "torchaudio-mismatch"),
    ("2.0.1", "0.14.1", "2.0.2", "torchvision-mismatch"), ("1.13.1", "0.14.1", "2.0.1", "torchaudio-mismatch"),
    ("2.13.0+cpu", "0.28.0+cpu", "2.10.0+cpu", "torchaudio-mismatch")])
def test_wrong_pairs_are_named(torch: str, vision: str, audio: str, bad: str) -> None:
    assert bad in with_versions(torch, vision, audio)


@pytest.mark.parametrize(("torch", "vision", "audio"), [("1.3.1", "0.4.2", "0.3.2"), ("1.0.0", "0.2.2", None),
                                                        ("2.15.0", "0.30.0", "2.11.0")])
def test_pairs_the_tables_do_not_know_are_not_errors(torch: str, vision: str, audio: str | None) -> None:
    ids = set(with_versions(torch, vision, audio))
    assert not ids & {"torchvision-mismatch", "torchaudio-mismatch"}, ids


def test_pairing_says_which_torch_a_companion_is_for() -> None:
    f = with_versions("1.13.1", "0.15.1", "0.13.1")["torchvision-mismatch"]
    assert "is for torch 2.0" in f.detail


# --- bug 3: backend advice through the planner's architecture gate --------------------------------

def _old_gpu(name: str, cc: str | None, driver: str, warning: str, torch: str = "2.7.1+cu118",
             arch: tuple[str, ...] = ("sm_37", "sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90")) -> dict[str, Finding]:
    gpu = {"vendor": "nvidia", "name": name, "driver_version": driver, "compute_capability": cc,
           "gfx": None, "memory_mib": 2048, "index": 0}
    return found("gpu_linux", {"gpu": {"gpus": [gpu], "cuda_driver_api": None}, "probe": {"data": {"torch": {
        "version": torch, "cuda": "11.8", "cuda_available": True, "arch_list": list(arch), "devices": [],
        "cuda_op": {"ok": False, "error": "CUDA error: no kernel image is available for execution on the device"},
        "warnings": [warning]}}}})


@pytest.mark.parametrize(("name", "cc", "warning"), [
    ("NVIDIA GeForce GT 730", None, "\n    Found GPU0 NVIDIA GeForce GT 730 which is of cuda capability 3.0.\n    PyTorch no "
     "longer supports this GPU because it is too old.\n    The minimum cuda capability supported by this library is 3.7.\n"),
    ("GeForce GTX 670M", None, "Found GPU0 GeForce GTX 670M which is of cuda capability 2.1.\n    PyTorch no longer "
     "supports this GPU because it is too old."),
    ("NVIDIA GeForce GTX 770", "3.0", ""),
])
def test_a_gpu_no_build_supports_gets_the_cpu_build_with_the_reason(name: str, cc: str | None, warning: str) -> None:
    f = _old_gpu(name, cc, "470.82.01", warning)
    fix = f["gpu-arch-unsupported"].fix or ""
    assert "--backend cpu" in fix and "no PyTorch build" in fix and "has kernels for it" not in fix
    assert "driver-too-old" not in f  # a newer driver would not help this GPU


def test_capability_from_torchs_warning_reaches_the_planner() -> None:
    # GTX 1080 (sm_61) on driver 470 without compute_cap in nvidia-smi: the planner's choice for
    # driver 470 with sm_61 is torch 2.7 cu118 (sm_60 cubins, driver >= 450.80.02), never cu128+.
    f = _old_gpu("NVIDIA GeForce GTX 1080", None, "470.82.01",
                 "Found GPU0 NVIDIA GeForce GTX 1080 which is of compute capability (CC) 6.1.",
                 torch="2.9.0+cu128", arch=("sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"))
    fix = f["gpu-arch-unsupported"].fix or ""
    assert "--backend cu118" in fix and "cu130" not in fix and "cu128" not in fix


def test_sm_not_compatible_warning_names_the_gpu() -> None:
    f = _old_gpu("NVIDIA GeForce RTX 5090", None, "580.95.05",
                 "NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is not compatible with the current PyTorch "
                 "installation.\nThe current PyTorch install supports CUDA capabilities sm_50 sm_60 sm_70 sm_75 sm_80 "
                 "sm_86 sm_90.", torch="2.6.0+cu126", arch=("sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"))
    assert "(sm_120)" in f["gpu-arch-unsupported"].title
    assert "--backend cu1" in (f["gpu-arch-unsupported"].fix or "")


# --- item 4: driver minimums for every CUDA a torch may carry -------------------------------------

@pytest.mark.parametrize(("cuda", "table", "minimum"), [
    ("10.2", "linux", "440.33"), ("10.2", "windows", "441.22"), ("10.1", "linux", "418.39"),
    ("10.0", "windows", "411.31"), ("9.2", "linux", "396.26"), ("9.0", "linux", "384.81"),
    ("11.0", "linux", "450.36.06"), ("11.7", "linux", "450.80.02"), ("11.3", "windows", "452.39"),
    ("12.1", "linux", "525.60.13"), ("12.4", "windows", "528.33"), ("13.0", "linux", "580")])
def test_driver_minimum_for_every_cuda(cuda: str, table: str, minimum: str) -> None:
    from coursekit.doctor.advice import driver_minimum

    assert driver_minimum(cuda, table) == minimum


def test_driver_too_old_fires_for_an_old_cuda_10_build() -> None:
    gpu = {"vendor": "nvidia", "name": "GeForce GTX 1060", "driver_version": "418.87.00",
           "compute_capability": "6.1", "gfx": None, "memory_mib": 6144, "index": 0}
    f = found("gpu_linux", {"gpu": {"gpus": [gpu], "cuda_driver_api": "10.1"}, "probe": {"data": {"torch": {
        "version": "1.7.1+cu102", "cuda": "10.2", "cuda_available": False, "device_count": 0, "devices": [],
        "arch_list": ["sm_37", "sm_50", "sm_60", "sm_70", "sm_75"], "cuda_op": None}}}})
    assert ">= 440.33" in (f["driver-too-old"].fix or "")


# --- item 5: no driver told apart from no GPU ------------------------------------------------------

def _cuda_build_without_smi(pci: int | None, warning: str = "") -> dict[str, Finding]:
    return found("gpu_linux", {"gpu": {"gpus": [], "cuda_driver_api": None, "pci_nvidia": pci,
                                       "notes": ["nvidia-smi not found: no NVIDIA driver installed"]},
                               "probe": {"data": {"torch": {"cuda_available": False, "device_count": 0, "devices": [],
                                                            "cuda_op": None, "warnings": [warning] if warning else []}}}})


def test_no_driver_with_an_nvidia_gpu_on_the_bus_is_an_error_whose_fix_installs_the_driver() -> None:
    f = _cuda_build_without_smi(1, "CUDA initialization: Found no NVIDIA driver on your system. Please check that "
                                   "you have an NVIDIA GPU and installed a driver")
    d = f["driver-missing"]
    assert d.severity == "error" and (d.fix or "").startswith("Install the NVIDIA driver")
    assert "no-gpu" not in f and "cuda-build-without-gpu" not in f


def test_no_driver_and_unknown_gpu_is_a_warning_no_gpu_on_the_bus_is_information() -> None:
    assert _cuda_build_without_smi(None)["driver-missing"].severity == "warning"
    f = _cuda_build_without_smi(0)
    assert "driver-missing" not in f and f["cuda-build-without-gpu"].severity == "info"


def test_pci_reader_counts_nvidia_display_controllers(tmp_path: Any) -> None:
    from coursekit.doctor.hostfacts import pci_nvidia

    for name, vendor, klass in (("0000:01:00.0", "0x10de", "0x030000"), ("0000:01:00.1", "0x10de", "0x040300"),
                                ("0000:00:02.0", "0x8086", "0x030000")):
        d = tmp_path / "sys/bus/pci/devices" / name
        d.mkdir(parents=True)
        (d / "vendor").write_text(vendor + "\n")
        (d / "class").write_text(klass + "\n")
    assert pci_nvidia(tmp_path) == 1
    assert pci_nvidia(tmp_path / "nowhere") is None


# --- item 7: ranking: no wheels for the platform is the top finding -------------------------------

@pytest.mark.parametrize(("fid", "top"), [("platform-no-torch-wheel", "platform-no-torch-wheel"),
                                         ("python-ms-store", "python-ms-store"),
                                         ("python-no-torch-wheel", "python-no-torch-wheel"),
                                         ("python-32bit", "python-32bit")])
def test_no_wheel_for_the_platform_explains_torch_missing_and_comes_first(fid: str, top: str) -> None:
    from tests.doctor.fixtures import finding_facts

    found_ = diagnose(finding_facts(fid))
    assert found_[0].id == top
    assert "torch-missing" not in {f.id for f in found_}


def test_intel_mac_without_torch_is_an_error_that_explains_torch_missing() -> None:
    data = healthy_data("macos_arm64")
    data = merge(data, {"platform": {"arch": "x86_64", "machine": "x86_64", "apple_silicon": False},
                        "probe": {"data": {"torch": {"status": "missing", "version": None}}}})
    data["probe"]["data"]["distributions"]["items"] = [
        d for d in data["probe"]["data"]["distributions"]["items"] if d["name"] != "torch"]
    f = diagnose(from_data(Facts, data))
    assert f[0].id == "macos-intel" and f[0].severity == "error"
    assert "torch-missing" not in {x.id for x in f}


# --- item 13: kernel-missing on Windows without && -------------------------------------------------

def test_kernel_missing_fix_on_windows_is_two_lines_without_ampersands() -> None:
    data = healthy_data("windows_x86_64")
    data["kernels"] = [k for k in data["kernels"] if k["name"] != "pt"]
    data["probe"]["data"]["distributions"]["items"] = [
        d for d in data["probe"]["data"]["distributions"]["items"] if d["name"] != "ipykernel"]
    fix = {f.id: f for f in diagnose(from_data(Facts, data))}["kernel-missing"].fix or ""
    assert "&&" not in fix
    first, second = fix.split("\n")
    assert first.endswith("-m pip install ipykernel") and "-m ipykernel install --user --name pt" in second


# --- item 4 (cont.): the driver's CUDA version when its number is unknown --------------------------

@pytest.mark.parametrize(("torch_cuda", "api", "old"), [("10.1", "10.0", True), ("10.0", "9.0", True),
                                                      ("11.8", "11.4", False), ("12.6", "11.8", True),
                                                      ("10.2", "10.2", False)])
def test_driver_too_old_from_the_drivers_cuda_version(torch_cuda: str, api: str, old: bool) -> None:
    gpu = {"vendor": "nvidia", "name": "NVIDIA GeForce GTX 1080", "driver_version": None,
           "compute_capability": "6.1", "gfx": None, "memory_mib": None, "index": 0}
    f = found("gpu_linux", {"gpu": {"gpus": [gpu], "cuda_driver_api": api}, "probe": {"data": {"torch": {
        "version": "1.13.1+cu117", "cuda": torch_cuda, "arch_list": ["sm_60", "sm_61", "sm_70"],
        "cuda_available": False, "device_count": 0, "devices": [], "cuda_op": None}}}})
    assert ("driver-too-old" in f) is old


# --- item 6: NumPy ------------------------------------------------------------------------------------

def test_torch_before_2_3_with_numpy_2_is_numpy_abi_with_a_numpy_1_pin() -> None:
    # a report without the bridge fact (schema 1): the versions decide; the base has NumPy 2.3.4
    f = with_versions("2.2.2+cpu", "0.17.2+cpu", "2.2.2+cpu", bridge=None)
    assert '"numpy<2"' in (f["numpy-abi"].fix or "")
    assert "numpy-abi" not in with_versions("2.3.0+cpu", "0.18.0+cpu", "2.3.0+cpu", bridge=None)
    # the probe saw the bridge work (a conda-forge build against NumPy 2): no error
    assert "numpy-abi" not in with_versions("2.2.2+cpu", "0.17.2+cpu", "2.2.2+cpu", bridge=True)


def test_the_numpy_bridge_fact_is_read() -> None:
    f = found("cpu_linux", {"probe": {"data": {"torch": {"numpy_ok": False,
                                                          "numpy_error": "Numpy is not available"}}}})
    assert f["numpy-missing"].detail == "Numpy is not available"


# --- item 11: the new facts' readers ---------------------------------------------------------------

def test_shell_facts_say_whether_python_and_pip_are_the_envs(tmp_path: Any) -> None:
    import os

    from coursekit.doctor.hostfacts import shell_facts

    env, other = tmp_path / "envs" / "pt", tmp_path / "usr"
    for folder, names in ((env / "bin", ("python",)), (other / "bin", ("pip", "python"))):
        folder.mkdir(parents=True)
        for n in names:
            exe = folder / n
            exe.write_text("#!/bin/sh\n")
            exe.chmod(0o755)
    path = os.pathsep.join([str(env / "bin"), str(other / "bin")])
    sh = shell_facts({"PATH": path, "CONDA_PREFIX": str(env)}, str(env), str(tmp_path), os_name="linux")
    assert sh.path_python_is_env is True and sh.path_pip_is_env is False
    assert sh.path_pip == str(other / "bin" / "pip") and sh.conda_prefix == str(env)


def test_project_facts_find_the_uv_project_and_its_torch_index(tmp_path: Any) -> None:
    from coursekit.doctor.hostfacts import project_facts

    root = tmp_path / "course"
    (root / "src").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["torch>=2.9", "numpy"]\n'
        '[tool.uv.sources]\ntorch = [{ index = "pytorch-cu128", extra = "cu128" }]\n'
        '[[tool.uv.index]]\nname = "pytorch-cu128"\nurl = "https://download.pytorch.org/whl/cu128"\nexplicit = true\n'
        '[tool.uv.pip]\ntorch-backend = "auto"\n')
    (root / "uv.lock").write_text('version = 1\n[[package]]\nname = "torch"\nversion = "2.9.1"\n'
                                  'source = { registry = "https://pypi.org/simple" }\n')
    proj = project_facts(root / "src", stop=tmp_path)
    assert proj is not None and proj.root == str(root) and proj.uv_lock
    assert proj.torch_requirement == "torch>=2.9" and proj.torch_backend == "auto"
    assert proj.torch_sources == ("index=pytorch-cu128, extra=cu128",)
    assert proj.indexes == ("pytorch-cu128=https://download.pytorch.org/whl/cu128 explicit",)
    assert proj.locked_torch == "2.9.1 (https://pypi.org/simple)"
    assert project_facts(tmp_path / "elsewhere", stop=tmp_path) is None


def test_pip_log_facts_keep_the_newest_logs_tail_redacted(tmp_path: Any) -> None:
    import os

    from coursekit.doctor.hostfacts import pip_log_facts

    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "old.log").write_text("old\n")
    os.utime(logs / "old.log", (1, 1))
    (logs / "pip-torch.log").write_text("x" * 20000 + "\nLooking in indexes: https://me:tok@example.org/simple\nMemoryError\n")
    facts = pip_log_facts(tmp_path, {})
    assert facts is not None and facts.path.endswith("pip-torch.log")
    assert facts.tail.endswith("MemoryError\n") and "me:tok" not in facts.tail and len(facts.tail) <= 4000
    assert pip_log_facts(tmp_path / "none", {}) is None


def test_wsl_lib_facts_read_libcuda_and_the_loader_path(tmp_path: Any) -> None:
    from coursekit.doctor.hostfacts import wsl_lib_facts

    lib = tmp_path / "usr/lib/wsl/lib"
    lib.mkdir(parents=True)
    (lib / "libcuda.so.1").write_text("")
    (lib / "libcuda.so").symlink_to("libcuda.so.1")
    (lib / "nvidia-smi").write_text("")
    facts = wsl_lib_facts({}, tmp_path)
    assert facts.libcuda == ("libcuda.so -> libcuda.so.1", "libcuda.so.1") and facts.on_loader_path is False
    assert wsl_lib_facts({"LD_LIBRARY_PATH": "/usr/lib/wsl/lib"}, tmp_path).on_loader_path is True
    conf = tmp_path / "etc/ld.so.conf.d"
    conf.mkdir(parents=True)
    (conf / "ld.wsl.conf").write_text("/usr/lib/wsl/lib\n")
    assert wsl_lib_facts({}, tmp_path).on_loader_path is True


def test_wsl_with_libcuda_on_the_loader_path_and_working_cuda_is_quiet() -> None:
    lib = {"exists": True, "libcuda": ["libcuda.so", "libcuda.so.1"], "on_loader_path": True, "nvidia_smi": True}
    assert "wsl-libcuda" not in found("gpu_linux", {"platform": {"wsl": True, "wsl_lib": lib}})
    gone = dict(lib, libcuda=[])
    f = found("gpu_linux", {"platform": {"wsl": True, "wsl_lib": gone}, "probe": {"data": {"torch": {
        "cuda_available": False, "device_count": 0, "devices": [], "cuda_op": None}}}})
    assert "no libcuda" in f["wsl-libcuda"].title and "wsl --update" in (f["wsl-libcuda"].fix or "")


def test_temp_folder_disk_and_pips_no_space_error() -> None:
    disks = [{"label": "temp folder", "path": "/tmp", "free_mib": 800, "total_mib": 4000}]
    f = found("cpu_linux", {"disks": disks, "probe": {"data": {"torch": {"status": "missing"}}}})
    assert "TMPDIR" in (f["disk-low"].fix or "") and f["disk-low"].severity == "error"
    f = found("cpu_linux", {"pip_log": {"path": "/x/pip.log", "tail": "ERROR: Could not install packages due to an "
                                        "OSError: [Errno 28] No space left on device\n"}})
    assert f["disk-low"].severity == "error" and "Errno 28" in f["disk-low"].detail


def test_a_schema_1_report_is_upgraded_and_its_missing_facts_raise_nothing() -> None:
    import json

    from coursekit.doctor.report import make_report, parse_report, report_data
    from tests.doctor.fixtures import healthy

    data = report_data(make_report(healthy("gpu_linux")))
    data["schema"] = 1
    for key in ("shell", "project", "pip_log"):
        data["facts"].pop(key, None)
    facts = parse_report(json.dumps(data))
    assert facts.shell is None and facts.project is None and facts.pip_log is None
    assert make_report(facts).findings == ()


# --- item 9: shared-library errors name the cause ---------------------------------------------------

def _import_error(message: str, ld: str | None, names: list[str] | None) -> dict[str, Finding]:
    torch = {"status": "import-error", "error": {"type": "ImportError", "message": message, "traceback": ""},
             "version": None, "cuda": None, "cuda_available": False, "devices": [], "cuda_op": None}
    dists: dict[str, Any] = {"nvidia_wheels": len(names or [])}
    if names is not None:
        dists["nvidia_names"] = names
    return found("gpu_linux", {"probe": {"data": {"torch": torch, "env": {"LD_LIBRARY_PATH": ld},
                                                  "distributions": dists}}})


NVJIT = ("/env/lib/python3.12/site-packages/torch/lib/../../nvidia/cusparse/lib/libcusparse.so.12: undefined "
         "symbol: __nvJitLinkComplete_12_4, version libnvJitLink.so.12")


def test_ld_library_path_shadowing_is_named_with_its_folder() -> None:
    f = _import_error(NVJIT, "/usr/local/cuda-12.1/lib64:", ["nvidia-nvjitlink-cu12 12.4.127"])
    assert "libnvJitLink" in f["cuda-lib-shadowed"].title
    assert (f["cuda-lib-shadowed"].fix or "").startswith("unset LD_LIBRARY_PATH")
    assert "torch-import-failed" not in f


def test_a_missing_nvidia_wheel_is_named_and_reinstalled_with_its_dependencies() -> None:
    f = _import_error("libcudnn.so.9: cannot open shared object file: No such file or directory", None,
                      ["nvidia-cublas-cu12 12.8.4.1"])
    assert "nvidia-cudnn" in f["cuda-lib-missing"].title and "--index-url" in (f["cuda-lib-missing"].fix or "")


def test_libcuda_is_the_drivers_not_a_wheels() -> None:
    f = _import_error("libcuda.so.1: cannot open shared object file: No such file or directory", None, [])
    assert "cuda-lib-missing" not in f and "cuda-lib-shadowed" not in f


# --- item 8: MemoryError -> --no-cache-dir -----------------------------------------------------------

def test_memory_error_fix_is_no_cache_dir_not_close_programs() -> None:
    from tests.doctor.fixtures import finding_facts

    top = diagnose(finding_facts("pip-memory-error"))[0]
    assert top.id == "pip-memory-error" and "--no-cache-dir" in (top.fix or "")
    assert "close" not in (top.fix or "").lower()


# --- item 11: uv project and PATH -------------------------------------------------------------------

def test_uv_sync_with_extra_gated_torch_names_the_extra() -> None:
    proj = {"root": "C:\\Users\\s\\track", "uv_lock": True, "torch_requirement": None,
            "torch_sources": ["index=pytorch-cpu extra=cpu", "index=pytorch-cu130 extra=cu130"],
            "indexes": ["pytorch-cpu=https://download.pytorch.org/whl/cpu explicit",
                        "pytorch-cu130=https://download.pytorch.org/whl/cu130 explicit"],
            "torch_backend": "auto", "locked_torch": None}
    f = found("windows_x86_64", {"project": proj})
    assert "--extra cu130" in (f["uv-project-resync"].fix or "")
    assert "torch-backend" in f["uv-project-resync"].detail


def test_a_uv_project_that_matches_the_env_is_quiet() -> None:
    proj = {"root": "/home/student/course", "uv_lock": True, "torch_requirement": "torch>=2.13",
            "torch_sources": ["index=pytorch-cu130"], "indexes": ["pytorch-cu130=https://download.pytorch.org/whl/cu130"],
            "torch_backend": None, "locked_torch": "2.13.0+cu130 (https://download.pytorch.org/whl/cu130)"}
    assert "uv-project-resync" not in found("gpu_linux", {"project": proj})


def test_pip_of_another_python_explains_a_missing_torch() -> None:
    from tests.doctor.fixtures import finding_data

    data = merge(finding_data("python-not-env"), {"probe": {"data": {"torch": {"status": "missing"}}}})
    data["probe"]["data"]["distributions"]["items"] = [
        d for d in data["probe"]["data"]["distributions"]["items"] if d["name"] != "torch"]
    top = diagnose(from_data(Facts, data))[0]
    assert top.id == "python-not-env" and top.severity == "error"


def test_torchvision_whose_operators_do_not_load_is_a_mismatch_even_when_versions_pair() -> None:
    # torch 1.4.0+cu92 with a PyPI torchvision 0.5.0 (another CUDA): imports, then nms fails.
    f = found("gpu_linux", {"probe": {"data": {"imports": {"torchvision": {
        "op_error": "No such operator torchvision::nms"}}}}})
    assert "operators do not load" in f["torchvision-mismatch"].detail
