"""The built wheel carries the data folders and the installed package finds them.

Tests import the checkout, so a packaging mistake (envs/ or labs/ missing from the
wheel) would only show up for students; this builds the real wheel and looks inside.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.prereqs import need_module


@pytest.mark.slow
@pytest.mark.realtool
def test_wheel_contains_envs_and_labs(repo_root: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    need_module("hatchling")  # from the test extra: the build needs no network
    env["PIP_CONFIG_FILE"] = os.devnull
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
         "-w", str(tmp_path), str(repo_root)],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("coursekit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "envs", "labs"], cwd=repo_root,
                             capture_output=True, text=True, check=True).stdout.split()
    assert tracked, "git ls-files found no data files"
    missing = [p for p in tracked if f"coursekit/_data/{p}" not in names]
    assert not missing, f"data files missing from the wheel: {missing[:10]}"
    assert "coursekit/cli/__init__.py" in names
