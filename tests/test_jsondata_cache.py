"""``jsondata.read_section``: the one reader of coursekit's small cache files (the release
check's, the class grade's): a damaged cache is an empty one, never an error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coursekit.jsondata import read_section


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, {}),  # no file
        ("", {}),
        ("{not json", {}),
        ("\udcff", {}),  # not UTF-8 on disk
        ("[1, 2]", {}),
        ('{"schema": 2, "rows": {"a": {}}}', {}),  # another schema
        ('{"schema": "1", "rows": {"a": {}}}', {}),
        ('{"schema": 1}', {}),
        ('{"schema": 1, "rows": [1]}', {}),
        ('{"schema": 1, "rows": {"a": {"x": 1}, "b": 2}}', {"a": {"x": 1}, "b": 2}),
    ],
)
def test_a_cache_section_or_nothing(tmp_path: Path, text: str | None, expected: object) -> None:
    path = tmp_path / "cache.json"
    if text is not None:
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert read_section(path, 1, "rows") == expected


def test_a_folder_in_the_caches_place_is_an_empty_cache(tmp_path: Path) -> None:
    (tmp_path / "cache.json").mkdir()
    assert read_section(tmp_path / "cache.json", 1, "rows") == {}
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"schema": 3, "entries": {"i": {"at": 1.0}}}), encoding="utf-8")
    assert read_section(good, 3, "entries") == {"i": {"at": 1.0}}
