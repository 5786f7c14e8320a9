"""`coursekit doctor` output: status lines, summary, -v, colour, ASCII fallback, exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from coursekit.doctor.report import make_report, report_data
from coursekit.doctor.service import exit_code
from coursekit.errors import ExitCode
from coursekit.render import Console
from coursekit.render.doctor import render_text
from tests.doctor.fixtures import finding_data, finding_facts, healthy
from tests.helpers import run_cli


def _text(facts, verbose: bool = False, encoding: str = "utf-8", color: bool = False) -> str:  # type: ignore[no-untyped-def]
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict")
    render_text(Console(out=stream, color=color), make_report(facts), verbose)
    stream.flush()
    return raw.getvalue().decode(encoding)


def test_healthy_gpu_machine() -> None:
    out = _text(healthy("gpu_linux"))
    assert out.startswith("Doctor summary (to see all details, run coursekit doctor -v):")
    assert "[✓] GPU and driver (NVIDIA GeForce RTX 3060 (8.6), driver 580.95.05)" in out
    assert "[✓] PyTorch (2.13.0+cu130, CUDA 13.0, sees NVIDIA GeForce RTX 3060)" in out
    assert out.rstrip().endswith("• No issues found!")


def test_cpu_machine_says_cpu_is_fine() -> None:
    out = _text(healthy("cpu_linux"))
    assert "[✓] GPU and driver (no NVIDIA GPU: CPU is fine for every lab)" in out
    assert "No NVIDIA GPU found: CPU PyTorch is right for this machine" in out
    assert "[✓] PyTorch (2.13.0+cpu, CPU build)" in out


def test_error_lines_have_evidence_and_fix() -> None:
    out = _text(finding_facts("cpu-torch-on-gpu"))
    assert "[✗] PyTorch" in out
    assert "    ✗ torch 2.13.0+cpu is a CPU build, but this machine has an NVIDIA GeForce RTX 3060" in out
    assert "Torch not compiled with CUDA enabled" in out
    assert "      fix: coursekit setup --backend cu130" in out
    assert "! Doctor found 1 error in 1 category." in out


def test_a_crashed_check_gets_the_skull_and_the_others_still_report() -> None:
    out = _text(finding_facts("check-failed"))
    assert "[☠] GPU and driver (the check itself failed)" in out
    assert "The gpu check itself failed (timed out after 60 s)" in out
    assert "[✓] PyTorch" in out
    assert "! Doctor found 1 warning in 1 category; 1 check could not finish (see [☠] above)." in out


def test_verbose_shows_facts_and_timings() -> None:
    out = _text(healthy("gpu_linux"), verbose=True)
    assert "[✓] GPU and driver" in out and "[gpu 120 ms]" in out
    assert "• GPU 0: NVIDIA GeForce RTX 3060, driver 580.95.05, compute capability 8.6" in out
    assert "arch list: sm_75 sm_80 sm_86 sm_90 sm_100 sm_120 compute_120" in out


def test_ascii_fallback_on_a_cp1252_console() -> None:
    out = _text(finding_facts("check-failed"), encoding="cp1252")
    assert "[#] GPU and driver" in out and "[v] Platform" in out
    assert "☠" not in out and "✓" not in out


def test_colour_only_when_asked() -> None:
    assert "\033[" in _text(finding_facts("cpu-torch-on-gpu"), color=True)
    assert "\033[" not in _text(finding_facts("cpu-torch-on-gpu"), color=False)


def test_no_color_env_wins_even_on_a_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("NO_COLOR", "1")
    out = Tty()
    render_text(Console(out=out), make_report(finding_facts("cpu-torch-on-gpu")))
    assert "\033[" not in out.getvalue()
    monkeypatch.delenv("NO_COLOR")
    out = Tty()
    render_text(Console(out=out), make_report(finding_facts("cpu-torch-on-gpu")))
    assert "\033[31" in out.getvalue()


@pytest.mark.parametrize(("fid", "code"), [("no-gpu", ExitCode.OK), ("pip-extra-index", ExitCode.OK),
                                           ("env-missing", ExitCode.FAILED),
                                           ("check-failed", ExitCode.ENVIRONMENT)])
def test_exit_codes(fid: str, code: ExitCode) -> None:
    assert exit_code(make_report(finding_facts(fid))) == code


def test_json_from_file_is_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report_data(make_report(finding_facts("lightning-malware")))))
    result = run_cli(["doctor", "--from", str(path), "--json"])
    assert result.code == ExitCode.FAILED
    data = json.loads(result.stdout)
    assert data["schema"] == 2 and data["summary"]["status"] == "error"
    assert [f["id"] for f in data["findings"]] == ["lightning-malware", "no-gpu"]  # most severe first


@pytest.mark.parametrize("args", [["--fix", "--from", "x.json"], ["--yes"], ["--dry-run"],
                                  ["--python", "/nonexistent/python"], ["--bogus"]])
def test_usage_errors_are_exit_2(args: list[str]) -> None:
    result = run_cli(["doctor", *args])
    assert result.code == ExitCode.USAGE, result.stderr
    assert "Traceback" not in result.stderr


def test_fix_dry_run_from_saved_facts_is_refused_but_plan_is_pure() -> None:
    from coursekit.doctor.fixes import plan_fixes

    actions = plan_fixes(make_report(finding_facts("cpu-torch-on-gpu")))
    assert [a.key for a in actions] == ["reinstall-torch"]
    install = actions[0].commands[0]
    assert install[:4] == ("/home/student/miniforge3/envs/pt/bin/python", "-m", "pip", "install")
    assert "https://download.pytorch.org/whl/cu130" in install
    assert any(a.startswith("torch==") and a.endswith("+cu130") for a in install)
    assert "--extra-index-url" not in install


def test_kernel_fix_is_planned_for_a_missing_kernel() -> None:
    from coursekit.doctor.fixes import plan_fixes

    data = finding_data("kernel-missing")
    from coursekit.doctor.facts import Facts, from_data

    actions = plan_fixes(make_report(from_data(Facts, data)))
    assert [a.key for a in actions] == ["register-kernel"]
    assert actions[0].commands[0][-2:] == ("--display-name", "Python (pt)")


def test_list_shows_every_finding() -> None:
    from coursekit.doctor.catalogue import CATALOGUE

    text = run_cli(["doctor", "--list"])
    assert text.code == ExitCode.OK and all(e.id in text.stdout for e in CATALOGUE)
    data = json.loads(run_cli(["doctor", "--list", "--json"]).stdout)
    assert [d["id"] for d in data] == [e.id for e in CATALOGUE]
