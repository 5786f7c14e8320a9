"""Reading a wheel index's project pages: the one network door for PyTorch's index.

``coursekit matrix check`` (a maintainer's drift report) and the doctor's release check (is
there a newer stable torch than coursekit's data knows?) both read ``<index>/<package>/``
pages through :data:`FetchPage`. Pages are read with the PEP 691 JSON simple API where the
index serves it, else the PEP 503 HTML page; a ``file://`` index is a folder
(``<root>/<package>/`` holding wheel files, or an ``index.html`` there).

A core module (standard library and ``packaging`` only): it sits low in the import graph so
the doctor can use it without importing the planner.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Final, TypeVar
from urllib.parse import unquote, urlsplit

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from coursekit.errors import UsageError

DEFAULT_INDEX: Final = "https://download.pytorch.org/whl"
ACCEPT: Final = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)

T = TypeVar("T")

FetchPage = Callable[[str, float], "Page | None"]
"""``fetch(url, timeout) -> Page``; None when the page does not exist (404 or no folder).
Raises OSError when the index cannot be reached."""


@dataclass(frozen=True)
class Page:
    """A simple-API project page: its content type and body."""

    content_type: str
    text: str


@dataclass(frozen=True)
class Wheel:
    """One wheel file, by what its name says."""

    package: str
    version: str  # public version, ``2.11.0``
    local: str  # local tag, ``cu130`` or ``""``
    python: str  # ``3.12``; ``""`` for a pure wheel
    platform: str  # one of the matrix's platforms, or ``""`` for others
    filename: str


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            text = "".join(self._text).strip()
            href = unquote(self._href.split("#", 1)[0].split("?", 1)[0]).rstrip("/")
            self.names.append(text if text.endswith(".whl") else href.rsplit("/", 1)[-1])
            self._href = None


def filenames(page: Page) -> list[str]:
    """The file names a project page lists (JSON or HTML)."""
    if "json" in page.content_type:
        try:
            data = json.loads(page.text)
        except ValueError:
            return []
        files = data.get("files") if isinstance(data, dict) else None
        return [
            str(f.get("filename")) for f in files or [] if isinstance(f, dict) and f.get("filename")
        ]
    parser = _Anchors()
    parser.feed(page.text)
    return parser.names


_PLATFORM_TAG: Final = (
    (re.compile(r"^(manylinux[0-9a-z_]*|linux)_x86_64$"), "linux-x86_64"),
    (re.compile(r"^(manylinux[0-9a-z_]*|linux)_aarch64$"), "linux-arm64"),
    (re.compile(r"^win_amd64$"), "windows-x86_64"),
    (re.compile(r"^macosx_\d+_\d+_(arm64|universal2)$"), "macos-arm64"),
)


def parse_wheel(name: str) -> Wheel | None:
    """A wheel file name as a :class:`Wheel`; None for anything else (sdists, odd names,
    free-threaded)."""
    if not name.endswith(".whl"):
        return None
    try:
        project, version, _build, tags = parse_wheel_filename(name)
    except (InvalidWheelFilename, InvalidVersion):
        return None
    tag = next(iter(tags))
    if tag.abi.endswith("t") and tag.abi.startswith("cp"):  # free-threaded cp313t
        return None
    python = ""
    if tag.interpreter.startswith("cp") and tag.interpreter[2:].isdigit():
        digits = tag.interpreter[2:]
        python = f"{digits[0]}.{digits[1:]}"
    platform = next((key for rx, key in _PLATFORM_TAG if rx.match(tag.platform)), "")
    return Wheel(str(project), version.public, version.local or "", python, platform, name)


def is_final(version: str) -> bool:
    """A final (stable) release: no pre-release (``rc1``, ``a0``), no dev release, no local
    tag (``+cu130`` is a build of a release, judged by its public part). A post release
    (``2.14.0.post1``) is a final release's repackaging and counts as that release."""
    try:
        v = Version(version)
    except InvalidVersion:
        return False
    return not (v.is_prerelease or v.is_devrelease or v.local)


def newest_final(versions: Iterable[str]) -> str | None:
    """The newest final release among ``versions``, as its release number (``2.15.0``; a post
    release counts as its base); None when there is none."""
    finals = {Version(Version(v).base_version) for v in versions if is_final(v)}
    return str(max(finals)) if finals else None


def file_fetch(url: str, timeout: float) -> Page | None:
    """Read a ``file://`` project page: the folder's ``index.html``, or its file names."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise UsageError(
            f"{url}: a file:// URL names a host ({parts.netloc}).",
            "Use file:///absolute/path (three slashes) or an http(s):// index.",
        )
    folder = Path(unquote(parts.path))
    if not folder.is_dir():
        return None
    index = folder / "index.html"
    if index.is_file():
        return Page("text/html", index.read_text(encoding="utf-8", errors="replace"))
    links = "".join(
        f'<a href="{p.name}">{p.name}</a>\n' for p in sorted(folder.iterdir()) if p.is_file()
    )
    return Page("text/html", links)


def urllib_fetch(url: str, timeout: float, max_bytes: int | None = None) -> Page | None:
    """GET a project page, asking for PEP 691 JSON first; None on 404. ``max_bytes`` bounds
    what is read (a longer page is an OSError)."""
    if url.startswith("file:"):
        return file_fetch(url, timeout)
    import http.client
    import urllib.error
    import urllib.request

    from coursekit import __version__

    request = urllib.request.Request(
        url, headers={"User-Agent": f"coursekit/{__version__}", "Accept": ACCEPT}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            kind = str(response.headers.get("Content-Type", "text/html"))
            body: bytes = response.read() if max_bytes is None else response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise OSError(f"HTTP {exc.code} for {url}") from exc
    except http.client.HTTPException as exc:
        raise OSError(f"{type(exc).__name__}: {exc!r}") from exc
    if max_bytes is not None and len(body) > max_bytes:
        raise OSError(f"{url}: the page is larger than {max_bytes} bytes")
    return Page(kind, body.decode("utf-8", errors="replace"))


def within(work: Callable[[], T], deadline_s: float, what: str) -> T:
    """``work()``, or TimeoutError after ``deadline_s`` seconds in all.

    A socket timeout bounds each read, not the whole: a name lookup (``getaddrinfo``) has no
    timeout at all, and a server trickling bytes resets it forever. The work runs in a daemon
    thread that is abandoned at the deadline (it cannot hold the process open)."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["error"] = exc

    thread = threading.Thread(target=run, name="coursekit-index-read", daemon=True)
    thread.start()
    thread.join(deadline_s)
    if thread.is_alive():
        raise TimeoutError(f"{what}: no answer within {deadline_s:g} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


__all__ = [
    "ACCEPT",
    "DEFAULT_INDEX",
    "FetchPage",
    "Page",
    "Wheel",
    "file_fetch",
    "filenames",
    "is_final",
    "newest_final",
    "parse_wheel",
    "urllib_fetch",
    "within",
]
