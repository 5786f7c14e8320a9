"""`coursekit setup --dry-run`: text and JSON output, flags, bad input, detection, online check."""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest

from coursekit.errors import ExitCode
from coursekit.setup.plan.indexcheck import check_index, find_wheel, urllib_fetch
from coursekit.setup.plan.request import SetupRequest, build_plan
from tests.fakes.pyindex import serve
from tests.helpers import AUDIO, NEWEST, TORCH, VISION, make_fake_exe, run_cli
from tests.test_detect import DATA, fake_smi

FLAGS = ["--dry-run", "--engine", "conda", "--os", "linux", "--gpu-driver", "580.95.05", "--gpu-cc", "8.9"]


def test_json_contract() -> None:
    result = run_cli(["setup", *FLAGS, "--json"])
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"env_name", "python", "engine", "torch", "steps", "reasons", "warnings"} <= set(data)
    assert (data["env_name"], data["python"], data["engine"]) == ("pt", "3.12", "conda")
    assert data["torch"] == {"version": f"{TORCH}+cu130", "backend": "cu130",
                             "index_url": "https://download.pytorch.org/whl/cu130",
                             "torchvision": f"{VISION}+cu130", "torchaudio": f"{AUDIO}+cu130",
                             "release": NEWEST, "gpu": True}
    assert [s["id"] for s in data["steps"]] == ["create_env", "install_torch", "install_dependents",
                                                "register_kernel", "verify"]
    assert all(isinstance(s["title"], str) and all(isinstance(a, str) for a in s["argv"]) for s in data["steps"])
    assert all(isinstance(r, str) for r in data["reasons"]) and isinstance(data["warnings"], list)
    install = data["steps"][1]
    assert install["in_env"] and install["argv"][-len(install["python_args"]):] == install["python_args"]
    assert install["holds"] == [f"torch=={TORCH}+cu130", f"torchvision=={VISION}+cu130", f"torchaudio=={AUDIO}+cu130"]
    assert any("index not checked (offline" in r for r in data["reasons"])


def test_json_macos_index_url_is_null() -> None:
    data = json.loads(run_cli(["setup", "--dry-run", "--json", "--os", "macos"]).stdout)
    assert data["torch"]["backend"] == "pypi" and data["torch"]["index_url"] is None


def test_text_plan_has_numbered_paste_ready_steps() -> None:
    result = run_cli(["setup", *FLAGS])
    assert result.code == 0
    out = result.stdout
    for n in range(1, 6):
        assert f"\n  {n}. " in out
    assert "conda create -n pt -y --override-channels -c conda-forge python=3.12" in out
    assert f"--index-url https://download.pytorch.org/whl/cu130 torch=={TORCH}+cu130" in out
    assert f"'lightning>=2.6.6' torch=={TORCH}+cu130" in out  # quoted for bash
    assert "Why:" in out and "\x1b[" not in out


def test_windows_plan_quotes_for_cmd_and_powershell() -> None:
    out = run_cli(["setup", "--dry-run", "--engine", "conda", "--os", "windows", "--gpu-driver", "581.57",
                   "--gpu-cc", "8.6"]).stdout
    assert f'"lightning>=2.6.6" "torch=={TORCH}+cu130"' in out


def test_several_gpus_and_amd_flags() -> None:
    mixed = json.loads(run_cli(["setup", "--dry-run", "--json", "--os", "linux", "--gpu-driver", "580.95.05",
                                "--gpu-cc", "12.0", "--gpu-cc", "6.1"]).stdout)
    assert mixed["torch"]["backend"] == "cu130"
    assert any("CUDA_VISIBLE_DEVICES=0" in w for w in mixed["warnings"])
    amd = json.loads(run_cli(["setup", "--dry-run", "--json", "--gpu-rocm", "gfx1100"]).stdout)
    assert amd["torch"]["backend"] == "rocm7.2"


def test_overrides() -> None:
    data = json.loads(run_cli(["setup", *FLAGS, "--json", "--torch", "2.10", "--backend", "cu126"]).stdout)
    assert data["torch"]["version"] == "2.10.0+cu126"
    assert any("--backend" in r for r in data["reasons"])


@pytest.mark.parametrize(("args", "needle"), [
    (["--backend", "cu999"], "unknown backend"),
    (["--os", "beos"], "--os"),
    (["--arch", "riscv64"], "--arch"),
    (["--gpu-driver", "five-eighty"], "--gpu-driver"),
    (["--gpu-cc", "8"], "--gpu-cc"),
    (["--gpu-cc", "sm_86"], "--gpu-cc"),
    (["--gpu-rocm", "navi31"], "--gpu-rocm"),
    (["--torch", "1.13"], "not in coursekit's PyTorch matrix"),
    (["--os", "macos", "--gpu-cc", "8.6"], "macOS"),
    (["--os", "windows", "--backend", "cu129", "--torch", "2.8"], "publishes no wheels"),
])
def test_bad_input_exit_2_nothing_written(args: list[str], needle: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    result = run_cli(["setup", "--dry-run", *args], env={"COURSEKIT_HOME": str(home)})
    assert result.code == ExitCode.USAGE, result.stderr
    assert needle in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert list(home.iterdir()) == []


def test_invalid_env_spec_is_exit_2(tmp_path: Path) -> None:
    spec = tmp_path / "course.toml"
    spec.write_text('format_version = 1\n[env]\nname = "pt"\npython = "3.12"\nchannels = ["conda-forge"]\n'
                    '[conda]\npackages = ["lightning"]\n[pip]\ntorch = ["torch"]\nafter_torch = []\n')
    result = run_cli(["setup", "--dry-run"], env={"COURSEKIT_ENV_SPEC": str(spec)})
    assert result.code == ExitCode.USAGE
    assert "lightning" in result.stderr and "fix:" in result.stderr


def test_macos_intel_is_exit_3() -> None:
    result = run_cli(["setup", "--dry-run", "--os", "macos", "--arch", "x86_64"])
    assert result.code == ExitCode.ENVIRONMENT and "Intel Macs" in result.stderr


@pytest.mark.skipif(sys.platform != "linux", reason="detection of a Linux machine")
def test_detection_through_fake_nvidia_smi(tmp_path: Path) -> None:
    fake_smi(tmp_path / "bin", banner="banner-470.txt", nocc_query="query-470-nocc.csv", reject_cc=True)
    result = run_cli(["setup", "--dry-run", "--json", "--engine", "conda"], env={"PATH": str(tmp_path / "bin")})
    data = json.loads(result.stdout)
    assert data["torch"]["version"] == "2.7.1+cu118"
    assert "Tesla T4" in data["host"] and "described by flags" not in data["host"]
    assert any("compute_cap" in r for r in data["reasons"])
    assert any("525.60.13" in w for w in data["warnings"])


# ---- online confirmation against a local simple page -----------------------------------------

WHEELS = [f"torch-{TORCH}%2Bcu130-cp312-cp312-manylinux_2_28_x86_64.whl",
          f"torch-{TORCH}%2Bcu130-cp312-cp312-win_amd64.whl",
          f"torch-{TORCH}%2Bcu130-cp313-cp313t-manylinux_2_28_x86_64.whl",
          "torch-2.13.0%2Bcu130-cp312-cp312-manylinux_2_28_x86_64.whl"]


def simple_root(tmp_path: Path, backend: str, wheels: list[str]) -> Path:
    page = tmp_path / "root" / "whl" / backend / "torch"
    page.mkdir(parents=True)
    links = "".join(f'<a href="/whl/{backend}/{w}#sha256=00">{w.replace("%2B", "+")}</a><br/>\n' for w in wheels)
    (page / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n<h1>Links for torch</h1>\n{links}</body></html>\n")
    return tmp_path / "root"


def test_find_wheel_matches_python_and_platform_exactly() -> None:
    page = "\n".join(WHEELS)
    assert find_wheel(page, f"{TORCH}+cu130", "3.12", "linux-x86_64") == \
        f"torch-{TORCH}+cu130-cp312-cp312-manylinux_2_28_x86_64.whl"
    assert find_wheel(page, f"{TORCH}+cu130", "3.12", "windows-x86_64") is not None
    assert find_wheel(page, f"{TORCH}+cu130", "3.13", "linux-x86_64") is None  # only free-threaded 3.13t
    assert find_wheel(page, f"{TORCH}+cu130", "3.12", "linux-arm64") is None
    assert find_wheel(page, f"{TORCH}", "3.12", "linux-x86_64") is None


def _request() -> SetupRequest:
    return SetupRequest(os="linux", arch="x86_64", gpu_driver="580.95.05", gpu_cc=("8.9",))


def test_online_check_confirms_the_wheel(tmp_path: Path) -> None:
    with serve(simple_root(tmp_path, "cu130", WHEELS)) as server:
        def fetch(url: str, timeout: float) -> str:
            return urllib_fetch(url.replace("https://download.pytorch.org", server.url("")), timeout)

        plan = build_plan(_request(), fetch=fetch, env={})
    assert plan.index_checked
    assert any("index confirmed" in r and "cp312-cp312-manylinux_2_28_x86_64" in r for r in plan.reasons)


def test_online_check_warns_when_the_index_lacks_it(tmp_path: Path) -> None:
    with serve(simple_root(tmp_path, "cu130", WHEELS[2:])) as server:
        def fetch(url: str, timeout: float) -> str:
            return urllib_fetch(url.replace("https://download.pytorch.org", server.url("")), timeout)

        plan = build_plan(_request(), fetch=fetch, env={})
    assert not plan.index_checked
    assert any(f"lists no torch {TORCH}+cu130 wheel for Python 3.12" in w for w in plan.warnings)


def test_online_check_unreachable_falls_back_to_the_matrix() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = check_index(f"http://127.0.0.1:{port}/whl/cu130", "https://pypi.org/simple", f"{TORCH}+cu130",
                         "3.12", "linux-x86_64", urllib_fetch, timeout=2)
    assert result.found is None and "could not read" in result.message

    def down(url: str, timeout: float) -> str:
        raise OSError("network unreachable")

    plan = build_plan(_request(), fetch=down, env={})
    assert any("matrix used, index not checked: could not read" in r for r in plan.reasons)


def test_offline_never_fetches() -> None:
    def fetch(url: str, timeout: float) -> str:
        raise AssertionError("offline: no fetch")

    plan = build_plan(_request(), fetch=fetch, env={"COURSEKIT_OFFLINE": "1"})
    assert any("offline" in r for r in plan.reasons)


def test_embedded_engine_explains_the_placeholder() -> None:
    out = run_cli(["setup", "--dry-run", "--engine", "embedded", "--os", "linux"]).stdout
    assert "{env_python} -m pip install" in out and "{env_python} stands for" in out


def test_embedded_engine_on_this_machine_shows_the_real_env_python(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSEKIT_HOME", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.conda/envs to pick instead
    monkeypatch.delenv("CONDA_EXE", raising=False)
    monkeypatch.delenv("MAMBA_ROOT_PREFIX", raising=False)
    out = run_cli(["setup", "--dry-run", "--engine", "embedded"]).stdout
    python = tmp_path / "envs" / "pt" / ("python.exe" if sys.platform == "win32" else "bin/python")
    assert "{env_python}" not in out
    assert f"{python} -m pip install --index-url" in out
    assert "coursekit creates the env itself" in out
    as_json = json.loads(run_cli(["setup", "--dry-run", "--engine", "embedded", "--json"]).stdout)
    assert as_json["steps"][1]["argv"][0] == "{env_python}"  # the JSON contract keeps the placeholder


def test_help_documents_every_flag() -> None:
    out = run_cli(["setup", "--help"]).stdout
    for flag in ("--dry-run", "--json", "--os", "--arch", "--gpu-driver", "--gpu-cc", "--gpu-rocm",
                 "--torch", "--backend"):
        assert flag in out


_ = (DATA, make_fake_exe)


CASES = [
    (["--os", "linux", "--gpu-driver", "580.95.05", "--gpu-cc", "6.1"], f"{TORCH}+cu126"),          # Pascal
    (["--os", "linux", "--gpu-driver", "580.95.05", "--gpu-cc", "7.0"], f"{TORCH}+cu126"),          # Volta
    (["--os", "linux", "--gpu-driver", "580.95.05", "--gpu-cc", "7.5"], f"{TORCH}+cu130"),          # Turing
    (["--os", "linux", "--gpu-driver", "535.183.01", "--gpu-cc", "8.6"], f"{TORCH}+cu126"),         # Ampere
    (["--os", "linux", "--gpu-driver", "580.95.05", "--gpu-cc", "8.9"], f"{TORCH}+cu130"),          # Ada
    (["--os", "linux", "--gpu-driver", "580.95.05", "--gpu-cc", "9.0"], f"{TORCH}+cu130"),          # Hopper
    (["--os", "linux", "--gpu-driver", "570.133.07", "--gpu-cc", "12.0"], "2.11.0+cu128"),        # Blackwell 570
    (["--os", "linux", "--gpu-driver", "580.95.05", "--gpu-cc", "12.0"], f"{TORCH}+cu130"),         # Blackwell 580
    (["--os", "linux", "--gpu-driver", "470.82.01"], "2.7.1+cu118"),                              # driver 470
    (["--os", "linux", "--gpu-driver", "580.95.05", "--gpu-cc", "8.9", "--gpu-cc", "6.1"], f"{TORCH}+cu126"),
    (["--os", "windows", "--gpu-driver", "581.57", "--gpu-cc", "8.9"], f"{TORCH}+cu130"),
    (["--os", "macos"], f"{TORCH}"),
    (["--os", "linux", "--gpu-rocm", "gfx1100"], f"{TORCH}+rocm7.2"),
    (["--os", "linux"], f"{TORCH}+cpu"),
]


@pytest.mark.parametrize(("flags", "version"), CASES)
def test_hardware_table_through_the_cli(flags: list[str], version: str) -> None:
    result = run_cli(["setup", "--dry-run", "--json", "--engine", "conda", *flags])
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["torch"]["version"] == version


def _one_reply_server(reply: bytes) -> tuple[socket.socket, int]:
    """A 127.0.0.1 server that answers one connection with ``reply`` and hangs up."""
    import threading

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)

    def answer() -> None:
        conn, _ = sock.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(reply)

    threading.Thread(target=answer, daemon=True).start()
    return sock, sock.getsockname()[1]


@pytest.mark.parametrize("reply", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n<html>torch-2.",  # cut off (IncompleteRead)
    b"SSH-2.0-OpenSSH_9.6\r\n",  # not HTTP at all: a captive portal, a wrong port (BadStatusLine)
])
def test_online_check_survives_a_broken_http_answer(reply: bytes) -> None:
    """http.client's own errors are not OSError: they fell through check_index and `setup
    --dry-run` ended in a traceback (exit 4) instead of 'matrix used, index not checked'."""
    sock, port = _one_reply_server(reply)
    with sock:
        result = check_index(f"http://127.0.0.1:{port}/whl/cu130", "https://pypi.org/simple",
                             f"{TORCH}+cu130", "3.12", "linux-x86_64", urllib_fetch, timeout=5)
    assert result.found is None and "could not read" in result.message


@pytest.mark.parametrize("value", ["", "-1"])
def test_a_gpu_hidden_by_cuda_visible_devices_is_no_silent_cpu_build(tmp_path: Path,
                                                                      value: str) -> None:
    """CUDA_VISIBLE_DEVICES='' (or -1) hides every GPU: the plan is a CPU build, and it says so
    as a warning with the fix, not only in a detection note among the reasons."""
    from tests.test_detect import fake_smi

    fake_smi(tmp_path / "bin", banner="banner-580-2gpu.txt", query="query-580-2gpu.csv")
    env = {"PATH": str(tmp_path / "bin"), "CUDA_VISIBLE_DEVICES": value, "COURSEKIT_OFFLINE": "1"}
    plan = build_plan(SetupRequest(), env=env)
    assert plan.torch.backend == "cpu"
    assert [w for w in plan.warnings if "CPU build although" in w and "Unset CUDA_VISIBLE_DEVICES"
            in w and "(2 found)" in w]
    visible = build_plan(SetupRequest(), env={**env, "CUDA_VISIBLE_DEVICES": "0"})
    assert visible.torch.gpu and not [w for w in visible.warnings if "CPU build" in w]
