"""`coursekit matrix check` against local indexes built from the matrix itself, then changed.

The index is folders of empty wheel files with real names (``<root>/<package>/`` with every
variant's wheels, and ``<root>/<backend>/<package>/``), read as ``file://`` and served over HTTP on
127.0.0.1, the way download.pytorch.org/whl lays them out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coursekit.errors import ExitCode
from coursekit.setup.plan.matrix import Matrix, load_matrix
from coursekit.setup.plan.matrixcheck import (
    Page,
    check,
    file_fetch,
    filenames,
    parse_wheel,
    urllib_fetch,
)
from tests.fakes.pyindex import serve
from tests.helpers import run_cli

_TAGS = {"linux-x86_64": "manylinux_2_28_x86_64", "linux-arm64": "manylinux_2_28_aarch64",
         "windows-x86_64": "win_amd64", "macos-arm64": "macosx_11_0_arm64"}


def wheel(package: str, version: str, tag: str, python: str, platform: str) -> str:
    cp = "cp" + python.replace(".", "")
    return f"{package}-{version}{'+' + tag if tag else ''}-{cp}-{cp}-{_TAGS[platform]}.whl"


def index_of(matrix: Matrix) -> dict[tuple[str, str], set[str]]:
    """Every wheel the matrix says exists: {(backend or "", package): file names}."""
    files: dict[tuple[str, str], set[str]] = {}
    for release in matrix.releases:
        for variant in release.variants:
            if variant.kind == "pypi":
                continue
            for package in ("torch", "torchvision", "torchaudio"):
                if package in variant.companions_missing:
                    continue
                for trio in release.versions:
                    for platform in variant.platforms:
                        for python in release.python:
                            name = wheel(package, getattr(trio, package), variant.local_tag(platform),
                                         python, platform)
                            files.setdefault((variant.backend, package), set()).add(name)
                            files.setdefault(("", package), set()).add(name)
    return files


def write_index(root: Path, files: dict[tuple[str, str], set[str]]) -> Path:
    for (backend, package), names in files.items():
        folder = root / backend / package if backend else root / package
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).write_bytes(b"")
    return root


def run(root: Path, matrix: Matrix | None = None) -> list[tuple[str, str, str, str]]:
    report = check(matrix or load_matrix(), root.as_uri(), file_fetch)
    return [(d.kind, d.release, d.package, d.backend) for d in report.drifts]


def test_an_index_that_matches_the_matrix_has_no_drift(tmp_path: Path) -> None:
    root = write_index(tmp_path / "whl", index_of(load_matrix()))
    assert run(root) == []


def test_drift_new_release_removed_variant_missing_companion(tmp_path: Path) -> None:
    matrix = load_matrix()
    newest = matrix.newest
    files = index_of(matrix)
    line = newest.line.split(".")
    future = f"{line[0]}.{int(line[1]) + 1}.0"
    files[("", "torch")].add(wheel("torch", future, "cu130", "3.12", "linux-x86_64"))
    # A variant the matrix names is gone from the index: every file of it, everywhere.
    gone = next(v for v in newest.variants if v.kind == "rocm")
    for key in [k for k in files if k[0] == gone.backend]:
        del files[key]
    tagged = f"+{gone.backend}-"
    files[("", "torch")] = {n for n in files[("", "torch")] if not (tagged in n and f"-{newest.latest.torch}+" in n)}
    # torchvision of the newest release missing on cu130 for Windows.
    tv = newest.latest.torchvision
    files[("cu130", "torchvision")] = {n for n in files[("cu130", "torchvision")]
                                       if not (f"torchvision-{tv}+cu130" in n and "win_amd64" in n)}
    drifts = run(write_index(tmp_path / "whl", files))
    assert ("new-release", f"{line[0]}.{int(line[1]) + 1}", "torch", "") in drifts
    assert ("variant-missing", newest.line, "torch", gone.backend) in drifts
    assert ("missing", newest.line, "torchvision", "cu130") in drifts
    report = check(matrix, (tmp_path / "whl").as_uri(), file_fetch)
    missing = next(d for d in report.drifts if d.kind == "missing" and d.package == "torchvision")
    assert missing.platforms == ("windows-x86_64",) and "3.12" in missing.pythons


def test_a_companion_the_matrix_calls_missing_that_appears_is_drift(tmp_path: Path) -> None:
    matrix = load_matrix()
    release, variant = next((r, v) for r in matrix.releases for v in r.variants if v.companions_missing)
    files = index_of(matrix)
    files.setdefault((variant.backend, "torchaudio"), set()).add(
        wheel("torchaudio", release.latest.torchaudio, variant.backend, release.python[0], variant.platforms[0]))
    drifts = run(write_index(tmp_path / "whl", files))
    assert ("companion-published", release.line, "torchaudio", variant.backend) in drifts


def test_new_variant_and_unlisted_python_are_drift(tmp_path: Path) -> None:
    matrix = load_matrix()
    newest = matrix.newest
    files = index_of(matrix)
    files[("", "torch")].add(wheel("torch", newest.latest.torch, "cu999", "3.12", "linux-x86_64"))
    files[("", "torch")].add(wheel("torch", newest.latest.torch, "cu130", "3.99", "linux-x86_64"))
    files[("", "torch")].add(f"torch-{newest.latest.torch}+cu130-cp313-cp313t-manylinux_2_28_x86_64.whl")
    drifts = run(write_index(tmp_path / "whl", files))
    assert ("new-variant", newest.line, "torch", "cu999") in drifts
    assert ("python-unlisted", newest.line, "torch", "") in drifts
    assert len([d for d in drifts if d[0] == "python-unlisted"]) == 1  # free-threaded 3.13t is no Python of its own


def test_prereleases_and_lines_older_than_the_matrix_are_not_drift(tmp_path: Path) -> None:
    matrix = load_matrix()
    files = index_of(matrix)
    files[("", "torch")] |= {wheel("torch", "2.99.0rc1", "cu130", "3.12", "linux-x86_64"),
                             wheel("torch", "1.13.1", "cu117", "3.10", "linux-x86_64")}
    assert run(write_index(tmp_path / "whl", files)) == []


def test_cli_over_http_json_and_exit_codes(tmp_path: Path) -> None:
    matrix = load_matrix()
    root = write_index(tmp_path / "whl", index_of(matrix))
    with serve(tmp_path) as server:
        result = run_cli(["matrix", "check", "--index-url", server.url("/whl"), "--json"])
    assert result.code == ExitCode.OK, result.stdout + result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "coursekit-matrix-check" and data["ok"] and data["drifts"] == []
    assert data["newest_on_index"] == matrix.newest.latest.torch
    (root / "torch" / wheel("torch", "9.0.0", "cu130", "3.12", "linux-x86_64")).write_bytes(b"")
    result = run_cli(["matrix", "check", "--index-url", root.as_uri()])
    assert result.code == ExitCode.FAILED
    assert "new-release" in result.stdout and "torch 9.0.0 is on the index" in result.stdout


def test_unreachable_index_is_exit_3_and_bad_urls_exit_2(tmp_path: Path) -> None:
    result = run_cli(["matrix", "check", "--index-url", (tmp_path / "nothing").as_uri()])
    assert result.code == ExitCode.ENVIRONMENT and "could not read the index" in result.stderr
    for bad in ("", "ftp://x", "file://host/share", "not a url"):
        result = run_cli(["matrix", "check", "--index-url", bad])
        assert result.code == ExitCode.USAGE, (bad, result.stderr)


def test_pep691_json_and_html_pages_are_read_alike() -> None:
    names = ["torch-2.14.0+cu130-cp312-cp312-manylinux_2_28_x86_64.whl", "torch-2.14.0.tar.gz"]
    as_json = Page("application/vnd.pypi.simple.v1+json",
                   json.dumps({"meta": {"api-version": "1.1"}, "name": "torch",
                               "files": [{"filename": n, "url": n} for n in names]}))
    as_html = Page("text/html", "".join(
        f'<a href="https://x/whl/{n.replace("+", "%2B")}#sha256=00">{n}</a><br/>' for n in names))
    assert filenames(as_json) == filenames(as_html) == names
    parsed = parse_wheel(names[0])
    assert parsed is not None
    assert (parsed.version, parsed.local, parsed.python, parsed.platform) == ("2.14.0", "cu130", "3.12", "linux-x86_64")
    assert parse_wheel(names[1]) is None


def test_the_real_fetch_asks_for_json_first(tmp_path: Path) -> None:
    (tmp_path / "torch").mkdir()
    with serve(tmp_path) as server:
        page = urllib_fetch(server.url("/torch/"), 5)
        assert page is not None and "html" in page.content_type
        assert urllib_fetch(server.url("/nothing/"), 5) is None


@pytest.mark.parametrize("flag", ["--help"])
def test_help_lists_matrix_under_its_own_heading(flag: str) -> None:
    result = run_cli([flag])
    assert "Maintainer commands:" in result.stdout and "matrix" in result.stdout.split("Maintainer commands:")[1]
