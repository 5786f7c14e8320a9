"""Smoke tests against a real conda / mamba / micromamba, where one is installed (developer
machines; the course's CI has none and skips). They only read: nothing is created."""

from __future__ import annotations

import shutil

import pytest

from coursekit.proc import run_tool
from coursekit.setup.engines.condajson import parse_env_list, parse_info
from coursekit.setup.engines.discovery import choose_engine, find_engines
from tests.prereqs import missing

pytestmark = pytest.mark.realtool


@pytest.mark.parametrize("kind", ["conda", "mamba", "micromamba"])
def test_real_tool_json_is_understood(kind: str) -> None:
    if shutil.which(kind) is None:
        missing(kind, f"no real {kind} on this machine")  # allowed in CI: see tests/prereqs.py
    engine = choose_engine(kind)
    assert engine.exe is not None
    listing = parse_env_list(run_tool([engine.exe, "env", "list", "--json"], timeout=120).stdout)
    info = parse_info(run_tool([engine.exe, "info", "--json"], timeout=120).stdout)
    assert info.root_prefix is not None and info.envs_dirs
    assert listing.envs  # at least the base env
    assert any(e.kind == kind for e in find_engines())


def test_named_embedded_engine_without_py_rattler(monkeypatch: pytest.MonkeyPatch) -> None:
    from coursekit.errors import EnvironmentProblem
    from coursekit.setup.engines import discovery

    monkeypatch.setattr(discovery, "embedded_available", lambda: False)
    with pytest.raises(EnvironmentProblem) as info:
        choose_engine("embedded", {"PATH": "/nonexistent"})
    assert "reinstall coursekit" in (info.value.fix or "")
