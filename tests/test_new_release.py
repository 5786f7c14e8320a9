"""A new torch release is one data file (issue 16 item 4): a release added to a copy of
``envs/torch-matrix.toml`` is picked by the planner with no other change, and the tests read
"the newest release" from the matrix (``tests.helpers.newest_release``)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from packaging.version import Version

from coursekit.host import GpuInfo, HostInfo
from coursekit.setup.plan.compose import make_plan
from coursekit.setup.plan.envspec import load_spec
from coursekit.setup.plan.matrix import load_matrix
from tests.helpers import AUDIO, NEWEST, TORCH, VISION

ENVS = Path(__file__).resolve().parents[1] / "envs"


def _bump(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor + 1}.0"


def with_synthetic_release(folder: Path) -> tuple[str, str, str]:
    """Copy ``envs/`` to ``folder`` and add release N+1 as a copy of the newest block (the way
    a maintainer starts a new release); returns its torch, torchvision and torchaudio."""
    shutil.copytree(ENVS, folder, dirs_exist_ok=True)
    path = folder / "torch-matrix.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index(f'[[release]]\nline = "{NEWEST}"')
    end = text.index("\n[rocm.", start)
    end = text.rindex("\n# ---", start, end) if "\n# ---" in text[start:end] else end
    block = text[start:end]
    torch, vision = _bump(TORCH), _bump(VISION)
    new = (block.replace(f'line = "{NEWEST}"', f'line = "{_bump(TORCH)[:-2]}"')
           .replace(f'torch = "{TORCH}"', f'torch = "{torch}"')
           .replace(f'torchvision = "{VISION}"', f'torchvision = "{vision}"'))
    path.write_text(text[:end] + "\n\n" + new + text[end:], encoding="utf-8")
    return torch, vision, AUDIO


HOSTS = {
    "no GPU": (HostInfo("linux", "x86_64"), "cpu"),
    "Ada sm_89, driver 580": (HostInfo("linux", "x86_64", gpus=(
        GpuInfo("nvidia", "RTX 4090", compute_capability="8.9", driver_version="580.95.05"),)),
        None),
    "macOS arm64": (HostInfo("macos", "arm64", macos_version="14.5"), "pypi"),
}


@pytest.mark.parametrize("case", sorted(HOSTS))
def test_the_planner_picks_a_release_added_to_the_matrix(tmp_path: Path, case: str) -> None:
    torch, vision, audio = with_synthetic_release(tmp_path / "envs")
    matrix = load_matrix(tmp_path / "envs")
    assert matrix.newest.line == torch[:-2] and [r.line for r in matrix.releases][-2] == NEWEST
    host, backend = HOSTS[case]
    spec = load_spec(ENVS / "course.toml")
    before = make_plan(spec, host, matrix=load_matrix())
    after = make_plan(spec, host, matrix=matrix)
    assert before.torch.version.split("+")[0] == TORCH
    assert after.torch.version.split("+")[0] == torch
    assert after.torch.release == torch[:-2]
    assert after.torch.backend == before.torch.backend and (backend is None
                                                            or after.torch.backend == backend)
    tag = re.sub(r"^[^+]*", "", after.torch.version)
    assert after.torch.pins() == (f"torch=={torch}{tag}", f"torchvision=={vision}{tag}",
                                  f"torchaudio=={audio}{tag}")


def test_the_tests_read_the_newest_release_from_the_matrix() -> None:
    matrix = load_matrix()
    assert NEWEST == max((r.line for r in matrix.releases), key=Version)
    assert TORCH.startswith(NEWEST + ".")
    assert (TORCH, VISION, AUDIO) in {(v.torch, v.torchvision, v.torchaudio)
                                      for v in matrix.newest.versions}
