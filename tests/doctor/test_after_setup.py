"""The doctor on an env made by the real `coursekit setup` (embedded engine, local channel and
index; the offline world of tests/fakes/world.py): found without conda, probed with its own
Python 3.12, and a removed kernel put back by `--fix --yes`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.world import SetupWorld
from tests.integration.conftest import (  # noqa: F401 - fixtures shared with the setup tests
    _healthy_template,
    healthy_world,
    setup_channel,
    setup_index,
)

pytestmark = [pytest.mark.realtool, pytest.mark.slow]


def _doctor(world: SetupWorld, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "coursekit", "doctor", *args], env=world.env,
                          capture_output=True, text=True, timeout=240, check=False)


def test_doctor_finds_and_probes_the_env_setup_made(healthy_world: SetupWorld) -> None:  # noqa: F811
    proc = _doctor(healthy_world, "--json")
    data = json.loads(proc.stdout)
    facts = data["facts"]
    assert facts["env"]["exists"] and facts["env"]["confirmed"], facts["env"]
    assert facts["env"]["prefix"] == str(healthy_world.prefix)
    assert facts["probe"]["status"] == "ok"
    assert facts["probe"]["data"]["python"]["version"].startswith("3.12")
    ids = {f["id"] for f in data["findings"]}
    assert not ids & {"env-missing", "env-python-broken", "env-python-version", "kernel-missing",
                      "kernel-wrong-python", "torch-missing", "torch-duplicate", "pip-extra-index"}
    torch_dists = [d for d in facts["probe"]["data"]["distributions"]["items"] if d["name"] == "torch"]
    assert [d["version"] for d in torch_dists] == [healthy_world.torch_version]
    assert torch_dists[0]["installer"] == "pip"


def test_fix_yes_registers_a_removed_kernel(healthy_world: SetupWorld) -> None:  # noqa: F811
    # The offline world's channel has no ipykernel; a stand-in dist-info lets the doctor offer the
    # automatic fix (without ipykernel it rightly says to install it first).
    info = healthy_world.site_packages() / "ipykernel-7.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ipykernel\nVersion: 7.1.0\n")
    healthy_world.kernel_json.unlink()
    before = _doctor(healthy_world, "--json")
    assert "kernel-missing" in {f["id"] for f in json.loads(before.stdout)["findings"]}
    fixed = _doctor(healthy_world, "--fix", "--yes")
    assert "register the Jupyter kernel 'pt'" in fixed.stdout, fixed.stdout + fixed.stderr
    spec = json.loads(healthy_world.kernel_json.read_text())
    assert spec["argv"][0] == str(healthy_world.python)
    after = _doctor(healthy_world, "--json")
    assert "kernel-missing" not in {f["id"] for f in json.loads(after.stdout)["findings"]}


def test_fix_reinstalls_a_broken_torch_with_real_pip(healthy_world: SetupWorld) -> None:  # noqa: F811
    # The planned commands (pure plan) run by the real executor with real pip against the
    # world's local PyTorch-style index (download.pytorch.org swapped for 127.0.0.1).
    from coursekit.doctor.collect import CollectOptions, collect_facts
    from coursekit.doctor.fixes import FixAction, apply_fixes, plan_fixes
    from coursekit.doctor.report import make_report

    (healthy_world.site_packages() / "torch" / "__init__.py").write_text("raise ImportError('broken')\n")
    # No system folders on PATH: a real GPU on the test machine would change the planned build.
    env = dict(healthy_world.env, PATH=str(Path(sys.executable).parent))
    report = make_report(collect_facts(CollectOptions(environ=env)))
    assert "torch-import-failed" in {f.id for f in report.findings}
    [action] = [a for a in plan_fixes(report) if a.key == "reinstall-torch"]
    local = healthy_world.index.url("whl/cpu")
    commands = tuple(tuple(local if arg.startswith("https://download.pytorch.org/") else arg
                           for arg in cmd) for cmd in action.commands)
    assert any("--force-reinstall" in cmd for cmd in commands)  # same version, broken files
    fixed = FixAction(action.key, action.title, action.findings, commands)
    [outcome] = apply_fixes((fixed,), lambda a: True, environ=env)
    assert outcome.ok, outcome.message
    after = make_report(collect_facts(CollectOptions(environ=env)))
    assert not {"torch-import-failed", "torch-missing"} & {f.id for f in after.findings}


def test_setup_records_its_mirror_and_fix_reuses_it(healthy_world: SetupWorld) -> None:  # noqa: F811
    """Issue 10, item 15: the world's setup ran with --channel (a local channel) and --index-url
    (a PyTorch-style index on 127.0.0.1), as a mirrored class would. The env records both; the
    doctor's fix lines name them, and `doctor --fix` reinstalls a damaged torch from that index
    (the public one is unreachable here)."""
    record = json.loads((healthy_world.prefix / "etc" / "coursekit" / "setup.json").read_text())
    index = healthy_world.index.url("whl/cpu").rstrip("/")
    assert record["channels"] == [healthy_world.channel.as_uri()] and record["channels_given"]
    assert record["index_url"].rstrip("/") == index and record["index_given"]
    assert record["engine"] == "embedded" and record["backend"] == "cpu"
    (healthy_world.site_packages() / "torch" / "__init__.py").unlink()
    before = _doctor(healthy_world, "--json")
    data = json.loads(before.stdout)
    assert data["facts"]["setup"]["index_url"].rstrip("/") == index
    fixes = [f["fix"] for f in data["findings"] if f["fix_action"] == "reinstall-torch"]
    assert fixes, data["findings"]
    assert all(index in fix and "download.pytorch.org" not in fix for fix in fixes), fixes
    healthy_world.index.requests.clear()
    fixed = _doctor(healthy_world, "--fix", "--yes")
    out = fixed.stdout + fixed.stderr
    assert f"--index-url {index}" in out and "download.pytorch.org" not in out, out
    assert any("/whl/cpu/torch" in r for r in healthy_world.index.requests), out
    assert (healthy_world.site_packages() / "torch" / "__init__.py").exists(), out
