"""A local PEP 503 index laid out like download.pytorch.org (envs/SOURCES.md T4).

``/whl/<variant>/<project>/`` for ``cu126``, ``cu128`` and ``cpu`` (torch 2.7.0, torchvision
0.22.0, torchaudio 2.7.0 with the variant's local tag), ``/simple/`` as a PyPI stand-in
(lightning 2.6.6, and a lightning 2.6.7 requiring a plain ``torch`` 2.7.1 that only this
"PyPI" has: a careless install would swap torch for it), and
``/evil/simple/`` a planted extra index serving a ``torch`` 2.7.0+cu126 marked EVIL and a
higher 9.9.9. Wheels are built with ``zipfile`` and hold importable fake modules.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TORCH, VISION, AUDIO = "2.7.0", "0.22.0", "2.7.0"
VARIANTS = ("cu126", "cu128", "cpu")

# A fake torch with the little API coursekit's verification touches.
_TORCH_INIT = '''"""Fake torch for coursekit's tests."""
import os as _os
from types import SimpleNamespace as _NS

__version__ = {version!r}
FAKE = True
EVIL = {evil!r}
_cuda_on = _os.environ.get("FAKE_TORCH_CUDA") == "1"
if _os.environ.get("FAKE_TORCH_IMPORT_SLEEP"):  # a hanging import, for interrupt tests
    import time as _time
    _time.sleep(float(_os.environ["FAKE_TORCH_IMPORT_SLEEP"]))


class _Tensor:
    def __init__(self, value):
        self.value = value

    def __add__(self, other):
        return _Tensor(self.value + other.value)

    def __matmul__(self, other):  # ones(n, n) @ ones(n, n) summed: n ** 3
        return _Tensor(self.value ** 3)

    def sum(self):
        return self

    def item(self):
        return self.value


def ones(*shape, device="cpu"):
    if str(device).startswith("cuda") and not _cuda_on:
        raise RuntimeError("Found no NVIDIA driver on your system.")
    dims = shape[0] if shape and isinstance(shape[0], tuple) else shape
    return _Tensor(float(dims[0]) if dims else 1.0)


cuda = _NS(is_available=lambda: _cuda_on, device_count=lambda: int(_cuda_on),
           get_device_name=lambda i=0: "NVIDIA GeForce RTX 4090",
           get_device_capability=lambda i=0: (8, 9), get_arch_list=lambda: ["sm_89"],
           synchronize=lambda device=None: None)
version = _NS(cuda={cuda!r}, hip=None)
backends = _NS(mps=_NS(is_available=lambda: False, is_built=lambda: False))
'''


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(folder: Path, name: str, version: str, files: dict[str, str],
               requires: tuple[str, ...] = ()) -> Path:
    """Write ``name-version-py3-none-any.whl`` with ``files`` and ``Requires-Dist`` lines."""
    dist = f"{name}-{version}.dist-info"
    meta = "Metadata-Version: 2.1\nName: {}\nVersion: {}\n{}".format(
        name, version, "".join(f"Requires-Dist: {r}\n" for r in requires))
    content = dict(files)
    content[f"{dist}/METADATA"] = meta
    content[f"{dist}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: coursekit-tests\n"
                                "Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = [f"{p},{_record_hash(d.encode())},{len(d.encode())}" for p, d in content.items()]
    content[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for p, d in content.items():
            zf.writestr(p, d)
    return path


def _pkg(name: str, version: str) -> dict[str, str]:
    return {f"{name}/__init__.py": f"__version__ = {version!r}\nFAKE = True\n"}


def _torch(version: str, cuda: str | None, evil: bool = False) -> dict[str, str]:
    return {"torch/__init__.py": _TORCH_INIT.format(version=version, cuda=cuda, evil=evil)}


def _write_index(base: Path, files: list[Path]) -> None:
    """PEP 503 pages for ``files`` (all in ``base/files``) under ``base/<project>/``."""
    projects: dict[str, list[Path]] = {}
    for f in files:
        projects.setdefault(f.name.split("-")[0].replace("_", "-").lower(), []).append(f)
    for project, wheels in projects.items():
        links = "".join(
            f'<a href="../files/{w.name}#sha256={hashlib.sha256(w.read_bytes()).hexdigest()}">'
            f"{w.name}</a><br>\n" for w in wheels)
        (base / project).mkdir(parents=True, exist_ok=True)
        (base / project / "index.html").write_text(f"<html><body>\n{links}</body></html>\n")
    body = "".join(f'<a href="{p}/">{p}</a><br>\n' for p in projects)
    (base / "index.html").write_text(f"<html><body>\n{body}</body></html>\n")


def build_index(root: Path, torch: str = TORCH, vision: str = VISION, audio: str = AUDIO) -> Path:
    """Write the whole tree under ``root`` (the trio at these base versions) and return it."""
    TORCH, VISION, AUDIO = torch, vision, audio  # noqa: N806 - shadow the defaults
    for variant in VARIANTS:
        base = root / "whl" / variant
        tag = f"+{variant}"
        cuda = None if variant == "cpu" else f"12.{variant[-1]}"
        files = [
            make_wheel(base / "files", "torch", TORCH + tag, _torch(TORCH + tag, cuda)),
            make_wheel(base / "files", "torchvision", VISION + tag, _pkg("torchvision", VISION + tag),
                       (f"torch=={TORCH}{tag}",)),
            make_wheel(base / "files", "torchaudio", AUDIO + tag, _pkg("torchaudio", AUDIO + tag),
                       (f"torch=={TORCH}{tag}",)),
        ]
        _write_index(base, files)
    simple = root / "simple"
    major, minor, patch = (int(p) for p in TORCH.split("."))
    newer = f"{major}.{minor}.{patch + 1}"
    _write_index(simple, [
        make_wheel(simple / "files", "lightning", "2.6.6", _pkg("lightning", "2.6.6"),
                   ("torch>=2.1.0",)),
        # The trap of pytorch-lightning#18968: the newest lightning wants a newer torch, which
        # only plain PyPI has; an unheld pip would swap the CUDA build for it.
        make_wheel(simple / "files", "lightning", "2.6.7", _pkg("lightning", "2.6.7"),
                   (f"torch>={newer}",)),
        make_wheel(simple / "files", "torch", newer, _torch(newer, None)),
    ])
    evil = root / "evil" / "simple"
    _write_index(evil, [
        make_wheel(evil / "files", "torch", f"{TORCH}+cu126", _torch(f"{TORCH}+cu126", "12.6", True)),
        make_wheel(evil / "files", "torch", "9.9.9", _torch("9.9.9", "12.6", True)),
    ])
    return root


@dataclass
class IndexServer:
    """A running index: ``url("whl/cu126")`` -> ``http://127.0.0.1:PORT/whl/cu126``.

    ``requests`` lists every path asked for; a request whose path contains a string in
    ``stall`` when it arrives hangs until ``released`` is set (at most 300 s): a download that
    never ends, for interrupt tests. Clearing ``stall`` lets new requests through while the
    hanging ones keep hanging."""

    root: Path
    port: int
    requests: list[str] = field(default_factory=list)
    stall: set[str] = field(default_factory=set)
    released: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.strip('/')}"


class _Handler(SimpleHTTPRequestHandler):
    server_state: IndexServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        state = self.server_state
        state.requests.append(self.path)
        if any(s in self.path for s in state.stall):  # hang until released (at most 300 s)
            # Longer than any wait in a test (240 s): a stalled download never ends on its own
            # while the test still acts on it (else setup could finish before the test's signal).
            state.released.wait(timeout=300)
        super().do_GET()


@contextlib.contextmanager
def serve(root: Path) -> Iterator[IndexServer]:
    """Serve ``root`` on 127.0.0.1 (a free port) in a daemon thread."""
    state = IndexServer(root, 0)
    handler_cls = type("Handler", (_Handler,), {"server_state": state})
    handler = functools.partial(handler_cls, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    state.port = int(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
