"""Build a local conda channel with the standard library (envs/SOURCES.md T2.2).

Packages are ``.tar.bz2`` files holding ``info/index.json``, ``info/paths.json``,
``info/files`` and a payload; ``rattler.index.index_fs`` writes the repodata. The
``python`` package links ``bin/python3.12`` to a real interpreter on this machine and adds
a ``pyvenv.cfg``, so the env's Python really runs with ``sys.prefix`` = the env (venv
semantics); the ``pip`` package carries a real pip unpacked from that interpreter's
``ensurepip`` wheel (no 2.6 s ``ensurepip`` per test). Everything else is metadata only.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import tarfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

PY312 = Path("/root/.pyenv/versions/3.12.1/bin/python3.12")
PY311 = Path("/root/.pyenv/versions/3.11.7/bin/python3.11")

# The course's conda packages (envs/course.toml) as metadata-only stand-ins.
COURSE_PACKAGES = ("jupyterlab", "jupyterlab-git", "matplotlib", "nbdime", "pandas",
                   "scikit-learn", "seaborn", "ipykernel", "numpy")


@dataclass
class Pkg:
    """One package to put in the channel."""

    name: str
    version: str
    build: str = "0"
    subdir: str = "noarch"
    depends: list[str] = field(default_factory=list)
    files: dict[str, bytes] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)  # path in prefix -> link target

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-{self.build}.tar.bz2"


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o755 if name.startswith("bin/") else 0o644
    tar.addfile(info, io.BytesIO(data))


def write_package(pkg: Pkg, channel: Path) -> Path:
    """Write ``pkg`` as ``channel/<subdir>/<name>-<version>-<build>.tar.bz2``."""
    out = channel / pkg.subdir / pkg.filename
    out.parent.mkdir(parents=True, exist_ok=True)
    index = {"name": pkg.name, "version": pkg.version, "build": pkg.build, "build_number": 0,
             "depends": pkg.depends, "subdir": pkg.subdir, "license": "MIT",
             "timestamp": int(time.time() * 1000)}
    if pkg.subdir == "linux-64":
        index.update(platform="linux", arch="x86_64")
    paths = [{"_path": p, "path_type": "hardlink", "sha256": hashlib.sha256(d).hexdigest(),
              "size_in_bytes": len(d)} for p, d in pkg.files.items()]
    paths += [{"_path": p, "path_type": "softlink"} for p in pkg.links]
    with tarfile.open(out, "w:bz2", compresslevel=1) as tar:
        _add(tar, "info/index.json", json.dumps(index).encode())
        _add(tar, "info/paths.json", json.dumps({"paths": paths, "paths_version": 1}).encode())
        _add(tar, "info/files", "\n".join([*pkg.files, *pkg.links]).encode() + b"\n")
        for path, data in pkg.files.items():
            _add(tar, path, data)
        for path, dest in pkg.links.items():
            info = tarfile.TarInfo(path)
            info.type = tarfile.SYMTYPE
            info.linkname = dest
            tar.addfile(info)
    return out


def python_pkg(interpreter: Path, version: str) -> Pkg:
    """A ``python`` package whose ``bin/pythonX.Y`` links to a real ``interpreter``."""
    minor = ".".join(version.split(".")[:2])
    cfg = f"home = {interpreter.parent}\ninclude-system-site-packages = false\nversion = {version}\n"
    return Pkg("python", version, "h0_0_cpython", "linux-64",
               files={"pyvenv.cfg": cfg.encode(),
                      f"lib/python{minor}/site-packages/README.txt": b"site-packages\n"},
               links={f"bin/python{minor}": str(interpreter), "bin/python": f"python{minor}",
                      "bin/python3": f"python{minor}"})


def pip_pkg(interpreter: Path, minor: str) -> Pkg:
    """A ``pip`` package holding the real pip bundled with ``interpreter``'s ensurepip."""
    bundled = sorted((interpreter.parent.parent / "lib" / f"python{minor}" / "ensurepip"
                      / "_bundled").glob("pip-*.whl"))[-1]
    version = bundled.name.split("-")[1]
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(bundled) as whl:
        for name in whl.namelist():
            if not name.endswith("/"):
                files[f"lib/python{minor}/site-packages/{name}"] = whl.read(name)
    return Pkg("pip", version, f"py{minor.replace('.', '')}_0", "linux-64",
               depends=[f"python {minor}.*"], files=files)


def script_pkg(name: str, version: str, scripts: dict[str, str], depends: list[str]) -> Pkg:
    """A noarch package whose payload is ``bin/`` shell scripts (nbdime's drivers)."""
    files = {f"bin/{n}": ("#!/bin/sh\n" + body).encode() for n, body in scripts.items()}
    return Pkg(name, version, depends=depends, files=files)


def meta_pkg(name: str, version: str = "1.0", depends: list[str] | None = None) -> Pkg:
    """A metadata-only noarch package (one small info file as payload)."""
    return Pkg(name, version, depends=depends or ["python >=3.8"],
               files={f"share/fake-conda/{name}.txt": f"{name} {version}\n".encode()})


def build_channel(channel: Path, *, pythons: dict[str, Path] | None = None,
                  extra: list[Pkg] | None = None) -> Path:
    """Build and index a channel: ``python`` (3.12.1 by default), ``pip``, the course's
    packages, ``pytorch`` (conda-forge's torch, to test it is never chosen), ``extra``."""
    pythons = pythons if pythons is not None else {"3.12.1": PY312}
    pkgs: list[Pkg] = []
    for version, exe in pythons.items():
        minor = ".".join(version.split(".")[:2])
        pkgs += [python_pkg(exe, version), pip_pkg(exe, minor)]
    nbdime_scripts = {n: f'echo "{n} $*" >> "${{FAKE_NBDIME_LOG:-/dev/null}}"\n'
                      for n in ("nbdime", "git-nbdiffdriver", "git-nbmergedriver")}
    for name in COURSE_PACKAGES:
        pkgs.append(script_pkg(name, "7.2", nbdime_scripts, ["python >=3.8"]) if name == "nbdime"
                    else meta_pkg(name, depends=["python >=3.8", "pip"]))
    pkgs.append(meta_pkg("pytorch", "2.7.0", ["python >=3.8"]))
    pkgs += extra or []
    (channel / "noarch").mkdir(parents=True, exist_ok=True)
    (channel / "linux-64").mkdir(parents=True, exist_ok=True)
    for pkg in pkgs:
        write_package(pkg, channel)
    index_channel(channel)
    return channel


def index_channel(channel: Path) -> None:
    """(Re)write ``repodata.json`` for every subdir of ``channel``."""
    import rattler.index

    asyncio.run(rattler.index.index_fs(channel, write_zst=False, write_shards=False, force=True))
