"""Plain JSON values from coursekit's result types (dataclasses, enums, paths, tuples).

Core, not the renderer: the doctor's report (:mod:`coursekit.doctor.facts`) and every
``--json`` output (:mod:`coursekit.render`) serialise through this one function, so a
report written by one OS reads the same on another.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any


_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_jsonable(obj: Any) -> Any:
    """Turn dataclasses, enums, paths and tuples into plain JSON values (recursively)."""
    kind = type(obj)
    if kind in _PLAIN:  # most values (a subclass such as an enum takes the long way)
        return obj
    if kind is list or kind is tuple:
        return [to_jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {name: to_jsonable(getattr(obj, name)) for name in _public_fields(kind)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    return obj


_FIELDS: dict[type, tuple[str, ...]] = {}


def _public_fields(kind: Any) -> tuple[str, ...]:
    """A dataclass's field names in order, without the private ``_`` ones (once per class)."""
    names = _FIELDS.get(kind)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(kind) if not f.name.startswith("_"))
        _FIELDS[kind] = names
    return names


def read_section(path: Path, schema: int, key: str) -> dict[str, Any]:
    """The object ``key`` of a small cache file ``{"schema": schema, key: {...}}`` (coursekit's
    own caches: the release check's, the class grade's); ``{}`` when the file is missing,
    unreadable, not JSON, of another schema or without that object (a damaged cache is an
    empty one, never an error)."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("schema") != schema:
        return {}
    section = data.get(key)
    return section if isinstance(section, dict) else {}
