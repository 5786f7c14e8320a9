"""The ``coursekit`` command line: the root group, lazy subcommands, and error handling.

Each subcommand lives in its own module and is imported only when invoked, so
``coursekit --help`` stays instant. Commands parse, call one domain function,
hand the result to ``coursekit.render`` and return an :class:`ExitCode`.

May import everything: the wings for the work, :mod:`coursekit.render` to draw the result.
Nothing imports it back.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from coursekit import __version__
from coursekit.constants import EnvVars
from coursekit.errors import CoursekitError, ExitCode

if TYPE_CHECKING:
    from coursekit.render import Console

# `coursekit --help` must stay instant (bench/help_time.py): traceback, dataclasses and the
# renderer (json, enum) are imported only when a command runs or an error is shown.

# name -> (module, attribute, one-line help shown by `coursekit --help`)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "setup": ("coursekit.cli.setup", "setup", "Create the course environment (or show the plan)."),
    "doctor": ("coursekit.cli.doctor", "doctor", "Diagnose the setup and say how to fix it."),
    "lab": ("coursekit.cli.lab", "lab", "List, hand out and grade the labs."),
    "progress": (
        "coursekit.cli.lab",
        "progress",
        "Show every lab's state, score and what to do next.",
    ),
}


class AppContext:
    """What every command receives through ``click.pass_obj``."""

    def __init__(self, debug: bool = False, console: Console | None = None):
        if console is None:
            from coursekit.render import Console

            console = Console()
        self.debug = debug
        self.console = console

    def __repr__(self) -> str:
        return f"AppContext(debug={self.debug!r})"


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module = importlib.import_module(entry[0])
        command = getattr(module, entry[1])
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help from the table above, so --help imports no command module.
        rows = [(name, entry[2]) for name, entry in _COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _debug_requested(args: Sequence[str]) -> bool:
    value = os.environ.get(EnvVars.DEBUG, "")
    return "--debug" in args or (value not in ("", "0"))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", "-V", prog_name="coursekit", message="%(prog)s %(version)s"
)
@click.option("--debug", is_flag=True, help="Show full tracebacks and log every external command.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """coursekit: the deep-learning course's setup, doctor and labs.

    \b
    Start here:
      coursekit setup --dry-run   see what setup would do on this machine
      coursekit setup             create the course environment ('pt' by default)
      coursekit doctor            check it and get the command that fixes each problem
      coursekit lab               list the labs; `coursekit lab 1` hands out lab 1
    """
    debug = debug or _debug_requested([])
    if debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, format="debug: %(name)s: %(message)s")
    ctx.obj = AppContext(debug=debug)


def _console() -> Console:
    from coursekit.render import Console

    return Console()


def _render_error(message: str, fix: str | None) -> None:
    from coursekit.render import render_error

    render_error(_console(), message, fix)


def _print_traceback(debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; every error a user can meet is rendered here."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = _debug_requested(args)
    try:
        result: Any = cli.main(args=args, prog_name="coursekit", standalone_mode=False)
    except click.exceptions.Abort:
        _console().eprint("Aborted.")
        return ExitCode.INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE if exc.exit_code == 2 else exc.exit_code
    except CoursekitError as exc:
        _print_traceback(debug)
        _render_error(exc.message, exc.fix)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        _console().eprint("Interrupted.")
        return ExitCode.INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - last line of defence, rendered below
        _print_traceback(debug)
        _render_error(
            f"coursekit crashed: {type(exc).__name__}: {exc}",
            "This is a bug in coursekit. Run the same command with --debug and send the output "
            "to your instructor.",
        )
        return ExitCode.INTERNAL
    if isinstance(result, int):
        return result
    return ExitCode.OK


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
