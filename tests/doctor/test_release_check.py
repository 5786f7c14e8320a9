"""The doctor's release check (issue 15 item 6): a newer stable torch on the PyTorch index.

Against local indexes only: folders of empty wheel files with real names, read as ``file://``
and served on 127.0.0.1 (a port bound to 0 and held by the server). Time is bounded by a
fake door and a server that never answers, never by a timed assertion.
"""

from __future__ import annotations

import json
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from coursekit import wheelindex
from coursekit.doctor import releasecheck
from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.facts import Facts, ReleaseCheckFacts, from_data, to_data
from coursekit.doctor.releasecheck import FRESH_S, RETRY_S, TIMEOUT_S, check_releases
from coursekit.doctor.report import parse_report
from tests.conftest import is_loopback
from tests.doctor.fixtures import DATA, finding_data, healthy
from tests.fakes.pyindex import serve
from tests.helpers import TORCH, run_cli

ID = "torch-newer-release"
NEXT = f"{Version(TORCH).major}.{Version(TORCH).minor + 1}.0"  # one release past the matrix
T0 = 1_780_000_000.0  # a fixed "now" for the fake clock


def wheel(version: str, tag: str = "cu130", python: str = "3.12") -> str:
    cp = "cp" + python.replace(".", "")
    local = f"+{tag}" if tag else ""
    return f"torch-{version}{local}-{cp}-{cp}-manylinux_2_28_x86_64.whl"


def write_index(root: Path, versions: list[str], extra: tuple[str, ...] = ()) -> Path:
    """``root/torch/`` holding a CPU and a CUDA wheel of each version (and ``extra`` names)."""
    folder = root / "torch"
    folder.mkdir(parents=True, exist_ok=True)
    for version in versions:
        for tag in ("cpu", "cu130"):
            (folder / wheel(version, tag)).write_bytes(b"")
    for name in extra:
        (folder / name).write_bytes(b"")
    return root


def env_for(index: str, **more: str) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "COURSEKIT_OFFLINE"}
    return {**env, "COURSEKIT_RELEASE_INDEX": index, **more}


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingDoor:
    """The door, counted: reads ``file://`` for real, or fails like a dead network."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, float]] = []
        self.error = error

    def __call__(self, url: str, timeout: float) -> wheelindex.Page | None:
        self.calls.append((url, timeout))
        if self.error is not None:
            raise self.error
        return wheelindex.urllib_fetch(url, timeout)


def ids(rc: ReleaseCheckFacts) -> set[str]:
    from dataclasses import replace

    return {f.id for f in diagnose(replace(healthy("gpu_linux"), release_check=rc))}


# --- what counts as a newer stable release ---------------------------------------------------


@pytest.mark.parametrize(("versions", "newest"), [
    (["2.14.0", "2.15.0"], "2.15.0"),
    (["2.14.0", "2.15.0rc1", "2.15.0a0", "2.15.0b2", "2.15.0.dev20261201"], "2.14.0"),
    (["2.14.0+cu130", "2.14.0+cpu"], None),  # the parser strips local tags; raw ones do not count
    (["2.14.0", "2.14.0.post1"], "2.14.0"),  # a repackaging, not a newer release
    (["2.10.0", "2.9.1", "2.14.1", "2.14.0"], "2.14.1"),  # ordered as versions, not as text
    (["2.16.0rc1"], None),
    ([], None),
])
def test_newest_final(versions: list[str], newest: str | None) -> None:
    assert wheelindex.newest_final(versions) == newest


_VERSION = st.tuples(
    st.integers(0, 3), st.integers(0, 20), st.integers(0, 3),
    st.sampled_from(["", "a1", "b0", "rc1", "rc2"]),
    st.sampled_from(["", ".post1"]), st.sampled_from(["", ".dev0", ".dev20260101"]),
    st.sampled_from(["", "+cu130", "+cpu"]),
)


@given(st.lists(_VERSION, max_size=12))
def test_newest_final_matches_an_independent_oracle(parts: list[tuple]) -> None:
    texts = [f"{a}.{b}.{c}{pre}{post}{dev}{local}" for a, b, c, pre, post, dev, local in parts]
    finals = [(a, b, c) for a, b, c, pre, _post, dev, local in parts if not (pre or dev or local)]
    expected = ".".join(map(str, max(finals))) if finals else None
    assert wheelindex.newest_final(texts) == expected


# --- the rule (pure, over recorded facts) ----------------------------------------------------


def _rc(index_newest: str | None, matrix_newest: str = "2.14.0", status: str = "checked") -> ReleaseCheckFacts:
    return ReleaseCheckFacts(status, matrix_newest, wheelindex.DEFAULT_INDEX, index_newest,
                             "2026-12-04T10:00:00+00:00")


@pytest.mark.parametrize(("rc", "fires"), [
    (_rc("2.15.0"), True),
    (_rc("2.14.1"), True),  # a newer patch release is a newer release too
    (_rc("3.0.0", "2.14.0", "cached"), True),
    (_rc("2.14.0"), False),
    (_rc("2.13.0"), False),  # the index behind coursekit (a stale mirror)
    (_rc(None), False),
    (_rc("2.16.0rc1"), False),  # a hand-edited report: still only final releases count
    (_rc("2.16.0+cu130"), False),
    (_rc("2.15.0.dev1"), False),
    (_rc("2.14.0.post3"), False),
    (_rc("banana"), False),
    (_rc("2.15.0", ""), False),  # the collecting coursekit could not load its data
    (_rc("2.15.0", status="failed"), False),
    (_rc("2.15.0", status="offline"), False),
    (_rc("2.15.0", status="off"), False),
])
def test_rule(rc: ReleaseCheckFacts, fires: bool) -> None:
    assert (ID in ids(rc)) is fires


def test_the_finding_is_information_naming_both_versions() -> None:
    [f] = [f for f in diagnose(from_data(Facts, finding_data(ID))) if f.id == ID]
    assert f.severity == "info" and f.category == "platform"
    assert "2.15.0" in f.title and "2.14.0" in f.title and "coursekit matrix check" in (f.fix or "")


def test_old_reports_without_the_fact_stay_valid_and_quiet() -> None:
    for path in sorted((DATA / "reports").glob("*.json")):
        try:
            facts = parse_report(path.read_text(encoding="utf-8"), path.name)
        except Exception:  # noqa: BLE001, S112 - fixtures of invalid reports are other tests' business
            continue
        assert facts.release_check is None
        assert ID not in {f.id for f in diagnose(facts)}


# --- the check: file://, 127.0.0.1, pre-releases, failures ------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, object]]:
    with serve(tmp_path) as server:
        yield tmp_path / "whl", server


@pytest.mark.parametrize("how", ["file", "http"])
@pytest.mark.parametrize(("versions", "extra", "newest", "fires"), [
    ([TORCH, NEXT], (), NEXT, True),
    ([TORCH], (), TORCH, False),
    ([TORCH], (wheel(f"{NEXT}rc1"), wheel(f"{NEXT}.dev20260101"), wheel(f"{NEXT}a0", "")), TORCH,
     False),
    ([TORCH], (f"torch-{NEXT}.tar.gz", "torchvision-9.0.0-cp312-cp312-win_amd64.whl"), TORCH, False),
])
def test_check_against_a_local_index(served: tuple[Path, object], how: str, versions: list[str],
                                     extra: tuple[str, ...], newest: str, fires: bool) -> None:
    root, server = served
    write_index(root, versions, extra)
    index = root.as_uri() if how == "file" else server.url("whl")  # type: ignore[attr-defined]
    rc = check_releases(env_for(index), TORCH, clock=Clock())
    assert rc.status == "checked", rc.detail
    assert (rc.index, rc.index_newest, rc.matrix_newest) == (index, newest, TORCH)
    assert (ID in ids(rc)) is fires


def test_the_http_check_asks_for_json_and_reads_html(served: tuple[Path, object]) -> None:
    root, server = served
    write_index(root, [NEXT])
    check_releases(env_for(server.url("whl")), TORCH, clock=Clock())
    assert server.requests == ["/whl/torch/"]  # type: ignore[attr-defined]  # one page, nothing else


def test_a_pep691_json_page_is_read() -> None:
    page = wheelindex.Page("application/vnd.pypi.simple.v1+json", json.dumps(
        {"meta": {"api-version": "1.1"}, "name": "torch",
         "files": [{"filename": wheel(NEXT)}, {"filename": wheel(f"{NEXT}rc1")}]}))
    assert releasecheck.newest_on_index("https://example.test/whl", lambda u, t: page, 1.0) == NEXT


@pytest.mark.parametrize(("door", "reason"), [
    (CountingDoor(ConnectionRefusedError(111, "Connection refused")), "ConnectionRefusedError"),
    (CountingDoor(OSError("HTTP 503 for ...")), "HTTP 503"),
    (CountingDoor(RuntimeError("a bug in a door")), "RuntimeError"),
    (lambda u, t: None, "does not exist"),
    (lambda u, t: wheelindex.Page("text/html", "<html>a proxy's login page</html>"), "no torch wheel"),
])
def test_any_failure_is_silent(door: object, reason: str) -> None:
    rc = check_releases(env_for(wheelindex.DEFAULT_INDEX), TORCH, fetch=door, clock=Clock())  # type: ignore[arg-type]
    assert rc.status == "failed" and reason in rc.detail and rc.index_newest is None
    assert ID not in ids(rc)


def test_a_refused_connection_on_127_0_0_1(tmp_path: Path) -> None:
    import socket

    with socket.socket() as held:  # bound, not listening: connections are refused
        held.bind(("127.0.0.1", 0))
        index = f"http://127.0.0.1:{held.getsockname()[1]}/whl"
        rc = check_releases(env_for(index), TORCH, clock=Clock())
    assert rc.status == "failed" and "refused" in rc.detail.lower()


def test_the_door_gets_the_short_timeout() -> None:
    door = CountingDoor(TimeoutError("timed out"))
    check_releases(env_for(wheelindex.DEFAULT_INDEX), TORCH, fetch=door, clock=Clock())
    assert door.calls == [(f"{wheelindex.DEFAULT_INDEX}/torch/", TIMEOUT_S)]
    assert TIMEOUT_S <= 5


def test_a_server_that_never_answers_is_given_up(served: tuple[Path, object]) -> None:
    root, server = served
    write_index(root, [NEXT])
    server.stall.add("/torch/")  # type: ignore[attr-defined]
    try:
        rc = check_releases(env_for(server.url("whl")), TORCH, clock=Clock(), timeout=0.2)  # type: ignore[attr-defined]
    finally:
        server.released.set()  # type: ignore[attr-defined]
    assert rc.status == "failed"
    assert "timed out" in rc.detail.lower() or "no answer" in rc.detail
    assert ID not in ids(rc)


def test_within_abandons_work_past_its_deadline() -> None:
    # A name lookup has no socket timeout: the deadline covers the whole read.
    release = threading.Event()
    with pytest.raises(TimeoutError, match="no answer within 0.05 s"):
        wheelindex.within(lambda: release.wait(60), 0.05, "lookup")
    release.set()
    assert wheelindex.within(lambda: 7, 1.0, "x") == 7
    with pytest.raises(KeyError):
        wheelindex.within(lambda: {}["k"], 1.0, "x")


def test_a_lookup_that_hangs_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def hangs(url: str, timeout: float) -> wheelindex.Page | None:
        release.wait(60)  # a getaddrinfo that never returns
        return None

    try:
        rc = check_releases(env_for(wheelindex.DEFAULT_INDEX), TORCH, fetch=hangs, clock=Clock(),
                            timeout=0.05)
    finally:
        release.set()
    assert rc.status == "failed" and "TimeoutError" in rc.detail


# --- turned off ------------------------------------------------------------------------------


@pytest.mark.parametrize(("var", "status"), [("COURSEKIT_OFFLINE", "offline"),
                                             ("COURSEKIT_NO_RELEASE_CHECK", "off")])
def test_offline_or_off_reads_nothing(var: str, status: str) -> None:
    door = CountingDoor()
    rc = check_releases(env_for(wheelindex.DEFAULT_INDEX, **{var: "1"}), TORCH, fetch=door)
    assert rc.status == status and door.calls == [] and rc.index_newest is None
    assert ID not in ids(rc)


def test_the_test_suite_cannot_reach_the_network() -> None:
    import socket
    import urllib.request

    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("10.0.0.1")
    with pytest.raises(OSError, match="may not reach the network"):
        socket.getaddrinfo("download.pytorch.org", 443)
    with pytest.raises(OSError):
        urllib.request.urlopen("https://download.pytorch.org/whl/torch/", timeout=1)


# --- the cache -------------------------------------------------------------------------------


def test_a_cache_hit_skips_the_network(tmp_path: Path) -> None:
    index = write_index(tmp_path / "whl", [TORCH, NEXT]).as_uri()
    env, clock, door = env_for(index), Clock(), CountingDoor()
    first = check_releases(env, TORCH, fetch=door, clock=clock)
    assert first.status == "checked" and len(door.calls) == 1
    clock.now += FRESH_S - 60
    again = check_releases(env, TORCH, fetch=door, clock=clock)
    assert len(door.calls) == 1  # no read
    assert (again.status, again.index_newest, again.checked_at) == ("cached", NEXT, first.checked_at)
    assert ID in ids(again)
    clock.now += 120  # a day old: read again
    assert check_releases(env, TORCH, fetch=door, clock=clock).status == "checked"
    assert len(door.calls) == 2


def test_the_cache_is_per_index(tmp_path: Path) -> None:
    a = write_index(tmp_path / "a", [TORCH]).as_uri()
    b = write_index(tmp_path / "b", [NEXT]).as_uri()
    door = CountingDoor()
    assert check_releases(env_for(a), TORCH, fetch=door, clock=Clock()).index_newest == TORCH
    assert check_releases(env_for(b), TORCH, fetch=door, clock=Clock()).index_newest == NEXT
    assert check_releases(env_for(a), TORCH, fetch=door, clock=Clock()).index_newest == TORCH
    assert len(door.calls) == 2


def test_a_failure_is_retried_after_an_hour_not_every_run() -> None:
    env, clock = env_for(wheelindex.DEFAULT_INDEX), Clock()
    door = CountingDoor(OSError("network is unreachable"))
    assert check_releases(env, TORCH, fetch=door, clock=clock).status == "failed"
    clock.now += RETRY_S - 1
    again = check_releases(env, TORCH, fetch=door, clock=clock)
    assert again.status == "failed" and "network is unreachable" in again.detail
    assert len(door.calls) == 1
    clock.now += 2
    check_releases(env, TORCH, fetch=door, clock=clock)
    assert len(door.calls) == 2


def test_a_clock_set_back_or_a_broken_cache_asks_again(tmp_path: Path) -> None:
    index = write_index(tmp_path / "whl", [NEXT]).as_uri()
    env, clock, door = env_for(index), Clock(), CountingDoor()
    check_releases(env, TORCH, fetch=door, clock=clock)
    clock.now -= 3600  # the cached answer is "from the future"
    check_releases(env, TORCH, fetch=door, clock=clock)
    assert len(door.calls) == 2
    cache = Path(env["COURSEKIT_HOME"]) / "cache" / "pytorch-releases.json"
    data = json.loads(cache.read_text())
    assert data["schema"] == 1 and data["entries"][index]["newest"] == NEXT
    for broken in ("{not json", "[]", json.dumps({"schema": 1, "entries": {index: {"at": "x"}}}),
                   json.dumps({"schema": 1, "entries": {index: {"at": clock.now, "newest": "9.0rc1"}}}),
                   json.dumps({"schema": 99, "entries": {}})):
        cache.write_text(broken)
        rc = check_releases(env, TORCH, fetch=door, clock=clock)
        assert rc.status == "checked" and rc.index_newest == NEXT
    assert len(door.calls) == 7


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_an_unwritable_home_still_checks(tmp_path: Path) -> None:
    index = write_index(tmp_path / "whl", [NEXT]).as_uri()
    home = tmp_path / "home"
    home.mkdir()
    (home / "cache").write_text("a file where the cache folder should be")
    rc = check_releases(env_for(index, COURSEKIT_HOME=str(home)), TORCH, clock=Clock())
    assert rc.status == "checked" and rc.index_newest == NEXT


def test_credentials_in_the_index_never_reach_the_report_or_the_cache(
        served: tuple[Path, object]) -> None:
    root, server = served
    write_index(root, [NEXT])
    index = server.url("whl").replace("http://", "http://student:s3cret@")  # type: ignore[attr-defined]
    env = env_for(index)
    rc = check_releases(env, TORCH, clock=Clock())  # urllib takes no credentials in a URL: failed
    assert "s3cret" not in json.dumps(to_data(rc)) and "***@" in rc.index
    cache = Path(env["COURSEKIT_HOME"]) / "cache" / "pytorch-releases.json"
    assert "s3cret" not in cache.read_text()
    failed = check_releases(env_for("https://student:s3cret@mirror.invalid/whl"), TORCH,
                            fetch=CountingDoor(OSError("HTTP 401 for https://student:s3cret@mirror.invalid/whl/torch/")),
                            clock=Clock())
    assert failed.status == "failed" and "s3cret" not in failed.detail + failed.index


def test_a_bad_index_variable_is_a_silent_failure() -> None:
    rc = check_releases(env_for("ftp://mirror.example/whl"), TORCH, clock=Clock())
    assert rc.status == "failed" and "not an index URL" in rc.detail


# --- the doctor, end to end: --json carries the fact, --from never goes online ---------------


def test_doctor_json_records_the_check_and_from_reads_no_index(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = write_index(tmp_path / "whl", [TORCH, NEXT, f"{Version(NEXT).major}.{Version(NEXT).minor + 1}.0rc1"]).as_uri()
    monkeypatch.delenv("COURSEKIT_OFFLINE")
    monkeypatch.setenv("COURSEKIT_RELEASE_INDEX", index)
    result = run_cli(["doctor", "--json", "--python", sys.executable])
    data = json.loads(result.stdout)
    rc = data["facts"]["release_check"]
    assert (rc["status"], rc["index"], rc["index_newest"], rc["matrix_newest"]) == (
        "checked", index, NEXT, TORCH)
    [found] = [f for f in data["findings"] if f["id"] == ID]
    assert found["severity"] == "info"
    verbose = run_cli(["doctor", "-v", "--python", sys.executable])
    assert f"PyTorch index: newest stable torch {NEXT} on {index}" in verbose.stdout
    assert re.search(r"\(read [0-9T:+-]+, cached\)", verbose.stdout)  # the second run: the cache

    report = tmp_path / "report.json"
    report.write_text(result.stdout)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("--from read an index")

    monkeypatch.setattr(wheelindex, "urllib_fetch", no_network)
    monkeypatch.setattr(wheelindex, "file_fetch", no_network)
    monkeypatch.setenv("COURSEKIT_HOME", str(tmp_path / "ta-home"))  # no cache on the TA's side
    triaged = run_cli(["doctor", "--from", str(report), "--json"])
    assert ID in {f["id"] for f in json.loads(triaged.stdout)["findings"]}
    assert not (tmp_path / "ta-home").exists()


def test_offline_doctor_says_so_under_verbose() -> None:
    result = run_cli(["doctor", "-v", "--python", sys.executable])
    assert "PyTorch index: not checked for a newer release (COURSEKIT_OFFLINE is set)" in result.stdout
