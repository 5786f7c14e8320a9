"""Triage from any OS (issue 12, bug 1): a report's paths follow the report's OS, never the
triaging machine's. Every healthy and every finding fixture gives the same findings whether
`coursekit doctor --from` runs on Linux, Windows or macOS (the host's path module, separator
and platform are swapped in), and healthy reports of every OS have no error anywhere."""

from __future__ import annotations

import ntpath
import os
import platform
import posixpath
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from coursekit.doctor.catalogue import CATALOGUE
from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.facts import Facts
from tests.doctor.fixtures import HEALTHY, finding_facts, healthy

HOSTS = {"linux": (posixpath, "/", "linux", "Linux"), "windows": (ntpath, "\\", "win32", "Windows"),
         "macos": (posixpath, "/", "darwin", "Darwin")}


@contextmanager
def triaged_on(host: str) -> Iterator[None]:
    """Pretend this process runs on ``host``: os.path, os.sep, sys.platform, platform.system."""
    path, sep, plat, system = HOSTS[host]
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(os, "path", path)
        mp.setattr(os, "sep", sep)
        mp.setattr(sys, "platform", plat)
        mp.setattr(platform, "system", lambda: system)
        yield
    finally:
        mp.undo()


def _shape(facts: Facts) -> list[tuple[str, str, str, str, str | None]]:
    return [(f.id, f.severity, f.title, f.detail, f.fix) for f in diagnose(facts)]


CASES = [("healthy", n) for n in HEALTHY] + [("finding", e.id) for e in CATALOGUE]


@pytest.mark.parametrize(("kind", "name"), CASES)
def test_same_findings_on_every_host(kind: str, name: str) -> None:
    facts = healthy(name) if kind == "healthy" else finding_facts(name)
    diagnose(facts)  # warm the matrix and spec caches outside the patched hosts
    results = {}
    for host in HOSTS:
        with triaged_on(host):
            results[host] = _shape(facts)
    assert results["windows"] == results["linux"] == results["macos"]


@pytest.mark.parametrize("name", HEALTHY)
@pytest.mark.parametrize("host", list(HOSTS))
def test_healthy_reports_have_no_error_on_any_host(name: str, host: str) -> None:
    facts = healthy(name)
    with triaged_on(host):
        found = diagnose(facts)
    assert not [f.id for f in found if f.severity == "error"]


def test_windows_paths_compare_case_insensitively_and_by_windows_rules() -> None:
    from coursekit.doctor.view import inside

    assert inside(r"c:\Users\S\envs\pt\Lib\site-packages\torch\__init__.py", r"C:\Users\S\envs\pt", "windows")
    assert not inside(r"C:\Users\S\envs\pt2\Lib\torch", r"C:\Users\S\envs\pt", "windows")
    assert not inside("/home/s/envs/PT/lib/torch", "/home/s/envs/pt", "linux")
    assert inside("/home/s/envs/pt/lib/torch", "/home/s/envs/pt/", "linux")
