"""Lab content: ``labs/NN-slug/lab.toml`` loaded into a frozen :class:`LabSpec`.

The lab list is discovered by globbing ``labs/*/lab.toml``: there is no shared
manifest, so lab authors never edit the same file. ``format_version`` is checked
like rustlings' ``info.toml`` (a newer format means "update coursekit").
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coursekit.errors import SpecError, UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

FORMAT_VERSION = 1
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_DIR = re.compile(r"^(\d\d)-([a-z0-9-]+)$")


@dataclass(frozen=True)
class LabSpec:
    """One lab, as its ``lab.toml`` describes it."""

    number: int
    slug: str
    title: str
    version: int
    timeout_s: float
    memory_mb: int
    student_files: tuple[str, ...]
    hints: tuple[str, ...]
    requires: tuple[int, ...]
    content_dir: Path
    # starter files handed out only once another lab has passed (they hold its answers)
    after_pass: tuple[tuple[str, int], ...] = ()
    # per check: its hints, in order (``[hints]`` table in lab.toml)
    check_hints: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def withheld(self, passed: frozenset[int] | set[int]) -> frozenset[str]:
        """Starter files held back while the lab they belong to has not passed."""
        return frozenset(rel for rel, lab in self.after_pass if lab not in passed)

    def hints_for(self, check: str) -> tuple[str, ...]:
        """The hints of one check (the lab-wide ``hints`` list when it has none of its own)."""
        return dict(self.check_hints).get(check, self.hints)

    @property
    def folder_name(self) -> str:
        """The student's folder: ``lab02-vanishing-gradients``."""
        return f"lab{self.number:02d}-{self.slug}"

    @property
    def grader_path(self) -> Path:
        return self.content_dir / "grader.py"

    @property
    def starter_dir(self) -> Path:
        return self.content_dir / "starter"

    @property
    def solution_dir(self) -> Path:
        return self.content_dir / "solution"

    @property
    def readme_path(self) -> Path:
        return self.content_dir / "README.md"

    def starter_files(self) -> tuple[str, ...]:
        """Every file laid out for the student: README.md and the starter folder (relative
        paths)."""
        files = ["README.md"] if self.readme_path.is_file() else []
        if self.starter_dir.is_dir():
            files += sorted(
                p.relative_to(self.starter_dir).as_posix()
                for p in self.starter_dir.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts
            )
        return tuple(files)

    def source_of(self, relpath: str) -> Path:
        """Where the content file laid out as ``relpath`` comes from."""
        return self.readme_path if relpath == "README.md" else self.starter_dir / relpath


def _need(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: Path) -> Any:
    if key not in data:
        raise SpecError(
            f"{where}: '{key}' is missing.", "Add it; see labs/README.md for the format."
        )
    value = data[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SpecError(
            f"{where}: '{key}' has the wrong type ({type(value).__name__}).",
            "See labs/README.md for the format.",
        )
    return value


def _str_list(data: dict[str, Any], key: str, where: Path, default: list[Any]) -> tuple[Any, ...]:
    value = data.get(key, default)
    item_type = int if key == "requires" else str
    if not isinstance(value, list) or not all(isinstance(v, item_type) for v in value):
        raise SpecError(
            f"{where}: '{key}' must be a list of {item_type.__name__}.",
            "See labs/README.md for the format.",
        )
    return tuple(value)


def _hints(
    data: dict[str, Any], where: Path
) -> tuple[tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...]]:
    """``hints = [...]`` (lab-wide) or ``[hints]`` with one list per check name."""
    value = data.get("hints", [])
    if isinstance(value, dict):
        pairs = []
        for check, items in value.items():
            if (
                not isinstance(items, list)
                or not items
                or not all(isinstance(i, str) for i in items)
            ):
                raise SpecError(
                    f"{where}: hints.{check} must be a non-empty list of str.",
                    "See labs/README.md for the format.",
                )
            pairs.append((str(check), tuple(items)))
        return (), tuple(pairs)
    return _str_list(data, "hints", where, []), ()


def _after_pass(data: dict[str, Any], where: Path) -> tuple[tuple[str, int], ...]:
    value = data.get("after_pass", {})
    if not isinstance(value, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value.values()
    ):
        raise SpecError(
            f"{where}: 'after_pass' must map starter files to lab numbers.",
            "See labs/README.md for the format.",
        )
    return tuple((str(k), int(v)) for k, v in value.items())


def load_lab(toml_path: Path) -> LabSpec:
    """Read and validate one ``lab.toml``; raises :class:`SpecError` (exit 2) when invalid."""
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{toml_path} cannot be read: {exc}", "Fix the lab's lab.toml.") from None
    fmt = _need(data, "format_version", int, toml_path)
    if fmt > FORMAT_VERSION:
        raise SpecError(
            f"{toml_path} uses lab format {fmt}; this coursekit reads format {FORMAT_VERSION}.",
            "Update coursekit: python -m pip install -U coursekit",
        )
    number = _need(data, "number", int, toml_path)
    slug = _need(data, "slug", str, toml_path)
    match = _DIR.match(toml_path.parent.name)
    if not _SLUG.match(slug) or not match or (int(match[1]), match[2]) != (number, slug):
        raise SpecError(
            f"{toml_path}: folder must be named NN-slug matching number={number}, slug={slug!r}.",
            "Rename the folder or fix lab.toml.",
        )
    hints, check_hints = _hints(data, toml_path)
    spec = LabSpec(
        number=number,
        slug=slug,
        title=_need(data, "title", str, toml_path),
        version=_need(data, "version", int, toml_path),
        timeout_s=float(_need(data, "timeout_s", (int, float), toml_path)),
        memory_mb=_need(data, "memory_mb", int, toml_path),
        student_files=_str_list(data, "student_files", toml_path, []),
        hints=hints,
        requires=_str_list(data, "requires", toml_path, []),
        content_dir=toml_path.parent,
        after_pass=_after_pass(data, toml_path),
        check_hints=check_hints,
    )
    if not spec.student_files or spec.timeout_s <= 0 or spec.memory_mb <= 0:
        raise SpecError(
            f"{toml_path}: student_files must not be empty; timeout_s and memory_mb "
            "must be positive.",
            "Fix lab.toml.",
        )
    return spec


def discover_labs(labs_root: Path | None = None) -> tuple[LabSpec, ...]:
    """Every lab under ``labs_root`` (default: the installed ``labs/``), sorted by number."""
    if labs_root is None:
        from coursekit.resources import labs_dir

        labs_root = labs_dir()
    specs = [load_lab(p) for p in sorted(labs_root.glob("*/lab.toml"))]
    seen: dict[int, LabSpec] = {}
    for spec in specs:
        if spec.number in seen:
            raise SpecError(
                f"labs {seen[spec.number].content_dir.name} and "
                f"{spec.content_dir.name} share number {spec.number}.",
                "Give each lab its own number.",
            )
        seen[spec.number] = spec
    return tuple(sorted(specs, key=lambda s: s.number))


def parse_lab_number(text: str, labs: tuple[LabSpec, ...] = ()) -> int:
    """``"2"`` or ``"02"`` -> 2; anything else is a :class:`UsageError` (exit 2) naming the labs."""
    if not text.strip().isascii() or not text.strip().isdigit():
        shown = text if len(text) <= 20 else text[:20] + "..."
        raise UsageError(
            f"'{shown}' is not a lab number; {_valid(labs)}",
            "Give the lab's number, e.g. coursekit lab 1 (coursekit lab lists them).",
        )
    return int(text)


def _valid(labs: tuple[LabSpec, ...]) -> str:
    if not labs:
        return "coursekit lab lists the labs."
    return "the labs are: " + ", ".join(str(s.number) for s in labs) + "."


def find_lab(labs: tuple[LabSpec, ...], number: int) -> LabSpec:
    """The lab numbered ``number``, or a :class:`UsageError` naming the valid numbers."""
    for spec in labs:
        if spec.number == number:
            return spec
    raise UsageError(f"There is no lab {number}; {_valid(labs)}", "Run coursekit lab to list them.")
