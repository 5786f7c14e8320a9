"""Exit codes and user-facing errors, defined once for the whole tool.

Every error a user can meet is a :class:`CoursekitError`: a message saying what
went wrong, a ``fix`` line saying what to do, and the exit code. The CLI root
catches them and prints them without a traceback (unless ``--debug``).
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes of every ``coursekit`` command (documented in README.md)."""

    OK = 0
    """Success: the plan was made or carried out, the doctor found no error, the lab passed."""
    FAILED = 1
    """The answer is "no": the doctor found an error, the lab does not pass yet, a setup step
    failed."""
    USAGE = 2
    """Bad input: unknown option or value, malformed version, invalid env spec or report file."""
    ENVIRONMENT = 3
    """The tool could not do its job because of the environment: no course env, a broken
    interpreter, a grader that crashed. Never blamed on the student."""
    INTERNAL = 4
    """A bug in coursekit itself (an unexpected exception). Run again with --debug and report it."""
    INTERRUPTED = 130
    """Interrupted by Ctrl-C (128 + SIGINT, the shell convention)."""


class CoursekitError(Exception):
    """An error meant for the user: what went wrong and how to fix it."""

    exit_code: ExitCode = ExitCode.ENVIRONMENT

    def __init__(self, message: str, fix: str | None = None, *, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class UsageError(CoursekitError):
    """Bad input from the user (exit 2): nothing was done or written."""

    exit_code = ExitCode.USAGE


class SpecError(UsageError):
    """A data file (environment spec, torch matrix, lab manifest, saved report) is invalid."""


class EnvironmentProblem(CoursekitError):
    """The machine or the course environment stops coursekit from doing its job (exit 3)."""

    exit_code = ExitCode.ENVIRONMENT


class InterruptNoted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM/SIGHUP) after the command already told the user what was interrupted
    and how to resume: the CLI root adds no "Aborted."/"Interrupted." line of its own."""
