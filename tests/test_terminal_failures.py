"""Network failures at a terminal are classified and retried exactly as when output is piped
(issue 10, item 13): the tool's stderr stays on screen and a copy is kept to classify."""

from __future__ import annotations

import sys

import pytest

from coursekit.proc import run_tool
from coursekit.setup.run.failures import classify

FAIL = ("import sys; print('Collecting torch', flush=True); "
        "print('ERROR: Could not install packages due to an OSError: "
        "HTTPSConnectionPool(host=\\'download.pytorch.org\\', port=443): Max retries exceeded "
        "(Caused by ProtocolError(\\'Connection aborted.\\', ConnectionResetError(104, "
        "\\'Connection reset by peer\\')))', file=sys.stderr); sys.exit(1)")


@pytest.mark.parametrize("capture", [True, False], ids=["piped", "terminal"])
def test_the_same_failure_is_classified_the_same_at_a_terminal(
        capture: bool, capfd: pytest.CaptureFixture[str]) -> None:
    result = run_tool([sys.executable, "-c", FAIL], timeout=60, capture=capture)
    shown = capfd.readouterr()
    failure = classify("Install torch", result)
    assert failure.kind == "network" and failure.transient
    assert "Max retries exceeded" in (failure.tool_line or "")
    if not capture:  # still on screen
        assert "Max retries exceeded" in shown.err and "Collecting torch" in shown.out


def test_a_terminal_run_that_times_out_keeps_what_it_said(capfd: pytest.CaptureFixture[str]) -> None:
    code = "import sys, time; print('ERROR: read timed out', file=sys.stderr, flush=True); time.sleep(30)"
    result = run_tool([sys.executable, "-c", code], timeout=2, capture=False)
    assert result.timed_out and "read timed out" in result.stderr
