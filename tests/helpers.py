"""Shared test helpers: run the CLI in-process with stdout and stderr kept apart."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from coursekit.cli import run


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_cli(args: Sequence[str], env: Mapping[str, str | None] | None = None,
            input: str | None = None) -> CliResult:
    """Run ``coursekit ARGS`` in this process and capture code, stdout and stderr."""
    runner = CliRunner()
    with runner.isolation(input=input, env=dict(env or {})) as streams:
        code = run(list(args))
        out = streams[0].getvalue().decode()
        err = streams[1].getvalue().decode()
    return CliResult(int(code), out, err)


def make_fake_exe(folder: Path, name: str, script: str) -> Path:
    """Write an executable ``folder/name`` with a ``/bin/sh`` script body; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def path_with(folder: Path) -> str:
    """A PATH that finds ``folder`` first, then the usual system folders."""
    return os.pathsep.join([str(folder), os.environ.get("PATH", "")])


def newest_release() -> tuple[str, str, str, str]:
    """The matrix's newest release line and its newest (torch, torchvision, torchaudio)
    versions, e.g. ``("2.14", "2.14.0", "0.29.0", "2.11.0")``: tests read them here, so a new
    release in ``envs/torch-matrix.toml`` needs no test edit (issue 16 item 4)."""
    from coursekit.setup.plan.matrix import load_matrix

    release = load_matrix().newest
    version = release.versions[-1]
    return release.line, version.torch, version.torchvision, version.torchaudio


NEWEST, TORCH, VISION, AUDIO = newest_release()
