"""The small stand-ins class triage uses instead of importing a module for one function (issue 14:
every module imported is paid by every triage): they answer as the standard library does."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coursekit.instructor import triage as tr


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters() | st.sampled_from(list("&<>\"'&amp;"))))
def test_the_page_escapes_as_html_escape_does(text: str) -> None:
    import html

    from coursekit.render import instructor

    assert instructor._html_escape(text) == html.escape(text, quote=True)
    assert instructor._escape(text) == html.escape(text, quote=True)


@pytest.mark.parametrize("arg", ["a*.json", "r?port", "x[0-9]", "plain.json", "dir/", ""])
def test_a_glob_is_told_as_glob_tells_it(arg: str) -> None:
    import glob

    assert tr._has_magic(arg) == glob.has_magic(arg)
