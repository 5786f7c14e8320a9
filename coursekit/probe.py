"""The environment probe: a stdlib-only script run by the course env's own Python.

``coursekit doctor`` (and ``coursekit setup``'s verify step) run this file with the
interpreter of the env under test, never import it into coursekit's own process::

    <env python> /path/to/coursekit/probe.py [--timeout SECONDS]

Not with ``-I``: the probe must see what the student's Python sees, user site
(``~/.local``) and ``PYTHONPATH`` included, since a torch there shadows the env's.

It prints ONE JSON object on stdout (the last line). Everything that can go wrong
inside the env (an ``ImportError``, a DLL error, a segfault while importing torch,
a hanging CUDA call) becomes data in that object, never a traceback: the risky
part (imports of torch & co., CUDA calls) runs in a child process (this script
again, with ``--torch-child``) that reports stage by stage, so a crash or a hang
keeps everything learned before it. It must stay importable and runnable by old
Pythons (3.8+) and must not import coursekit.

Never import ``lightning``/``pytorch_lightning`` here: versions 2.6.2 and 2.6.3 on
PyPI ran a credential stealer on import (GHSA-w37p-236h-pfx3); metadata is enough.

JSON fields (``probe_schema`` 2; 2 added ``cudnn_op`` and ``nvidia_names``):

- ``probe_schema``: 2.
- ``python``: ``executable``, ``version`` ("3.12.1"), ``implementation``, ``bits``
  (32/64), ``machine`` (``platform.machine()``), ``platform`` (``sys.platform``),
  ``mac_ver`` ("14.5" or ""), ``prefix``, ``base_prefix``, ``user_site``,
  ``user_site_enabled``, ``sys_path``.
- ``distributions``: for torch, torchvision, torchaudio, numpy, lightning, … every
  installed copy found on ``sys.path``: ``name``, ``version``, ``location``,
  ``installer`` (INSTALLER file: "pip", "conda", "uv" or null), ``requested``,
  ``direct_url``, ``mtime`` (of the dist-info folder, epoch seconds), ``in_user_site``.
  ``nvidia_wheels``: how many ``nvidia-*`` distributions are installed; ``nvidia_names``: their
  names and versions ("nvidia-cudnn-cu12 9.10.2.21").
- ``conda_meta``: ``present`` (the prefix has ``conda-meta/``), ``packages``
  (interesting conda packages: ``name``, ``version``, ``build``, ``channel``),
  ``history_mtime``.
- ``pip_config``: ``files`` (existing pip config files, in pip's order),
  ``settings`` (``[{file, section, key, value}]`` for index-url, extra-index-url,
  find-links), ``env`` (``PIP_*`` index variables and ``PIP_CONFIG_FILE``).
- ``torch``: from the child: ``status`` of ``import torch`` ("ok", "missing",
  "import-error", "crashed", "timeout", "not-run"), ``child`` ("ok", "crashed",
  "timeout": how the child ended; a later stage may hang or crash after a good
  import), ``error`` ({type, message, traceback}), ``returncode``, ``stderr`` (tail), ``import_s``,
  ``version``, ``file``, ``cuda`` (``torch.version.cuda``), ``hip``, ``debug``, ``arch_list``,
  ``cuda_available``, ``device_count``, ``devices`` ([{index, name,
  capability: "8.6"}]), ``cuda_error`` (text of a failed CUDA init), ``cuda_op``
  ({ok, error}: a real matmul on device 0), ``cudnn_op`` ({ok, version, error}: a real cuDNN
  convolution on device 0; a matmul alone passes where convolutions fail, e.g. WSL without
  libcuda on the loader's path), ``mps_built``, ``mps_available``,
  ``warnings`` (texts of warnings raised by torch), ``numpy_ok`` (``torch.from_numpy``
  works), ``numpy_error`` (its error text: "Numpy is not available"), ``stages`` (names of the
  stages that finished).
- ``imports``: for numpy, torchvision, torchaudio: ``{ok, version, error}``; torchvision also
  ``op_error`` (schema 2: a CPU ``torchvision.ops.nms`` call failed, e.g. "operator
  torchvision::nms does not exist"; null when it ran).
- ``env``: ``CUDA_VISIBLE_DEVICES``, ``LD_LIBRARY_PATH``, ``PYTHONPATH``,
  ``PYTHONNOUSERSITE``, ``CONDA_PREFIX`` as this Python sees them.
"""

from __future__ import annotations

import sys

# Running a script puts its folder first on sys.path; this folder is coursekit's
# package, whose module names (select.py, …) would shadow the stdlib. Drop it first.
if sys.path and sys.path[0] and __name__ == "__main__":
    sys.path.pop(0)

import json
import os
import platform
import site
import struct
import subprocess
import time
import traceback
from typing import Any, Dict  # noqa: UP035 - see JSON below

# typing.Dict: this alias is evaluated at run time and the file must run on Pythons < 3.9.
JSON = Dict[str, Any]  # noqa: UP006

PROBE_SCHEMA = 2
MARK = "@@coursekit-probe@@ "
_DISTS = (
    "torch",
    "torchvision",
    "torchaudio",
    "numpy",
    "lightning",
    "pytorch-lightning",
    "torchmetrics",
    "ipykernel",
    "jupyterlab",
    "triton",
    "pytorch-triton",
    "torchtriton",
    "pip",
)
_CONDA_PKGS = (
    "pytorch",
    "pytorch-cpu",
    "pytorch-gpu",
    "libtorch",
    "torchvision",
    "torchaudio",
    "numpy",
    "lightning",
    "pytorch-lightning",
    "torchmetrics",
    "python",
    "ipykernel",
    "jupyterlab",
    "cuda-version",
)
_ENV_KEYS = (
    "CUDA_VISIBLE_DEVICES",
    "LD_LIBRARY_PATH",
    "PYTHONPATH",
    "PYTHONNOUSERSITE",
    "CONDA_PREFIX",
)
_PIP_KEYS = ("index-url", "extra-index-url", "find-links")
_TAIL = 4000


def _norm(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def python_facts() -> JSON:
    """Who this interpreter is."""
    try:
        user_site = site.getusersitepackages()
    except Exception:  # noqa: BLE001 - some embedded Pythons lack it
        user_site = None
    return {
        "executable": sys.executable,
        "version": "{}.{}.{}".format(*sys.version_info[:3]),
        "implementation": platform.python_implementation(),
        "bits": struct.calcsize("P") * 8,
        "machine": platform.machine(),
        "platform": sys.platform,
        "mac_ver": platform.mac_ver()[0] if sys.platform == "darwin" else "",
        "prefix": sys.prefix,
        "base_prefix": getattr(sys, "base_prefix", sys.prefix),
        "user_site": user_site,
        "user_site_enabled": bool(site.ENABLE_USER_SITE),
        "sys_path": list(sys.path),
    }


def _read_meta(dist: Any, name: str) -> str | None:
    """A file of ``dist``'s metadata folder, or None: one odd file (not UTF-8, unreadable) must
    not cost the report every other package's facts."""
    try:
        text: str | None = dist.read_text(name)
        return text
    except Exception:  # noqa: BLE001 - UnicodeDecodeError, OSError, ...
        return None


def _dist_record(dist: Any, user_site: str | None) -> JSON:
    path = getattr(dist, "_path", None)
    location = str(path.parent) if path is not None else None
    mtime = None
    if path is not None:
        try:
            mtime = os.stat(str(path)).st_mtime
        except OSError:
            pass
    direct = _read_meta(dist, "direct_url.json")
    try:
        data = json.loads(direct) if direct else None
    except ValueError:
        data = None
    url = data.get("url") if isinstance(data, dict) else None
    direct_url = redact(str(url)) if url else None
    installer = (_read_meta(dist, "INSTALLER") or "").strip() or None
    in_user = bool(
        user_site
        and location
        and os.path.normcase(location).startswith(os.path.normcase(user_site))
    )
    return {
        "name": _norm(dist.metadata["Name"] or ""),
        "version": dist.version,
        "location": location,
        "installer": installer,
        "requested": _read_meta(dist, "REQUESTED") is not None,
        "direct_url": direct_url,
        "mtime": mtime,
        "in_user_site": in_user,
    }


def distribution_facts(user_site: str | None) -> JSON:
    """Every installed copy of the packages the doctor cares about (pip metadata)."""
    from importlib import metadata

    found = []
    nvidia = 0
    nvidia_names = []
    seen = set()
    for dist in metadata.distributions():
        try:
            name = _norm(dist.metadata["Name"] or "")
        except Exception:  # noqa: BLE001, S112 - a broken METADATA file is skipped, not fatal
            continue
        if name.startswith("nvidia-"):
            nvidia += 1
            nvidia_names.append(f"{name} {dist.version}")
        if name not in _DISTS:
            continue
        record = _dist_record(dist, user_site)
        key = (record["name"], record["location"])
        if key not in seen:  # the same folder reachable twice on sys.path
            seen.add(key)
            found.append(record)
    return {"items": found, "nvidia_wheels": nvidia, "nvidia_names": sorted(set(nvidia_names))}


def conda_meta_facts(prefix: str) -> JSON:
    """Packages conda says it installed into this prefix (conda-meta/*.json)."""
    meta = os.path.join(prefix, "conda-meta")
    if not os.path.isdir(meta):
        return {"present": False, "packages": [], "history_mtime": None}
    packages = []
    for entry in sorted(os.listdir(meta)):
        if not entry.endswith(".json"):
            continue
        parts = entry[:-5].rsplit("-", 2)
        if len(parts) != 3 or parts[0] not in _CONDA_PKGS:
            continue
        channel = None
        try:
            with open(os.path.join(meta, entry), encoding="utf-8") as fh:
                channel = json.load(fh).get("channel")
        except (OSError, ValueError):
            pass
        packages.append(
            {"name": parts[0], "version": parts[1], "build": parts[2], "channel": channel}
        )
    history = os.path.join(meta, "history")
    mtime = os.stat(history).st_mtime if os.path.exists(history) else None
    return {"present": True, "packages": packages, "history_mtime": mtime}


def _pip_config_files() -> list[str]:
    """pip's config files in its load order (pip/_internal/configuration.py)."""
    env_file = os.environ.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        program_data = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        appdata = os.environ.get("APPDATA", os.path.join(home, "AppData", "Roaming"))
        files = [
            os.path.join(program_data, "pip", "pip.ini"),
            os.path.join(home, "pip", "pip.ini"),
            os.path.join(appdata, "pip", "pip.ini"),
        ]
        site_name = "pip.ini"
    else:
        xdg_dirs = os.environ.get("XDG_CONFIG_DIRS", "/etc/xdg").split(os.pathsep)
        files = [os.path.join(d, "pip", "pip.conf") for d in xdg_dirs] + ["/etc/pip.conf"]
        files.append(os.path.join(home, ".pip", "pip.conf"))
        if sys.platform == "darwin":
            files.append(os.path.join(home, "Library", "Application Support", "pip", "pip.conf"))
        xdg_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        files.append(os.path.join(xdg_home, "pip", "pip.conf"))
        site_name = "pip.conf"
    files.append(os.path.join(sys.prefix, site_name))
    if env_file:
        files.append(env_file)
    return [f for f in files if os.path.isfile(f)]


def redact(value: str) -> str:
    """Hide credentials in URLs (``https://user:token@host`` -> ``https://***@host``): reports
    are sent to instructors, and index URLs in pip's config often carry tokens."""
    import re

    return re.sub(r"(://)[^/@\s]+@", r"\1***@", value)


def pip_config_facts() -> JSON:
    """Index settings from pip's config files and PIP_* variables (no pip subprocess)."""
    import configparser

    files = _pip_config_files()
    settings = []
    for path in files:
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            settings.append({"file": path, "section": None, "key": "unreadable", "value": ""})
            continue
        for section in parser.sections():
            for key in _PIP_KEYS:
                if parser.has_option(section, key):
                    value = " ".join(parser.get(section, key).split())
                    settings.append(
                        {"file": path, "section": section, "key": key, "value": redact(value)}
                    )
    env = {
        k: redact(v)
        for k, v in os.environ.items()
        if k in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONFIG_FILE")
    }
    return {"files": files, "settings": settings, "env": env}


# --- the child: imports and CUDA, reported stage by stage --------------------------------


def _emit(stage: str, data: JSON) -> None:
    data["stage"] = stage
    sys.stdout.write(MARK + json.dumps(data, default=str) + "\n")
    sys.stdout.flush()


def _error(exc: BaseException) -> JSON:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"type": type(exc).__name__, "message": str(exc)[:_TAIL], "traceback": tb[-_TAIL:]}


def _try_import(name: str) -> JSON:
    try:
        module = __import__(name)
    except BaseException as exc:  # noqa: BLE001 - every failure is a fact
        return {"ok": False, "version": None, "error": _error(exc)}
    return {"ok": True, "version": getattr(module, "__version__", None), "error": None}


def _cuda_facts(torch: Any) -> JSON:
    facts: JSON = {
        "cuda_available": False,
        "device_count": 0,
        "devices": [],
        "cuda_error": None,
        "cuda_op": None,
    }
    try:
        facts["cuda_available"] = bool(torch.cuda.is_available())
        facts["device_count"] = int(torch.cuda.device_count())
    except BaseException as exc:  # noqa: BLE001
        facts["cuda_error"] = _error(exc)["message"]
    for i in range(facts["device_count"] if facts["cuda_available"] else 0):
        try:
            major, minor = torch.cuda.get_device_capability(i)
            facts["devices"].append(
                {
                    "index": i,
                    "name": torch.cuda.get_device_name(i),
                    "capability": f"{major}.{minor}",
                }
            )
        except BaseException as exc:  # noqa: BLE001
            facts["cuda_error"] = _error(exc)["message"]
    return facts


def _cuda_op(torch: Any, count: int = 1) -> JSON:
    # is_available() can say True while no kernel fits the GPU: run a real kernel on EVERY
    # visible GPU (an old card beside a new one is where a build fails on one device only).
    devices = []
    for index in range(max(count, 1)):
        try:
            x = torch.ones((64, 64), device=f"cuda:{index}")
            value = float((x @ x).sum().item())
            torch.cuda.synchronize(index)
            ok = value == 64.0 * 64 * 64
            devices.append(
                {
                    "index": index,
                    "ok": ok,
                    "error": None if ok else "wrong result from a 64x64 matmul",
                }
            )
        except BaseException as exc:  # noqa: BLE001
            devices.append({"index": index, "ok": False, "error": _error(exc)["message"]})
    bad = next((d for d in devices if not d["ok"]), None)
    return {"ok": bad is None, "error": bad["error"] if bad else None, "devices": devices}


def _cudnn_op(torch: Any) -> JSON | None:
    # A 3x3 convolution goes through cuDNN (libcudnn_cnn*, which loads libcuda by name): it fails
    # where a matmul (cuBLAS) works, e.g. WSL without /usr/lib/wsl/lib on the loader's path
    # ("Could not load library libcudnn_cnn_infer.so.8"), or a system cuDNN shadowing the wheel's.
    version = None
    cudnn = getattr(getattr(torch, "backends", None), "cudnn", None)
    functional = getattr(getattr(torch, "nn", None), "functional", None)
    if cudnn is None or functional is None:
        return None  # not a torch with cuDNN to try (a stand-in, a stub)
    try:
        version = torch.backends.cudnn.version()
        x = torch.ones((1, 1, 8, 8), device="cuda")
        w = torch.ones((1, 1, 3, 3), device="cuda")
        value = float(torch.nn.functional.conv2d(x, w).sum().item())
        torch.cuda.synchronize()
        return {"ok": value == 36.0 * 9, "version": version, "error": None}
    except BaseException as exc:  # noqa: BLE001
        return {"ok": False, "version": version, "error": _error(exc)["message"]}


def _vision_op(torch: Any) -> str | None:
    # torchvision can import and still lack its C++ operators (a wheel for another torch or CUDA):
    # "operator torchvision::nms does not exist" appears only when an op runs.
    try:
        torchvision = sys.modules["torchvision"]  # imported by _try_import just before
        ops = getattr(torchvision, "ops", None)
        if ops is None or not hasattr(ops, "nms"):
            return None  # not a torchvision with operators to try (a stand-in, a stub)
        ops.nms(torch.zeros((1, 4)), torch.zeros(1), 0.5)
        return None
    except BaseException as exc:  # noqa: BLE001
        return str(_error(exc)["message"])


def _mps_facts(torch: Any) -> JSON:
    mps = getattr(getattr(torch, "backends", None), "mps", None)
    try:
        return {
            "mps_built": bool(mps.is_built()) if mps else False,
            "mps_available": bool(mps.is_available()) if mps else False,
        }
    except BaseException:  # noqa: BLE001
        return {"mps_built": False, "mps_available": False}


def _torch_stage() -> Any:
    start = time.perf_counter()
    try:
        import torch
    except ModuleNotFoundError as exc:
        if getattr(exc, "name", None) == "torch":
            _emit("torch-import", {"status": "missing", "error": _error(exc)})
            return None
        _emit("torch-import", {"status": "import-error", "error": _error(exc)})
        return None
    except BaseException as exc:  # noqa: BLE001
        _emit("torch-import", {"status": "import-error", "error": _error(exc)})
        return None
    version = getattr(torch, "version", None)
    try:
        arch_list = list(torch.cuda.get_arch_list())
    except BaseException:  # noqa: BLE001
        arch_list = []
    _emit(
        "torch-import",
        {
            "status": "ok",
            "import_s": round(time.perf_counter() - start, 3),
            "version": str(getattr(torch, "__version__", "")),
            "file": getattr(torch, "__file__", None),
            "cuda": getattr(version, "cuda", None),
            "hip": getattr(version, "hip", None),
            "debug": bool(getattr(version, "debug", False)),
            "arch_list": arch_list,
        },
    )
    return torch


def torch_child() -> int:
    """Stage by stage: numpy, torch, CUDA, a CUDA op, MPS, torchvision, torchaudio."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _emit("numpy", {"numpy": _try_import("numpy")})
        torch = _torch_stage()
        if torch is not None:
            cuda = _cuda_facts(torch)
            _emit("cuda", cuda)
            if cuda["cuda_available"] and cuda["device_count"]:
                _emit("cuda-op", {"cuda_op": _cuda_op(torch, cuda["device_count"])})
                conv = _cudnn_op(torch)
                if conv is not None:
                    _emit("cudnn", {"cudnn_op": conv})
            _emit("mps", _mps_facts(torch))
            try:
                import numpy

                torch.from_numpy(numpy.zeros(2))
                _emit("numpy-bridge", {"numpy_ok": True})
            except BaseException as exc:  # noqa: BLE001
                _emit("numpy-bridge", {"numpy_ok": False, "numpy_error": _error(exc)["message"]})
        vision = _try_import("torchvision")
        if vision["ok"] and torch is not None:
            vision["op_error"] = _vision_op(torch)
        _emit("torchvision", {"torchvision": vision})
        _emit("torchaudio", {"torchaudio": _try_import("torchaudio")})
        _emit("warnings", {"warnings": [str(w.message)[:_TAIL] for w in caught]})
    return 0


def start_child() -> subprocess.Popen[bytes] | OSError:
    """Start the torch child (its ``import torch`` overlaps the metadata scan); None on failure."""
    argv = [sys.executable, os.path.abspath(__file__), "--torch-child"]
    try:
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
        )
    except OSError as exc:
        return exc


def run_child(proc: subprocess.Popen[bytes] | OSError, timeout: float) -> JSON:
    """Wait for the torch child with a time limit; merge whatever stages it reported."""
    torch: JSON = {"status": "not-run", "stages": []}
    imports: JSON = {}
    if isinstance(proc, BaseException):
        torch.update(status="crashed", error=_error(proc))
        return {"torch": torch, "imports": imports}
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        timed_out = True
    for raw in out.decode("utf-8", "replace").splitlines():
        if not raw.startswith(MARK):
            continue
        try:
            data = json.loads(raw[len(MARK) :])
        except ValueError:
            continue
        stage = data.pop("stage", "?")
        torch["stages"].append(stage)
        for name in ("numpy", "torchvision", "torchaudio"):
            if name in data:
                imports[name] = data.pop(name)
        torch.update(data)
    torch["returncode"] = proc.returncode
    torch["stderr"] = err.decode("utf-8", "replace")[-_TAIL:]
    finished = "warnings" in torch["stages"]
    torch["child"] = "timeout" if timed_out else ("ok" if finished else "crashed")
    if "torch-import" not in torch["stages"] and not finished:
        # died or hung before `import torch` returned (segfault, illegal instruction, hang)
        torch["status"] = torch["child"]
    return {"torch": torch, "imports": imports}


def collect(timeout: float) -> JSON:
    """The whole probe object."""
    started = time.monotonic()
    child = start_child()
    py = python_facts()
    report = {"probe_schema": PROBE_SCHEMA, "python": py}
    for key, fn, args in (
        ("distributions", distribution_facts, (py["user_site"],)),
        ("conda_meta", conda_meta_facts, (sys.prefix,)),
        ("pip_config", pip_config_facts, ()),
    ):
        try:
            report[key] = fn(*args)
        except Exception as exc:  # noqa: BLE001 - a broken section is a fact, not a crash
            report[key] = {"error": _error(exc)}
    report.update(run_child(child, max(1.0, timeout - (time.monotonic() - started))))
    report["env"] = {k: os.environ.get(k) for k in _ENV_KEYS}
    return report


def main(argv: list[str]) -> int:
    """Entry point: ``--torch-child`` or the full probe (``--timeout S`` for the child)."""
    if "--torch-child" in argv:
        return torch_child()
    timeout = 120.0
    if "--timeout" in argv:
        timeout = float(argv[argv.index("--timeout") + 1])
    sys.stdout.write(json.dumps(collect(timeout), default=str) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
