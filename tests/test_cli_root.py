"""The root command: help, version, error rendering, exit codes, lazy imports."""

from __future__ import annotations

import os
import subprocess
import sys

import click
import pytest

from coursekit import __version__
from coursekit.cli import _COMMANDS, cli
from coursekit.errors import CoursekitError, ExitCode, UsageError
from tests.helpers import run_cli


def test_help_lists_every_command() -> None:
    result = run_cli(["--help"])
    assert result.code == 0
    for name in _COMMANDS:
        assert name in result.stdout


def test_version() -> None:
    result = run_cli(["--version"])
    assert result.code == 0
    assert result.stdout.strip() == f"coursekit {__version__}"


def test_unknown_command_is_usage_error() -> None:
    result = run_cli(["frobnicate"])
    assert result.code == ExitCode.USAGE
    assert "No such command" in result.stderr


def _add_temp_command(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    @click.command("boom")
    def boom() -> None:
        raise exc

    monkeypatch.setitem(_COMMANDS, "boom", ("tests.test_cli_root", "_boom", "x"))
    monkeypatch.setattr(sys.modules[__name__], "_boom", boom, raising=False)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (CoursekitError("env is broken", "run coursekit doctor"), ExitCode.ENVIRONMENT),
        (UsageError("bad value", "use a number"), ExitCode.USAGE),
    ],
)
def test_user_errors_have_fix_line_and_no_traceback(
    monkeypatch: pytest.MonkeyPatch, exc: CoursekitError, code: ExitCode
) -> None:
    _add_temp_command(monkeypatch, exc)
    result = run_cli(["boom"])
    assert result.code == code
    assert f"error: {exc.message}" in result.stderr
    assert f"fix: {exc.fix}" in result.stderr
    assert "Traceback" not in result.stderr


def test_crash_is_exit_4_and_traceback_only_with_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    _add_temp_command(monkeypatch, RuntimeError("kaboom"))
    plain = run_cli(["boom"])
    assert plain.code == ExitCode.INTERNAL
    assert "coursekit crashed: RuntimeError: kaboom" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = run_cli(["--debug", "boom"])
    assert debug.code == ExitCode.INTERNAL
    assert "Traceback" in debug.stderr


def test_keyboard_interrupt_is_130(monkeypatch: pytest.MonkeyPatch) -> None:
    _add_temp_command(monkeypatch, KeyboardInterrupt())
    assert run_cli(["boom"]).code == ExitCode.INTERRUPTED


def test_help_imports_no_heavy_module() -> None:
    code = (
        "import sys; from coursekit.cli import run; "
        "rc = run(['--help']); "
        "heavy = [m for m in ('torch', 'psutil', 'matplotlib', 'numpy', 'coursekit.cli.setup', "
        "'coursekit.cli.doctor', 'coursekit.cli.lab') if m in sys.modules]; "
        "print('HEAVY', heavy); sys.exit(rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in out.stdout


def test_console_script_runs() -> None:
    # The installed `coursekit` script (pip's entry point), not `python -m coursekit`.
    from pathlib import Path

    from tests.prereqs import missing

    folder = Path(sys.executable).parent
    script = next((p for p in (folder / "coursekit", folder / "coursekit.exe") if p.exists()), None)
    if script is None:
        missing("coursekit script", f"no installed coursekit script beside {sys.executable} (pip install -e .)")
    out = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert out.stdout.strip() == f"coursekit {__version__}"


def test_root_group_lists_and_loads_every_command() -> None:
    from coursekit.cli import LazyGroup

    assert isinstance(cli, LazyGroup)
    ctx = click.Context(cli)
    assert cli.list_commands(ctx)[: len(_COMMANDS)] == list(_COMMANDS)
    for name in _COMMANDS:
        command = cli.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name
    assert cli.get_command(ctx, "no-such-command") is None
