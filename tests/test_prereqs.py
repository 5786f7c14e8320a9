"""Prerequisites are found by discovery and a missing one cannot pass unnoticed under CI."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests import prereqs

TESTS = Path(__file__).parent


def test_missing_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        prereqs.missing("python3.99", "no Python 3.99")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI: prerequisite 'python3.99' is missing"):
        prereqs.missing("python3.99", "no Python 3.99")
    for allowed in sorted(prereqs.CI_MAY_LACK):  # real conda tools: documented allow-list
        with pytest.raises(pytest.skip.Exception):
            prereqs.missing(allowed, f"no real {allowed}")


def test_need_module_follows_the_same_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    assert prereqs.need_module("json") is __import__("json")
    with pytest.raises(pytest.fail.Exception):
        prereqs.need_module("no_such_module_coursekit")


def test_find_python_asks_the_interpreter_itself(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    version = ".".join(map(str, sys.version_info[:2]))
    prereqs.find_python.cache_clear()
    monkeypatch.setenv("COURSEKIT_TEST_PY" + version.replace(".", ""), sys.executable)
    try:
        found = prereqs.find_python(version, base=False)
        assert found is not None and found.exists()
        # A path that is no interpreter is never returned, whatever its name says.
        fake = tmp_path / f"python{version}"
        fake.write_text("#!/bin/sh\nexit 1\n")
        fake.chmod(0o755)
        prereqs.find_python.cache_clear()
        monkeypatch.setenv("COURSEKIT_TEST_PY" + version.replace(".", ""), str(fake))
        monkeypatch.setenv("PATH", str(tmp_path))
        monkeypatch.delenv("PYENV_ROOT", raising=False)
        assert prereqs.find_python(version) is None
    finally:
        prereqs.find_python.cache_clear()


_MACHINE_PATH = re.compile(r"""["'](/root/|/home/[a-z]+/\.|/Users/[A-Za-z]+/\.)|\.pyenv["'/]""")


def test_no_test_names_a_machine_path() -> None:
    offenders = []
    for path in TESTS.rglob("*.py"):
        if path.name == "test_prereqs.py" or "fixtures_labs" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if _MACHINE_PATH.search(line):
                offenders.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    assert not offenders, "find interpreters and tools by discovery (tests/prereqs.py):\n" + "\n".join(offenders)
