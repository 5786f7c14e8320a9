"""A conda / mamba / micromamba stand-in over py-rattler (envs/SOURCES.md T2.4).

Installed into a test ``bin/`` folder under the name of the tool it plays (``conda``,
``mamba``, ``micromamba``); it reads its own name from ``argv[0]`` and prints that tool's
JSON shapes (envs/SOURCES.md P5.7). Environment:

* ``FAKE_CONDA_ROOT``: the root prefix; envs live in ``$FAKE_CONDA_ROOT/envs``
  (``FAKE_MICROMAMBA_ROOT`` etc. give one tool its own root).
* ``FAKE_CONDA_LOG``: every argv is appended there as one JSON line.
* ``FAKE_CONDA_SLEEP_AFTER=N``: ``create``/``install`` link N packages, then sleep an hour
  (a "closed the lid halfway" run for interrupt tests).
* ``FAKE_CONDA_FAIL``: a subcommand name; that subcommand fails with a realistic error.

Supported: ``--version``, ``info --json``, ``env list --json``, ``create``/``install``
(``-y``, ``-n``/``-p``, ``--override-channels``, ``-c``, ``--json``), ``list -n/-p --json``,
``run -n/-p [--no-capture-output] CMD...``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

TOOL = Path(sys.argv[0]).name.split(".")[0]
VERSIONS = {"conda": "25.11.0", "mamba": "2.3.2", "micromamba": "2.3.2"}


def root() -> Path:
    return Path(os.environ.get(f"FAKE_{TOOL.upper()}_ROOT") or os.environ["FAKE_CONDA_ROOT"])


def envs() -> list[Path]:
    base = root() / "envs"
    found = [p for p in sorted(base.iterdir()) if (p / "conda-meta").is_dir()] if base.is_dir() else []
    return [root(), *found]


def log(argv: list[str]) -> None:
    path = os.environ.get("FAKE_CONDA_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps([TOOL, *argv]) + "\n")


def info() -> dict[str, object]:
    vpk = [["__unix", "0", "0"], ["__linux", "6.1", "0"], ["__glibc", "2.36", "0"]]
    if TOOL == "conda":
        return {"conda_version": VERSIONS[TOOL], "root_prefix": str(root()),
                "envs_dirs": [str(root() / "envs")], "platform": "linux-64",
                "envs": [str(p) for p in envs()], "virtual_pkgs": vpk,
                "solver": {"name": "libmamba", "default": True}, "active_prefix": None}
    return {"libmamba version": VERSIONS[TOOL], f"{TOOL} version": VERSIONS[TOOL],
            "base environment": str(root()), "envs directories": [str(root() / "envs")],
            "platform": "linux-64", "env location": "-",
            "virtual packages": ["=".join(v) for v in vpk],
            "package cache": [str(root() / "pkgs")]}


def env_list() -> dict[str, object]:
    prefixes = [str(p) for p in envs()]
    if TOOL != "conda":
        return {"envs": prefixes}
    details = {p: {"name": "base" if p == str(root()) else Path(p).name, "base": p == str(root()),
                   "active": False, "writable": True} for p in prefixes}
    return {"envs": prefixes, "envs_details": details}


def target(args: list[str]) -> Path:
    for flag in ("-n", "--name"):
        if flag in args:
            name = args[args.index(flag) + 1]
            return root() if name == "base" else root() / "envs" / name
    for flag in ("-p", "--prefix"):
        if flag in args:
            return Path(args[args.index(flag) + 1])
    raise SystemExit(f"{TOOL}: error: one of -n or -p is required")


def split_create(args: list[str]) -> tuple[list[str], list[str]]:
    channels, specs, i = [], [], 0
    while i < len(args):
        a = args[i]
        if a in ("-c", "--channel"):
            channels.append(args[i + 1])
            i += 2
        elif a in ("-n", "--name", "-p", "--prefix"):
            i += 2
        elif a.startswith("-"):
            i += 1
        else:
            specs.append(a)
            i += 1
    return channels, specs


async def solve_install(prefix: Path, channels: list[str], specs: list[str]) -> None:
    import rattler

    installed = []
    if (prefix / "conda-meta").is_dir():
        installed = [rattler.PrefixRecord.from_path(p) for p in (prefix / "conda-meta").glob("*.json")]
    keep = [r.name.normalized for r in installed]
    records = await rattler.solve(sources=channels, specs=specs + keep,
                                  platforms=["linux-64", "noarch"], locked_packages=installed)
    cache = root() / "pkgs"
    sleep_after = os.environ.get("FAKE_CONDA_SLEEP_AFTER")
    if sleep_after is not None:
        part = sorted(records, key=lambda r: r.name.normalized)[: int(sleep_after)]
        await rattler.install(part, target_prefix=prefix, cache_dir=cache, show_progress=False)
        print(f"linked {len(part)} of {len(records)}", flush=True)
        time.sleep(3600)
    await rattler.install(records, target_prefix=prefix, cache_dir=cache, show_progress=False,
                          installed_packages=installed)


def create(args: list[str]) -> int:
    prefix = target(args)
    if args[0] == "create" and (prefix / "conda-meta").is_dir() and "-y" not in args:
        print(f"WARNING: A conda environment already exists at '{prefix}'")
    channels, specs = split_create(args[1:])
    try:
        asyncio.run(solve_install(prefix, channels, specs))
    except Exception as exc:  # noqa: BLE001 - print like the real tool
        msg = " ".join(str(exc).split())
        if "--json" in args:
            print(json.dumps({"success": False, "error": msg}))
        print(f"error    libmamba Could not solve for environment specs\n    {msg}", file=sys.stderr)
        return 1
    if "--json" in args:
        print(json.dumps({"success": True, "prefix": str(prefix)}))
    return 0


def list_pkgs(args: list[str]) -> int:
    prefix = target(args)
    out = []
    for p in sorted((prefix / "conda-meta").glob("*.json")):
        rec = json.loads(p.read_text())
        out.append({"name": rec["name"], "version": rec["version"], "build_string": rec["build"],
                    "channel": rec.get("channel", "conda-forge")})
    print(json.dumps(out))
    return 0


def run(args: list[str]) -> int:
    prefix = target(args)
    rest = args[1:]
    i = 0
    while i < len(rest) and rest[i].startswith("-"):
        i += 2 if rest[i] in ("-n", "-p", "--name", "--prefix", "--cwd", "-e") else 1
    cmd = rest[i:]
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    env = dict(os.environ, PATH=f"{prefix / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
               CONDA_PREFIX=str(prefix))
    os.execvpe(cmd[0], cmd, env)
    return 127


def main(argv: list[str]) -> int:
    log(argv)
    if argv and os.environ.get("FAKE_CONDA_FAIL") == argv[0]:
        print(f"{TOOL}: error: simulated failure of '{argv[0]}'", file=sys.stderr)
        return 1
    if argv == ["--version"]:
        print(f"{TOOL} {VERSIONS[TOOL]}" if TOOL == "conda" else VERSIONS[TOOL])
        return 0
    if argv[:1] == ["info"]:
        print(json.dumps(info(), indent=2))
        return 0
    if argv[:2] == ["env", "list"]:
        print(json.dumps(env_list(), indent=2))
        return 0
    if argv[:1] in (["create"], ["install"]):
        return create(argv)
    if argv[:1] == ["list"]:
        return list_pkgs(argv)
    if argv[:1] == ["run"]:
        return run(argv)
    print(f"{TOOL}: unsupported args {argv}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # py-rattler's threads can crash at interpreter exit (see embedded.py)
