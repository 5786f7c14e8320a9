"""The probe run for real: real torch 2.13.0 CPU, and stand-in torch builds for GPU cases."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from coursekit.probing import PROBE_PATH, run_probe
from tests.doctor.standins import make_fake_module, make_fake_torch

pytestmark = pytest.mark.realtool


def _env_with(site: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site)
    return env


@pytest.mark.torch
@pytest.mark.slow
def test_real_torch_cpu() -> None:
    pytest.importorskip("torch")
    facts = run_probe(Path(sys.executable))
    assert facts.status == "ok", facts.stderr
    torch = facts.torch
    assert torch["status"] == "ok" and torch["child"] == "ok"
    import torch as real_torch

    assert torch["version"] == real_torch.__version__
    assert torch["cuda"] is None and torch["cuda_available"] is False
    assert torch["file"].startswith(str(Path(real_torch.__file__).parent.parent))
    names = {d["name"] for d in facts.data["distributions"]["items"]}
    assert "torch" in names
    py = facts.data["python"]
    assert py["executable"] and py["bits"] == 64
    assert py["version"].startswith(f"{sys.version_info[0]}.{sys.version_info[1]}")


def test_probe_imports_only_the_stdlib() -> None:
    import ast

    tree = ast.parse(PROBE_PATH.read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    imported -= {"torch", "numpy"}  # the child's guarded imports of the env's packages
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}, imported


def test_script_folder_does_not_shadow_the_stdlib(tmp_path: Path) -> None:
    # Run by path, the probe's folder is sys.path[0]; coursekit/ holds select.py & co.
    folder = tmp_path / "pkg"
    folder.mkdir()
    (folder / "probe.py").write_text(PROBE_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "json.py").write_text("raise SystemExit('shadowed json')\n", encoding="utf-8")
    import subprocess

    out = subprocess.run([sys.executable, str(folder / "probe.py"), "--timeout", "60"],
                         capture_output=True, text=True, check=True)
    assert '"probe_schema": 1' in out.stdout


def test_stand_in_cuda_torch_with_kernel_error(tmp_path: Path) -> None:
    site = make_fake_torch(tmp_path, version="2.9.0+cu128", cuda="12.8",
                           arch_list=("sm_75", "sm_80", "sm_86", "sm_90"), capability=(12, 0),
                           device_name="NVIDIA GeForce RTX 5090",
                           init_warning="NVIDIA GeForce RTX 5090 with CUDA capability sm_120 is "
                                        "not compatible with the current PyTorch installation.",
                           op_error="CUDA error: no kernel image is available for execution on "
                                    "the device")
    facts = run_probe(Path(sys.executable), env=_env_with(site))
    torch = facts.torch
    assert facts.status == "ok", facts.stderr
    assert torch["version"] == "2.9.0+cu128" and torch["cuda"] == "12.8"
    assert torch["devices"] == [{"index": 0, "name": "NVIDIA GeForce RTX 5090",
                                 "capability": "12.0"}]
    assert torch["cuda_op"]["ok"] is False
    assert "no kernel image" in torch["cuda_op"]["error"]
    assert any("sm_120 is not compatible" in w for w in torch["warnings"])


def test_import_error_text_is_a_fact(tmp_path: Path) -> None:
    site = make_fake_torch(tmp_path, import_error="OSError(\"[WinError 126] The specified module "
                           "could not be found. Error loading 'fbgemm.dll' or one of its "
                           "dependencies.\")")
    facts = run_probe(Path(sys.executable), env=_env_with(site))
    assert facts.status == "ok"
    assert facts.torch["status"] == "import-error"
    assert "fbgemm.dll" in facts.torch["error"]["message"]


def test_crash_on_import_keeps_earlier_facts(tmp_path: Path) -> None:
    site = make_fake_torch(tmp_path, import_body="import os\nos.abort()\n")
    facts = run_probe(Path(sys.executable), env=_env_with(site))
    assert facts.status == "ok"
    assert facts.torch["status"] == "crashed"
    assert facts.torch["returncode"] != 0
    assert facts.data["python"]["executable"]
    assert "numpy" in facts.torch["stages"]


def test_hanging_import_is_a_timeout(tmp_path: Path) -> None:
    site = make_fake_torch(tmp_path, import_body="import time\ntime.sleep(60)\n")
    facts = run_probe(Path(sys.executable), env=_env_with(site), timeout=10)
    assert facts.status == "ok"
    assert facts.torch["status"] == "timeout"


def test_missing_torch(tmp_path: Path) -> None:
    # A fresh venv-less interpreter view: -S style isolation is not possible through PYTHONPATH,
    # so shadow torch with a package that raises ModuleNotFoundError for itself.
    site = make_fake_torch(tmp_path, import_body=(
        "raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n"))
    facts = run_probe(Path(sys.executable), env=_env_with(site))
    assert facts.torch["status"] == "missing"


def test_torchvision_operator_error(tmp_path: Path) -> None:
    site = make_fake_torch(tmp_path, version="2.13.0+cpu", cuda=None, available=False)
    make_fake_module(site, "torchvision",
                     "raise RuntimeError('operator torchvision::nms does not exist')\n", "0.27.0")
    facts = run_probe(Path(sys.executable), env=_env_with(site))
    tv = facts.data["imports"]["torchvision"]
    assert tv["ok"] is False and "torchvision::nms" in tv["error"]["message"]
    versions = {d["name"]: d["version"] for d in facts.data["distributions"]["items"]
                if d["location"] == str(site)}
    assert versions == {"torch": "2.13.0+cpu", "torchvision": "0.27.0"}


def test_missing_interpreter_and_garbage_output(tmp_path: Path) -> None:
    assert run_probe(tmp_path / "nope" / "python").status == "not-found"
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho garbage\nexit 0\n")
    fake.chmod(0o755)
    assert run_probe(fake).status == "bad-output"
    fake.write_text("#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n")
    broken = run_probe(fake)
    assert broken.status == "crashed" and "init_fs_encoding" in broken.stderr


def test_a_hanging_cuda_call_after_a_good_import_is_reported_with_its_stage(tmp_path: Path) -> None:
    from coursekit.doctor.diagnose import diagnose
    from coursekit.doctor.facts import Facts

    site = make_fake_torch(tmp_path, version="2.13.0+cu130", cuda="13.0",
                           extra="import time as _t\ndef _hang(self):\n    _t.sleep(60)\n"
                                 "_Cuda.is_available = _hang\n")
    facts = run_probe(Path(sys.executable), env=_env_with(site), timeout=12)
    assert facts.torch["status"] == "ok" and facts.torch["child"] == "timeout"
    found = {f.id: f for f in diagnose(Facts(probe=facts))}
    assert found["torch-import-timeout"].title == "The torch probe hung while initialising CUDA"


@pytest.mark.parametrize("version", ["3.8.18", "3.9.18", "3.12.1", "3.13.0"])
def test_probe_runs_on_other_pythons(version: str) -> None:
    # A student's env may hold any Python; the probe must report, not crash, on each.
    python = Path.home() / ".pyenv" / "versions" / version / "bin" / "python"
    if not python.exists():
        pytest.skip(f"no Python {version} at {python}")
    facts = run_probe(python, env={"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert facts.status == "ok", facts.stderr
    assert facts.data["python"]["version"] == version
    assert facts.torch["status"] in ("missing", "ok") and facts.torch["child"] == "ok"


def test_index_credentials_never_leave_the_machine(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nextra-index-url = https://student:s3cret-token@pkgs.example.edu/simple\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PIP_CONFIG_FILE": str(conf),
           "PIP_INDEX_URL": "https://ci:tok@mirror.example/simple"}
    facts = run_probe(Path(sys.executable), env=env)
    text = json.dumps(facts.data["pip_config"])
    assert "s3cret" not in text and "tok@" not in text
    assert "https://***@pkgs.example.edu/simple" in text


def test_a_torch_in_the_user_site_is_seen_and_flagged(tmp_path: Path) -> None:
    # `pip install --user torch` puts torch in ~/.local, ahead of the env's site-packages.
    python = Path.home() / ".pyenv" / "versions" / "3.12.1" / "bin" / "python3.12"
    if not python.exists():
        pytest.skip("needs a non-venv Python 3.12 (user site enabled)")
    user_site = tmp_path / "userbase" / "lib" / "python3.12" / "site-packages"
    make_fake_torch(user_site, version="2.9.1+cpu", cuda=None, available=False)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONUSERBASE": str(tmp_path / "userbase")}
    facts = run_probe(python, env=env)
    torch_copies = [d for d in facts.data["distributions"]["items"] if d["name"] == "torch"]
    assert torch_copies and torch_copies[0]["in_user_site"] is True
    from coursekit.doctor.diagnose import diagnose
    from coursekit.doctor.facts import Facts

    found = {f.id: f for f in diagnose(Facts(probe=facts))}
    assert "user site" in found["torch-duplicate"].detail
    assert "pip uninstall -y torch torchvision torchaudio" in (found["torch-duplicate"].fix or "")


def test_one_odd_metadata_file_does_not_cost_the_other_packages(tmp_path: Path) -> None:
    # A direct_url.json that is not an object and an INSTALLER that is not UTF-8 (a half-written
    # or foreign dist-info) once replaced the whole distributions section with an error.
    info = tmp_path / "site" / "torch-2.9.1+cpu.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.9.1+cpu\n")
    (info / "direct_url.json").write_text('["not", "an", "object"]')
    (info / "INSTALLER").write_bytes(b"\xff\xfe\x00")
    facts = run_probe(Path(sys.executable), env=_env_with(tmp_path / "site"))
    items = facts.data["distributions"]["items"]
    odd = [d for d in items if d["name"] == "torch" and d["version"] == "2.9.1+cpu"]
    assert odd and odd[0]["direct_url"] is None and odd[0]["installer"] is None
    assert any(d["name"] == "pip" for d in items), "the other packages are still reported"
