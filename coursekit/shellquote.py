"""Command lines a student pastes: one quoting helper for every command coursekit prints.

POSIX shells get :func:`shlex.join`. Windows has two shells with different rules:

* cmd.exe runs ``"C:\\Users\\Ann Lee\\python.exe" -m pip ...`` as it is, but treats ``&`` at
  the start of a line as an error (``& was unexpected at this time``);
* PowerShell parses a line that starts with a quoted string in *expression* mode: the string
  is a value and ``-m`` is an "Unexpected token" parse error. A quoted program needs the call
  operator: ``& "C:\\Users\\Ann Lee\\python.exe" -m pip ...`` (about_Operators, "Call operator &";
  https://ss64.com/ps/call.html).

No single line with a quoted program works in both, so the design avoids quotes where it can
(a program path without spaces or special characters is written bare, which both shells
accept) and, only when the program itself must be quoted, writes the PowerShell form, the
default shell of Windows Terminal. The README tells cmd.exe (Anaconda Prompt) users to drop
the leading ``& ``. Arguments are quoted the same way for both shells: double quotes around
anything with spaces or characters either shell treats specially.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

# cmd.exe and PowerShell treat these specially outside double quotes (`>=` redirects in cmd,
# `@`, `$`, `{}` and `,` are PowerShell syntax, `%` and `^` are cmd's).
_WINDOWS_SPECIAL = re.compile(r"[\s<>|&^()%!\"'=;,`$@{}]")

CALL_OPERATOR = "& "  # PowerShell's call operator, needed before a quoted program


def quote_arg(arg: str, os_name: str) -> str:
    """One word quoted for the shell of ``os_name`` (``windows``, else POSIX)."""
    if os_name != "windows":
        return shlex.quote(arg)
    if arg and not _WINDOWS_SPECIAL.search(arg):
        return arg
    return '"' + arg.replace('"', '\\"') + '"'


def windows_join(argv: Sequence[str]) -> str:
    """Words quoted for cmd.exe and PowerShell and joined, without the call operator."""
    return " ".join(quote_arg(arg, "windows") for arg in argv)


def as_command(words: Sequence[str], os_name: str) -> str:
    """Already-quoted ``words`` as a command line: on Windows a quoted program gets ``& ``."""
    line = " ".join(words)
    if os_name == "windows" and words and words[0].startswith('"'):
        return CALL_OPERATOR + line
    return line


def join(argv: Sequence[str], os_name: str) -> str:
    """``argv`` as one command line to paste on ``os_name`` (POSIX: exactly ``shlex.join``)."""
    return as_command([quote_arg(arg, os_name) for arg in argv], os_name)


def program(path: str, os_name: str) -> str:
    """The start of a command line that runs ``path``; the caller appends the arguments."""
    return join([path], os_name)
