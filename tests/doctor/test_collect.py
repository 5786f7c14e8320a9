"""Facts collected for real: the probe on this interpreter, a fake nvidia-smi on a test PATH
printing real-format output, stand-in torch builds, kernelspec folders, no env at all."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from coursekit.doctor.collect import CollectOptions, collect_facts, gpu_check
from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.facts import EnvFacts
from coursekit.doctor.kernels import scan_kernels
from coursekit.errors import ExitCode
from tests.doctor.fixtures import DATA
from tests.doctor.standins import make_fake_module, make_fake_torch
from tests.helpers import make_fake_exe, run_cli
from tests.prereqs import need_module

pytestmark = pytest.mark.realtool
TEXTS = DATA / "texts"


def _cat(path: Path) -> str:
    return f"while IFS= read -r line || [ -n \"$line\" ]; do printf '%s\\n' \"$line\"; done < '{path}'\n"


def fake_smi(folder: Path, query_line: str | None, *, fail_text: Path | None = None,
             code: int = 9) -> Path:
    """nvidia-smi answering the planner's query and the plain banner (or failing like a broken driver)."""
    if fail_text is not None:
        return make_fake_exe(folder, "nvidia-smi", _cat(fail_text) + f"exit {code}\n")
    script = ('case "$1" in\n'
              f"  --query-gpu=*) printf '%s\\n' '{query_line}' ;;\n"
              f"  *) {_cat(TEXTS / 'nvidia-smi-banner-580.txt')} ;;\nesac\n")
    return make_fake_exe(folder, "nvidia-smi", script)


def _tools(tmp_path: Path) -> Path:
    """A folder with just the programs the fakes use: the machine's own nvidia-smi, rocminfo
    or conda must not be found (these tests also run on GPU machines)."""
    tools = tmp_path / "tools"
    tools.mkdir(exist_ok=True)
    for name in ("sleep",):
        found = shutil.which(name)
        if found and not (tools / name).exists():
            (tools / name).symlink_to(found)
    return tools


def _environ(tmp_path: Path, site: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CONDA_EXE", "MAMBA_EXE", "PYTHONPATH", "CUDA_VISIBLE_DEVICES")}
    env["PATH"] = os.pathsep.join([str(tmp_path / "bin"), str(_tools(tmp_path))])
    env["HOME"] = str(tmp_path / "home")
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter")
    env["PIP_CONFIG_FILE"] = os.devnull
    if site is not None:
        env["PYTHONPATH"] = str(site)
    (tmp_path / "bin").mkdir(exist_ok=True)
    return env


def test_gpu_facts_from_real_format_nvidia_smi(tmp_path: Path) -> None:
    fake_smi(tmp_path / "bin", (TEXTS / "nvidia-smi-query-rtx3060.txt").read_text().strip())
    gpu = gpu_check(CollectOptions(environ=_environ(tmp_path)))
    assert [(g.name, g.driver_version, g.compute_capability) for g in gpu.gpus] == [
        ("NVIDIA GeForce RTX 3060", "580.95.05", "8.6")]
    assert gpu.cuda_driver_api == "13.0"


@pytest.mark.parametrize(("text", "finding"), [("nvidia-smi-no-driver.txt", "driver-not-loaded"),
                                               ("nvidia-smi-mismatch.txt", "driver-library-mismatch")])
def test_broken_driver_from_real_messages(tmp_path: Path, text: str, finding: str) -> None:
    fake_smi(tmp_path / "bin", None, fail_text=TEXTS / text)
    site = make_fake_torch(tmp_path / "site", version="2.13.0+cu130", cuda="13.0", available=False,
                           available_error="Found no NVIDIA driver on your system.")
    facts = collect_facts(CollectOptions(python=Path(sys.executable), environ=_environ(tmp_path, site)))
    ids = {f.id: f for f in diagnose(facts)}
    assert finding in ids and ids[finding].severity == "error"


@pytest.mark.slow
def test_rtx5090_with_a_cu128_build_end_to_end(tmp_path: Path) -> None:
    fake_smi(tmp_path / "bin", "0, NVIDIA GeForce RTX 5090, 580.95.05, 12.0, 32607")
    warning = (TEXTS / "torch-sm120-not-compatible.txt").read_text().strip()
    site = make_fake_torch(tmp_path / "site", version="2.9.0+cu128", cuda="12.8",
                           arch_list=("sm_70", "sm_75", "sm_80", "sm_86", "sm_90"), capability=(12, 0),
                           device_name="NVIDIA GeForce RTX 5090", init_warning=warning,
                           op_error=(TEXTS / "torch-no-kernel-image.txt").read_text().strip())
    make_fake_module(site, "torchvision", "__version__ = '0.24.0+cu128'\n", "0.24.0+cu128")
    facts = collect_facts(CollectOptions(python=Path(sys.executable), environ=_environ(tmp_path, site)))
    assert [r.status for r in facts.checks] == ["ok"] * len(facts.checks)
    found = {f.id: f for f in diagnose(facts)}
    arch = found["gpu-arch-unsupported"]
    assert "NVIDIA GeForce RTX 5090 (sm_120)" in arch.title
    assert "no kernel image is available" in arch.detail
    assert arch.fix and "coursekit setup --backend cu130" in arch.fix
    assert "torchvision-mismatch" not in found  # 0.24 pairs with 2.9


def test_cuda_visible_devices_hides_the_gpu(tmp_path: Path) -> None:
    fake_smi(tmp_path / "bin", "0, NVIDIA GeForce RTX 3060, 580.95.05, 8.6, 12288")
    site = make_fake_torch(tmp_path / "site", version="2.13.0+cu130", cuda="13.0", available=False)
    environ = _environ(tmp_path, site)
    environ["CUDA_VISIBLE_DEVICES"] = ""
    facts = collect_facts(CollectOptions(python=Path(sys.executable), environ=environ))
    ids = {f.id for f in diagnose(facts)}
    assert "cuda-hidden" in ids and "cuda-unavailable" not in ids


def test_torch_that_crashes_on_import_via_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_fake_torch(tmp_path / "site", import_body="import os\nos.abort()\n")
    for key, value in _environ(tmp_path, site).items():
        monkeypatch.setenv(key, value)
    result = run_cli(["doctor", "--python", sys.executable])
    assert result.code == ExitCode.FAILED, result.stdout + result.stderr
    assert "[✗] PyTorch" in result.stdout and "import torch crashes the Python process" in result.stdout
    assert "[✓] Disk and memory" in result.stdout  # the other checks still report


def test_no_env_and_no_conda(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in _environ(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in ("CONDA_EXE", "MAMBA_EXE", "CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"):
        monkeypatch.delenv(key, raising=False)
    result = run_cli(["doctor", "--json"])
    assert result.code == ExitCode.FAILED, result.stderr
    data = json.loads(result.stdout)
    missing = next(f for f in data["findings"] if f["id"] == "env-missing")
    assert missing["fix"] == "coursekit setup"
    assert data["facts"]["probe"] is None
    assert {c["name"]: c["status"] for c in data["facts"]["checks"]}["probe"] == "ok"


@pytest.mark.torch
@pytest.mark.slow
def test_real_cpu_torch_is_healthy(tmp_path: Path) -> None:
    need_module("torch")
    facts = collect_facts(CollectOptions(python=Path(sys.executable), environ=_environ(tmp_path)))
    found = diagnose(facts)
    assert facts.probe is not None and facts.probe.torch["status"] == "ok"
    assert "no-gpu" in {f.id for f in found}
    blocking = [f for f in found if f.severity == "error" and f.category in ("torch", "gpu")]
    assert not blocking, blocking


def test_kernelspecs_are_read_with_their_interpreters(tmp_path: Path) -> None:
    prefix = tmp_path / "envs" / "pt"
    python = prefix / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    user = tmp_path / "jupyter" / "kernels"
    for name, argv0 in (("pt", str(python)), ("python3", "/usr/bin/python3"), ("old", "/gone/python")):
        (user / name).mkdir(parents=True)
        (user / name / "kernel.json").write_text(json.dumps({"argv": [argv0, "-m", "ipykernel_launcher"],
                                                             "display_name": name, "language": "python"}))
    env_kernels = prefix / "share" / "jupyter" / "kernels" / "python3"
    env_kernels.mkdir(parents=True)
    (env_kernels / "kernel.json").write_text(json.dumps({"argv": ["python", "-m", "ipykernel_launcher"]}))
    env = EnvFacts(exists=True, prefix=str(prefix), python=str(python), confirmed=True)
    kernels = {(k.name, k.scope): k for k in scan_kernels(env, {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter")})}
    assert kernels[("pt", "user")].same_env is True
    assert kernels[("python3", "user")].same_env is False
    assert kernels[("old", "user")].argv0_exists is False
    assert kernels[("python3", "env")].same_env is True


def test_a_hanging_nvidia_smi_becomes_a_finding_and_the_rest_reports(tmp_path: Path) -> None:
    make_fake_exe(tmp_path / "bin", "nvidia-smi", "exec sleep 5\n")
    environ = _environ(tmp_path)
    facts = collect_facts(CollectOptions(python=Path(sys.executable), environ=environ,
                                         timeouts={"gpu": 0.5}, probe_timeout_s=60))
    runs = {r.name: r.status for r in facts.checks}
    assert runs["gpu"] == "timeout" and runs["probe"] == "ok" and runs["platform"] == "ok"
    from coursekit.doctor.report import make_report
    from coursekit.doctor.service import exit_code

    report = make_report(facts)
    failed = [f for f in report.findings if f.id == "check-failed"]
    assert failed and failed[0].category == "gpu" and "timed out after 0.5 s" in failed[0].title
    assert exit_code(report) in (ExitCode.ENVIRONMENT, ExitCode.FAILED)


def test_a_broken_interpreter_is_an_error_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = make_fake_exe(tmp_path / "env" / "bin", "python",
                           "echo 'Fatal Python error: init_fs_encoding: failed to get the Python codec' >&2\n"
                           "exit 1\n")
    for key, value in _environ(tmp_path).items():
        monkeypatch.setenv(key, value)
    result = run_cli(["doctor", "--python", str(broken)])
    assert result.code == ExitCode.FAILED, result.stdout + result.stderr
    assert "The env's Python cannot run the probe (crashed)" in result.stdout
    assert "init_fs_encoding" in result.stdout


def test_platform_on_a_mac_under_rosetta(monkeypatch: pytest.MonkeyPatch) -> None:
    from coursekit.doctor.collect import platform_check
    from coursekit.proc import ToolResult

    monkeypatch.setattr("platform.system", lambda: "Darwin")
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    monkeypatch.setattr("platform.mac_ver", lambda: ("14.5", ("", "", ""), "x86_64"))

    def sysctl(argv, **kwargs):  # type: ignore[no-untyped-def]
        assert list(argv) == ["sysctl", "-n", "hw.optional.arm64"]
        return ToolResult(tuple(argv), 0, "1\n")

    facts = platform_check(CollectOptions(runner=sysctl, environ={}))
    assert (facts.os, facts.arch, facts.machine, facts.apple_silicon) == ("macos", "arm64", "x86_64", True)
    assert facts.macos_version == "14.5"


def _venv_env(prefix: Path) -> None:
    import venv

    venv.EnvBuilder(with_pip=False, symlinks=True).create(prefix)
    (prefix / "conda-meta").mkdir()
    (prefix / "conda-meta" / "history").write_text("")


@pytest.mark.slow
def test_env_in_the_tools_own_envs_folder_is_found_without_running_conda(tmp_path: Path) -> None:
    root = tmp_path / "miniforge3"
    log = tmp_path / "conda-calls.log"
    conda = make_fake_exe(root / "bin", "conda", f"echo \"$*\" >> '{log}'\nsleep 30\n")
    _venv_env(root / "envs" / "pt")
    environ = _environ(tmp_path)
    environ["CONDA_EXE"] = str(conda)
    from coursekit.doctor.collect import env_check

    env = env_check(CollectOptions(environ=environ))
    assert env.exists and env.confirmed and env.engine == "conda", env
    assert env.prefix == str(root / "envs" / "pt")
    assert not log.exists()  # `conda env list` (a second or more) was not needed


@pytest.mark.slow
def test_env_elsewhere_is_asked_of_the_tool(tmp_path: Path) -> None:
    prefix = tmp_path / "elsewhere" / "pt"
    _venv_env(prefix)
    listing = json.dumps({"envs": [str(prefix)], "envs_details": {  # conda >= 25.11
        str(prefix): {"name": "pt", "base": False}}})
    conda = make_fake_exe(tmp_path / "miniforge3" / "bin", "conda",
                          f"case \"$1 $2\" in 'env list') echo '{listing}';; *) exit 2;; esac\n")
    environ = _environ(tmp_path)
    environ["CONDA_EXE"] = str(conda)
    from coursekit.doctor.collect import env_check

    env = env_check(CollectOptions(environ=environ))
    assert env.exists and env.prefix == str(prefix), env


def test_a_relative_python_is_examined_where_it_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `coursekit doctor --python python` inside env/bin: run_tool looks a bare name up on
    # PATH, so it examined another interpreter; a venv's symlink must not be resolved either.
    from coursekit.doctor.collect import env_check

    real = make_fake_exe(tmp_path / "base", "python3", "exit 0\n")
    (tmp_path / "env" / "bin").mkdir(parents=True)
    (tmp_path / "env" / "bin" / "python").symlink_to(real)
    monkeypatch.chdir(tmp_path / "env" / "bin")
    env = env_check(CollectOptions(python=Path("python")))
    assert env.python == str(tmp_path / "env" / "bin" / "python")
    assert env.prefix == str(tmp_path / "env") and env.exists


def test_a_kernelspec_of_another_shape_is_one_unreadable_kernel_not_a_failed_check(tmp_path: Path) -> None:
    # A list, or an argv that is a string, once raised AttributeError and failed the whole
    # kernels check (exit 3, every kernel fact lost).
    user = tmp_path / "jupyter" / "kernels"
    for name, spec in (("listed", ["python", "-m", "ipykernel_launcher"]), ("stringy", {"argv": "python"})):
        (user / name).mkdir(parents=True)
        (user / name / "kernel.json").write_text(json.dumps(spec))
    env = EnvFacts(exists=True, prefix=str(tmp_path / "env"), python=str(tmp_path / "env" / "python"))
    kernels = {k.name: k for k in scan_kernels(env, {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter")})}
    assert kernels["listed"].display_name == "(unreadable kernel.json)"
    assert kernels["stringy"].argv0 == "" and kernels["stringy"].argv0_exists is False
