"""Hardware detection against fake nvidia-smi / ROCm tools on a test PATH (real-format output)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coursekit.proc import ToolResult
from coursekit.setup.plan import detect
from coursekit.setup.plan.detect import (
    detect_amd,
    detect_host,
    detect_nvidia,
    normalize_arch,
    parse_query,
)
from tests.helpers import make_fake_exe

DATA = Path(__file__).parent / "data" / "nvidia-smi"


def _cat(path: Path) -> str:
    # Shell builtins only: the fake runs with a PATH holding nothing but the fakes.
    return f"while IFS= read -r line || [ -n \"$line\" ]; do printf '%s\\n' \"$line\"; done < '{path}'\n"


def fake_smi(folder: Path, *, banner: str, query: str | None = None, nocc_query: str | None = None,
             reject_cc: bool = False, log: Path | None = None) -> Path:
    """A fake nvidia-smi: the banner without arguments, the query output for --query-gpu."""
    logline = f"printf '%s\\n' \"$*\" >> '{log}'\n" if log else ""
    cc_branch = (f"{_cat(DATA / 'error-470-compute_cap.txt')}exit 2" if reject_cc
                 else _cat(DATA / query) if query else "exit 2")
    nocc_branch = _cat(DATA / nocc_query) if nocc_query else _cat(DATA / (query or "query-610.csv"))
    script = (logline + 'case "$1" in\n'
              f"  --query-gpu=*compute_cap*) {cc_branch}\n  ;;\n"
              f"  --query-gpu=*) {nocc_branch}\n  ;;\n"
              f"  *) {_cat(DATA / banner)}\n  ;;\nesac\n")
    return make_fake_exe(folder, "nvidia-smi", script)


def env_for(folder: Path) -> dict[str, str]:
    return {"PATH": str(folder)}


def test_two_gpus_are_all_read(tmp_path: Path) -> None:
    fake_smi(tmp_path / "bin", banner="banner-580-2gpu.txt", query="query-580-2gpu.csv")
    found = detect_nvidia(env=env_for(tmp_path / "bin"), os_name="linux")
    assert [(g.name, g.compute_capability, g.driver_version, g.memory_mib, g.index) for g in found.gpus] == [
        ("NVIDIA GeForce RTX 4090", "8.9", "580.95.05", 24564, 0),
        ("NVIDIA GeForce GTX 1080 Ti", "6.1", "580.95.05", 11264, 1),
    ]
    assert found.cuda_driver_api == "13.0"
    assert found.notes == ()


@pytest.mark.parametrize(("value", "names"), [
    ("0", ["NVIDIA GeForce RTX 4090"]), ("1", ["NVIDIA GeForce GTX 1080 Ti"]),
    ("0,1", ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce GTX 1080 Ti"]), ("", []), ("-1", []),
    ("1,7,0", ["NVIDIA GeForce GTX 1080 Ti"]),  # CUDA stops at the first invalid index
    ("GPU-8f6c0c3e", ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce GTX 1080 Ti"]),  # UUIDs: not applied
])
def test_cuda_visible_devices_is_honoured(tmp_path: Path, value: str, names: list[str]) -> None:
    fake_smi(tmp_path / "bin", banner="banner-580-2gpu.txt", query="query-580-2gpu.csv")
    host = detect_host(env={**env_for(tmp_path / "bin"), "CUDA_VISIBLE_DEVICES": value},
                       system="Linux", machine="x86_64", root=tmp_path)
    assert [g.name for g in host.gpus] == names
    if len(names) < 2 or value.startswith("GPU-"):
        assert any("CUDA_VISIBLE_DEVICES" in n for n in host.notes)


def test_old_driver_retries_without_compute_cap(tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    fake_smi(tmp_path / "bin", banner="banner-470.txt", nocc_query="query-470-nocc.csv",
             reject_cc=True, log=log)
    found = detect_nvidia(env=env_for(tmp_path / "bin"), os_name="linux")
    assert [(g.name, g.compute_capability, g.driver_version) for g in found.gpus] == [
        ("Tesla T4", None, "470.82.01")]
    assert found.cuda_driver_api == "11.4"
    assert any("compute_cap" in n for n in found.notes)
    calls = log.read_text().splitlines()
    assert "compute_cap" in calls[0] and "compute_cap" not in calls[1]
    assert calls[2] == ""  # the banner, for the CUDA version


def test_r610_banner_cuda_umd_version(tmp_path: Path) -> None:
    fake_smi(tmp_path / "bin", banner="banner-610-umd.txt", query="query-610.csv")
    found = detect_nvidia(env=env_for(tmp_path / "bin"), os_name="linux")
    assert found.cuda_driver_api == "13.3"
    assert len(found.gpus) == 2 and {g.compute_capability for g in found.gpus} == {"10.0"}


def test_banner_parsers_read_old_and_new_labels() -> None:
    assert detect.parse_banner_cuda((DATA / "banner-470.txt").read_text()) == "11.4"
    assert detect.parse_banner_driver((DATA / "banner-470.txt").read_text()) == "470.82.01"
    assert detect.parse_banner_driver((DATA / "banner-610-umd.txt").read_text()) == "610.43.02"


def test_hang_is_cut_off_and_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sleep = shutil.which("sleep")
    assert sleep is not None
    make_fake_exe(tmp_path / "bin", "nvidia-smi", f"exec '{sleep}' 60\n")
    monkeypatch.setattr(detect, "SMI_TIMEOUT_S", 0.5)
    found = detect_nvidia(env=env_for(tmp_path / "bin"), os_name="linux")
    assert found.gpus == ()
    assert any("did not answer" in n for n in found.notes)


def test_driver_not_loaded_is_a_note(tmp_path: Path) -> None:
    make_fake_exe(tmp_path / "bin", "nvidia-smi", _cat(DATA / "error-no-driver.txt") + "exit 9\n")
    found = detect_nvidia(env=env_for(tmp_path / "bin"), os_name="linux")
    assert found.gpus == ()
    assert any("couldn't communicate with the NVIDIA driver" in n for n in found.notes)


def test_no_nvidia_smi(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    found = detect_nvidia(env=env_for(tmp_path / "empty"), os_name="linux")
    assert found.gpus == () and found.smi_path is None
    assert "not found" in found.notes[0]


def test_wsl_finds_projected_nvidia_smi_off_path(tmp_path: Path) -> None:
    root = tmp_path / "root"
    fake_smi(root / "usr/lib/wsl/lib", banner="banner-580-2gpu.txt", query="query-580-2gpu.csv")
    (tmp_path / "empty").mkdir()
    host = detect_host(env=env_for(tmp_path / "empty"), system="Linux", machine="x86_64", root=root)
    assert host.wsl is True
    assert len(host.gpus) == 2 and host.cuda_driver_api == "13.0"


def test_wsl_skips_a_broken_linux_nvidia_smi_first_on_path(tmp_path: Path) -> None:
    root = tmp_path / "root"
    fake_smi(root / "usr/lib/wsl/lib", banner="banner-580-2gpu.txt", query="query-580-2gpu.csv")
    make_fake_exe(tmp_path / "bin", "nvidia-smi", _cat(DATA / "error-no-driver.txt") + "exit 9\n")
    found = detect_nvidia(env=env_for(tmp_path / "bin"), os_name="linux", wsl=True, root=root)
    assert len(found.gpus) == 2
    assert found.smi_path == str(root / "usr/lib/wsl/lib/nvidia-smi")
    assert any("couldn't communicate" in n for n in found.notes)


def test_wsl_from_kernel_release(tmp_path: Path) -> None:
    (tmp_path / "proc/sys/kernel").mkdir(parents=True)
    (tmp_path / "proc/sys/kernel/osrelease").write_text("5.15.167.4-microsoft-standard-WSL2\n")
    assert detect.is_wsl({}, tmp_path) is True
    assert detect.is_wsl({}, tmp_path / "nothing") is False
    assert detect.is_wsl({"WSL_DISTRO_NAME": "Ubuntu"}, tmp_path / "nothing") is True


def test_jetson_is_recognised(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/nv_tegra_release").write_text("# R36 (release), REVISION: 4.3\n")
    (tmp_path / "empty").mkdir()
    host = detect_host(env=env_for(tmp_path / "empty"), system="Linux", machine="aarch64", root=tmp_path)
    assert host.jetson and host.arch == "arm64"
    assert not detect_host(env=env_for(tmp_path / "empty"), system="Linux", machine="x86_64", root=tmp_path).jetson


def test_amd_from_rocm_agent_enumerator(tmp_path: Path) -> None:
    make_fake_exe(tmp_path / "bin", "rocm_agent_enumerator", "printf 'gfx000\\ngfx1100\\n'\n")
    (tmp_path / "root/opt/rocm/.info").mkdir(parents=True)
    (tmp_path / "root/opt/rocm/.info/version").write_text("6.4.1-120\n")
    found = detect_amd(env=env_for(tmp_path / "bin"), root=tmp_path / "root")
    assert [g.gfx for g in found.gpus] == ["gfx1100"]
    assert found.rocm_version == "6.4.1-120"


def test_hsa_override_changes_the_target(tmp_path: Path) -> None:
    make_fake_exe(tmp_path / "bin", "rocm_agent_enumerator", "printf 'gfx000\\ngfx1031\\n'\n")
    found = detect_amd(env={**env_for(tmp_path / "bin"), "HSA_OVERRIDE_GFX_VERSION": "10.3.0"}, root=tmp_path)
    assert [g.gfx for g in found.gpus] == ["gfx1030"]
    assert any("HSA_OVERRIDE_GFX_VERSION" in n for n in found.notes)
    assert detect.override_gfx("9.0.10") == "gfx90a" and detect.override_gfx("garbage") is None


def test_amd_falls_back_to_rocminfo(tmp_path: Path) -> None:
    rocminfo = ("printf '*******\\nAgent 1\\n  Name:                    AMD Ryzen 9\\n*******\\n"
                "Agent 2\\n  Name:                    gfx1030\\n  Marketing Name:          "
                "AMD Radeon RX 6800\\n      Name:                    amdgcn-amd-amdhsa--gfx1030\\n'\n")
    make_fake_exe(tmp_path / "bin", "rocminfo", rocminfo)
    found = detect_amd(env=env_for(tmp_path / "bin"), root=tmp_path)
    assert [g.gfx for g in found.gpus] == ["gfx1030"]


def test_macos_asks_no_gpu_tool(tmp_path: Path) -> None:
    def runner(*args: object, **kwargs: object) -> ToolResult:
        raise AssertionError("no tool may run for macOS detection")

    host = detect_host(runner, env={"PATH": str(tmp_path)}, system="Darwin", machine="arm64",
                       mac_version="14.5")
    assert (host.os, host.arch, host.macos_version, host.gpus, host.wsl) == ("macos", "arm64", "14.5", (), False)


@pytest.mark.parametrize(("machine", "arch"), [("AMD64", "x86_64"), ("x86_64", "x86_64"),
                                               ("aarch64", "arm64"), ("arm64", "arm64")])
def test_arch_names(machine: str, arch: str) -> None:
    assert normalize_arch(machine) == arch


def test_query_name_with_comma_and_missing_values() -> None:
    fields = ("index", "name", "driver_version", "compute_cap", "memory.total")
    gpus = parse_query("0, NVIDIA A100-SXM4-40GB, Rev A, 535.183.01, 8.0, [N/A]\nnot a gpu line\n", fields)
    assert len(gpus) == 1
    assert gpus[0].name == "NVIDIA A100-SXM4-40GB, Rev A"
    assert gpus[0].compute_capability == "8.0" and gpus[0].memory_mib is None
