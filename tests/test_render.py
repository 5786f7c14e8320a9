"""The renderer: colour rules and output that never crashes on a narrow console encoding."""

from __future__ import annotations

import io

import pytest

from coursekit.render import Console


def _ascii_stream() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")


def test_characters_the_console_cannot_encode_are_escaped_not_fatal() -> None:
    out = _ascii_stream()
    console = Console(out=out, err=out, color=False)
    console.print("flow ±0.2 → ok")
    console.json({"message": "±"})
    out.flush()
    text = out.buffer.getvalue().decode("ascii")  # type: ignore[attr-defined]
    assert "flow \\xb10.2 \\u2192 ok" in text
    assert '"message": "\\xb1"' in text


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert Console(out=Tty()).style("x", "red") == "\033[31mx\033[0m"
    assert Console(out=io.StringIO()).style("x", "red") == "x"
    monkeypatch.setenv("NO_COLOR", "1")
    assert Console(out=Tty()).style("x", "red") == "x"
