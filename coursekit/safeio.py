"""Reading a file a user points coursekit at, in bounded time and memory.

A path may name a FIFO (reading blocks until someone writes), ``/dev/zero`` or ``/dev/urandom``
(reading never ends), a folder, or a file of gigabytes. :func:`read_capped` refuses everything
that is not a regular file of at most ``max_bytes`` with a :class:`~coursekit.errors.SpecError`
(exit 2) before reading it; a FIFO is opened non-blocking, so even a swap between the check and
the open cannot hang.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from coursekit.errors import SpecError


def read_capped(path: Path, max_bytes: int, fix: str) -> bytes:
    """The bytes of ``path`` (``-``: standard input), at most ``max_bytes`` of a regular file."""
    if str(path) == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        raw = stdin.read(max_bytes + 1) if stdin is not None else \
            sys.stdin.read(max_bytes + 1).encode("utf-8", "surrogateescape")
        return _capped(raw, "standard input", max_bytes, fix)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise SpecError(f"{path} is not a regular file ({_kind(mode)}).", fix)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SpecError(f"{path}: file not found.", fix) from None
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror or exc}.", fix) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped between stat and open
            raise SpecError(f"{path} is not a regular file ({_kind(info.st_mode)}).", fix)
        if info.st_size > max_bytes:
            raise SpecError(f"{path}: {info.st_size} bytes, more than the {_size(max_bytes)} "
                            "such a file can be.", fix)
        with os.fdopen(os.dup(fd), "rb") as fh:
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror or exc}.", fix) from None
    finally:
        os.close(fd)
    return _capped(raw, str(path), max_bytes, fix)


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO/pipe"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a file"


def _capped(raw: bytes, where: str, max_bytes: int, fix: str) -> bytes:
    if len(raw) > max_bytes:
        raise SpecError(f"{where}: more than the {_size(max_bytes)} such a file can be.", fix)
    return raw
