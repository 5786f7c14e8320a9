"""--fix: the pure plan, the executor through a recording runner, and --fix --dry-run end to end."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from coursekit.doctor.fixes import apply_fixes, plan_fixes
from coursekit.doctor.report import make_report
from coursekit.errors import ExitCode
from coursekit.proc import ToolResult
from tests.doctor.fixtures import finding_facts
from tests.doctor.standins import make_fake_torch
from tests.helpers import make_fake_exe, run_cli


class Recorder:
    """A runner that records argv and env and answers from a table (default: success)."""

    def __init__(self, fail: Sequence[str] = ()) -> None:
        self.calls: list[tuple[list[str], dict[str, str]]] = []
        self.fail = fail

    def __call__(self, argv: Sequence[str | os.PathLike[str]], *, timeout: float,
                 env: Mapping[str, str] | None = None, cwd: object = None, input: str | None = None,
                 capture: bool = True) -> ToolResult:
        args = [os.fspath(a) for a in argv]
        self.calls.append((args, dict(env or {})))
        failing = any(word in args for word in self.fail)
        return ToolResult(tuple(args), 1 if failing else 0, "",
                          "ERROR: No matching distribution found for torch==2.14.0+cu130" if failing else "")


def test_reinstall_runs_uninstall_then_one_index_install_with_hardened_pip() -> None:
    actions = plan_fixes(make_report(finding_facts("cpu-torch-on-gpu")))
    runner = Recorder()
    outcomes = apply_fixes(actions, lambda a: True, runner=runner,
                           environ={"PATH": "/usr/bin", "PIP_EXTRA_INDEX_URL": "https://evil.example/simple"})
    assert [o.ok for o in outcomes] == [True]
    [(install, env)] = runner.calls  # no uninstall first: pip swaps versions transactionally
    assert install[install.index("--index-url") + 1] == "https://download.pytorch.org/whl/cu130"
    assert "--force-reinstall" not in install
    assert env["PIP_CONFIG_FILE"] == os.devnull and "PIP_EXTRA_INDEX_URL" not in env


def test_broken_copies_at_the_planned_version_are_reinstalled_without_deps() -> None:
    from coursekit.doctor.advice import suggest_backend
    from coursekit.doctor.facts import Facts, from_data
    from coursekit.doctor.view import View
    from tests.doctor.fixtures import finding_data, merge

    facts = finding_facts("torchvision-mismatch")
    pins = suggest_backend(View(facts)).pins  # type: ignore[union-attr]
    items = [{"name": p.split("==")[0], "version": p.split("==")[1], "location": "/x", "installer": "pip"}
             for p in pins]
    items[1]["version"] = "0.0.1"  # torchvision at another version: swapped by the plain install
    data = merge(finding_data("torchvision-mismatch"), {"probe": {"data": {"distributions": {"items": items}}}})
    actions = plan_fixes(make_report(from_data(Facts, data)))
    plain, forced = actions[0].commands
    assert "--force-reinstall" in forced and "--no-deps" in forced
    assert pins[1] not in forced and pins[0] in forced and pins[2] in forced
    assert all(p in plain for p in pins)


def test_a_failing_command_stops_the_fix_and_says_why() -> None:
    actions = plan_fixes(make_report(finding_facts("cpu-torch-on-gpu")))
    outcomes = apply_fixes(actions, lambda a: True, runner=Recorder(fail=("install",)))
    assert not outcomes[0].ok and "No matching distribution" in outcomes[0].message


def test_declined_fixes_run_nothing() -> None:
    actions = plan_fixes(make_report(finding_facts("cpu-torch-on-gpu")))
    runner = Recorder()
    outcomes = apply_fixes(actions, lambda a: False, runner=runner)
    assert runner.calls == [] and "not confirmed" in outcomes[0].message


def test_register_kernel_writes_the_kernelspec(tmp_path: Path) -> None:
    actions = plan_fixes(make_report(finding_facts("kernel-missing")))
    runner = Recorder(fail=("-c",))  # the env has no jupyter_core: use Jupyter's own folder rule
    environ = {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "HOME": str(tmp_path)}
    outcomes = apply_fixes(actions, lambda a: True, runner=runner, environ=environ)
    assert outcomes[0].ok, outcomes[0].message
    spec = json.loads((tmp_path / "jupyter" / "kernels" / "pt" / "kernel.json").read_text())
    assert spec["argv"][0] == "/home/student/miniforge3/envs/pt/bin/python"
    assert spec["display_name"] == "Python (pt)"


def test_no_automatic_fix_for_human_problems() -> None:
    assert plan_fixes(make_report(finding_facts("driver-library-mismatch"))) == ()
    assert plan_fixes(make_report(finding_facts("env-missing"))) == ()


@pytest.mark.realtool
def test_fix_dry_run_shows_the_commands_and_changes_nothing(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    make_fake_exe(tmp_path / "bin", "nvidia-smi",
                  'case "$1" in --query-gpu=*) echo "0, NVIDIA GeForce RTX 3060, 580.95.05, 8.6, 12288";;'
                  ' *) echo "| NVIDIA-SMI 580.95.05   Driver Version: 580.95.05   CUDA Version: 13.0 |";; esac\n')
    site = make_fake_torch(tmp_path / "site", version="2.13.0+cpu", cuda=None, available=False)
    monkeypatch.setenv("PATH", os.pathsep.join([str(tmp_path / "bin"), "/usr/bin", "/bin"]))
    monkeypatch.setenv("PYTHONPATH", str(site))
    result = run_cli(["doctor", "--python", sys.executable, "--fix", "--dry-run"])
    assert result.code == ExitCode.FAILED, result.stdout + result.stderr
    assert "Fixes coursekit can apply:" in result.stdout
    assert "for cpu-torch-on-gpu" in result.stdout
    assert "pip install --index-url https://download.pytorch.org/whl/cu130" in result.stdout
    assert "Checking again" not in result.stdout


@pytest.mark.realtool
def test_fix_with_json_prints_exactly_one_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_fake_torch(tmp_path / "site", import_body="raise ModuleNotFoundError(\"No module named "
                           "'torch'\", name='torch')\n")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("PYTHONPATH", str(site))
    result = run_cli(["doctor", "--python", sys.executable, "--fix", "--dry-run", "--json"])
    assert result.code == ExitCode.FAILED
    data = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert "torch-missing" in {f["id"] for f in data["findings"]}
    assert "Fixes coursekit can apply:" in result.stderr


@pytest.mark.realtool
def test_fix_without_a_terminal_or_yes_applies_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = make_fake_torch(tmp_path / "site", import_body="raise ModuleNotFoundError(\"No module named "
                           "'torch'\", name='torch')\n")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("PYTHONPATH", str(site))
    result = run_cli(["doctor", "--python", sys.executable, "--fix"])
    assert result.code == ExitCode.FAILED
    assert "Not applied: no terminal to ask on. Run again with --fix --yes to apply." in result.stderr
    assert "Checking again" not in result.stdout


def test_a_kernel_folder_that_cannot_be_written_is_a_failed_fix_not_a_crash(tmp_path: Path) -> None:
    actions = plan_fixes(make_report(finding_facts("kernel-missing")))
    (tmp_path / "jupyter").write_text("a file where Jupyter's folder should be")
    environ = {"JUPYTER_DATA_DIR": str(tmp_path / "jupyter"), "HOME": str(tmp_path)}
    outcomes = apply_fixes(actions, lambda a: True, runner=Recorder(fail=("-c",)), environ=environ)
    assert not outcomes[0].ok and "could not write the kernelspec" in outcomes[0].message
