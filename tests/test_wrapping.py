"""Issue 13 item 6: every text output wraps to the terminal width at word boundaries with a
hanging indent (COLUMNS honoured, 80 when not a terminal); TERM=dumb and NO_COLOR turn colour
off, FORCE_COLOR on."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coursekit.render import (
    Console,
    color_allowed,
    looks_like_command,
    text_width,
    visible_len,
    wrap_line,
)
from tests.helpers import run_cli
from tests.labhelpers import FIXTURE_COURSE, REPO

REPORTS = sorted((Path(__file__).parent / "data" / "doctor" / "reports").glob("*.json"))

words = st.text(alphabet=st.characters(whitelist_categories=("L", "N", "P")), min_size=1, max_size=30)


@given(st.lists(words, min_size=1, max_size=40), st.integers(min_value=0, max_value=8),
       st.sampled_from(["", "PASS ", "[!] ", "fix: ", "3. ", "- "]), st.integers(20, 120))
def test_wrapping_keeps_every_word_whole_and_fits_the_width(
        items: list[str], lead: int, mark: str, width: int) -> None:
    line = " " * lead + mark + " ".join(items)
    out = wrap_line(line, width)
    assert " ".join(" ".join(out).split()) == " ".join(line.split())  # no word cut or lost
    for row in out:
        assert visible_len(row) <= width or len(row.split()) == 1 or row.startswith(" " * lead)
        if visible_len(row) > width:  # only a single word that cannot fit anywhere
            assert len(row.split()) == 1 or row == out[0] and len(row.split()) <= 1 + bool(mark)
    for row in out[1:]:  # the hanging indent: continuation lines start further in
        assert len(row) - len(row.lstrip(" ")) > lead or lead >= width // 2


def test_hanging_indent_goes_under_the_text_after_the_mark() -> None:
    out = wrap_line("  FAIL answer() returns 42 because the value it returned was not forty-two", 40)
    assert out[0].startswith("  FAIL answer()")
    assert all(row.startswith("       ") and not row.startswith("        ") for row in out[1:])
    out = wrap_line("  fix: Run coursekit doctor; it names the problem and the command", 30)
    assert all(row.startswith(" " * 7) for row in out[1:])


def test_colour_codes_take_no_room() -> None:
    red = "\x1b[31mword\x1b[0m"
    out = wrap_line(" ".join([red] * 10), 20)
    assert all(visible_len(row) <= 20 for row in out)


def test_width_rules() -> None:
    assert text_width({"COLUMNS": "60"}, isatty=False) == 60
    assert text_width({"COLUMNS": "60"}, isatty=True) == 60
    assert text_width({}, isatty=False) == 80
    assert text_width({"COLUMNS": "wide"}, isatty=False) == 80
    assert text_width({"COLUMNS": "0"}, isatty=False) == 80


@pytest.mark.parametrize(("env", "tty", "on"), [
    ({}, True, True), ({}, False, False),
    ({"TERM": "dumb"}, True, False), ({"NO_COLOR": "1"}, True, False),
    ({"FORCE_COLOR": "1"}, False, True), ({"FORCE_COLOR": "1", "TERM": "dumb"}, False, True),
    ({"FORCE_COLOR": "0"}, True, True), ({"FORCE_COLOR": "0"}, False, False),
    ({"NO_COLOR": ""}, True, True), ({"TERM": "xterm-256color"}, True, True),
])
def test_colour_rules(env: dict[str, str], tty: bool, on: bool) -> None:
    assert color_allowed(env, tty) is on


def test_console_follows_term_dumb_and_force_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "dumb")
    assert Console(out=Tty()).style("x", "red") == "x"
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert Console(out=io.StringIO()).style("x", "red") == "\x1b[31mx\x1b[0m"


def test_commands_are_not_wrapped_sentences_are() -> None:
    assert looks_like_command("conda install -n pt -c conda-forge python=3.12 numpy")
    assert looks_like_command("coursekit setup")
    assert not looks_like_command("Run coursekit doctor; it names the problem.")
    assert not looks_like_command("Give its number, e.g. coursekit lab 2 --check")


def _words(text: str) -> list[str]:
    return re.sub(r"\s+", " ", text).split()


def _check_wrapped(narrow: str, wide: str, width: int) -> None:
    assert _words(narrow) == _words(wide)  # the same words in the same order: none broken
    for line in narrow.splitlines():
        assert len(line) <= width or len(line.split()) <= 2, line


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import coursekit.resources

    monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: FIXTURE_COURSE)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("args", [["lab"], ["lab", "1"], ["lab", "3", "--hint"], ["progress"]])
def test_lab_output_wraps_at_60_columns(course: Path, args: list[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    if args[1:2] == ["3"]:
        import coursekit.resources

        monkeypatch.setattr(coursekit.resources, "labs_dir", lambda: REPO / "labs")
    outs = []
    for columns, sub in (("1000", "w"), ("60", "n")):  # each in its own folder: both hand out
        (course / sub).mkdir()
        monkeypatch.chdir(course / sub)
        result = run_cli(args, env={"COLUMNS": columns, "COURSEKIT_HOME": str(course / sub)})
        assert result.code == 0, result
        outs.append(result.stdout.replace(f"{course}/w", f"{course}/n"))
    wide, narrow = outs
    assert max(len(line) for line in wide.splitlines()) > 60  # something to wrap
    _check_wrapped(narrow, wide, 60)


def test_not_a_terminal_wraps_at_80(course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS")
    result = run_cli(["lab"])
    assert all(len(line) <= 80 for line in result.stdout.splitlines())


@pytest.mark.parametrize("report", REPORTS[:6], ids=lambda p: p.stem)
def test_doctor_output_wraps_at_60_columns(report: Path) -> None:
    wide = run_cli(["doctor", "--from", str(report)], env={"COLUMNS": "1000"})
    narrow = run_cli(["doctor", "--from", str(report)], env={"COLUMNS": "60"})
    assert wide.code == narrow.code
    _check_wrapped(narrow.stdout, wide.stdout, 60)


def test_setup_plan_wraps_but_keeps_commands_on_one_line() -> None:
    args = ["setup", "--dry-run", "--os", "linux", "--arch", "x86_64"]
    wide = run_cli(args, env={"COLUMNS": "1000"})
    narrow = run_cli(args, env={"COLUMNS": "60"})
    assert wide.code == narrow.code == 0, narrow
    assert _words(narrow.stdout) == _words(wide.stdout)
    # step commands: indented five spaces under "  N. title" (conda's or the built-in engine's)
    commands = [line for line in wide.stdout.splitlines()
                if line.startswith("     ") and not line.startswith("      ")]
    assert commands and all(line in narrow.stdout.splitlines() for line in commands)
    prose = [line for line in narrow.stdout.splitlines() if not line.startswith("     ")]
    assert all(len(line) <= 60 or len(line.split()) <= 2 for line in prose)
