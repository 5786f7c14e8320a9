"""The check runner: concurrency, crash and hang isolation, dependencies."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from coursekit.doctor.runner import Check, run_checks


def test_values_and_dependencies() -> None:
    checks = [Check("a", lambda _: 1, 5), Check("b", lambda d: d["a"] + 1, 5, ("a",))]
    values, runs = run_checks(checks)
    assert values == {"a": 1, "b": 2}
    assert [r.status for r in runs] == ["ok", "ok"]


def test_a_crash_is_a_result_and_dependents_are_skipped() -> None:
    def boom(_: Mapping[str, Any]) -> None:
        raise RuntimeError("nvidia-smi parser exploded")

    checks = [Check("a", boom, 5), Check("b", lambda d: 1, 5, ("a",)), Check("c", lambda _: 3, 5)]
    values, runs = run_checks(checks)
    status = {r.name: r for r in runs}
    assert status["a"].status == "crashed" and "nvidia-smi parser exploded" in (status["a"].error or "")
    assert status["b"].status == "skipped" and "needs a" in (status["b"].error or "")
    assert values == {"c": 3}


def test_a_hanging_check_is_abandoned_and_the_others_report() -> None:
    release = threading.Event()
    checks = [Check("hang", lambda _: release.wait(60), 3.0), Check("fast", lambda _: "ok", 30)]
    values, runs = run_checks(checks)
    status = {r.name: r for r in runs}
    release.set()
    assert status["hang"].status == "timeout" and "timed out after 3 s" in (status["hang"].error or ""), status["hang"].error
    assert values == {"fast": "ok"}


def test_checks_run_concurrently() -> None:
    # Two checks that each wait for the other: only concurrent execution lets both finish.
    a_started, b_started = threading.Event(), threading.Event()

    def a(_: Mapping[str, Any]) -> bool:
        a_started.set()
        return b_started.wait(10)

    def b(_: Mapping[str, Any]) -> bool:
        b_started.set()
        return a_started.wait(10)

    values, _ = run_checks([Check("a", a, 20), Check("b", b, 20)])
    assert values == {"a": True, "b": True}


def test_timings_are_recorded() -> None:
    _, runs = run_checks([Check("sleepy", lambda _: time.sleep(0.05), 5)])
    assert runs[0].duration_ms >= 40 and runs[0].timeout_s == 5


def test_the_slow_note_names_the_checks_still_running() -> None:
    # The probe finishes only once the slow note was given: no timing window to lose.
    release = threading.Event()
    told: list[list[str]] = []

    def on_slow(names: list[str]) -> None:
        told.append(names)
        release.set()

    checks = [Check("probe", lambda _: release.wait(60), 90), Check("fast", lambda _: 1, 90)]
    values, _ = run_checks(checks, on_slow=on_slow, slow_after_s=0.1)
    assert len(told) == 1 and "probe" in told[0] and values["fast"] == 1
