"""Load the doctor's fact fixtures: healthy machines, and one patched copy per finding.

``tests/data/doctor/findings/<id>.json`` holds ``{"finding", "base", "note", "patch"}``: the
healthy facts named by ``base`` with ``patch`` merged in (objects merge key by key, other
values replace). A string ``"@texts/NAME"`` anywhere in a patch, or ``"prefix @texts/NAME"``,
is replaced by that real-format text from ``tests/data/doctor/texts/``.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from coursekit.doctor.facts import Facts, from_data

DATA = Path(__file__).resolve().parent.parent / "data" / "doctor"
HEALTHY = ("cpu_linux", "gpu_linux", "macos_arm64", "windows_x86_64")
_TEXT = re.compile(r"@texts/([\w.-]+)")


def _texts(value: Any) -> Any:
    if isinstance(value, str):
        return _TEXT.sub(lambda m: (DATA / "texts" / m.group(1)).read_text(encoding="utf-8").strip(),
                         value)
    if isinstance(value, dict):
        return {k: _texts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_texts(v) for v in value]
    return value


def merge(base: Any, patch: Any) -> Any:
    """Deep-merge ``patch`` into a copy of ``base`` (objects merge, the rest replaces)."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(patch)


def healthy_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / "healthy" / f"{name}.json").read_text(encoding="utf-8"))
    return data


def healthy(name: str) -> Facts:
    return from_data(Facts, healthy_data(name))


def finding_data(finding_id: str) -> dict[str, Any]:
    spec = json.loads((DATA / "findings" / f"{finding_id}.json").read_text(encoding="utf-8"))
    result: dict[str, Any] = merge(healthy_data(spec["base"]), _texts(spec["patch"]))
    return result


def finding_facts(finding_id: str) -> Facts:
    return from_data(Facts, finding_data(finding_id))
