"""Fixtures for the real-tool setup tests: an offline world per test (see tests/fakes/world.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.condachannel import build_channel, python311, version_of
from tests.fakes.fixtures import *  # noqa: F403 - shared fixtures
from tests.fakes.pyindex import IndexServer, build_index, serve
from tests.fakes.world import SetupWorld, planned_trio, world_env
from tests.prereqs import need_module, require_python


@pytest.fixture(scope="session")
def setup_channel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A channel with this machine's Python 3.12 (and 3.11 when present, for wrong-Python tests)."""
    need_module("rattler")
    py312 = require_python("3.12")
    pythons = {version_of(py312): py312}
    py311 = python311()
    if py311 is not None:
        pythons[version_of(py311)] = py311
    return build_channel(tmp_path_factory.mktemp("setup-channel"), pythons=pythons)


@pytest.fixture(scope="session")
def setup_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexServer]:
    """The PyTorch-style index with the planner's versions of the trio."""
    torch, vision, audio = planned_trio()
    root = build_index(tmp_path_factory.mktemp("setup-index"), torch, vision, audio)
    with serve(root) as server:
        yield server


@pytest.fixture
def world(tmp_path: Path, setup_channel: Path, setup_index: IndexServer) -> SetupWorld:
    setup_index.stall.clear()
    setup_index.released.set()  # free requests hung by an earlier test
    setup_index.released.clear()
    setup_index.requests.clear()
    torch = planned_trio()[0]
    return SetupWorld(tmp_path, setup_channel, setup_index, world_env(tmp_path, setup_index),
                      f"{torch}+cpu")


@pytest.fixture(scope="session")
def _healthy_template(tmp_path_factory: pytest.TempPathFactory, setup_channel: Path,
                      setup_index: IndexServer) -> tuple[SetupWorld, Path]:
    """One healthy setup per session, saved aside; restored at the same path per test (so
    every absolute path inside the env stays right)."""
    base = tmp_path_factory.mktemp("healthy")
    torch = planned_trio()[0]
    world = SetupWorld(base / "w", setup_channel, setup_index,
                       world_env(base / "w", setup_index), f"{torch}+cpu")
    code, _, err = world.run()
    assert code == 0, err
    saved = base / "saved"
    shutil.copytree(base / "w", saved, symlinks=True)
    return world, saved


@pytest.fixture
def healthy_world(_healthy_template: tuple[SetupWorld, Path]) -> SetupWorld:
    """A world whose env was set up successfully (restored from the session's copy)."""
    world, saved = _healthy_template
    shutil.rmtree(world.tmp, ignore_errors=True)
    shutil.copytree(saved, world.tmp, symlinks=True)
    world.index.stall.clear()
    world.index.released.set()
    world.index.released.clear()
    world.index.requests.clear()
    world.extra_args = []
    return world
