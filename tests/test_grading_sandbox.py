"""The sandbox alone, with plain Python children: memory polling, timeout, output cap."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from coursekit.grading.sandbox import HEAD_BYTES, TAIL_BYTES, run_sandboxed

pytestmark = [pytest.mark.realtool]


def _run(tmp_path: Path, code: str, **kw: object):  # type: ignore[no-untyped-def]
    events = tmp_path / "events.jsonl"
    events.touch()
    lines: list[str] = []
    args = dict(stdin_text="", events_path=events, timeout_s=20, memory_mb=4000,
                on_event_line=lines.append, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    args.update(kw)
    return run_sandboxed([sys.executable, "-c", code], **args), lines  # type: ignore[arg-type]


def test_rss_polling_stops_a_process_over_the_cap(tmp_path: Path) -> None:
    # No RLIMIT here (the worker sets that): this is the cross-platform backstop.
    code = "import time\nx = bytearray(400 * 2**20)\nx[::4096] = b'1' * len(x[::4096])\ntime.sleep(30)"
    outcome, _ = _run(tmp_path, code, memory_mb=150)
    assert outcome.memory_exceeded and not outcome.timed_out and outcome.peak_rss_mb > 150


@pytest.mark.timeout(60)
def test_timeout_kills_and_reports(tmp_path: Path) -> None:
    outcome, _ = _run(tmp_path, "while True: pass", timeout_s=3.0)
    assert outcome.timed_out and outcome.returncode is not None


def test_output_is_drained_and_capped(tmp_path: Path) -> None:
    code = "import sys\nsys.stdout.write('BEGIN' + 'x' * 5_000_000 + 'END')\n"
    outcome, _ = _run(tmp_path, code)
    assert outcome.returncode == 0 and outcome.output_bytes >= 5_000_000
    assert outcome.output_head.startswith("BEGIN") and len(outcome.output_head) <= HEAD_BYTES
    assert outcome.output_tail.endswith("END") and len(outcome.output_tail) <= TAIL_BYTES


def test_event_lines_stream_in_order(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    code = (f"import time\nf = open({str(events)!r}, 'a')\n"
            "for i in range(5):\n    f.write(f'line{i}\\n'); f.flush(); time.sleep(0.05)\n"
            "f.write('partial')\n")
    outcome, lines = _run(tmp_path, code)
    assert outcome.returncode == 0 and lines == [f"line{i}" for i in range(5)]


def test_missing_interpreter_is_a_start_error(tmp_path: Path) -> None:
    events = tmp_path / "e"
    events.touch()
    outcome = run_sandboxed([str(tmp_path / "nope")], stdin_text="", events_path=events,
                            timeout_s=5, memory_mb=100, on_event_line=lambda s: None,
                            cwd=tmp_path, env={})
    assert outcome.start_error is not None
