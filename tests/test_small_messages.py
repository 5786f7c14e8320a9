"""Small message fixes (issue 10, item 18)."""

from __future__ import annotations

from typing import Any

import pytest

from coursekit.errors import ExitCode, InterruptNoted
from tests.helpers import run_cli


@pytest.mark.parametrize("number", ["-1", "abc", "1.5", "٣"])
def test_a_bad_lab_number_lists_the_valid_ones(number: str) -> None:
    result = run_cli(["lab", "--", number])
    assert result.code == ExitCode.USAGE
    assert "the labs are: 1, 2, 3, 4, 5, 6, 7, 8" in result.stderr


@pytest.mark.parametrize(("raised", "shown"), [(InterruptNoted, None), (KeyboardInterrupt, "Interrupted.")])
def test_no_aborted_line_after_the_interrupt_note(monkeypatch: pytest.MonkeyPatch, raised: type,
                                                  shown: str | None) -> None:
    from coursekit.setup.run import service

    def interrupted(*args: Any, **kwargs: Any) -> int:
        raise raised

    monkeypatch.setattr(service, "execute_plan", interrupted)
    result = run_cli(["setup", "--yes"], env={"COURSEKIT_OFFLINE": "1"})
    assert result.code == ExitCode.INTERRUPTED
    assert "Aborted." not in result.stderr
    if shown:
        assert shown in result.stderr
    else:
        assert "Interrupted." not in result.stderr


def test_step_3_names_the_index_it_really_uses(tmp_path: Any) -> None:
    result = run_cli(["setup", "--dry-run", "--os", "linux", "--engine", "conda", "--index-url",
                      str(tmp_path)], env={"COURSEKIT_OFFLINE": "1"})
    assert result.code == 0, result.stderr
    step3 = result.stdout[result.stdout.index("  3. "):result.stdout.index("  4. ")]
    assert f"from {tmp_path}" in step3 and f"--find-links {tmp_path}" in step3
    assert "PyPI" not in step3
