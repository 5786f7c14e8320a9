"""Where the data folders ``envs/`` and ``labs/`` are (in a checkout and in an installed wheel),
coursekit's own state folder, and the one TOML reader for the data files.

In the repository (and an editable install) they sit beside the package; the wheel
carries them as ``coursekit/_data/{envs,labs}`` (see ``pyproject.toml``).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coursekit.constants import EnvVars
from coursekit.errors import SpecError

PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``envs`` or ``labs``, wherever this coursekit was installed from."""
    for candidate in (PACKAGE_DIR / "_data" / name, PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    from coursekit.errors import EnvironmentProblem

    raise EnvironmentProblem(
        f"coursekit's data folder '{name}' is missing from {PACKAGE_DIR}.",
        "Reinstall coursekit: python -m pip install --force-reinstall coursekit",
    )


def coursekit_home(env: Mapping[str, str] | None = None) -> Path:
    """coursekit's own state folder (progress file, the built-in engine's envs, the setup lock):
    ``COURSEKIT_HOME``, else the per-user data folder (platformdirs)."""
    value = (os.environ if env is None else env).get(EnvVars.HOME)
    if value:
        return Path(value)
    import platformdirs  # lazy: only needed when COURSEKIT_HOME is unset

    return Path(platformdirs.user_data_dir("coursekit", appauthor=False))


def envs_dir() -> Path:
    """The ``envs/`` folder (environment spec and PyTorch matrix)."""
    return data_dir("envs")


def labs_dir() -> Path:
    """The ``labs/`` folder (lab content and graders)."""
    return data_dir("labs")


MAX_TOML_BYTES = 1024 * 1024
"""The course's TOML files are 2-25 kB; a megabyte bounds what a wrong COURSEKIT_ENV_SPEC costs."""


def read_toml(path: Path, max_bytes: int = MAX_TOML_BYTES) -> dict[str, Any]:
    """Parse a TOML file, turning every failure into a SpecError naming the file: a missing
    file, a FIFO, a device or folder, one over ``max_bytes``, bytes that are not UTF-8 (TOML
    is UTF-8 only), bad syntax, nesting too deep to parse."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    raw = read_capped(
        path, max_bytes, f"Check the path (or unset {EnvVars.SPEC} to use the course's spec)."
    )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start}); "
            "TOML files are UTF-8.",
            "Save the file as UTF-8 (see envs/README.md for the format).",
        ) from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
        return data
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(
            f"{path}: not valid TOML: {exc}.",
            "Fix the syntax at the line shown (see envs/README.md for the format).",
        ) from None
    except RecursionError:
        raise SpecError(
            f"{path}: nested too deeply to be a course spec.",
            "Fix the file (see envs/README.md for the format).",
        ) from None


# Reading a file a user points coursekit at, in bounded time and memory: a path may name a
# FIFO (reading blocks until someone writes), /dev/zero or /dev/urandom (reading never ends), a
# folder, or a file of gigabytes. read_capped refuses everything that is not a regular file of
# at most max_bytes with a SpecError (exit 2) before reading it; a FIFO is opened non-blocking,
# so even a swap between the check and the open cannot hang.


def read_capped(path: Path, max_bytes: int, fix: str) -> bytes:
    """The bytes of ``path`` (``-``: standard input), at most ``max_bytes`` of a regular file."""
    if str(path) == "-":
        stdin = getattr(sys.stdin, "buffer", None)
        raw = (
            stdin.read(max_bytes + 1)
            if stdin is not None
            else sys.stdin.read(max_bytes + 1).encode("utf-8", "surrogateescape")
        )
        return _capped(raw, "standard input", max_bytes, fix)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode):
            raise SpecError(f"{path} is not a regular file ({_kind(mode)}).", fix)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SpecError(f"cannot read {path}: file not found.", fix) from None
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror or exc}.", fix) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped between stat and open
            raise SpecError(f"{path} is not a regular file ({_kind(info.st_mode)}).", fix)
        if info.st_size > max_bytes:
            raise SpecError(
                f"{path}: {info.st_size} bytes, more than the {_size(max_bytes)} "
                "such a file can be.",
                fix,
            )
        raw = _read_fd(fd, max_bytes + 1, info.st_size + 1)
    except OSError as exc:
        raise SpecError(f"cannot read {path}: {exc.strerror or exc}.", fix) from None
    finally:
        os.close(fd)
    return _capped(raw, str(path), max_bytes, fix)


def _read_fd(fd: int, limit: int, expected: int) -> bytes:
    """Up to ``limit`` bytes of ``fd``, asking first for the ``expected`` size (a buffer of the
    file's size, not of the limit: class triage reads hundreds of 10 kB reports under a 16 MiB
    cap); a file that grew meanwhile is read on, to the limit."""
    chunks = []
    left = limit
    ask = min(expected, limit)
    while left > 0:
        chunk = os.read(fd, min(ask, left))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
        ask = 1 << 16  # then in chunks: a file that grew, or an end-of-file check
    return b"".join(chunks)


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO/pipe"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"


def _capped(raw: bytes, where: str, max_bytes: int, fix: str) -> bytes:
    if len(raw) > max_bytes:
        raise SpecError(f"{where}: more than the {_size(max_bytes)} such a file can be.", fix)
    return raw
