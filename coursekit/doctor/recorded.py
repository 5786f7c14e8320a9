"""The sources ``coursekit setup`` recorded in the env, and the fix lines built from them.

Setup writes ``<env prefix>/etc/coursekit/setup.json`` (:mod:`coursekit.setup.run.record`):
the conda channels and the PyTorch index it used. :func:`read_record` is the one door that
reads it (bounded, tolerant: a missing, foreign or damaged file is no record). The rest is
pure: :func:`fix_with_sources` rewrites a finding's fix line so that every ``coursekit setup``
in it carries the recorded ``--channel``/``--index-url``, and a pip line's public PyTorch index
becomes the recorded one; :func:`torch_index` and :func:`pypi_index` give ``doctor --fix`` its
sources. Only what the student chose is carried over (``--channel``, ``--index-url``, a PyPI
mirror in pip's config): with nothing recorded, or only the defaults, fix lines are as before.

A recorded index for another build (``.../whl/cu126`` when the fix installs ``cu130``) follows
the build when its last path segment names the recorded build (PyTorch's own layout, which
mirrors copy); any other URL, and a wheel folder, is used as it is.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from coursekit.doctor.facts import SetupRecordFacts
from coursekit.shellquote import quote_arg

_MAX_BYTES = 64 * 1024
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s\"']+@")


def redact(value: str) -> str:
    """``https://user:token@host/x`` -> ``https://***@host/x`` (pure)."""
    return _USERINFO.sub(r"\1***@", value)


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() and len(value) < 4096 else None


def parse_record(text: str, path: str = "") -> SetupRecordFacts | None:
    """The record in ``text`` (None when it is not one), URLs as written (pure)."""
    from coursekit.setup.run.record import RECORD_KIND

    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("kind") != RECORD_KIND:
        return None
    channels = data.get("channels")
    channels = [c for c in channels if _str(c)] if isinstance(channels, list) else []
    return SetupRecordFacts(
        path=path,
        engine=_str(data.get("engine")),
        channels=tuple(channels[:32]),
        channels_given=data.get("channels_given") is True and bool(channels),
        index_url=_str(data.get("index_url")),
        index_is_folder=data.get("index_is_folder") is True,
        index_given=data.get("index_given") is True and bool(_str(data.get("index_url"))),
        pypi_index_url=_str(data.get("pypi_index_url")),
        backend=_str(data.get("backend")),
        torch=_str(data.get("torch")),
    )


def read_record(prefix: str | Path | None, *, redacted: bool = True) -> SetupRecordFacts | None:
    """The env's setup record (the door): ``redacted`` for facts that may be printed, saved or
    sent (``--json``, ``--save``); the real URLs only for the commands ``doctor --fix`` runs."""
    if not prefix:
        return None
    from coursekit.setup.run.record import record_path

    path = record_path(Path(prefix))
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_MAX_BYTES + 1)
        if len(raw) > _MAX_BYTES:
            return None
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    record = parse_record(text, str(path))
    return redacted_record(record) if record is not None and redacted else record


def redacted_record(record: SetupRecordFacts) -> SetupRecordFacts:
    """The record with credentials in its URLs hidden (pure)."""
    return replace(
        record,
        channels=tuple(redact(c) for c in record.channels),
        index_url=redact(record.index_url) if record.index_url else None,
        pypi_index_url=redact(record.pypi_index_url) if record.pypi_index_url else None,
    )


def torch_index(record: SetupRecordFacts | None, backend: str | None) -> str | None:
    """The recorded torch source for a fix installing ``backend`` (None: not recorded, use the
    planned one). ``.../whl/cu126`` recorded for cu126 becomes ``.../whl/cu130`` for cu130."""
    if record is None or not record.index_given or not record.index_url:
        return None
    url = record.index_url
    if record.index_is_folder or not backend or not record.backend or backend == record.backend:
        return url
    head, sep, last = url.rstrip("/").rpartition("/")
    if sep and last == record.backend and "://" in head:
        return f"{head}/{backend}"
    return url


def pypi_index(record: SetupRecordFacts | None) -> str | None:
    """The PyPI mirror setup used (pip config's index-url), if any."""
    return record.pypi_index_url if record is not None else None


def index_args(record: SetupRecordFacts | None, backend: str | None) -> tuple[str, ...] | None:
    """pip's source arguments for the recorded torch index (None: nothing recorded)."""
    source = torch_index(record, backend)
    if source is None:
        return None
    if record is not None and record.index_is_folder:
        return ("--no-index", "--find-links", source)
    return ("--index-url", source)


def setup_flags(record: SetupRecordFacts | None, backend: str | None) -> tuple[str, ...]:
    """The ``coursekit setup`` flags that reuse the recorded sources (pure; empty: none)."""
    if record is None:
        return ()
    flags: list[str] = []
    if record.channels_given:
        for channel in record.channels:
            flags += ["--channel", channel]
    source = torch_index(record, backend)
    if source is not None:
        flags += ["--index-url", source]
    return tuple(flags)


# `coursekit setup` and the flags after it (a flag, then its value unless that is another flag)
_SETUP = re.compile(r"coursekit setup((?:\s--?[a-z][a-z0-9-]*(?:\s(?!-)[^\s`'\"(),;]+)?)*)")
_BACKEND = re.compile(r"--backend\s(\S+)")
_PIP_INDEX = re.compile(r"--index-url\s(\S+)")


def fix_with_sources(fix: str, record: SetupRecordFacts | None, os_name: str = "linux") -> str:
    """``fix`` with the recorded sources: every ``coursekit setup`` gets the recorded
    ``--channel``/``--index-url`` after its own flags, and the PyTorch index of a pip line
    becomes the recorded one (pure; unchanged when nothing was recorded)."""
    if record is None or not (record.channels_given or record.index_given):
        return fix
    values = [*record.channels, record.index_url or "", record.backend or ""]
    if any(ch < " " or ch == "\x7f" for v in values for ch in v):
        return fix  # a line break in a report's value would split the pasted command

    def setup(m: re.Match[str]) -> str:
        flags = m.group(1)
        backend = _BACKEND.search(flags)
        extra = setup_flags(record, backend.group(1) if backend else record.backend)
        if "--index-url" in flags or "--channel" in flags:
            return m.group(0)  # the rule named its own sources
        return m.group(0) + "".join(f" {quote_arg(a, os_name)}" for a in extra)

    out = _SETUP.sub(setup, fix)
    if record.index_given and "pip install" in out:

        def pip(m: re.Match[str]) -> str:
            if "download.pytorch.org" not in m.group(1):
                return m.group(0)
            backend = m.group(1).rstrip("/").rpartition("/")[2]
            args = index_args(record, backend)
            return " ".join(quote_arg(a, os_name) for a in args) if args else m.group(0)

        out = _PIP_INDEX.sub(pip, out)
    return out
