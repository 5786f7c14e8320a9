"""The commands that create, complete and remove a conda env, per engine.

conda, mamba and micromamba share ``create``/``install`` with ``-y``, ``-n``/``-p``,
``-c`` and ``--override-channels`` (``micromamba/src/common_options.cpp``,
envs/SOURCES.md P5.7). Two rules keep them safe:

* ``create`` only when no env exists: ``conda create -y -n pt`` on an existing env
  removes it first. An existing (or half-created) env is completed with ``install -p``.
* ``--override-channels -c <channel>``: a student's ``defaults``/``anaconda`` channels in
  ``.condarc`` stay out of the solve (and the defunct ``pytorch`` channel, envs/SOURCES.md P5.4).

The embedded engine gets the same verbs through ``python -m coursekit.setup.engines.embedded``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from coursekit.setup.engines import embedded
from coursekit.setup.engines.base import Engine


def _channels(channels: Sequence[str]) -> list[str]:
    out = ["--override-channels"]
    for channel in channels:
        out += ["-c", channel]
    return out


def create_argv(
    engine: Engine,
    name: str,
    channels: Sequence[str],
    specs: Sequence[str],
    *,
    prefix: Path | None = None,
    cache_dir: Path | None = None,
) -> list[str]:
    """Create env ``name`` (at ``prefix`` if given; the embedded engine always needs one)."""
    if not engine.external:
        assert prefix is not None, "the embedded engine needs a prefix"
        return embedded.command(
            sys.executable, prefix, channels, specs, cache_dir=cache_dir, isolated=True
        )
    assert engine.exe is not None
    where = ["-p", str(prefix)] if prefix is not None else ["-n", name]
    return [str(engine.exe), "create", "-y", *where, *_channels(channels), *specs]


def complete_argv(
    engine: Engine,
    prefix: Path,
    channels: Sequence[str],
    specs: Sequence[str],
    *,
    reinstall: Sequence[str] = (),
    cache_dir: Path | None = None,
) -> list[str]:
    """Add what is missing to the existing env at ``prefix``; ``reinstall`` names packages
    whose files are broken (conda ``--force-reinstall``)."""
    if not engine.external:
        argv = embedded.command(
            sys.executable, prefix, channels, specs, cache_dir=cache_dir, isolated=True
        )
        extra = [f"--reinstall={name}" for name in reinstall]
        cut = argv.index("--")
        return [*argv[:cut], *extra, *argv[cut:]]
    assert engine.exe is not None
    force = ["--force-reinstall"] if reinstall else []
    return [
        str(engine.exe),
        "install",
        "-y",
        "-p",
        str(prefix),
        *force,
        *_channels(channels),
        *specs,
    ]


def remove_argv(engine: Engine, prefix: Path) -> list[str] | None:
    """Remove the env at ``prefix`` (only ever with ``--force``); None: delete the folder."""
    if not engine.external:
        return None
    assert engine.exe is not None
    return [str(engine.exe), "env", "remove", "-y", "-p", str(prefix)]
