"""Online confirmation: does the chosen index really list the wheel the plan pins?

The matrix is researched data and can lag behind download.pytorch.org; before a student
downloads 2 GB, the planner fetches the index's simple page for ``torch``
(``<index_url>/torch/``, PEP 503) and looks for the exact wheel for this Python, OS and CPU
architecture. The network goes through one injected door, :data:`Fetch`
(:func:`urllib_fetch` by default); ``COURSEKIT_OFFLINE`` skips the check, and the plan's
reasons say which happened.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

Fetch = Callable[[str, float], str]
"""``fetch(url, timeout) -> page text``; raises OSError (URLError is one) on failure."""

TIMEOUT_S: Final = 10.0
# Platform tags of PyTorch wheels (astral-sh/uv#17380 lists them): manylinux for Linux CUDA/CPU,
# plain linux_x86_64 for some (XPU), win_amd64, macosx_11_0_arm64.
_PLATFORM_TAGS: Final = {
    "linux-x86_64": r"(?:manylinux[0-9a-z_]*_x86_64|linux_x86_64)",
    "linux-arm64": r"(?:manylinux[0-9a-z_]*_aarch64|linux_aarch64)",
    "windows-x86_64": r"win_amd64",
    "macos-arm64": r"macosx_\d+_\d+_arm64",
}


@dataclass(frozen=True)
class IndexCheck:
    """The outcome: ``found`` is True/False after a check, None when no check happened."""

    found: bool | None
    page_url: str
    wheel: str | None = None
    message: str = ""


def urllib_fetch(url: str, timeout: float) -> str:
    """GET ``url`` with the standard library (no third-party HTTP client needed).

    Raises OSError for every failure, as :data:`Fetch` promises: http.client's own errors (a
    reply cut off, something that is not HTTP) are not OSError and would otherwise escape.
    """
    import http.client
    import urllib.request

    from coursekit import __version__

    request = urllib.request.Request(
        url, headers={"User-Agent": f"coursekit/{__version__}", "Accept": "text/html"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: bytes = response.read()
    except http.client.HTTPException as exc:
        raise OSError(f"{type(exc).__name__}: {exc!r}") from exc
    return data.decode("utf-8", errors="replace")


def wheel_pattern(
    version: str, python: str, platform: str, package: str = "torch"
) -> re.Pattern[str]:
    """The regex a matching wheel file name satisfies (``cp312-cp312``, not free-threaded
    ``cp312t``)."""
    cp = "cp" + python.replace(".", "")
    tag = _PLATFORM_TAGS.get(platform, r"[^/\"#]+")
    # A pure-Python wheel (py3-none-any) would also install; real torch wheels never are.
    # (?<![\w.-]): "torch-2.13.0" must not match inside another project's name.
    return re.compile(
        rf"(?<![\w.-]){re.escape(package)}-{re.escape(version)}-"
        rf"(?:{cp}-{cp}-(?:[0-9a-z_.]*\.)?{tag}|py3-none-any)\.whl"
    )


def find_wheel(
    page: str, version: str, python: str, platform: str, package: str = "torch"
) -> str | None:
    """The first wheel on a simple page matching version, Python and platform (None if absent)."""
    match = wheel_pattern(version, python, platform, package).search(unquote(page))
    return match.group(0) if match else None


def check_index(
    index_url: str | None,
    pypi_simple: str,
    version: str,
    python: str,
    platform: str,
    fetch: Fetch,
    timeout: float = TIMEOUT_S,
    package: str = "torch",
) -> IndexCheck:
    """Fetch ``package``'s simple page of the plan's index and look for the pinned wheel."""
    base = (index_url or pypi_simple).rstrip("/")
    page_url = f"{base}/{package}/"
    try:
        page = fetch(page_url, timeout)
    except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections, bad URLs
        return IndexCheck(None, page_url, message=f"could not read {page_url} ({exc})")
    wheel = find_wheel(page, version, python, platform, package)
    if wheel is None:
        return IndexCheck(
            False,
            page_url,
            message=(
                f"{page_url} lists no {package} {version} wheel for Python {python} on {platform}"
            ),
        )
    return IndexCheck(True, page_url, wheel, f"{page_url} lists {wheel}")
