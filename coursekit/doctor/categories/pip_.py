"""The doctor's "pip configuration" category: pip's configuration (extra indexes mix builds).

Its title, status text, ``-v`` detail lines, the checks whose facts it reads and its rules,
in one unit (:class:`~coursekit.doctor.categories.base.Category`).
"""

from __future__ import annotations

from coursekit.doctor.categories.base import Category
from coursekit.doctor.engine import rules_of
from coursekit.doctor.view import View


def status(v: View) -> str:
    """The short text after the title ('' when the facts are unknown)."""
    if not v.probe_ok:
        return ""
    files = (v.data.get("pip_config") or {}).get("files") or []
    return f"{len(files)} config file(s)"


def details(v: View) -> list[str]:
    """The facts behind the category, for ``-v``."""
    lines: list[str] = []
    if not v.probe_ok:
        return lines
    cfg = v.data.get("pip_config") or {}
    lines += [
        f"{s['file']} [{s['section']}] {s['key']} = {s['value']}" for s in cfg.get("settings", [])
    ]
    lines += [f"{k}={val}" for k, val in (cfg.get("env") or {}).items()]
    return lines


UNIT = Category(
    "pip",
    "pip configuration",
    ("probe", "pip_log"),
    status,
    details,
    rules=rules_of("pip"),
)
