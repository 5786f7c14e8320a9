"""``coursekit setup`` for real, offline: the embedded py-rattler engine (or a conda stand-in)
over a local channel, real pip against a PyTorch-style index on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import install_condatool
from tests.fakes.world import SetupWorld

pytestmark = [pytest.mark.realtool, pytest.mark.slow]

STEPS = ("create_env", "install_torch", "install_dependents", "register_kernel", "verify")


def _torch_file(world: SetupWorld) -> Path:
    return world.site_packages() / "torch" / "__init__.py"


def _assert_healthy(world: SetupWorld) -> None:
    out = subprocess.run([world.python, "-c", "import torch, sys; print(torch.__version__, "
                          "torch.EVIL, sys.prefix)"], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin"})
    assert out.stdout.split() == [world.torch_version, "False", str(world.prefix)], out.stderr
    spec = json.loads(world.kernel_json.read_text())
    assert spec["argv"][0] == str(world.python) and spec["display_name"] == "Python (pt)"
    dists = sorted(p.name for p in world.site_packages().glob("torch*.dist-info"))
    assert len(dists) == 3, dists  # torch, torchaudio, torchvision: one each
    assert (world.site_packages() / f"torch-{world.torch_version}.dist-info" / "INSTALLER"
            ).read_text().strip() == "pip"


def test_fresh_setup_then_rerun_only_verifies(world: SetupWorld) -> None:
    proc = subprocess.run(world.argv(), env=world.env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for i, step in enumerate(["Create the conda env", "Install torch", "lightning"], 1):
        assert any(line.startswith(f"[{i}/5]") and step in line and ": done (" in line
                   for line in proc.stdout.splitlines()), proc.stdout
    assert f'export PATH="{world.prefix / "bin"}:$PATH"' in proc.stdout
    assert "embedded (py-rattler)" in proc.stdout
    _assert_healthy(world)
    # lightning 2.6.7 wants a newer (plain PyPI) torch: pip had to keep torch and take 2.6.6.
    assert [p.name for p in world.site_packages().glob("lightning-*.dist-info")] == [
        "lightning-2.6.6.dist-info"]
    downloads = [r for r in world.index.requests if r.endswith(".whl")]
    code, data, err = world.run()
    assert code == 0, err
    assert world.states(data) == {**dict.fromkeys(STEPS[:-1], "ok"), "verify": "done"}
    assert data["result"]["verification"]["torch_version"] == world.torch_version
    assert [r for r in world.index.requests if r.endswith(".whl")] == downloads  # nothing fetched


def test_damaged_torch_is_reinstalled(healthy_world: SetupWorld) -> None:
    world = healthy_world
    _torch_file(world).unlink()  # pip killed while unpacking: the dist-info stays
    code, data, err = world.run()
    assert code == 0, err
    assert world.states(data)["install_torch"] == "done"
    assert world.states(data)["create_env"] == "ok"
    _assert_healthy(world)


def test_wrong_torch_build_is_replaced(healthy_world: SetupWorld) -> None:
    world = healthy_world
    wrong = world.index.url("whl/cu126")
    torch = world.torch_version.replace("+cpu", "+cu126")
    subprocess.run([world.python, "-m", "pip", "install", "-q", "--no-deps", "--index-url", wrong,
                    f"torch=={torch}"], env=world.env, check=True)
    code, data, err = world.run()
    assert code == 0, err
    assert world.states(data)["install_torch"] == "done"
    _assert_healthy(world)


def test_missing_conda_package_and_kernel_are_restored(healthy_world: SetupWorld) -> None:
    world = healthy_world
    for record in (world.prefix / "conda-meta").glob("seaborn-*.json"):
        record.unlink()
    world.kernel_json.unlink()
    code, data, err = world.run()
    assert code == 0, err
    states = world.states(data)
    assert states["create_env"] == "done" and states["register_kernel"] == "done"
    assert states["install_torch"] == "ok" and states["install_dependents"] == "ok"
    assert list((world.prefix / "conda-meta").glob("seaborn-*.json"))
    _assert_healthy(world)


def _embedded_create(world: SetupWorld, *specs: str) -> None:
    subprocess.run([sys.executable, "-m", "coursekit.setup.engines.embedded", "create", "--prefix",
                    str(world.prefix), "-c", world.channel.as_uri(), "--cache-dir",
                    str(world.tmp / "cache"), "--", *specs], env=world.env, check=True,
                   capture_output=True)


def test_other_python_is_kept_unless_force(world: SetupWorld) -> None:
    from tests.fakes.condachannel import python311, version_of
    from tests.prereqs import missing

    py311 = python311()
    if py311 is None or not list((world.channel / "linux-64").glob("python-3.11*")):
        missing("python3.11", "no Python 3.11 on this machine")
    _embedded_create(world, "python=3.11", "pip")
    code, data, err = world.run()
    assert code == 1
    assert f"Python {version_of(py311)}" in err and "--force" in err
    assert (world.prefix / "bin" / "python3.11").exists()  # untouched
    code, data, err = world.run("--force")
    assert code == 0, err
    assert not (world.prefix / "bin" / "python3.11").exists()
    _assert_healthy(world)


def test_conda_forge_pytorch_in_env_is_refused(world: SetupWorld) -> None:
    _embedded_create(world, "python=3.12", "pip", "pytorch")
    code, data, err = world.run()
    assert code == 1
    assert world.states(data)["install_torch"] == "failed"
    assert "two owners" in err and "coursekit setup --force" in err
    assert not list(world.site_packages().glob("torch-*.dist-info"))
    code, data, err = world.run("--force")  # permission to recreate it without pytorch
    assert code == 0, err
    assert not list((world.prefix / "conda-meta").glob("pytorch-*.json"))
    _assert_healthy(world)


def test_planted_extra_index_cannot_serve_torch(world: SetupWorld) -> None:
    evil = world.index.url("evil/simple")
    conf = world.home / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(f"[global]\nextra-index-url = {evil}\nfind-links = "
                    f"{world.index.root / 'evil' / 'simple' / 'files'}\ntimeout = 30\n")
    env = {k: v for k, v in world.env.items() if k != "PIP_CONFIG_FILE"}
    env["PIP_EXTRA_INDEX_URL"] = evil
    code, data, err = world.run(env=env)
    assert code == 0, err
    _assert_healthy(world)  # torch.EVIL is False
    assert not [r for r in world.index.requests if r.startswith("/evil/")]
    notes = " ".join(data["result"]["notes"])
    assert "extra-index-url" in notes and "PIP_EXTRA_INDEX_URL" in notes and "find-links" in notes


def test_missing_wheel_fails_with_step_tool_line_and_fix(world: SetupWorld) -> None:
    world.extra_args = ["--index-url", world.index.url("whl/cu126")]  # has no +cpu build
    code, data, err = world.run()
    assert code == 1
    assert world.states(data)["install_torch"] == "failed"
    assert world.states(data)["verify"] == "not-run"
    assert "Install torch" in err and "does not have the planned package" in err
    assert "tool said: ERROR: No matching distribution found for torch==" in err
    assert "fix:" in err


@pytest.mark.parametrize("kind", ["conda", "micromamba"])  # mamba 2 answers like micromamba
def test_setup_through_each_conda_tool(world: SetupWorld, kind: str) -> None:
    exe = install_condatool(world.tmp / "bin", kind)
    root = world.tmp / "root"
    (root / "conda-meta").mkdir(parents=True)
    log = world.tmp / "calls.log"
    world.env.update(PATH=f"{exe.parent}{os.pathsep}{world.env['PATH']}",
                     FAKE_CONDA_ROOT=str(root), FAKE_CONDA_LOG=str(log))
    code, data, err = world.run()
    assert code == 0, err
    assert data["result"]["engine"]["kind"] == kind
    assert data["result"]["location"]["prefix"] == str(root / "envs" / "pt")
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    create = [c for c in calls if c[1] == "create"]
    assert create == [[kind, "create", "-y", "-n", "pt", "--override-channels", "-c",
                       world.channel.as_uri(), "python=3.12", "pip", *create[0][10:]]]
    assert "jupyterlab" in create[0] and "lightning" not in create[0]
    log.unlink()
    code, data, err = world.run()
    assert code == 0, err
    calls = [json.loads(line)[1] for line in log.read_text().splitlines()]
    assert set(calls) == {"env"}  # only `env list --json`: nothing created or installed
    shutil.rmtree(root / "envs")


def test_nbdime_only_when_asked_and_with_absolute_drivers(healthy_world: SetupWorld) -> None:
    world = healthy_world
    log = world.tmp / "nbdime.log"
    env = dict(world.env, FAKE_NBDIME_LOG=str(log))
    code, data, err = world.run(env=env)  # --yes and no --nbdime: git config untouched
    assert code == 0, err
    assert not log.exists() and not (world.home / ".gitconfig").exists()
    assert any("--nbdime" in note for note in data["result"]["notes"])
    code, data, err = world.run("--nbdime", env=env)
    assert code == 0, err
    assert world.states(data)["nbdime_git"] == "done"
    assert log.read_text().split() == ["nbdime", "config-git", "--enable", "--global"]
    got = subprocess.run(["git", "config", "--global", "--get", "diff.jupyternotebook.command"],
                         env=env, capture_output=True, text=True).stdout.strip()
    assert got == f'"{world.prefix / "bin" / "git-nbdiffdriver"}" diff'
    code, data, err = world.run("--nbdime", env=env)
    assert world.states(data)["nbdime_git"] == "ok"


def test_offline_room_wheel_folder(world: SetupWorld) -> None:
    """`--index-url FOLDER`: the trio and lightning all come from one folder, no index."""
    folder = world.tmp / "wheelhouse"
    folder.mkdir()
    for wheel in [*(world.index.root / "whl" / "cpu" / "files").glob("*.whl"),
                  *(world.index.root / "simple" / "files").glob("lightning-2.6.6-*.whl")]:
        shutil.copy(wheel, folder)
    env = {k: v for k, v in world.env.items() if k != "PIP_INDEX_URL"}
    world.extra_args = ["--index-url", str(folder)]
    code, data, err = world.run(env=env)
    assert code == 0, err
    _assert_healthy(world)
    assert not [r for r in world.index.requests if r.endswith(".whl")]


def test_solver_failure_names_the_step_and_the_missing_package(world: SetupWorld) -> None:
    from tests.fakes.condachannel import (
        index_channel,
        pip_pkg,
        python_pkg,
        version_of,
        write_package,
    )
    from tests.prereqs import require_python

    py312 = require_python("3.12")
    bare = world.tmp / "bare-channel"
    for pkg in (python_pkg(py312, version_of(py312)), pip_pkg(py312, "3.12")):
        write_package(pkg, bare)
    (bare / "noarch").mkdir()
    index_channel(bare)
    world.channel = bare
    code, data, err = world.run()
    assert code == 1
    assert world.states(data)["create_env"] == "failed"
    assert data["result"]["failure"]["kind"] == "solver"
    assert "Create the conda env" in err and "no compatible set of packages" in err
    assert "tool said: error: SolverError: Cannot solve the request" in err
    assert "No candidates were found for" in err and "--channel" in err
    assert not world.prefix.exists()  # nothing half-made


def test_broken_python_in_the_env_is_relinked_not_recreated(healthy_world: SetupWorld) -> None:
    world = healthy_world
    (world.prefix / "bin" / "python3.12").unlink()  # its interpreter link is gone
    marker = world.prefix / "my-notes.txt"  # something of the student's in the env
    marker.write_text("keep me")
    code, data, err = world.run()
    assert code == 0, err
    assert world.states(data)["create_env"] == "done"
    assert world.states(data)["install_torch"] == "ok"
    assert marker.read_text() == "keep me"
    _assert_healthy(world)


def test_a_second_torch_outside_the_env_is_reported(healthy_world: SetupWorld) -> None:
    """Like a `pip install --user` torch in ~/.local (our test env is venv-like, so a .pth
    file puts the other folder on sys.path instead)."""
    world = healthy_world
    other = world.tmp / "other-site"
    subprocess.run([world.python, "-m", "pip", "install", "-q", "--no-deps", "--target",
                    str(other), "--index-url", world.index.url("whl/cu126"),
                    "torch==" + world.torch_version.replace("+cpu", "+cu126")],
                   env=world.env, check=True)
    (world.site_packages() / "zz-other.pth").write_text(f"{other}\n")
    code, data, err = world.run()
    assert code == 1
    assert world.states(data)["install_torch"] == "failed"
    assert "torch is installed 2 times" in err and f"Delete the copy outside the env ({other}" in err


@pytest.mark.parametrize("cuda", ["1", "0"])
def test_gpu_build_runs_a_cuda_operation_and_names_the_gpu(world: SetupWorld, cuda: str) -> None:
    """A CUDA plan (the fake torch answers like a GPU machine with FAKE_TORCH_CUDA=1)."""
    from coursekit.setup.engines.base import Engine
    from coursekit.setup.run.context import RunOptions
    from coursekit.setup.run.execute import carry_out
    from tests.fakes.plans import make_test_plan
    from tests.fakes.pyindex import AUDIO, TORCH, VISION, build_index, serve

    root = build_index(world.tmp / "gpu-index", TORCH, VISION, AUDIO)
    with serve(root) as index:
        plan = make_test_plan(index.url("whl/cu126"), channel=world.channel.as_uri(), gpu=True,
                              dependents=())
        plan = dataclasses.replace(plan, steps=tuple(s for s in plan.steps
                                                     if s.id != "install_dependents"))
        env = dict(world.env, FAKE_TORCH_CUDA=cuda)
        result = carry_out(plan, Engine("embedded", None, "py-rattler"), RunOptions(nbdime=False),
                           environ=env, home=world.tmp / "ck")
    assert result.verification is not None
    if cuda == "1":
        assert result.ok, result.failure
        assert result.verification.device == "NVIDIA GeForce RTX 4090"
    else:
        assert not result.ok and result.failed_step == "verify"
        assert result.failure is not None and "cannot use the GPU" in result.failure.message
        assert "coursekit doctor" in result.failure.fix


def test_a_first_setup_says_each_note_once_and_its_steps_in_plain_words(world: SetupWorld) -> None:
    """Issue 10, item 18: a pip setting setup ignores (an extra index in PIP_EXTRA_INDEX_URL)
    is the same for both pip steps: one note, not one per step and again in the summary. Step
    details say what happened ("created", "registered"), not internal state names."""
    env = {**world.env, "PIP_EXTRA_INDEX_URL": "https://extra.example/simple"}
    proc = subprocess.run(world.argv(), env=env, capture_output=True, text=True, timeout=240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    notes = [ln for ln in out.splitlines() if "pip setting not used" in ln]
    assert len(notes) == 1 and "PIP_EXTRA_INDEX_URL" in notes[0], out
    lines = out.splitlines()
    created = next(ln for ln in lines if ln.startswith("[1/") and ": done" in ln)
    assert f"created {world.prefix}" in created, created
    kernel = next(ln for ln in lines if "Register the Jupyter kernel" in ln and ": done" in ln)
    assert "registered 'Python (pt)' in " in kernel, kernel
    for internal in ("no env yet", "fixed,", "not registered:", "wrote "):
        assert internal not in out, (internal, out)
