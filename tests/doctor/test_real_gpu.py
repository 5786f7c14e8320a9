"""A real GPU machine, captured: an NVIDIA H200 with driver 580.159.04 and torch 2.11.0+cu130.

The files in ``tests/data/gpu-h200/`` were captured on a lent H200 machine (see the README there):
its ``coursekit doctor --json`` report, its ``nvidia-smi`` outputs and CUDA torch's own facts. They
are the only proof of the GPU path that no fake can give, so these tests read them back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.report import load_report
from coursekit.errors import ExitCode
from tests.helpers import run_cli

DATA = Path(__file__).parent.parent / "data" / "gpu-h200"
REPORT = DATA / "doctor-report.json"
TORCH = json.loads((DATA / "torch-cuda-facts.json").read_text())


@pytest.mark.parametrize(
    "name", ["doctor-report.json", "doctor-report-v2.json", "doctor-report-v3.json"])
def test_the_real_h200_report_is_healthy_when_triaged(name: str) -> None:
    # Before: a false 'torch-from-pypi' warning, because PyPI's Linux torch (dist-info 2.11.0)
    # has no local tag although it is a CUDA build that ran a CUDA operation on the H200.
    # v2: the same machine with this coursekit's schema-2 probe (per-GPU op, cuDNN convolution).
    result = run_cli(["doctor", "--from", str(DATA / name), "--json"])
    assert result.code == ExitCode.OK, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["summary"]["status"] == "ok"
    assert [f for f in data["findings"] if f["severity"] != "info"] == []


def test_the_real_h200_report_names_the_gpu_as_torch_saw_it() -> None:
    facts = load_report(REPORT).facts
    assert facts.gpu is not None
    (gpu,) = facts.gpu.gpus
    assert (gpu.name, gpu.compute_capability, gpu.driver_version) == ("NVIDIA H200", "9.0", "580.159.04")
    probe = facts.probe.data["torch"] if facts.probe and facts.probe.data else {}
    assert probe["cuda_available"] and probe["cuda_op"]["ok"]
    # torch.cuda.get_device_name() and the capability in the probe agree with the captured torch.
    assert [(d["name"], d["capability"]) for d in probe["devices"]] == [
        (d["name"], ".".join(map(str, d["capability"]))) for d in TORCH["devices"]]
    assert probe["arch_list"] == TORCH["arch_list"]
    assert not diagnose(facts) or all(f.severity == "info" for f in diagnose(facts))


def test_text_output_of_the_real_report_shows_the_gpu_line() -> None:
    result = run_cli(["doctor", "--from", str(REPORT)], env={"COLUMNS": "100"})
    assert result.code == ExitCode.OK
    assert "NVIDIA H200 (9.0), driver 580.159.04" in result.stdout


def test_the_v2_capture_ran_every_gpu_path_probe_step() -> None:
    data = json.loads((DATA / "doctor-report-v2.json").read_text())
    torch = data["facts"]["probe"]["data"]["torch"]
    assert data["schema"] == 2 and data["facts"]["platform"]["glibc"] == "2.39"
    assert [d["ok"] for d in torch["cuda_op"]["devices"]] == [True]
    assert torch["cudnn_op"]["ok"] is True and torch["cudnn_op"]["version"] == TORCH["cudnn"]
    labs = (DATA / "lab-checks-v2.txt").read_text()
    assert all(f"lab {n} check rc=0" in labs for n in (1, 4, 6, 8))


def test_the_v3_capture_checked_for_a_newer_release_offline_without_a_finding() -> None:
    """v3: the final code on the same H200, which has no internet: the release check failed
    quietly (a fact, no finding), the doctor still said "No issues found", and the lab checks
    passed on the GPU."""
    data = json.loads((DATA / "doctor-report-v3.json").read_text())
    check = data["facts"]["release_check"]
    assert check["status"] == "failed" and check["index_newest"] is None
    assert data["findings"] == [] and data["summary"]["status"] == "ok"
    assert "No issues found" in (DATA / "doctor-verbose-v3.txt").read_text()
    labs = (DATA / "lab-checks-v3.txt").read_text()
    assert all(f"lab {n} check rc=0" in labs for n in (1, 4, 6, 8))
