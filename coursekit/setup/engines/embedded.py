"""The embedded engine: creates and repairs a conda env with py-rattler when the user has no
conda, mamba or micromamba.

py-rattler (pinned ``==0.28.0``, extra ``embedded``) is the Rust core of the conda
ecosystem (pixi, rattler-build), so solving, linking and ``conda-meta/`` records are the
real thing and a later ``conda`` sees a normal env. It runs as a child process,
``python -m coursekit.setup.engines.embedded create --prefix P -c CHANNEL SPEC...``, so it goes
through the same subprocess door, time limit and kill-on-interrupt as conda does.

Never destructive: packages already in the prefix stay (they are added to the request and
preferred by the solver), so running it on an existing or half-created env completes it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_CHANNELS = ("conda-forge",)


# How setup starts the engine: isolated (-I: neither the current folder, PYTHONPATH nor the
# user's site-packages is on sys.path, and no PYTHON* variable is read, so a json.py, site.py or
# asyncio.py planted where the student runs setup changes nothing), with the folders that hold
# this very coursekit package and py-rattler put first explicitly (argv[1], os.pathsep-joined).
# It ends through run(), which skips interpreter finalisation like the -m form: py-rattler's
# runtime threads can crash the process at exit (the SIGSEGV once seen with this -c form was
# sys.exit's finalisation, not -I).
_BOOT = (
    "import sys, os; sys.path[0:0] = sys.argv.pop(1).split(os.pathsep); "
    "from coursekit.setup.engines.embedded import run; run()"
)


def _import_roots() -> list[str]:
    """The folders to put on the isolated helper's path: above this coursekit package, and
    above py-rattler when it lives elsewhere (a user-site install that -I would hide). The
    package is found, not imported (``--help`` and planning stay fast)."""
    import importlib.util

    roots = [str(Path(__file__).resolve().parents[3])]  # .../coursekit/setup/engines/ -> above
    spec = importlib.util.find_spec("rattler")
    if spec is not None and spec.origin:
        parent = str(Path(spec.origin).resolve().parents[1])  # .../rattler/__init__.py -> above
        if parent not in roots:
            roots.append(parent)
    return roots


def command(
    python: str,
    prefix: Path,
    channels: Sequence[str],
    specs: Sequence[str],
    *,
    cache_dir: Path | None = None,
    isolated: bool = False,
) -> list[str]:
    """The argv that runs this engine with ``python`` (one that has py-rattler).

    ``isolated``: the form setup runs (``python -I -c BOOT FOLDERS create ...``); the
    plain ``python -m coursekit.setup.engines.embedded create ...`` is the one a student pastes.
    """
    if isolated:
        roots = os.pathsep.join(_import_roots())
        argv = [python, "-I", "-c", _BOOT, roots, "create", "--prefix", str(prefix)]
    else:
        argv = [python, "-m", "coursekit.setup.engines.embedded", "create", "--prefix", str(prefix)]
    for channel in channels:
        argv += ["-c", channel]
    if cache_dir is not None:
        argv += ["--cache-dir", str(cache_dir)]
    return [*argv, "--", *specs]


def _installed(prefix: Path) -> list[Any]:
    import rattler

    meta = prefix / "conda-meta"
    if not meta.is_dir():
        return []
    records = []
    for path in sorted(meta.glob("*.json")):
        try:
            records.append(rattler.PrefixRecord.from_path(path))
        except Exception:  # noqa: BLE001 - a half-written record from a killed run: relink it
            print(f"note: ignoring unreadable {path.name}", file=sys.stderr)
    return records


async def _create(
    prefix: Path,
    channels: Sequence[str],
    specs: Sequence[str],
    cache_dir: Path,
    reinstall: Sequence[str] = (),
) -> int:
    import rattler

    installed = _installed(prefix)
    names = {str(spec).split()[0].split("=")[0].split("<")[0].split(">")[0] for spec in specs}
    # Keep what the user already has: ask for it by name, prefer the installed build.
    keep = [rec.name.normalized for rec in installed if rec.name.normalized not in names]
    gateway = rattler.Gateway(cache_dir=cache_dir / "repodata")
    print(f"solving {len(specs)} specs from {', '.join(channels)}", flush=True)
    records = await rattler.solve(
        sources=list(channels),
        specs=[*specs, *keep],
        gateway=gateway,
        platforms=[rattler.Platform.current(), rattler.Platform("noarch")],
        locked_packages=installed or None,
        virtual_packages=rattler.VirtualPackage.detect(),
    )
    have = {(r.name.normalized, str(r.version), r.build) for r in installed}
    todo = [r for r in records if (r.name.normalized, str(r.version), r.build) not in have]
    print(f"{len(records)} packages, {len(todo)} to link into {prefix}", flush=True)
    prefix.mkdir(parents=True, exist_ok=True)
    await rattler.install(
        records,
        target_prefix=prefix,
        cache_dir=cache_dir / "pkgs",
        installed_packages=installed,
        show_progress=sys.stderr.isatty(),
        reinstall_packages=set(reinstall) or None,
    )
    print("done", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m coursekit.setup.engines.embedded``; exit 1 with the tool's error
    on stderr (first line ``error: ...``) when solving or linking fails."""
    parser = argparse.ArgumentParser(prog="coursekit-embedded-engine")
    sub = parser.add_subparsers(dest="cmd", required=True)
    create = sub.add_parser("create", help="create or complete an env")
    create.add_argument("--prefix", required=True, type=Path)
    create.add_argument("-c", "--channel", action="append", default=[])
    create.add_argument("--cache-dir", type=Path, default=None)
    create.add_argument(
        "--reinstall",
        action="append",
        default=[],
        help="relink this package (its files are damaged)",
    )
    create.add_argument("specs", nargs="+")
    args = parser.parse_args(argv)
    cache = (
        args.cache_dir
        or Path(os.environ.get("COURSEKIT_HOME") or Path.home() / ".cache") / "rattler-cache"
    )
    try:
        return asyncio.run(
            _create(
                args.prefix,
                args.channel or list(DEFAULT_CHANNELS),
                args.specs,
                cache,
                args.reinstall,
            )
        )
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - rattler raises its own types; report the text
        text = " ".join(str(exc).split())
        print(f"error: {type(exc).__name__}: {text}", file=sys.stderr)
        return 1


def run() -> None:
    """Run :func:`main` and leave without interpreter finalisation: py-rattler 0.28's runtime
    threads can crash the process at exit (SIGSEGV after the work is done, seen ~1 run in 20
    here, and under the signal tests when the isolated form still ended with ``sys.exit``)."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
