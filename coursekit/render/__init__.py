"""The one place that writes to the terminal: text with optional colour, or JSON.

Domain code returns dataclasses; command modules hand them to a renderer here
(``coursekit.render.setup``, ``.doctor``, ``.lab``). Colour is used only on a
terminal and never when ``NO_COLOR`` is set (https://no-color.org).

May import the wings' result types and the core; no wing imports it back (a wing hands values
up, or takes a reporter the command line passes down).
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO, Any

from coursekit.constants import EnvVars
from coursekit.jsondata import to_jsonable

_STYLES = {
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
    "bold": "1",
    "dim": "2",
}


def dumps(obj: Any) -> str:
    """Serialise ``obj`` as stable, indented JSON."""
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=False, ensure_ascii=False)


class Console:
    """Writes text to stdout/stderr; knows whether colour is allowed."""

    def __init__(
        self, out: IO[str] | None = None, err: IO[str] | None = None, color: bool | None = None
    ):
        self._out = out
        self._err = err
        self._color = color

    @property
    def out_stream(self) -> IO[str]:
        return self._out if self._out is not None else sys.stdout

    @property
    def err_stream(self) -> IO[str]:
        return self._err if self._err is not None else sys.stderr

    @property
    def color(self) -> bool:
        if self._color is not None:
            return self._color
        if os.environ.get(EnvVars.NO_COLOR):
            return False
        isatty = getattr(self.out_stream, "isatty", None)
        return bool(isatty and isatty())

    def style(self, text: str, *styles: str) -> str:
        """Wrap ``text`` in ANSI codes when colour is on."""
        if not self.color or not styles:
            return text
        codes = ";".join(_STYLES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def print(self, text: str = "") -> None:
        _write(self.out_stream, text)

    def eprint(self, text: str = "") -> None:
        _write(self.err_stream, text)

    def json(self, obj: Any) -> None:
        """Print ``obj`` as JSON on stdout (never coloured)."""
        _write(self.out_stream, dumps(obj))


def _write(stream: IO[str], text: str) -> None:
    """Print a line; characters the terminal's encoding lacks (cp1252, ASCII) become escapes.

    A grader message with "±" must never turn into a crash on a Windows console.
    """
    try:
        print(text, file=stream, flush=True)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "ascii"
        safe = text.encode(encoding, "backslashreplace").decode(encoding)
        print(safe, file=stream, flush=True)


def render_error(console: Console, message: str, fix: str | None) -> None:
    """Print a user-facing error and its fix line on stderr."""
    console.eprint(f"{console.style('error:', 'red', 'bold')} {message}")
    if fix:
        console.eprint(f"{console.style('  fix:', 'bold')} {fix}")
