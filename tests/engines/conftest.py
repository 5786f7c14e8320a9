"""Fixtures for the engine tests: the conda/mamba/micromamba stand-ins and a local channel."""

from tests.fakes.fixtures import *  # noqa: F403 - re-export the shared fixtures
