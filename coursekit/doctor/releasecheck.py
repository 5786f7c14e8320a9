"""The doctor's release check: does the PyTorch index have a newer stable torch than coursekit's
data (``envs/torch-matrix.toml``) knows? (issue 15 item 6, the online half.)

PyTorch releases about every eight weeks; the matrix is researched data and lags behind. The
check reads one page, ``<index>/torch/``, through :mod:`coursekit.wheelindex` (PEP 691 JSON,
else HTML; ``file://`` folders too) and records a
:class:`~coursekit.doctor.facts.ReleaseCheckFacts`; the rule
:func:`coursekit.doctor.rules_release.torch_newer_release` turns a newer release into an info
finding. It never costs the student more than :data:`TIMEOUT_S`, and never an error:

- ``COURSEKIT_OFFLINE`` (no network at all) or ``COURSEKIT_NO_RELEASE_CHECK`` (just this
  check) set: nothing is read;
- the answer is cached in coursekit's home folder (``cache/pytorch-releases.json``) for
  :data:`FRESH_S` (a day), and a failure for :data:`RETRY_S`, so repeated doctor runs do not
  wait;
- the whole read (name lookup, connection, page, parsing) has one deadline (a socket timeout
  bounds each read, not the whole), and any failure is the status ``failed`` with a reason that
  only ``-v`` shows.

Only final releases count (:func:`coursekit.wheelindex.is_final`: no ``rc``/dev/local
versions). ``doctor --from`` does not run this check: it re-diagnoses what the student's
doctor recorded.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from coursekit import wheelindex
from coursekit.constants import EnvVars
from coursekit.jsondata import read_section
from coursekit.doctor.facts import ReleaseCheckFacts
from coursekit.probe import redact

TIMEOUT_S: Final = 4.0
"""The most the check may take, all of it (it runs beside the doctor's other checks)."""
FRESH_S: Final = 24 * 3600.0
"""How long an answer from the index is reused."""
RETRY_S: Final = 3600.0
"""How long after a failure the index is not asked again (offline laptops do not wait each run)."""
MAX_PAGE_BYTES: Final = 64 * 1024 * 1024
"""download.pytorch.org/whl/torch/ lists every torch wheel (a few MB); a page this big is not it."""
CACHE_FILE: Final = Path("cache") / "pytorch-releases.json"
CACHE_SCHEMA: Final = 1

Clock = Callable[[], float]


def _default_fetch(url: str, timeout: float) -> wheelindex.Page | None:
    # Looked up at call time, so a test can replace the door for the whole run.
    return wheelindex.urllib_fetch(url, timeout, MAX_PAGE_BYTES)


def _set(environ: Mapping[str, str], name: str) -> bool:
    return bool(environ.get(name, "").strip())


def index_root(environ: Mapping[str, str]) -> str:
    """The index root to read: ``COURSEKIT_RELEASE_INDEX``, else the public PyTorch index."""
    return (environ.get(EnvVars.RELEASE_INDEX, "").strip() or wheelindex.DEFAULT_INDEX).rstrip("/")


def _scrub(text: str, index: str) -> str:
    """``text`` without the index's credentials, whether an error shows the URL or its host."""
    userinfo = urlsplit(index).netloc.rpartition("@")[0]
    return redact(text.replace(userinfo, "***") if userinfo else text)


def _iso(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).replace(microsecond=0).isoformat()


def newest_on_index(index: str, fetch: wheelindex.FetchPage, timeout: float) -> str | None:
    """The newest final torch release ``<index>/torch/`` lists (None when it lists only
    pre-releases); OSError when the page is missing, unreadable or lists no torch wheel."""
    parts = urlsplit(index)
    if parts.scheme not in ("http", "https", "file") or (
        parts.scheme != "file" and not parts.netloc
    ):
        raise OSError(f"{index!r} is not an index URL (http://, https:// or file://)")
    page = fetch(f"{index}/torch/", timeout)
    if page is None:
        raise OSError(f"{index}/torch/ does not exist")
    wheels = [w for w in map(wheelindex.parse_wheel, wheelindex.filenames(page)) if w]
    versions = [w.version for w in wheels if w.package == "torch"]
    if not versions:
        raise OSError(f"{index}/torch/ lists no torch wheel")
    return wheelindex.newest_final(versions)


def _cache_path(environ: Mapping[str, str]) -> Path:
    from coursekit.resources import coursekit_home

    return coursekit_home(environ) / CACHE_FILE


def _read_cache(path: Path) -> dict[str, Any]:
    return read_section(path, CACHE_SCHEMA, "entries")


def _cached(entry: object, now: float) -> tuple[float, str | None, str] | None:
    """(read at, newest, error) of a cache entry still fresh at ``now``; None otherwise."""
    if not isinstance(entry, dict):
        return None
    at, newest, error = entry.get("at"), entry.get("newest"), entry.get("error", "")
    if not isinstance(at, (int, float)) or isinstance(at, bool):
        return None
    if not (newest is None or isinstance(newest, str)) or not isinstance(error, str):
        return None
    if newest is not None and not wheelindex.is_final(newest):
        return None
    age = now - float(at)
    if age < 0 or age >= (RETRY_S if error else FRESH_S):  # a clock set back: ask again
        return None
    return float(at), newest, error


def _write_cache(path: Path, index: str, at: float, newest: str | None, error: str) -> None:
    entries = _read_cache(path)
    entries[index] = {"at": at, "newest": newest, "error": error}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".releases-", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({"schema": CACHE_SCHEMA, "entries": entries}, out)
        os.replace(tmp, path)
    except OSError:
        return  # a read-only home: the next run asks again


def check_releases(
    environ: Mapping[str, str],
    matrix_newest: str,
    fetch: wheelindex.FetchPage | None = None,
    clock: Clock = time.time,
    timeout: float = TIMEOUT_S,
) -> ReleaseCheckFacts:
    """Ask the index (or the cache) for its newest stable torch; never raises, never takes
    much longer than ``timeout``."""
    if _set(environ, EnvVars.OFFLINE):
        return ReleaseCheckFacts("offline", matrix_newest)
    if _set(environ, EnvVars.NO_RELEASE_CHECK):
        return ReleaseCheckFacts("off", matrix_newest)
    index = index_root(environ)
    shown = redact(index)  # what the report and the cache file hold: no credentials
    path = _cache_path(environ)
    hit = _cached(_read_cache(path).get(shown), clock())
    if hit is not None:
        at, newest, error = hit
        status = "failed" if error else "cached"
        detail = f"{error} (at {_iso(at)}; asked again after an hour)" if error else ""
        return ReleaseCheckFacts(status, matrix_newest, shown, newest, _iso(at), detail)
    door = fetch or _default_fetch
    at = clock()
    try:
        newest = wheelindex.within(
            lambda: newest_on_index(index, door, timeout), timeout, f"{shown}/torch/"
        )
    except Exception as exc:  # noqa: BLE001 - any failure is silent: a -v line, never an error
        error = _scrub(f"{type(exc).__name__}: {exc}", index)[:300]
        _write_cache(path, shown, at, None, error)
        return ReleaseCheckFacts("failed", matrix_newest, shown, None, _iso(at), error)
    _write_cache(path, shown, at, newest, "")
    return ReleaseCheckFacts("checked", matrix_newest, shown, newest, _iso(at))


def matrix_newest() -> str:
    """The newest torch version this coursekit's data knows ('' when the matrix cannot load)."""
    from packaging.version import Version

    from coursekit.setup.plan.matrix import load_matrix

    try:
        matrix = load_matrix()
    except Exception:  # noqa: BLE001 - a broken matrix is other findings' business
        return ""
    versions = [v.torch for r in matrix.releases for v in r.versions]
    return str(max(versions, key=Version)) if versions else ""


__all__ = [
    "FRESH_S",
    "RETRY_S",
    "TIMEOUT_S",
    "check_releases",
    "index_root",
    "matrix_newest",
    "newest_on_index",
]
