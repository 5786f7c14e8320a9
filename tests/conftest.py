"""Hermetic defaults for every test: private coursekit home, no colour, no network."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("coursekit-home")
    monkeypatch.setenv("COURSEKIT_HOME", str(home))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    # Wide lines: tests compare whole lines; the wrapping tests set COLUMNS themselves.
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.delenv("COURSEKIT_DEBUG", raising=False)
    monkeypatch.delenv("COURSEKIT_ENV_SPEC", raising=False)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
