"""Interrupt ``coursekit setup`` during each step (SIGKILL of setup and all it started, or
Ctrl-C), run it again: the env ends healthy and finished steps are not redone."""

from __future__ import annotations

import os
import signal

import psutil
import pytest

from tests.fakes import install_condatool
from tests.fakes.world import SetupWorld

pytestmark = [pytest.mark.realtool, pytest.mark.slow]


def _rerun_healthy(world: SetupWorld, env: dict[str, str] | None = None) -> dict[str, str]:
    code, data, err = world.run(env=env)
    assert code == 0, err
    assert data["result"]["verification"]["torch_version"] == world.torch_version
    return world.states(data)


def test_kill_during_create_env(world: SetupWorld) -> None:
    exe = install_condatool(world.tmp / "bin", "micromamba")
    root = world.tmp / "root"
    (root / "conda-meta").mkdir(parents=True)
    world.env.update(PATH=f"{exe.parent}{os.pathsep}{world.env['PATH']}", FAKE_CONDA_ROOT=str(root))
    meta = root / "envs" / "pt" / "conda-meta"
    running = world.start(env=dict(world.env, FAKE_CONDA_SLEEP_AFTER="3"))
    running.wait_for(lambda: meta.is_dir() and len(list(meta.glob("*.json"))) >= 3)
    running.kill_all()
    assert not (root / "envs" / "pt" / "bin" / "python").exists()  # really half-created
    states = _rerun_healthy(world)
    assert states["create_env"] == "done"


@pytest.mark.parametrize(("step", "stalled"), [("install_torch", "/files/torch-"),
                                               ("install_dependents", "/files/lightning-")])
def test_kill_during_a_download(world: SetupWorld, step: str, stalled: str) -> None:
    world.index.stall.add(stalled)
    running = world.start()
    running.wait_for(lambda: any(stalled in r for r in world.index.requests))
    running.kill_all()
    world.index.stall.clear()
    states = _rerun_healthy(world)
    assert states["create_env"] == "ok"
    assert states[step] == "done"
    if step == "install_dependents":
        assert states["install_torch"] == "ok"


def test_kill_during_verify(world: SetupWorld) -> None:
    running = world.start(env=dict(world.env, FAKE_TORCH_IMPORT_SLEEP="60"))
    running.wait_for(lambda: running.saw("[5/5]"))
    running.kill_all()
    states = _rerun_healthy(world)
    assert {k: v for k, v in states.items() if k != "verify"} == {
        "create_env": "ok", "install_torch": "ok", "install_dependents": "ok",
        "register_kernel": "ok"}


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_stops_pip_and_says_how_to_continue(world: SetupWorld, sig: int) -> None:
    """Ctrl-C, a kill (SIGTERM) or a closed terminal (SIGHUP)."""
    world.index.stall.add("/files/torch-")
    running = world.start()
    running.wait_for(lambda: any("/files/torch-" in r for r in world.index.requests))
    code = running.interrupt(sig)
    assert code == 130
    assert running.saw("interrupted") and running.saw("Run `coursekit setup` again")
    leftovers = [p for p in psutil.process_iter(["cmdline"])
                 if str(world.prefix) in " ".join(p.info["cmdline"] or [])]
    assert leftovers == []  # pip was killed with setup, not left downloading
    world.index.stall.clear()
    assert _rerun_healthy(world)["install_torch"] == "done"


def test_half_written_kernel_is_replaced(healthy_world: SetupWorld) -> None:
    world = healthy_world
    folder = world.kernel_json.parent
    world.kernel_json.unlink()
    (folder / ".kernel-1234.json").write_text('{"argv": [')  # killed mid-write
    states = _rerun_healthy(world)
    assert states["register_kernel"] == "done" and states["install_torch"] == "ok"


def test_kill_during_the_embedded_engines_download(world: SetupWorld) -> None:
    """The channel over HTTP with one package download hanging: py-rattler is killed
    mid-download (partial files in its cache), then a plain re-run completes the env."""
    from tests.fakes.pyindex import serve

    with serve(world.channel) as channel:
        channel.stall.add("/linux-64/pip-")
        world.channel_url = channel.url("")
        running = world.start()
        running.wait_for(lambda: any("/linux-64/pip-" in r for r in channel.requests))
        running.kill_all()
        assert not list((world.prefix / "conda-meta").glob("pip-*.json"))  # really unfinished
        channel.stall.clear()
        states = _rerun_healthy(world)
    assert states["create_env"] == "done"


def test_pip_orphaned_by_a_killed_setup_is_stopped_by_the_next_run(world: SetupWorld) -> None:
    """SIGKILL of setup alone: its pip (own session) hangs on in the download; the next run
    stops it instead of installing beside it."""
    world.index.stall.add("/files/torch-")
    running = world.start()
    running.wait_for(lambda: any("/files/torch-" in r for r in world.index.requests))
    pip = [p for p in psutil.Process(running.proc.pid).children(recursive=True)
           if "pip" in p.cmdline()]
    assert pip
    running.proc.kill()
    running.proc.wait()
    assert pip[0].is_running()
    world.index.stall.clear()  # new downloads pass; the orphan's stays hung
    code, data, err = world.run()
    assert code == 0, err
    assert any(f"process {pip[0].pid}" in n for n in data["result"]["notes"])
    assert not pip[0].is_running() or pip[0].status() == psutil.STATUS_ZOMBIE
