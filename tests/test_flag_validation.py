"""Flags refused with exit 2 before any work (issue 10, item 7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coursekit.errors import ExitCode
from tests.helpers import run_cli

DRY = ["setup", "--dry-run", "--os", "linux"]


@pytest.mark.parametrize("flags", [
    ["--channel", ""], ["--channel", "  "], ["--channel", "not a url"],
    ["--channel", "http://mirror.example/conda"], ["--channel", "file://host/share/channel"],
    ["--channel", "ftp://mirror.example/conda"], ["--channel", "Mirror.Example/conda"],
    ["--index-url", ""], ["--index-url", "file://host/wheels"], ["--index-url", "ftp://x/y"],
    ["--gpu-cc", "0.1"], ["--gpu-cc", "0.9"], ["--gpu-cc", "99.0"], ["--gpu-cc", "13.0"],
    ["--gpu-cc", "abc"],
], ids=lambda f: " ".join(f) or "empty")
def test_bad_setup_flags_are_exit_2(flags: list[str]) -> None:
    result = run_cli([*DRY, *flags], env={"COURSEKIT_OFFLINE": "1"})
    assert result.code == ExitCode.USAGE, result.stdout + result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("flags", [
    ["--channel", "conda-forge"], ["--channel", "https://mirror.example/conda-forge"],
    ["--channel", "http://localhost:8000/conda"], ["--channel", "file:///srv/channel"],
    ["--index-url", "file:///srv/wheels"], ["--index-url", "https://mirror.example/simple"],
    ["--gpu-cc", "8.6"], ["--gpu-cc", "12.0"], ["--gpu-cc", "5.0"],
], ids=lambda f: " ".join(f))
def test_good_setup_flags_still_plan(flags: list[str]) -> None:
    result = run_cli([*DRY, *flags], env={"COURSEKIT_OFFLINE": "1"})
    assert result.code == ExitCode.OK, result.stderr


def test_a_local_channel_folder_is_accepted(tmp_path: Path) -> None:
    result = run_cli([*DRY, "--channel", str(tmp_path)], env={"COURSEKIT_OFFLINE": "1"})
    assert result.code == ExitCode.OK, result.stderr


def test_doctor_env_empty_is_exit_2() -> None:
    result = run_cli(["doctor", "--env", ""])
    assert result.code == ExitCode.USAGE and "--env is empty" in result.stderr
