"""The course environment spec (``envs/course.toml``), loaded and validated.

An instructor edits that file to change the course; every mistake is reported on load as a
:class:`~coursekit.errors.SpecError` (exit 2) naming the file, the key and the fix, before
anything is planned or written. The format is documented in ``envs/README.md``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from coursekit.constants import DEFAULT_ENV_NAME, EnvVars
from coursekit.errors import CoursekitError, SpecError
from coursekit.resources import read_toml

FORMAT_VERSION: Final = 1

# conda-forge packages that require pytorch: listing one under [conda] would install
# conda-forge's torch before pip's (envs/SOURCES.md P5.1: lightning, pytorch-lightning and
# torchmetrics recipes all require `pytorch`).
TORCH_DEPENDENT_CONDA: Final = frozenset(
    {
        "pytorch",
        "pytorch-cpu",
        "pytorch-gpu",
        "libtorch",
        "torch",
        "torchvision",
        "torchaudio",
        "lightning",
        "pytorch-lightning",
        "torchmetrics",
        "lightning-utilities-torch",
        "timm",
        "torchdata",
        "torchtext",
        "transformers",
        "accelerate",
        "captum",
        "pytorch_geometric",
    }
)
TRIO: Final = ("torch", "torchvision", "torchaudio")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_PYTHON = re.compile(r"^3\.\d{1,2}$")
_TORCH_VERSION = re.compile(r"^\d+\.\d+(\.\d+)?$")
_CONDA_SPEC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(\s*[<>=!~,*.0-9A-Za-z\s]*)?$")
_KNOWN_KEYS: Final = {
    "": {"format_version", "env", "conda", "pip", "torch"},
    "env": {"name", "python", "channels"},
    "conda": {"packages"},
    "pip": {"torch", "after_torch"},
    "torch": {"version", "backend"},
}


@dataclass(frozen=True)
class EnvSpec:
    """The course environment, as the instructor wrote it."""

    name: str
    python: str
    channels: tuple[str, ...]
    conda_packages: tuple[str, ...]
    torch_packages: tuple[str, ...]
    after_torch: tuple[str, ...]
    torch_version: str | None = None
    torch_backend: str | None = None
    path: Path | None = None


def default_spec_path(env: Mapping[str, str] | None = None) -> Path:
    """``$COURSEKIT_ENV_SPEC`` if set, else the bundled ``envs/course.toml``."""
    environ = os.environ if env is None else env
    override = environ.get(EnvVars.SPEC)
    if override:
        return Path(override)
    from coursekit.resources import envs_dir

    return envs_dir() / "course.toml"


def course_env_name(env: Mapping[str, str] | None = None) -> str:
    """The course env's name: the spec's ``[env] name`` (``$COURSEKIT_ENV_SPEC`` or the bundled
    spec). A spec that cannot be read gives :data:`~coursekit.constants.DEFAULT_ENV_NAME`:
    ``coursekit setup`` reports the broken spec; the doctor and the labs still run."""
    try:
        return load_spec(env=env).name
    except CoursekitError:
        return DEFAULT_ENV_NAME


def load_spec(path: Path | None = None, env: Mapping[str, str] | None = None) -> EnvSpec:
    """Load and validate the environment spec; raise SpecError with a fix on any mistake."""
    spec_path = path if path is not None else default_spec_path(env)
    return parse_spec(read_toml(spec_path), spec_path)


def parse_spec(data: Mapping[str, Any], path: Path | None = None) -> EnvSpec:
    """Validate already-parsed TOML data and build an :class:`EnvSpec`."""
    where = str(path) if path is not None else "environment spec"
    _check_keys(data, where)
    if data.get("format_version") != FORMAT_VERSION:
        _fail(
            where,
            "format_version",
            f"must be {FORMAT_VERSION}, got {data.get('format_version')!r}",
            f"Put `format_version = {FORMAT_VERSION}` at the top of the file.",
        )
    env = _table(data, "env", where)
    conda = _table(data, "conda", where)
    pip = _table(data, "pip", where)
    torch = _table(data, "torch", where, required=False)
    name = _string(env, "env.name", where, _NAME, "a name like `pt` (letters, digits, _ . -)")
    python = _string(env, "env.python", where, _PYTHON, 'a major.minor version such as "3.12"')
    channels = _strings(env, "env.channels", where)
    if any(c in ("pytorch", "nvidia") for c in channels):
        _fail(
            where,
            "env.channels",
            "lists the retired `pytorch`/`nvidia` channel",
            'Use channels = ["conda-forge"]: 2.5 was the last release on -c pytorch '
            "(pytorch/pytorch#138506).",
        )
    packages = _strings(conda, "conda.packages", where)
    _check_conda_packages(packages, where)
    torch_packages = _strings(pip, "pip.torch", where)
    if "torch" not in torch_packages or not set(torch_packages) <= set(TRIO):
        _fail(
            where,
            "pip.torch",
            f"must be `torch` plus optionally torchvision/torchaudio, got {list(torch_packages)}",
            'Write torch = ["torch", "torchvision", "torchaudio"].',
        )
    after = _strings(pip, "pip.after_torch", where, allow_empty=True)
    _check_requirements(after, where)
    version = _optional_string(
        torch, "torch.version", where, _TORCH_VERSION, 'e.g. "2.13" or "2.13.0"'
    )
    backend = _optional_string(torch, "torch.backend", where, _NAME, 'e.g. "cu126" or "cpu"')
    return EnvSpec(name, python, channels, packages, torch_packages, after, version, backend, path)


def _fail(where: str, key: str, problem: str, fix: str) -> None:
    raise SpecError(f"{where}: `{key}` {problem}.", fix)


def _check_keys(data: Mapping[str, Any], where: str) -> None:
    for table, allowed in _KNOWN_KEYS.items():
        section = data if table == "" else data.get(table, {})
        if not isinstance(section, Mapping):
            continue
        unknown = sorted(set(section) - allowed)
        if unknown:
            prefix = f"{table}." if table else ""
            _fail(
                where,
                prefix + unknown[0],
                "is not a known key",
                f"Use only {', '.join(sorted(prefix + k for k in allowed))} (see envs/README.md).",
            )


def _table(
    data: Mapping[str, Any], key: str, where: str, required: bool = True
) -> Mapping[str, Any]:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        _fail(where, f"[{key}]", "table is missing", f"Add a [{key}] table (see envs/README.md).")
    return value  # type: ignore[return-value]


def _string(
    table: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str], what: str
) -> str:
    value = table.get(key.split(".")[-1])
    if not isinstance(value, str) or not pattern.match(value):
        _fail(where, key, f"must be {what}, got {value!r}", f"Set {key} to {what}.")
    return value  # type: ignore[return-value]


def _optional_string(
    table: Mapping[str, Any], key: str, where: str, pattern: re.Pattern[str], what: str
) -> str | None:
    value = table.get(key.split(".")[-1])
    if value is None or value == "":
        return None
    return _string(table, key, where, pattern, what)


def _strings(
    table: Mapping[str, Any], key: str, where: str, allow_empty: bool = False
) -> tuple[str, ...]:
    value = table.get(key.split(".")[-1])
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        _fail(
            where,
            key,
            f"must be a list of non-empty strings, got {value!r}",
            f'Write {key.split(".")[-1]} = ["..."].',
        )
    if not value and not allow_empty:
        _fail(where, key, "is empty", "List at least one entry.")
    return tuple(v.strip() for v in value)  # type: ignore[union-attr]


def _check_conda_packages(packages: tuple[str, ...], where: str) -> None:
    for spec in packages:
        if not _CONDA_SPEC.match(spec):
            _fail(
                where,
                "conda.packages",
                f"entry {spec!r} is not a conda package spec",
                'Write a name with an optional version, e.g. "pandas" or "pandas>=2".',
            )
        name = re.split(r"[\s<>=!~]", spec, maxsplit=1)[0].lower()
        if name in TORCH_DEPENDENT_CONDA:
            _fail(
                where,
                "conda.packages",
                f"lists {name!r}, which is or depends on pytorch: conda "
                "would install conda-forge's torch before pip's and the env would hold two",
                f"Move {name!r} to [pip] after_torch (or the trio to [pip] torch).",
            )
        if name == "python":
            _fail(where, "conda.packages", "lists python", "Set the version in env.python instead.")


def _check_requirements(requirements: tuple[str, ...], where: str) -> None:
    from packaging.requirements import InvalidRequirement, Requirement

    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            _fail(
                where,
                "pip.after_torch",
                f"entry {text!r} is not a pip requirement ({exc})",
                'Write e.g. "lightning>=2.6.6".',
            )
        if req.name.lower() in TRIO:
            _fail(
                where, "pip.after_torch", f"lists {req.name!r}", "The trio belongs in [pip] torch."
            )
