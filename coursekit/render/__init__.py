"""The one place that writes to the terminal: text with optional colour, or JSON.

Domain code returns dataclasses; command modules hand them to a renderer here
(``coursekit.render.setup``, ``.doctor``, ``.lab``).

Colour (first rule that applies): ``FORCE_COLOR`` set and not ``0`` turns it on
(https://force-color.org); ``NO_COLOR`` set turns it off (https://no-color.org);
``TERM=dumb`` turns it off; otherwise it is on only on a terminal.

Width: every text line is wrapped at word boundaries to ``COLUMNS`` when set, else the
terminal's width, else 80 (not a terminal), with a hanging indent: continuation lines
start under the text after the line's leading mark (``PASS``, ``[!]``, ``fix:``, ``3.``,
a first column followed by two or more spaces) or two spaces in. Words longer than a line
(paths, URLs) are never broken.

May import the wings' result types and the core; no wing imports it back (a wing hands values
up, or takes a reporter the command line passes down).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Mapping
from typing import IO, Any

from coursekit.constants import EnvVars
from coursekit.jsondata import to_jsonable

DEFAULT_WIDTH = 80
MIN_WIDTH = 20  # narrower than this and wrapping does more harm than good
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A line's leading mark, after which continuation lines are indented.
_MARK = re.compile(
    r"^(\s*)(\[[^\]\s]{1,3}\]\s+|[A-Za-z][A-Za-z0-9 ]{0,14}:\s+|[A-Z/]{2,10}\s+|"
    r"\d{1,3}[.)]?\s+|[-*|]\s+|\S+ {2,})"
)

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


def dumps(obj: Any, *, compact: bool = False, plain: bool = False) -> str:
    """Serialise ``obj`` as stable, indented JSON; ``compact``: on one line, by the C encoder
    (an indent forces :mod:`json`'s pure-Python encoder, several times slower on a class's
    worth of findings); ``plain``: ``obj`` is made of JSON's own values already (dicts with
    string keys, lists, strings, numbers, booleans, None), so it is not walked and converted
    first."""
    if compact:
        return json.dumps(obj if plain else to_jsonable(obj), ensure_ascii=False)
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=False, ensure_ascii=False)


class Console:
    """Writes text to stdout/stderr; knows whether colour is allowed."""

    def __init__(
        self,
        out: IO[str] | None = None,
        err: IO[str] | None = None,
        color: bool | None = None,
        width: int | None = None,
    ):
        self._out = out
        self._err = err
        self._color = color
        self._width = width

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
        return color_allowed(os.environ, _isatty(self.out_stream))

    @property
    def width(self) -> int:
        """Columns to wrap to: ``COLUMNS``, else the terminal's width, else 80."""
        if self._width is not None:
            return self._width
        return text_width(os.environ, _isatty(self.out_stream))

    def style(self, text: str, *styles: str) -> str:
        """Wrap ``text`` in ANSI codes when colour is on."""
        if not self.color or not styles:
            return text
        codes = ";".join(_STYLES[s] for s in styles)
        return f"\033[{codes}m{text}\033[0m"

    def print(self, text: str = "", *, wrap: bool = True) -> None:
        """Print ``text``, each line wrapped to :attr:`width` (``wrap=False``: as it is)."""
        _write(self.out_stream, self.wrap(text) if wrap else text)

    def eprint(self, text: str = "", *, wrap: bool = True) -> None:
        _write(self.err_stream, self.wrap(text) if wrap else text)

    def clear(self, note: str = "") -> None:
        """Start a fresh screen: clear it on a terminal that can (like rustlings' watch mode),
        else a separator line so a log stays readable."""
        if _isatty(self.out_stream) and os.environ.get("TERM", "") != "dumb":
            self.out_stream.write("\x1b[2J\x1b[3J\x1b[H")
            self.out_stream.flush()
        else:
            _write(self.out_stream, f"---- {note} ----" if note else "----")

    def wrap(self, text: str) -> str:
        return "\n".join(w for line in text.split("\n") for w in wrap_line(line, self.width))

    def json(self, obj: Any, *, compact: bool = False, plain: bool = False) -> None:
        """Print ``obj`` as JSON on stdout (never coloured; ``compact``, ``plain``: see
        :func:`dumps`)."""
        _write(self.out_stream, dumps(obj, compact=compact, plain=plain))


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s\"']+@")


def redact_urls(text: str) -> str:
    """Credentials in URLs hidden: ``https://user:token@host/x`` -> ``https://***@host/x``.

    Every line coursekit prints passes through here (plans, JSON, errors, notes): a mirror's
    token in ``--index-url``/``--channel`` or in pip's config must never reach a screen, a
    pasted log or a report sent to an instructor. The commands setup runs keep the real URL.
    """
    return _USERINFO.sub(r"\1***@", text) if "@" in text else text


def looks_like_command(text: str) -> bool:
    """True for a fix line that is one command to paste (never wrapped: a wrapped command
    pasted into a shell runs as two), False for a sentence (pure)."""
    return bool(text) and not text[:1].isupper() and not re.search(r"[.;,]\s|\.$", text)


def _isatty(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # a closed stream
        return False


def color_allowed(env: Mapping[str, str], isatty: bool) -> bool:
    """The colour rules of the module docstring (pure)."""
    force = env.get("FORCE_COLOR")
    if force is not None and force != "" and force != "0":
        return True
    if env.get(EnvVars.NO_COLOR):
        return False
    if env.get("TERM", "") == "dumb":
        return False
    return isatty


def text_width(env: Mapping[str, str], isatty: bool) -> int:
    """``COLUMNS`` when it is a positive number, else the terminal's width, else 80 (pure
    but for asking the terminal)."""
    value = env.get("COLUMNS", "").strip()
    if value.isdigit() and int(value) > 0:
        return max(int(value), MIN_WIDTH)
    if isatty:
        columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
        return max(columns, MIN_WIDTH) if columns > 0 else DEFAULT_WIDTH
    return DEFAULT_WIDTH


def visible_len(text: str) -> int:
    """Length on screen: ANSI colour codes take no room."""
    return len(_ANSI.sub("", text))


def wrap_line(line: str, width: int) -> list[str]:
    """One line wrapped at spaces to ``width`` columns with a hanging indent (pure).

    Colour codes are kept and take no room; a word longer than the line stays whole.
    """
    if visible_len(line) <= width:
        return [line]
    plain = _ANSI.sub("", line)
    mark = _MARK.match(plain)
    lead = len(plain) - len(plain.lstrip(" "))
    hang = len(mark.group(0)) if mark else lead + 2
    if hang > width // 2:
        hang = min(lead + 2, width // 2)
    out: list[str] = []
    parts = re.split(r"( +)", line)  # words at even indexes, the spaces between at odd ones
    current, used = parts[0], visible_len(parts[0])
    for i in range(1, len(parts) - 1, 2):
        gap, word = parts[i], parts[i + 1]
        size = visible_len(word)
        if used > hang and used + len(gap) + size > width:
            out.append(current)
            current, used = " " * hang + word, hang + size
        else:
            current, used = current + gap + word, used + len(gap) + size
    out.append(current.rstrip(" ") if out else current)
    return out


def _write(stream: IO[str], text: str) -> None:
    """Print a line; characters the terminal's encoding lacks (cp1252, ASCII) become escapes.

    A grader message with "±" must never turn into a crash on a Windows console. Credentials
    in URLs are redacted (:func:`redact_urls`).
    """
    text = redact_urls(text)
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
        console.eprint(f"{console.style('  fix:', 'bold')} {fix}", wrap=not looks_like_command(fix))
