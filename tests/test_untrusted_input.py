"""Hostile files given to coursekit (issue 10, items 5, 6, 8): ``doctor --from`` reports and the
env spec. Each is exit 2 naming the problem, in bounded time and memory, nothing written; values
printed from a report are neutralised; and a hypothesis fuzz over both never sees a traceback or
an exit 4."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coursekit.doctor import untrusted
from coursekit.doctor.report import parse_report
from coursekit.errors import ExitCode, SpecError
from tests.helpers import run_cli

REPO = Path(__file__).resolve().parent.parent
REPORT_PATH = REPO / "tests" / "data" / "doctor" / "reports" / "schema1-rtx5090-cu126.json"
REPORT: dict[str, Any] = json.loads(REPORT_PATH.read_text(encoding="utf-8"))
SPEC_TEXT = (REPO / "envs" / "course.toml").read_text(encoding="utf-8")


def _doctor_from(path: Path | str, *more: str) -> Any:
    return run_cli(["doctor", "--from", str(path), *more], env={"NO_COLOR": "1"})


def _clean_exit_2(result: Any) -> None:
    text = result.stdout + result.stderr
    assert result.code == ExitCode.USAGE, text
    assert "Traceback" not in text and "crashed" not in text, text
    assert "fix:" in text, text


def _run_bounded(func: Any, seconds: float = 30.0) -> Any:
    """Run func in a thread; fail (instead of hanging the suite) when it does not return."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(func()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "did not return in bounded time (blocked or unbounded read)"
    return box[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFO")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "report.json"
    os.mkfifo(fifo)
    result = _run_bounded(lambda: _doctor_from(fifo))
    _clean_exit_2(result)
    assert "FIFO" in result.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_devices_are_refused(device: str) -> None:
    result = _run_bounded(lambda: _doctor_from(device))
    _clean_exit_2(result)
    assert "character device" in result.stderr


def test_a_folder_and_a_missing_file_are_exit_2(tmp_path: Path) -> None:
    for path in (tmp_path, tmp_path / "nope.json"):
        result = _doctor_from(path)
        assert result.code == ExitCode.USAGE and "Traceback" not in result.stderr, result.stderr


def test_a_file_over_the_size_cap_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "report.json"
    with open(big, "wb") as fh:  # sparse: the size is what matters, not the bytes
        fh.truncate(untrusted.MAX_BYTES + 1)
    result = _doctor_from(big)
    _clean_exit_2(result)
    assert "MiB" in result.stderr


@pytest.mark.parametrize(("name", "text", "words"), [
    ("deep-array", "[" * 100_000 + "]" * 100_000, "nested"),
    ("deep-object", '{"a":' * 50_000 + "1" + "}" * 50_000, "nested"),
    ("deep-but-parseable", '{"kind": "coursekit-doctor-report", "schema": 1, "facts": '
     + '{"a":' * 200 + "1" + "}" * 200 + "}", "nested"),
    ("huge-int", '{"kind": "coursekit-doctor-report", "schema": ' + "9" * 50_000 + "}", "digits"),
    ("nan", '{"kind": "coursekit-doctor-report", "schema": NaN}', "NaN"),
    ("infinity", '{"kind": "coursekit-doctor-report", "schema": -Infinity}', "Infinity"),
])
def test_unbounded_json_is_exit_2(tmp_path: Path, name: str, text: str, words: str) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    result = _doctor_from(path)
    _clean_exit_2(result)
    assert words in result.stderr


@pytest.mark.parametrize("raw", [bytes(range(256)) * 8, b"\0" * 100, b'{"kind": "\xff\xfe"}',
                                 b"\xff\xfe" + b"\x00\xd8" * 10])
def test_binary_data_is_exit_2(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(raw)
    _clean_exit_2(_doctor_from(path))


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = json.loads(json.dumps(REPORT))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


@pytest.mark.parametrize(("path", "value", "where"), [
    (("facts", "probe", "data", "torch", "devices", 0, "name"), 1.5,
     "facts.probe.data.torch.devices[0].name"),
    (("facts", "probe", "data", "torch", "devices"), {"a": 1}, "facts.probe.data.torch.devices"),
    (("facts", "probe", "data", "python", "sys_path"), "x", "facts.probe.data.python.sys_path"),
    (("facts", "probe", "data", "distributions", "items", 0), 3, "items[0]"),
    (("facts", "probe", "data", "imports", "numpy", "ok"), "yes", "imports.numpy.ok"),
    (("facts", "probe", "data"), [1], "facts.probe.data"),
])
def test_wrong_types_in_the_probe_section_are_exit_2_naming_the_key(
        tmp_path: Path, path: tuple[Any, ...], value: Any, where: str) -> None:
    file = tmp_path / "report.json"
    file.write_text(json.dumps(_with(path, value)), encoding="utf-8")
    result = _doctor_from(file)
    _clean_exit_2(result)
    assert where in result.stderr


@pytest.mark.parametrize(("value", "shown"), [
    ("\x1b[2J\x1b]0;owned\x07", "\\x1b[2J\\x1b]0;owned\\x07"),
    ("evil\u202etxt.exe", "evil\\u202etxt.exe"),
    ("a\rb", "a\\x0db"),
    ("\ud800x", "\\ud800x"),
])
def test_printed_values_are_neutralised(tmp_path: Path, value: str, shown: str) -> None:
    file = tmp_path / "report.json"
    data = _with(("facts", "probe", "data", "torch", "devices", 0, "name"), value)
    file.write_text(json.dumps(data), encoding="utf-8")
    result = _doctor_from(file)
    text = result.stdout + result.stderr
    assert result.code in (ExitCode.OK, ExitCode.FAILED), text
    assert shown in text, text
    for bad in ("\x1b", "\u202e", "\x07", "\r"):
        assert bad not in text


def test_a_very_long_string_is_cut_with_a_count(tmp_path: Path) -> None:
    file = tmp_path / "report.json"
    data = _with(("facts", "probe", "data", "torch", "devices", 0, "name"), "GPU" + "y" * 500_000)
    file.write_text(json.dumps(data), encoding="utf-8")
    result = _doctor_from(file)
    assert result.code in (ExitCode.OK, ExitCode.FAILED), result.stderr
    assert "characters cut]" in result.stdout
    assert len(result.stdout) < 50_000


def test_neutral_keeps_newlines_and_plain_text() -> None:
    assert untrusted.neutral("line 1\nline 2\ttab ok") == "line 1\nline 2\ttab ok"
    assert untrusted.neutral("x" * 10, limit=4).startswith("xx... [")


# ---- env spec (item 6) ----

def _setup_dry(spec: Path) -> Any:
    return run_cli(["setup", "--dry-run", "--os", "linux"],
                   env={"COURSEKIT_ENV_SPEC": str(spec), "COURSEKIT_OFFLINE": "1", "NO_COLOR": "1"})


@pytest.mark.parametrize(("raw", "words"), [
    (bytes(range(256)) * 4, "UTF-8"),
    (SPEC_TEXT.encode("utf-8") + "# caf\xe9\n".encode("latin-1"), "UTF-8"),
    (SPEC_TEXT.encode("utf-16"), "UTF-8"),
    (("a = " + "[" * 50_000 + "]" * 50_000).encode(), "nested too deeply"),
    (SPEC_TEXT.replace('python = "', 'python = "3.7" #', 1).encode(), "env.python"),
    (SPEC_TEXT.replace('python = "', 'python = "3.99" #', 1).encode(), "env.python"),
])
def test_bad_env_specs_are_exit_2_naming_the_problem(tmp_path: Path, raw: bytes, words: str) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_bytes(raw)
    result = _setup_dry(spec)
    _clean_exit_2(result)
    assert words in result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFO")
def test_env_spec_fifo_and_dev_zero_are_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    _clean_exit_2(_run_bounded(lambda: _setup_dry(fifo)))
    if Path("/dev/zero").exists():
        _clean_exit_2(_run_bounded(lambda: _setup_dry(Path("/dev/zero"))))


# ---- property-based fuzz (item 8) ----

_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-10**60, max_value=10**60)
    # allow_subnormal=False: an earlier test's native library may leave the CPU flushing
    # subnormals to zero (hypothesis then refuses to draw them: FloatingPointError)
    | st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:3]):
            out += _paths(v, (*prefix, i))
    return out


REPORT_PATHS = _paths(REPORT)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(REPORT_PATHS), _json), min_size=1, max_size=4))
def test_fuzz_mutated_reports_never_crash(mutations: list[tuple[tuple[Any, ...], Any]]) -> None:
    """Any node of a real report replaced by any JSON value: a verdict or a SpecError, and the
    renderer (text and JSON) never raises."""
    from coursekit.doctor.report import make_report
    from coursekit.render.doctor import render_report

    data = json.loads(json.dumps(REPORT))
    for path, value in mutations:
        target = data
        try:
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    try:
        facts = parse_report(json.dumps(data))
        report = make_report(facts)
    except SpecError:
        return
    for as_json in (False, True):
        render_report(_NullConsole(), report, as_json=as_json, verbose=True)


def _NullConsole() -> Any:  # noqa: N802 - reads like the class it builds
    import io

    from coursekit.render import Console

    return Console(io.StringIO(), io.StringIO(), color=False)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=2000) | st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_fuzz_arbitrary_bytes_as_a_report_file(tmp_path_factory: pytest.TempPathFactory,
                                               raw: bytes) -> None:
    path = tmp_path_factory.mktemp("r") / "report.json"
    path.write_bytes(raw)
    result = _doctor_from(path)
    assert result.code == ExitCode.USAGE, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


_toml_value = st.recursive(
    st.booleans() | st.integers(min_value=-10**30, max_value=10**30) | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_subnormal=False),
    lambda inner: st.lists(inner, max_size=3), max_leaves=8)


def _toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


_SPEC_KEYS = [("", "format_version"), ("env", "name"), ("env", "python"), ("env", "channels"),
              ("conda", "packages"), ("pip", "torch"), ("pip", "after_torch"), ("torch", "version"),
              ("torch", "backend"), ("env", "extra"), ("", "surprise")]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(_SPEC_KEYS), _toml_value), min_size=1, max_size=3))
def test_fuzz_env_spec_values_never_crash(tmp_path_factory: pytest.TempPathFactory,
                                          changes: list[tuple[tuple[str, str], Any]]) -> None:
    """Any spec key set to any TOML value: a plan or exit 2/3, never a traceback or exit 4."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    data = tomllib.loads(SPEC_TEXT)
    for (table, key), value in changes:
        (data.setdefault(table, {}) if table else data)[key] = value
    lines = [f"{k} = {_toml(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for table, body in data.items():
        if isinstance(body, dict):
            lines.append(f"[{table}]")
            lines += [f"{k} = {_toml(v)}" for k, v in body.items()]
    spec = tmp_path_factory.mktemp("s") / "spec.toml"
    spec.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _setup_dry(spec)
    text = result.stdout + result.stderr
    assert result.code in (ExitCode.OK, ExitCode.USAGE, ExitCode.ENVIRONMENT), text
    assert "Traceback" not in text, text
