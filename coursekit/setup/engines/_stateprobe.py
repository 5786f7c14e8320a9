"""Fast state probe, run by the env's own Python (stdlib only, Python 3.8+, never imports
the packages it looks at): which distributions are installed, by whom, and whether their
files are all there (an interrupted pip leaves a dist-info whose files are missing).

    <env python> _stateprobe.py NAME [NAME ...]   ->   one JSON line on stdout
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

if sys.path and sys.path[0] and __name__ == "__main__":
    sys.path.pop(0)  # this folder is coursekit's package: keep it from shadowing the stdlib


def _norm(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503, as EnvState.copies looks names up


def _missing_files(dist: Any) -> int:
    # RECORD read directly: from Python 3.12 ``Distribution.files`` drops missing files.
    import csv

    missing = 0
    for row in csv.reader((dist.read_text("RECORD") or "").splitlines()):
        if not row or "__pycache__" in row[0] or row[0].endswith((".pyc", "RECORD")):
            continue
        if not os.path.exists(str(dist.locate_file(row[0]))):
            missing += 1
    return missing


def main(names: list[str]) -> int:
    from importlib import metadata

    wanted = {_norm(n) for n in names} | {"pip"}
    out: dict[str, list[dict[str, Any]]] = {}
    for dist in metadata.distributions():
        try:
            name = _norm(dist.metadata["Name"] or "")
        except Exception:  # noqa: BLE001, S112 - broken METADATA: skip like pip does
            continue
        if name not in wanted:
            continue
        path = getattr(dist, "_path", None)
        out.setdefault(name, []).append(
            {
                "version": dist.version,
                "installer": (dist.read_text("INSTALLER") or "").strip() or None,
                "location": str(path) if path is not None else None,
                "files_missing": _missing_files(dist),
                "has_record": dist.read_text("RECORD") is not None,
                "requires": list(dist.requires or []),
            }
        )
    print(
        json.dumps(
            {"python": ".".join(map(str, sys.version_info[:3])), "prefix": sys.prefix, "dists": out}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
