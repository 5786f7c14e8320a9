"""The progress file: atomic writes, best scores, a corrupt file set aside with a warning."""

from __future__ import annotations

import json
from pathlib import Path

from coursekit.lab import progress as prog


def test_missing_file_is_empty_progress(tmp_path: Path) -> None:
    loaded = prog.load(tmp_path / "progress.json")
    assert loaded.labs == {} and loaded.warnings == []


def test_round_trip_keeps_best_score_and_passed(tmp_path: Path) -> None:
    path = tmp_path / "home" / "progress.json"
    p = prog.Progress()
    prog.record_grade(p, "fixture", 1, 3, 5, False)
    prog.record_grade(p, "fixture", 1, 5, 5, True)
    prog.record_grade(p, "fixture", 1, 2, 5, False)  # a later worse attempt
    prog.save(p, path)
    rec = prog.load(path).labs["fixture"]
    assert (rec["best_score"], rec["last_score"], rec["max_score"], rec["passed"]) == (5, 2, 5, True)
    assert json.loads(path.read_text())["format_version"] == prog.FORMAT_VERSION
    assert [f.name for f in path.parent.iterdir()] == ["progress.json"], "no temp files left"


def test_corrupt_file_is_moved_aside_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text("{not json")
    loaded = prog.load(path)
    assert loaded.labs == {} and "damaged" in loaded.warnings[0]
    aside = list(tmp_path.glob("progress.json.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == "{not json"
    assert not path.exists()


def test_wrong_shape_counts_as_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text('["a list"]')
    assert prog.load(path).warnings


def test_hints_are_progressive_and_capped() -> None:
    p = prog.Progress()
    assert [prog.next_hint(p, "x", 3) for _ in range(5)] == [1, 2, 3, 3, 3]


def test_home_comes_from_coursekit_home(tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    mp: pytest.MonkeyPatch = monkeypatch  # type: ignore[assignment]
    mp.setenv("COURSEKIT_HOME", str(tmp_path))
    assert prog.progress_path() == tmp_path / "progress.json"
