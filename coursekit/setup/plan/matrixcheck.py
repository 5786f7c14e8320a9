"""``coursekit matrix check``: compare ``envs/torch-matrix.toml`` with what a wheel index serves.

A maintainer's tool. PyTorch releases about every eight weeks and adds or drops CUDA lines on
its own schedule; a table that is not checked goes stale (light-the-torch froze its table for
most of 2025). This module reads the index and reports the drift:

- releases on the index the matrix lacks (``new-release``, ``new-version``);
- a version or companion the matrix pins that a variant's index does not carry, per platform and
  Python (``missing``), or a whole variant gone (``variant-missing``);
- a companion the matrix says is not published that now is (``companion-published``);
- variants (local tags) on the index that a release of the matrix does not list (``new-variant``);
- wheels for a Python the matrix does not list for that release (``python-unlisted``).

Pages are read with the PEP 691 JSON simple API where the index serves it, else the PEP 503
HTML page; a ``file://`` index is a folder (``<root>/<package>/`` holding wheel files, or an
``index.html`` there), by :mod:`coursekit.wheelindex`. The network goes through one door,
:data:`FetchPage`, so tests serve a local index. Everything else here is pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from packaging.version import Version

from coursekit.errors import UsageError
from coursekit.setup.plan.matrix import PLATFORMS, Matrix, Release
from coursekit.wheelindex import (
    ACCEPT,
    DEFAULT_INDEX,
    FetchPage,
    Page,
    Wheel,
    file_fetch,
    filenames,
    is_final,
    parse_wheel,
    urllib_fetch,
)

PACKAGES: Final = ("torch", "torchvision", "torchaudio")
TIMEOUT_S: Final = 20.0


@dataclass(frozen=True)
class Drift:
    """One difference between the matrix and the index."""

    kind: str
    release: str
    message: str
    package: str = ""
    backend: str = ""
    platforms: tuple[str, ...] = ()
    pythons: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckReport:
    """What ``coursekit matrix check`` found."""

    index: str
    drifts: tuple[Drift, ...]
    pages_read: int
    newest_on_index: str | None
    newest_in_matrix: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.drifts


def validate_index(url: str) -> str:
    """The index root without a trailing slash; exit 2 for what cannot be an index."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "file") or (
        parts.scheme != "file" and not parts.netloc
    ):
        raise UsageError(
            f"--index-url {url!r} is not an index URL.",
            f"Give an https:// index root such as {DEFAULT_INDEX}, or file:///path for a folder.",
        )
    if parts.scheme == "file" and parts.netloc not in ("", "localhost"):
        raise UsageError(
            f"--index-url {url!r}: a file:// URL names a host ({parts.netloc}).",
            "Use file:///absolute/path (three slashes).",
        )
    return url.rstrip("/")


# --- the comparison (pure) ------------------------------------------------------------------


def _stable(version: str) -> bool:
    return is_final(version)


def _line(version: str) -> str:
    v = Version(version)
    return f"{v.major}.{v.minor}"


def _tag_to_backend(release: Release, local: str, platform: str) -> str | None:
    """Which of the release's variants a wheel with this local tag belongs to (None: unlisted)."""
    for variant in release.variants_for(platform):
        if variant.local_tag(platform) == local:
            return variant.backend
    return None


def _pinned(release: Release, package: str) -> list[str]:
    """The versions of ``package`` the matrix pins for ``release``."""
    return sorted({getattr(v, package) for v in release.versions}, key=Version)


def compare(
    matrix: Matrix,
    root_pages: dict[str, Sequence[Wheel]],
    variant_pages: dict[tuple[str, str], Sequence[Wheel] | None],
) -> list[Drift]:
    """The drift between ``matrix`` and the wheels read.

    ``root_pages[package]`` are the wheels the index root lists for a package (every variant,
    told apart by local tag); ``variant_pages[(backend, package)]`` those of one variant's index
    (None when that page does not exist).
    """
    drifts: list[Drift] = []
    known = {v.torch for r in matrix.releases for v in r.versions}
    oldest = matrix.releases[0].key
    by_line = {r.line: r for r in matrix.releases}
    ignored = set(matrix.check_ignore_backends)

    # Releases on the index that the matrix lacks.
    torch_versions = sorted(
        {w.version for w in root_pages.get("torch", ()) if _stable(w.version)}, key=Version
    )
    for version in torch_versions:
        line = _line(version)
        if version in known or tuple(map(int, line.split("."))) < oldest:
            continue
        kind = "new-version" if line in by_line else "new-release"
        what = f"a newer {line} version" if kind == "new-version" else f"a release line {line}"
        drifts.append(
            Drift(
                kind,
                line,
                f"torch {version} is on the index ({what} the matrix lacks): "
                "add it to envs/torch-matrix.toml with its sources",
                package="torch",
            )
        )

    for release in matrix.releases:
        versions = {v.torch for v in release.versions}
        # Variants and Pythons on the index that the release does not list.
        unlisted: dict[tuple[str, str], set[str]] = defaultdict(set)
        pythons: dict[str, set[str]] = defaultdict(set)
        for w in root_pages.get("torch", ()):
            if w.version not in versions or not w.platform:
                continue
            backend = _tag_to_backend(release, w.local, w.platform)
            if (
                backend is None
                and w.local not in ignored
                and (w.local or w.platform != "macos-arm64")
            ):
                unlisted[(w.local or "(no tag)", w.platform)].add(w.python)
            if w.python and w.python not in release.python:
                pythons[w.python].add(w.platform)
        for (tag, platform), pys in sorted(unlisted.items()):
            drifts.append(
                Drift(
                    "new-variant",
                    release.line,
                    f"torch {release.line} has {tag} wheels for {platform} that the matrix does "
                    "not list",
                    package="torch",
                    backend=tag,
                    platforms=(platform,),
                    pythons=tuple(sorted(pys)),
                )
            )
        for python, plats in sorted(pythons.items()):
            drifts.append(
                Drift(
                    "python-unlisted",
                    release.line,
                    f"torch {release.line} has wheels for Python {python}, which the matrix does "
                    f"not list for this release",
                    package="torch",
                    platforms=tuple(sorted(plats)),
                    pythons=(python,),
                )
            )
        # What the matrix pins, variant by variant.
        for variant in release.variants:
            if variant.kind == "pypi" or variant.backend in ignored:
                continue
            torch_page = variant_pages.get((variant.backend, "torch"))
            if not torch_page or not any(w.version in versions for w in torch_page):
                drifts.append(
                    Drift(
                        "variant-missing",
                        release.line,
                        f"the {variant.backend} index has no torch {release.line} wheel at all",
                        package="torch",
                        backend=variant.backend,
                        platforms=variant.platforms,
                    )
                )
                continue
            for package in PACKAGES:
                page = variant_pages.get((variant.backend, package)) or ()
                absent = package in variant.companions_missing
                for version in _pinned(release, package):
                    missing_p: set[str] = set()
                    missing_py: set[str] = set()
                    present = False
                    for platform in variant.platforms:
                        tag = variant.local_tag(platform)
                        have = {
                            w.python
                            for w in page
                            if w.version == version and w.local == tag and w.platform == platform
                        }
                        present = present or bool(have)
                        lacking = [py for py in release.python if py not in have and "" not in have]
                        if lacking:
                            missing_p.add(platform)
                            missing_py.update(lacking)
                    if absent and present:
                        drifts.append(
                            Drift(
                                "companion-published",
                                release.line,
                                f"{package} {version} is now on the {variant.backend} index, which "
                                "the matrix says lacks it: remove it from companions_missing",
                                package=package,
                                backend=variant.backend,
                            )
                        )
                    elif not absent and missing_p:
                        py_list = sorted(missing_py, key=Version)
                        local = "+" + variant.backend if variant.kind != "pypi" else ""
                        drifts.append(
                            Drift(
                                "missing",
                                release.line,
                                f"{package} {version}{local} is not on the {variant.backend} "
                                f"index for {', '.join(sorted(missing_p))} (Python "
                                f"{', '.join(py_list)})",
                                package=package,
                                backend=variant.backend,
                                platforms=tuple(sorted(missing_p)),
                                pythons=tuple(py_list),
                            )
                        )
    return drifts


def check(
    matrix: Matrix,
    index: str = DEFAULT_INDEX,
    fetch: FetchPage = urllib_fetch,
    timeout: float = TIMEOUT_S,
) -> CheckReport:
    """Read the index and compare it with ``matrix``; OSError when the root cannot be read."""
    index = validate_index(index)
    pages = 0

    def read(url: str) -> list[Wheel] | None:
        nonlocal pages
        page = fetch(url, timeout)
        pages += 1
        if page is None:
            return None
        return [w for w in map(parse_wheel, filenames(page)) if w is not None]

    root: dict[str, Sequence[Wheel]] = {}
    for package in PACKAGES:
        wheels = read(f"{index}/{package}/")
        root[package] = wheels or []
    if not root["torch"]:
        raise OSError(
            f"{index}/torch/ lists no torch wheel: is {index} a PyTorch wheel index root?"
        )
    variant_pages: dict[tuple[str, str], Sequence[Wheel] | None] = {}
    for backend in sorted(
        {v.backend for r in matrix.releases for v in r.variants if v.kind != "pypi"}
    ):
        for package in PACKAGES:
            variant_pages[(backend, package)] = read(f"{index}/{backend}/{package}/")
    drifts = compare(matrix, root, variant_pages)
    stable = [w.version for w in root["torch"] if _stable(w.version)]
    newest = max(stable, key=Version) if stable else None
    return CheckReport(index, tuple(drifts), pages, newest, matrix.newest.latest.torch)


def summary_counts(drifts: Iterable[Drift]) -> dict[str, int]:
    """Drift kinds and how many of each."""
    counts: dict[str, int] = defaultdict(int)
    for d in drifts:
        counts[d.kind] += 1
    return dict(sorted(counts.items()))


__all__ = [
    "ACCEPT",
    "DEFAULT_INDEX",
    "PLATFORMS",
    "CheckReport",
    "Drift",
    "FetchPage",
    "Page",
    "Wheel",
    "check",
    "compare",
    "file_fetch",
    "filenames",
    "parse_wheel",
    "urllib_fetch",
    "validate_index",
]
