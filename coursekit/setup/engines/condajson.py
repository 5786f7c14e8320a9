"""Parsing the JSON that conda, mamba and micromamba print (pure functions).

The three tools agree on little (envs/SOURCES.md P5.7):

* ``env list --json``: conda >= 25.11 prints ``{envs, envs_details: {prefix: {name, base,
  ...}}}``; some older conda versions printed the whole ``info`` dict (which still has
  ``envs``); mamba and micromamba print only ``{envs}`` (``libmamba/src/api/env.cpp``).
* ``info --json``: conda uses ``root_prefix``, ``envs_dirs``, ``platform``,
  ``virtual_pkgs`` (``[name, version, build]`` lists); mamba/micromamba use human labels
  with spaces: ``"base environment"``, ``"envs directories"``, ``"virtual packages"``
  (``name=version=build`` strings), ``"platform"`` (``libmamba/src/api/info.cpp``).

Everything here takes text and returns values, so it is tested with captured outputs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class BadToolOutput(ValueError):
    """The tool printed something that is not the JSON we expect."""


@dataclass(frozen=True)
class EnvListing:
    """``env list --json``: every env prefix, and names where the tool gave them."""

    envs: tuple[Path, ...]
    names: dict[str, Path] = field(default_factory=dict)
    root_prefix: Path | None = None


@dataclass(frozen=True)
class EngineInfo:
    """The parts of ``info --json`` coursekit uses."""

    root_prefix: Path | None
    envs_dirs: tuple[Path, ...]
    platform: str | None = None
    version: str | None = None
    virtual_packages: tuple[str, ...] = ()  # "__cuda=12.8=0"


def _load(text: str) -> dict[str, Any]:
    # Some conda versions print warnings before the JSON; start at the first brace.
    start = text.find("{")
    if start < 0:
        raise BadToolOutput("no JSON object in the output")
    try:
        data = json.loads(text[start:])
    except json.JSONDecodeError as exc:
        raise BadToolOutput(f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadToolOutput("the JSON is not an object")
    return data


def _paths(value: Any) -> tuple[Path, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(Path(v) for v in value if isinstance(v, str) and v)


def parse_env_list(text: str) -> EnvListing:
    """Parse ``<tool> env list --json`` from conda (any version), mamba or micromamba."""
    data = _load(text)
    envs = _paths(data.get("envs"))
    names: dict[str, Path] = {}
    root: Path | None = None
    details = data.get("envs_details")
    if isinstance(details, dict):
        for prefix, info in details.items():
            if not isinstance(info, dict):
                continue
            if info.get("base"):
                root = Path(prefix)
            name = info.get("name")
            if isinstance(name, str) and name:
                names[name] = Path(prefix)
    if root is None and isinstance(data.get("root_prefix"), str):
        root = Path(data["root_prefix"])
    return EnvListing(envs=envs, names=names, root_prefix=root)


def _virtual(value: Any) -> tuple[str, ...]:
    out: list[str] = []
    if isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, list) and item:
                out.append("=".join(str(part) for part in item))
    return tuple(out)


def parse_info(text: str) -> EngineInfo:
    """Parse ``<tool> info --json`` from conda (snake_case keys) or mamba/micromamba (labels)."""
    data = _load(text)
    root = data.get("root_prefix") or data.get("base environment")
    envs_dirs = _paths(data.get("envs_dirs")) or _paths(data.get("envs directories"))
    version = (
        data.get("conda_version")
        or data.get("micromamba version")
        or data.get("mamba version")
        or data.get("libmamba version")
    )
    vpkgs = data.get("virtual_pkgs", data.get("virtual packages"))
    return EngineInfo(
        root_prefix=Path(root) if isinstance(root, str) and root else None,
        envs_dirs=envs_dirs,
        platform=data.get("platform") if isinstance(data.get("platform"), str) else None,
        version=version if isinstance(version, str) else None,
        virtual_packages=_virtual(vpkgs),
    )


def _norm(path: Path) -> str:
    return os.path.normcase(os.path.normpath(str(path)))


def pick_env(listing: EnvListing, name: str, envs_dirs: tuple[Path, ...] = ()) -> Path | None:
    """The prefix of env ``name``: the tool's own name if it gave one, else a prefix called
    ``name`` directly under an envs folder (mamba's ``get_env_name`` rule). The base env
    is never returned for another name."""
    if name in listing.names:
        return listing.names[name]
    root = listing.root_prefix
    dirs = {_norm(d) for d in envs_dirs}
    if root is not None:
        dirs.add(_norm(root / "envs"))
    for prefix in listing.envs:
        if root is not None and _norm(prefix) == _norm(root):
            continue
        if prefix.name != name:
            continue
        parent = _norm(prefix.parent)
        if parent in dirs or (not dirs and prefix.parent.name == "envs"):
            return prefix
    # A listing without envs folders: accept ".../envs/<name>" as conda names it so.
    for prefix in listing.envs:
        if prefix.name == name and prefix.parent.name == "envs":
            return prefix
    return None
