"""Hardened pip calls: torch comes from the one chosen index, whatever the user's pip config says.

``--index-url`` alone does not isolate pip: a config file's ``extra-index-url`` or
``find-links``, or ``PIP_EXTRA_INDEX_URL`` / ``PIP_FIND_LINKS``, still add sources, and pip
takes the highest version from all of them (pypa/pip#8606; the Dec-2022 ``torchtriton``
attack, envs/SOURCES.md P5.6; verified on the test machines, envs/SOURCES.md T5).

So every pip call coursekit makes runs with ``PIP_CONFIG_FILE=os.devnull`` (pip then skips
*all* config files: ``pip/_internal/configuration.py``; a real file there would still load
the global and site files) and without the user's ``PIP_*`` variables. The settings a
network needs (proxy, certificates, trusted hosts, timeout) are read from the same files and
variables and passed back as ``PIP_*`` variables, so proxies and corporate CAs keep working.
What was dropped is returned as notes for the user. Pure functions over text and mappings.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from coursekit.errors import UsageError

# Settings that keep a network working and cannot add a package source.
KEEP_KEYS = (
    "proxy",
    "cert",
    "client-cert",
    "trusted-host",
    "timeout",
    "default-timeout",
    "retries",
    "cache-dir",
    "no-cache-dir",
)
# Settings that add or replace package sources: dropped, and the user is told.
SOURCE_KEYS = ("index-url", "extra-index-url", "find-links", "no-index")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


@dataclass(frozen=True)
class PipSettings:
    """The user's pip settings that matter here, merged in pip's precedence order."""

    keep: dict[str, str]  # key -> value, from KEEP_KEYS
    index_url: str | None  # the user's own index (a PyPI mirror), if any
    dropped: tuple[str, ...]  # "extra-index-url = URL (from FILE)" ...

    def at_least(self, key: str, default: int) -> int:
        """``default``, or the user's own larger ``timeout``/``retries`` (a slow network)."""
        raw = self.keep.get(key) or (self.keep.get("default-timeout") if key == "timeout" else None)
        try:
            return max(default, int(float(raw))) if raw else default
        except ValueError:
            return default


@dataclass(frozen=True)
class IndexSource:
    """Where a pip call may take packages from: one index URL, or one wheel folder."""

    url: str | None = None
    folder: Path | None = None

    def pip_args(self) -> list[str]:
        """``--index-url URL`` or ``--no-index --find-links FOLDER``."""
        if self.folder is not None:
            return ["--no-index", "--find-links", str(self.folder)]
        assert self.url is not None
        return ["--index-url", self.url]

    @property
    def label(self) -> str:
        return str(self.folder) if self.folder is not None else str(self.url)


def check_index(value: str) -> IndexSource:
    """Validate ``--index-url``: https, http only to this machine, ``file://``, or a folder of
    wheels. Anything else is a usage error (exit 2): plain http can be tampered with."""
    parsed = urlparse(value)
    if parsed.scheme == "https" and parsed.netloc:
        return IndexSource(url=value.rstrip("/"))
    if parsed.scheme == "http" and (parsed.hostname or "") in LOCAL_HOSTS:
        return IndexSource(url=value.rstrip("/"))
    if parsed.scheme == "file":
        return IndexSource(url=value)
    if not parsed.scheme or len(parsed.scheme) == 1:  # a path (or a Windows drive letter)
        folder = Path(value).expanduser()
        if folder.is_dir():
            return IndexSource(folder=folder.resolve())
        raise UsageError(
            f"--index-url {value}: no such folder",
            "Give an https:// index URL or an existing folder of wheels.",
        )
    raise UsageError(
        f"--index-url {value}: only https://, http:// to this machine (localhost), file:// "
        "or a folder of wheels are allowed",
        "Use your mirror's https:// address (ask your IT department for it).",
    )


def config_files(env: Mapping[str, str], prefix: Path | None, platform: str) -> list[Path]:
    """pip's config files in load order (``configuration.py``: global, user, site, env file);
    empty when ``PIP_CONFIG_FILE`` is ``os.devnull``."""
    env_file = env.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    home = Path(env.get("USERPROFILE" if platform == "windows" else "HOME") or Path.home())
    if platform == "windows":
        appdata = env.get("APPDATA") or str(home / "AppData" / "Roaming")
        files = [
            Path(env.get("PROGRAMDATA", r"C:\ProgramData")) / "pip" / "pip.ini",
            home / "pip" / "pip.ini",
            Path(appdata) / "pip" / "pip.ini",
        ]
        site_name = "pip.ini"
    else:
        xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
        files = [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
        files += [Path("/etc/pip.conf"), home / ".pip" / "pip.conf"]
        if platform == "macos":
            files.append(home / "Library" / "Application Support" / "pip" / "pip.conf")
        files.append(Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "pip" / "pip.conf")
        site_name = "pip.conf"
    if prefix is not None:
        files.append(prefix / site_name)
    if env_file:
        files.append(Path(env_file))
    return [f for f in files if f.is_file()]


def read_settings(
    files: Sequence[Path], env: Mapping[str, str], sections: Sequence[str] = ("global", "install")
) -> PipSettings:
    """Merge ``files`` (later wins; ``[install]`` over ``[global]``) and ``PIP_*`` variables
    (win over files), the way pip does for ``pip install``."""
    keep: dict[str, str] = {}
    index_url: str | None = None
    dropped: list[str] = []

    def take(key: str, value: str, shown: str) -> None:
        nonlocal index_url
        if key in KEEP_KEYS:
            keep[key] = value
        elif key == "index-url":
            index_url = value
        elif key in SOURCE_KEYS:
            dropped.append(shown)

    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError) as exc:
            dropped.append(f"{path}: unreadable ({type(exc).__name__})")
            continue
        for section in sections:
            if not parser.has_section(section):
                continue
            for key, value in parser.items(section):
                value = " ".join(value.split())
                take(key, value, f"{key} = {value} (from {path})")
    for name, value in env.items():
        if name.startswith("PIP_") and name != "PIP_CONFIG_FILE":
            take(name[4:].lower().replace("_", "-"), value, f"{name}={value}")
    return PipSettings(keep=keep, index_url=index_url, dropped=tuple(dropped))


def pip_env(base: Mapping[str, str], settings: PipSettings) -> dict[str, str]:
    """The child environment: no ``PIP_*`` from the user, config files off, kept settings
    back as ``PIP_*`` variables; ``PIP_NO_INPUT`` so pip never waits for a password."""
    env = {k: v for k, v in base.items() if not k.startswith("PIP_")}
    env.pop("PYTHONHOME", None)
    env.pop("PYTHONPATH", None)  # coursekit's own paths must not leak into the env's pip
    env["PIP_CONFIG_FILE"] = os.devnull
    # A torch in the user site (~/.local, from a `pip install --user`) would make pip answer
    # "Requirement already satisfied" and install nothing into the env (conda's docs: never
    # pip --user with conda envs); the verify step still reports such a second copy.
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    for key, value in settings.keep.items():
        env["PIP_" + key.upper().replace("-", "_")] = value
    return env


def supports_resume(pip_version: str | None) -> bool:
    """``--resume-retries`` exists from pip 25.1 (pip's NEWS, 25.1: resumable downloads)."""
    if not pip_version:
        return False
    try:
        major, minor = (int(p) for p in pip_version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) >= (25, 1)


def install_args(
    requirements: Sequence[str],
    source: IndexSource,
    *,
    pip_version: str | None,
    retries: int = 5,
    timeout_s: int = 60,
    interactive: bool = False,
    constraint: Path | None = None,
    log: Path | None = None,
) -> list[str]:
    """Arguments after the env's Python: ``-m pip install ...`` from exactly ``source``."""
    args = [
        "-m",
        "pip",
        "install",
        *source.pip_args(),
        "--retries",
        str(retries),
        "--timeout",
        str(timeout_s),
        "--upgrade-strategy",
        "only-if-needed",
    ]
    if supports_resume(pip_version):
        args += ["--resume-retries", str(retries)]
    if not interactive:
        args += ["--progress-bar", "off"]
    if constraint is not None:
        args += ["--constraint", str(constraint)]
    if log is not None:
        args += ["--log", str(log)]
    return [*args, *requirements]
