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
