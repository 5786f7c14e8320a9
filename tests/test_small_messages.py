"""Small message fixes (issue 10, item 18)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from coursekit.errors import ExitCode, InterruptNoted
from tests.helpers import run_cli


@pytest.mark.parametrize("number", ["-1", "abc", "1.5", "٣"])
def test_a_bad_lab_number_lists_the_valid_ones(number: str) -> None:
    result = run_cli(["lab", "--", number])
    assert result.code == ExitCode.USAGE
    assert "the labs are: 1, 2, 3, 4, 5, 6, 7, 8" in result.stderr


@pytest.mark.parametrize(("raised", "shown"), [(InterruptNoted, None), (KeyboardInterrupt, "Interrupted.")])
def test_no_aborted_line_after_the_interrupt_note(monkeypatch: pytest.MonkeyPatch, raised: type,
                                                  shown: str | None) -> None:
    from coursekit.setup.run import service

    def interrupted(*args: Any, **kwargs: Any) -> int:
        raise raised

    monkeypatch.setattr(service, "execute_plan", interrupted)
    result = run_cli(["setup", "--yes"], env={"COURSEKIT_OFFLINE": "1"})
    assert result.code == ExitCode.INTERRUPTED
    assert "Aborted." not in result.stderr
    if shown:
        assert shown in result.stderr
    else:
        assert "Interrupted." not in result.stderr


def test_step_3_names_the_index_it_really_uses(tmp_path: Any) -> None:
    result = run_cli(["setup", "--dry-run", "--os", "linux", "--engine", "conda", "--index-url",
                      str(tmp_path)], env={"COURSEKIT_OFFLINE": "1"})
    assert result.code == 0, result.stderr
    step3 = result.stdout[result.stdout.index("  3. "):result.stdout.index("  4. ")]
    assert f"from {tmp_path}" in step3 and f"--find-links {tmp_path}" in step3
    assert "PyPI" not in step3


@pytest.mark.parametrize("gpu", [True, False])
def test_the_disk_minimum_is_one_number_in_the_note_and_the_fix_lines(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch, gpu: bool) -> None:
    """Setup's disk note, setup's disk-full fix and the doctor's disk-low fix say the same
    number of GB for the same build (coursekit.constants.ENV_DISK_GB)."""
    import dataclasses
    import re
    import shutil as _shutil

    from coursekit.constants import ENV_DISK_GB
    from coursekit.doctor.facts import DiskFacts, Facts, GpuFacts, from_data
    from coursekit.doctor.report import make_report
    from coursekit.host import GpuInfo
    from coursekit.proc import ToolResult
    from coursekit.setup.run import preflight
    from coursekit.setup.run.failures import classify
    from tests.doctor.fixtures import finding_data
    from tests.test_execute import FakeRunner, _ctx

    need = ENV_DISK_GB["gpu" if gpu else "cpu"]
    ctx, _ = _ctx(FakeRunner())
    ctx.plan = dataclasses.replace(ctx.plan, torch=dataclasses.replace(ctx.plan.torch, gpu=gpu))
    ctx.environ = {"HOME": str(tmp_path), "COURSEKIT_HOME": str(tmp_path / "ck")}
    usage = _shutil.disk_usage(tmp_path)
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda p: usage._replace(free=int(1e9)))
    note = preflight.disk_note(ctx)
    assert note is not None
    full = ToolResult(("pip",), 1, "", "OSError: [Errno 28] No space left on device")
    fix = classify("Install torch", full, disk_gb=need).fix
    facts = from_data(Facts, finding_data("disk-low"))
    gpus = (GpuInfo("nvidia", "RTX", compute_capability="8.6", driver_version="580.95.05"),)
    facts = dataclasses.replace(
        facts, gpu=GpuFacts(gpus=gpus if gpu else ()),
        disks=(DiskFacts("course env", "/home/ann", 1024, 100_000),),
        probe=None)
    doctor_fix = next(f.fix for f in make_report(facts).findings if f.id == "disk-low")
    for text in (note, fix, doctor_fix):
        numbers = {int(n) for n in re.findall(r"(?<![\d.])(\d+) GB\b", text)}
        assert numbers == {need}, text


def test_step_3_names_the_users_pypi_mirror(tmp_path: Any) -> None:
    """pip's own index-url (a PyPI mirror in pip.conf or PIP_INDEX_URL) is where lightning & co.
    come from: step 3 says so instead of "from PyPI"."""
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://pypi.mirror.example/simple\n", encoding="utf-8")
    result = run_cli(["setup", "--dry-run", "--os", "linux", "--engine", "conda"],
                     env={"COURSEKIT_OFFLINE": "1", "PIP_CONFIG_FILE": str(conf), "PIP_INDEX_URL": None})
    assert result.code == 0, result.stderr
    step3 = result.stdout[result.stdout.index("  3. "):result.stdout.index("  4. ")]
    assert "from https://pypi.mirror.example/simple" in step3 and "PyPI" not in step3
    plain = run_cli(["setup", "--dry-run", "--os", "linux", "--engine", "conda"],
                    env={"COURSEKIT_OFFLINE": "1", "PIP_CONFIG_FILE": os.devnull, "PIP_INDEX_URL": None})
    assert "from PyPI" in plain.stdout[plain.stdout.index("  3. "):plain.stdout.index("  4. ")]
