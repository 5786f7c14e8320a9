"""The plan's steps: stable ids, one torch, exact pins, one index; real pip holds torch in place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.host import GpuInfo, HostInfo
from coursekit.setup.plan.compose import make_plan
from coursekit.setup.plan.envspec import load_spec
from coursekit.setup.plan.model import ENV_PYTHON, STEP_IDS
from tests.fakes.fixtures import clean_pip_env  # noqa: F401 - fixture
from tests.fakes.pyindex import _write_index, build_index, make_wheel, serve
from tests.helpers import AUDIO, TORCH, VISION

GPU = HostInfo("linux", "x86_64", gpus=(GpuInfo("nvidia", "RTX 4090", driver_version="580.95.05",
                                                compute_capability="8.9"),))


def test_step_ids_and_order() -> None:
    plan = make_plan(load_spec(), GPU)
    assert tuple(s.id for s in plan.steps) == STEP_IDS


def test_create_env_has_only_conda_forge_and_no_torch_dependents() -> None:
    create = make_plan(load_spec(), GPU).step("create_env")
    assert create.argv[:4] == ("conda", "create", "-n", "pt")
    assert "--override-channels" in create.argv
    assert create.argv[create.argv.index("-c") + 1] == "conda-forge" and create.argv.count("-c") == 1
    assert "python=3.12" in create.argv
    for forbidden in ("lightning", "pytorch", "torch", "torchmetrics", "pytorch-lightning"):
        assert forbidden not in create.argv
    assert not create.in_env


def test_install_torch_uses_one_index_and_exact_pins() -> None:
    plan = make_plan(load_spec(), GPU)
    step = plan.step("install_torch")
    assert step.argv.count("--index-url") == 1 and "--extra-index-url" not in step.argv
    assert step.argv[step.argv.index("--index-url") + 1] == "https://download.pytorch.org/whl/cu130"
    assert step.argv[-3:] == (f"torch=={TORCH}+cu130", f"torchvision=={VISION}+cu130", f"torchaudio=={AUDIO}+cu130")
    assert step.holds == step.argv[-3:]


def test_dependents_hold_the_trio_and_use_no_torch_index() -> None:
    step = make_plan(load_spec(), GPU).step("install_dependents")
    assert "lightning>=2.6.6" in step.argv
    assert "--index-url" not in step.argv and "--extra-index-url" not in step.argv
    assert step.holds == (f"torch=={TORCH}+cu130", f"torchvision=={VISION}+cu130", f"torchaudio=={AUDIO}+cu130")
    assert step.argv[-3:] == step.holds


def test_macos_installs_from_pypi_without_local_tags() -> None:
    plan = make_plan(load_spec(), HostInfo("macos", "arm64", macos_version="15.1"))
    step = plan.step("install_torch")
    assert "--index-url" not in step.argv
    assert step.argv[-3:] == (f"torch=={TORCH}", f"torchvision=={VISION}", f"torchaudio=={AUDIO}")


@pytest.mark.parametrize(("engine", "prefix"), [
    ("conda", ("conda", "run", "--no-capture-output", "-n", "pt", "python")),
    ("mamba", ("mamba", "run", "-n", "pt", "python")),
    ("micromamba", ("micromamba", "run", "-n", "pt", "python")),
    ("embedded", (ENV_PYTHON,)),
])
def test_engines_and_the_env_python(engine: str, prefix: tuple[str, ...]) -> None:
    plan = make_plan(load_spec(), GPU, engine=engine)
    assert plan.engine == engine
    for step in plan.steps[1:]:
        assert step.in_env
        assert step.argv == (*prefix, *step.python_args)
    assert plan.step("create_env").argv[0] == ("conda" if engine == "embedded" else engine)


def test_kernel_and_verify_steps() -> None:
    plan = make_plan(load_spec(), GPU)
    assert plan.step("register_kernel").python_args == (
        "-m", "ipykernel", "install", "--user", "--name", "pt", "--display-name", "Python (pt)")
    verify = plan.step("verify").python_args
    assert verify[0] == "-c" and verify[-1] == f"{TORCH}+cu130" and "cuda" in verify[1]
    assert "'" not in verify[1] and '"' not in verify[1]  # pastes the same in every shell


def test_verify_script_really_checks_the_version() -> None:
    plan = make_plan(load_spec(), HostInfo("linux", "x86_64"))
    script, expected = plan.step("verify").python_args[1:]
    fake = f"import sys, types; sys.modules['torch'] = types.SimpleNamespace(__version__={expected!r}, " \
           "cuda=types.SimpleNamespace(is_available=lambda: False))\n"
    ok = subprocess.run([sys.executable, "-c", fake + script, expected], capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([sys.executable, "-c", fake + script, "9.9.9"], capture_output=True, text=True, check=False)
    assert bad.returncode == 1


def test_no_dependents_means_no_dependents_step() -> None:
    from dataclasses import replace

    plan = make_plan(replace(load_spec(), after_torch=()), GPU)
    assert "install_dependents" not in [s.id for s in plan.steps]


@pytest.mark.parametrize("listed", [("torch", "torchaudio"), ("torchaudio", "torch"),
                                    ("torchvision", "torch")])
def test_the_spec_chooses_which_companions_are_pinned(listed: tuple[str, ...]) -> None:
    """[pip] torch = ["torch", "torchaudio"]: torchaudio is installed, not torchvision (the pins
    were cut by count, so the second package was always torchvision), in any order."""
    from dataclasses import replace

    plan = make_plan(replace(load_spec(), torch_packages=listed), GPU)
    pinned = {p.split("==")[0] for p in plan.step("install_torch").holds}
    assert pinned == set(listed)
    assert plan.step("install_torch").argv[-len(listed):] == plan.step("install_torch").holds
    assert plan.step("install_dependents").holds == plan.step("install_torch").holds
    assert ("torchvision" in plan.step("install_torch").title) == ("torchvision" in listed)


@pytest.mark.slow
@pytest.mark.realtool
def test_real_pip_keeps_the_planned_torch(tmp_path: Path, clean_pip_env: dict[str, str]) -> None:  # noqa: F811
    """Steps 2 and 3 with real pip against a local PyTorch-style index: torch stays put."""
    root = build_index(tmp_path / "index")
    simple = root / "simple"
    make_wheel(simple / "files", "oldlight", "1.0", {"oldlight/__init__.py": ""}, ("torch==2.7.1",))
    _write_index(simple, sorted((simple / "files").glob("*.whl")))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python"))
    plan = make_plan(load_spec(), HostInfo("linux", "x86_64"), torch="2.7.0", backend="cpu")
    quiet = ["--disable-pip-version-check", "--no-cache-dir", "-q"]

    def pip(args: tuple[str, ...], index: str) -> subprocess.CompletedProcess[str]:
        args = tuple(a for a in args if a not in ("--index-url",) and not a.startswith("https://"))
        return subprocess.run([python, *args[:3], *quiet, "--index-url", index, *args[3:]],
                              capture_output=True, text=True, env=clean_pip_env, check=False)

    def installed_torch() -> str:
        return subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                              capture_output=True, text=True, check=True).stdout.strip()

    with serve(root) as server:
        step2 = pip(plan.step("install_torch").python_args, server.url("whl/cpu"))
        assert step2.returncode == 0, step2.stderr
        assert installed_torch() == "2.7.0+cpu"
        step3 = pip(plan.step("install_dependents").python_args, server.url("simple"))
        assert step3.returncode == 0, step3.stderr
        assert installed_torch() == "2.7.0+cpu"
        # A dependent that wants another torch: with the trio held, pip refuses instead of swapping.
        held = pip(("-m", "pip", "install", "oldlight", *plan.step("install_dependents").holds),
                   server.url("simple"))
        assert held.returncode != 0 and installed_torch() == "2.7.0+cpu"
        careless = pip(("-m", "pip", "install", "oldlight"), server.url("simple"))
        assert careless.returncode == 0 and installed_torch() == "2.7.1"  # what the hold prevents
