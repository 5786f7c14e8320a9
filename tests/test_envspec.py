"""The course env spec: the bundled file loads; every kind of mistake is a clear SpecError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from coursekit.errors import ExitCode, SpecError
from coursekit.setup.plan.envspec import default_spec_path, load_spec, parse_spec

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


# --- issue 18: behaviours the mutation run found unpinned (bench/mutation.py envspec) --------------



def data(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"format_version": 1,
                            "env": {"name": "pt", "python": "3.12", "channels": ["conda-forge"]},
                            "conda": {"packages": ["jupyterlab"]},
                            "pip": {"torch": ["torch"], "after_torch": []}}
    for dotted, value in changes.items():
        table, _, key = dotted.partition("__")
        if key:
            base.setdefault(table, {})[key] = value
        else:
            base[table] = value
    return base


def test_parsed_values_are_exact() -> None:
    spec = parse_spec(data(conda__packages=[" pandas >=2 ", "numpy"], pip__after_torch=[" lightning>=2 "],
                           env__channels=["conda-forge", "bioconda"]))
    assert spec.conda_packages == ("pandas >=2", "numpy") and spec.after_torch == ("lightning>=2",)
    assert spec.channels == ("conda-forge", "bioconda") and spec.torch_packages == ("torch",)
    assert spec.path is None and spec.torch_version is None and spec.torch_backend is None
    pinned = parse_spec(data(torch={"version": "2.13.0", "backend": ""}), Path("c.toml"))
    assert pinned.torch_version == "2.13.0" and pinned.torch_backend is None and pinned.path == Path("c.toml")
    assert parse_spec(data(torch__version="2.13")).torch_version == "2.13"


# Written out here (not imported) so that a name dropped from the module's set is caught.
TORCH_DEPENDENT = ["pytorch", "pytorch-cpu", "pytorch-gpu", "libtorch", "torch", "torchvision", "torchaudio",
                   "lightning", "pytorch-lightning", "torchmetrics", "lightning-utilities-torch", "timm",
                   "torchdata", "torchtext", "transformers", "accelerate", "captum", "pytorch_geometric"]


@pytest.mark.parametrize("name", TORCH_DEPENDENT)
def test_every_torch_dependent_conda_package_is_refused(name: str) -> None:
    with pytest.raises(SpecError, match=rf"lists '{name}', which is or depends on pytorch") as err:
        parse_spec(data(conda__packages=["numpy", f"{name.upper()} >=1"]))
    assert err.value.fix == f"Move '{name}' to [pip] after_torch (or the trio to [pip] torch)."


@pytest.mark.parametrize(("changes", "message"), [
    ({"format_version": None}, r"^environment spec: `format_version` must be 1, got None\.$"),
    ({"env__channels": ["nvidia"]}, r"`env.channels` lists the retired"),
    ({"env__channels": ["conda-forge", " "]}, r"`env.channels` must be a list of non-empty strings"),
    ({"env__channels": "conda-forge"}, r"`env.channels` must be a list of non-empty strings, got 'conda-forge'"),
    ({"conda__packages": []}, r"`conda.packages` is empty"),
    ({"conda__packages": ["pandas; os"]}, r"entry 'pandas; os' is not a conda package spec"),
    ({"conda__packages": ["Python>=3.11"]}, r"`conda.packages` lists python"),
    ({"pip__torch": []}, r"`pip.torch` is empty"),
    ({"pip__torch": ["torch", "torchtext"]}, r"`pip.torch` must be `torch` plus"),
    ({"pip__after_torch": ["TorchVision"]}, r"`pip.after_torch` lists 'TorchVision'"),
    ({"pip__after_torch": None}, r"`pip.after_torch` must be a list"),
    ({"torch": "2.13"}, r"`\[torch\]` table is missing"),
    ({"pip": None}, r"`\[pip\]` table is missing"),
    ({"torch__backend": "cu 126"}, r"`torch.backend` must be e\.g\."),
    ({"torch__version": "2.13.0.1"}, r"`torch.version` must be"),
    ({"env__python": "2.7"}, r"`env.python` must be"),
    ({"env__python": "3.123"}, r"`env.python` must be"),
    ({"env__name": "-pt"}, r"`env.name` must be"),
    ({"extra": 1, "another": 2}, r"`another` is not a known key"),
    ({"torch__pin": 1}, r"`torch.pin` is not a known key"),
])
def test_each_mistake_names_its_key(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        parse_spec(data(**changes))


def test_unknown_key_fix_lists_the_allowed_ones() -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(data(env__nmae="pt"))
    assert err.value.fix == "Use only env.channels, env.name, env.python (see envs/README.md)."
    with pytest.raises(SpecError) as top:
        parse_spec(data(extra=1))
    assert top.value.fix == "Use only conda, env, format_version, pip, torch (see envs/README.md)."


def test_default_spec_path(tmp_path: Path) -> None:
    assert default_spec_path({"COURSEKIT_ENV_SPEC": str(tmp_path / "c.toml")}) == tmp_path / "c.toml"
    bundled = default_spec_path({"COURSEKIT_ENV_SPEC": ""})
    assert bundled.name == "course.toml" and bundled.parent.name == "envs" and bundled.is_file()
    assert default_spec_path({}) == bundled
