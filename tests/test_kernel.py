"""The kernelspec 'pt': where Jupyter looks for it, what it contains, when it is stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coursekit.proc import ToolResult
from coursekit.setup.run.kernel import (
    check_kernel,
    data_dir,
    default_data_dir,
    kernel_dict,
    write_kernel,
)


@pytest.mark.parametrize(("env", "platform", "expected"), [
    ({"HOME": "/h"}, "linux", "/h/.local/share/jupyter"),
    ({"HOME": "/h", "XDG_DATA_HOME": "/x"}, "linux", "/x/jupyter"),
    ({"HOME": "/h"}, "macos", "/h/Library/Jupyter"),
    ({"USERPROFILE": "C:/u", "APPDATA": "C:/u/AppData/Roaming"}, "windows",
     "C:/u/AppData/Roaming/jupyter"),
    ({"HOME": "/h", "JUPYTER_DATA_DIR": "/j"}, "linux", "/j"),
])
def test_default_data_dir(env: dict[str, str], platform: str, expected: str) -> None:
    assert default_data_dir(env, platform) == Path(expected)


def test_data_dir_asks_the_envs_jupyter_core_first() -> None:
    calls: list[list[str]] = []

    def runner(argv, **kw):  # type: ignore[no-untyped-def]
        calls.append([str(a) for a in argv])
        return ToolResult(tuple(calls[-1]), 0, "/from/jupyter_core\n")

    assert data_dir(Path("/e/bin/python"), {"HOME": "/h"}, "linux", runner=runner) == Path(
        "/from/jupyter_core")
    assert "jupyter_data_dir" in calls[0][-1]

    def broken(argv, **kw):  # type: ignore[no-untyped-def]
        return ToolResult(tuple(argv), 1, "", "ModuleNotFoundError: No module named 'jupyter_core'")

    assert data_dir(Path("/e/bin/python"), {"HOME": "/h"}, "linux", runner=broken) == Path(
        "/h/.local/share/jupyter")


def test_write_then_check(tmp_path: Path) -> None:
    python = tmp_path / "env" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    kernels = tmp_path / "kernels"
    assert check_kernel(kernels, python).why == "not registered"
    path = write_kernel(kernels, python, tmp_path / "env")
    assert json.loads(path.read_text()) == kernel_dict(python)
    assert kernel_dict(python)["argv"] == [str(python), "-m", "ipykernel_launcher", "-f",
                                           "{connection_file}"]
    assert check_kernel(kernels, python).ok
    assert [p.name for p in path.parent.iterdir()] == ["kernel.json"]  # no temp file left


def test_stale_kernels_are_detected(tmp_path: Path) -> None:
    python = tmp_path / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    other = tmp_path / "other-python"
    other.write_text("")
    spec = tmp_path / "k" / "pt" / "kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": [str(other), "-m", "ipykernel_launcher"],
                                "display_name": "Python (pt)"}))
    assert "not the env's Python" in check_kernel(tmp_path / "k", python).why
    spec.write_text(json.dumps({"argv": [str(python)], "display_name": "Python 3 (ipykernel)"}))
    assert "display name" in check_kernel(tmp_path / "k", python).why
    spec.write_text("{broken")
    assert "unreadable" in check_kernel(tmp_path / "k", python).why


def test_logos_are_copied_when_ipykernel_has_them(tmp_path: Path) -> None:
    prefix = tmp_path / "env"
    res = prefix / "lib" / "python3.12" / "site-packages" / "ipykernel" / "resources"
    res.mkdir(parents=True)
    (res / "logo-64x64.png").write_bytes(b"png")
    path = write_kernel(tmp_path / "kernels", prefix / "bin" / "python", prefix)
    assert (path.parent / "logo-64x64.png").read_bytes() == b"png"


def test_a_kernel_named_otherwise_gets_its_own_display_name(tmp_path: Path) -> None:
    python = tmp_path / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    path = write_kernel(tmp_path / "k", python, tmp_path, name="dl")
    assert path == tmp_path / "k" / "dl" / "kernel.json"
    assert json.loads(path.read_text())["display_name"] == "Python (dl)"
    assert check_kernel(tmp_path / "k", python, "dl").ok
    assert check_kernel(tmp_path / "k", python).why == "not registered"
