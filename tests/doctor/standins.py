"""Stand-in ``torch`` packages for GPU scenarios a CPU-only machine cannot run for real.

:func:`make_fake_torch` writes a small ``torch`` package into a temporary site folder;
put that folder first on the probe's ``PYTHONPATH`` and the probe imports it instead
of the real torch. Each stand-in answers the handful of calls the probe makes
(``__version__``, ``version.cuda``, ``cuda.is_available()``, ``get_arch_list()``,
``get_device_capability()``, a tensor op) the way a real build on that machine does.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

_TEMPLATE = '''
"""Stand-in torch for coursekit's doctor tests."""
import warnings as _w
__version__ = {version!r}
__file__ = __file__

class version:
    cuda = {cuda!r}
    hip = None
    debug = False

class _Cuda:
    def is_available(self):
        {available_body}
    def device_count(self):
        return {device_count!r}
    def get_arch_list(self):
        return {arch_list!r}
    def get_device_capability(self, i=0):
        return {capability!r}
    def get_device_name(self, i=0):
        return {device_name!r}
    def synchronize(self, device=None):
        pass

cuda = _Cuda()

class _Mps:
    def is_built(self):
        return {mps_built!r}
    def is_available(self):
        return {mps_available!r}

class _Cudnn:
    def version(self):
        return 91002

class backends:
    mps = _Mps()
    cudnn = _Cudnn()

class _Conv:
    def sum(self):
        return self
    def item(self):
        return 324.0

class _Functional:
    def conv2d(self, x, w):
        {conv_body}

class nn:
    functional = _Functional()

class _T:
    def __matmul__(self, other):
        {op_body}
    def sum(self):
        return self
    def item(self):
        return 262144.0

def ones(shape, device="cpu"):
    return _T()

def from_numpy(a):
    return _T()

{extra}
'''


def make_fake_torch(site: Path, *, version: str = "2.9.0+cu128", cuda: str | None = "12.8",
                    available: bool = True, device_count: int = 1,
                    arch_list: tuple[str, ...] = ("sm_75", "sm_80", "sm_86", "sm_90", "sm_100",
                                                  "sm_120"),
                    capability: tuple[int, int] = (8, 6),
                    device_name: str = "NVIDIA GeForce RTX 3060",
                    op_error: str | None = None, init_warning: str | None = None,
                    available_error: str | None = None, conv_error: str | None = None,
                    mps_built: bool = False, mps_available: bool = False,
                    import_error: str | None = None, import_body: str | None = None,
                    extra: str = "") -> Path:
    """Write ``site/torch/__init__.py`` describing one torch build on one machine."""
    pkg = site / "torch"
    pkg.mkdir(parents=True, exist_ok=True)
    if import_body is not None or import_error is not None:
        body = import_body if import_body is not None else f"raise {import_error}\n"
        (pkg / "__init__.py").write_text(body, encoding="utf-8")
        return site
    if available_error:
        available_body = f"raise RuntimeError({available_error!r})"
    elif init_warning:
        available_body = f"_w.warn({init_warning!r}); return {available!r}"
    else:
        available_body = f"return {available!r}"
    op_body = f"raise RuntimeError({op_error!r})" if op_error else "return self"
    conv_body = f"raise RuntimeError({conv_error!r})" if conv_error else "return _Conv()"
    source = _TEMPLATE.format(version=version, cuda=cuda, available_body=available_body,
                              device_count=device_count if available else 0,
                              arch_list=list(arch_list), capability=capability,
                              device_name=device_name, op_body=op_body, conv_body=conv_body, mps_built=mps_built,
                              mps_available=mps_available, extra=textwrap.dedent(extra))
    (pkg / "__init__.py").write_text(source, encoding="utf-8")
    info = site / f"torch-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n",
                                   encoding="utf-8")
    (info / "INSTALLER").write_text("pip\n", encoding="utf-8")
    return site


def make_fake_module(site: Path, name: str, body: str, version: str | None = None) -> Path:
    """Write a stand-in top-level module (torchvision, numpy…) and optional dist-info."""
    pkg = site / name
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(body, encoding="utf-8")
    if version is not None:
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
        (info / "INSTALLER").write_text("pip\n", encoding="utf-8")
    return site
