"""The course env spec: the bundled file loads; every kind of mistake is a clear SpecError."""

from __future__ import annotations

from pathlib import Path

import pytest

from coursekit.errors import ExitCode, SpecError
from coursekit.setup.plan.envspec import load_spec

GOOD = """
format_version = 1
[env]
name = "pt"
python = "3.12"
channels = ["conda-forge"]
[conda]
packages = ["jupyterlab", "pandas>=2"]
[pip]
torch = ["torch", "torchvision", "torchaudio"]
after_torch = ["lightning>=2.6.6"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_spec_is_the_course() -> None:
    spec = load_spec()
    assert (spec.name, spec.python, spec.channels) == ("pt", "3.12", ("conda-forge",))
    for pkg in ("jupyterlab", "jupyterlab-git", "matplotlib", "nbdime", "pandas", "scikit-learn", "seaborn"):
        assert pkg in spec.conda_packages
    assert "lightning" not in spec.conda_packages
    assert spec.torch_packages == ("torch", "torchvision", "torchaudio")
    assert any(r.startswith("lightning") for r in spec.after_torch)
    assert spec.torch_version is None and spec.torch_backend is None


def test_env_variable_points_at_another_spec(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('name = "pt"', 'name = "dl2026"'))
    assert load_spec(env={"COURSEKIT_ENV_SPEC": str(path)}).name == "dl2026"


@pytest.mark.parametrize(("change", "needle"), [
    (("format_version = 1", "format_version = 2"), "format_version"),
    (('python = "3.12"', 'python = "3.12.1"'), "env.python"),
    (('python = "3.12"', "python = 3.12"), "env.python"),
    (('name = "pt"', 'name = "my env"'), "env.name"),
    (('"pandas>=2"', '"pandas>=2", "lightning"'), "lightning"),
    (('"pandas>=2"', '"pandas>=2", "pytorch"'), "pytorch"),
    (('"pandas>=2"', '"pandas>=2", "python=3.11"'), "python"),
    (('after_torch = ["lightning>=2.6.6"]', 'after_torch = ["lightning>>2"]'), "pip.after_torch"),
    (('after_torch = ["lightning>=2.6.6"]', 'after_torch = ["torch"]'), "pip.after_torch"),
    (('torch = ["torch", "torchvision", "torchaudio"]', 'torch = ["torchvision"]'), "pip.torch"),
    (('channels = ["conda-forge"]', 'channels = ["pytorch", "conda-forge"]'), "env.channels"),
    (('channels = ["conda-forge"]', "channels = []"), "env.channels"),
    (("[conda]", "[conda]\npackges = []"), "conda.packges"),
    (("[pip]", "[pip]\nextra = 1"), "pip.extra"),
    (("[env]", "[envv]"), "env"),
    (('name = "pt"', 'name = "pt'), "not valid TOML"),
])
def test_mistakes_are_spec_errors_with_a_fix(tmp_path: Path, change: tuple[str, str], needle: str) -> None:
    assert change[0] in GOOD
    path = write(tmp_path, GOOD.replace(change[0], change[1], 1))
    with pytest.raises(SpecError) as err:
        load_spec(path)
    assert err.value.exit_code == ExitCode.USAGE
    assert needle in err.value.message and str(path) in err.value.message
    assert err.value.fix


def test_torch_pins_are_validated(tmp_path: Path) -> None:
    ok = load_spec(write(tmp_path, GOOD + '[torch]\nversion = "2.13"\nbackend = "cu126"\n'))
    assert (ok.torch_version, ok.torch_backend) == ("2.13", "cu126")
    with pytest.raises(SpecError, match="torch.version"):
        load_spec(write(tmp_path, GOOD + '[torch]\nversion = "latest"\n'))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "nope.toml")
