"""The sources behind ``envs/`` live in the repository (issue 9): ``envs/SOURCES.md``.

Every ``envs/SOURCES.md W4`` / ``P5.1`` / ... citation anywhere in the project names a section
that exists; every issue or pull request the data files cite is in SOURCES.md with its facts;
and no shipped file points outside the repository (machine paths, the team's private notes).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "envs" / "SOURCES.md"
SECTION = r"(?:W|P|T|H)\d+(?:\.\d+)?|C-B\d+"
CITATION = re.compile(rf"SOURCES\.md ((?:(?:{SECTION})(?:, |\b))+)")


def _tracked(*folders: str) -> list[Path]:
    try:
        out = subprocess.run(["git", "ls-files", *folders], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # an sdist without .git
        out = [str(p.relative_to(ROOT)) for f in folders for p in (ROOT / f).rglob("*")
               if p.is_file()]
    return [ROOT / f for f in out if (ROOT / f).is_file()]


def _text_files(*folders: str) -> list[Path]:
    return [p for p in _tracked(*folders)
            if p.suffix in {".py", ".md", ".toml", ".json", ".txt", ".cfg", ".ipynb"}
            or p.name == "run"]


def _headings() -> set[str]:
    return set(re.findall(rf"^## ({SECTION})\. ", SOURCES.read_text(encoding="utf-8"),
                          re.MULTILINE))


def test_every_citation_names_a_section_of_sources_md() -> None:
    headings = _headings()
    assert {"W2", "W3", "W4", "W6", "W11", "P5.1", "P5.6"} <= headings
    cited: dict[str, set[str]] = {}
    for path in _text_files("."):
        for match in CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            for ref in re.findall(SECTION, match.group(1)):
                cited.setdefault(ref, set()).add(str(path.relative_to(ROOT)))
    assert cited, "the code and the data cite envs/SOURCES.md"
    assert {ref: sorted(where) for ref, where in cited.items() if ref not in headings} == {}


@pytest.mark.parametrize("name", ["torch-matrix.toml", "nvidia-drivers.toml", "course.toml",
                                  "README.md"])
def test_every_issue_the_data_cites_is_in_sources_md(name: str) -> None:
    text = (ROOT / "envs" / name).read_text(encoding="utf-8")
    sources = SOURCES.read_text(encoding="utf-8")
    numbers = set(re.findall(r"#(\d{3,})", text))
    assert sorted(n for n in numbers if f"#{n}" not in sources) == []


def test_no_shipped_file_points_outside_the_repository() -> None:
    outside = re.compile(r"/work/|/root/|\.\./shared|shared/reference|"
                         r"\b(?:torch-wheels|env-pitfalls|testing-offline|house-style|"
                         r"course-design)\.md\b")
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in _text_files("coursekit", "envs", "labs", "bench",
                                                              ".ci", "README.md", "docs", "pyproject.toml")
            for n, line in enumerate(p.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
            if outside.search(line)]
    assert hits == []


def test_the_checks_see_a_dangling_citation() -> None:
    assert [re.findall(SECTION, m.group(1)) for m in
            CITATION.finditer("(envs/SOURCES" ".md W3, W99) and SOURCES" ".md P5.1.")] == [
        ["W3", "W99"], ["P5.1"]]
    assert "W99" not in _headings()
