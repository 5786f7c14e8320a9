"""The real-report corpus (``tests/data/real-reports/``): build, load, triage and score it.

Each ``*.json`` there is a complete ``coursekit doctor --json`` report of a machine from a
real public failure report (a GitHub issue, a forum thread), plus a top-level ``corpus``
object that ``--from`` ignores::

    "corpus": {
      "source": "https://github.com/pytorch/pytorch/issues/NNNN",   # where the facts come from
      "title": "the source's title",
      "category": "driver-too-old",          # a key of CATEGORIES
      "root_cause": "one line, written before running the doctor",
      "accepted": ["driver-too-old"],        # finding ids that name the root cause ([] = healthy);
                                             # an id the catalogue lacks is the one the doctor SHOULD have
      "stated": "the facts the source states, in short",
      "gap": "a deciding fact the report format has no place for (optional)",
      "base": "linux-nvidia",                # a typical healthy machine in bases/ (unknown facts)
      "python": "3.10.12",                   # optional: the env's Python (paths follow)
      "torch": "2.5.1+cu124",                # optional: the torch build (companions match it,
                                             # NumPy and lightning stay plausible for its era)
      "patch": {...},                        # the stated facts, merged into the base
      "patch_v2": {...}                      # optional: stated facts only schema 2 can carry
    }

``facts`` is always exactly ``build_facts(corpus)`` (a test checks it): whatever the source
does not state keeps the base's healthy, typical value, so nothing that points at the
answer can hide in a report. Lists of named objects (distributions, conda packages,
kernels) are patched with an object keyed by name (``null`` removes the entry); an object
with ``"$replace": true`` replaces the base's object (e.g. the torch section of a failed import).

Rebuild after editing a sidecar, and once the report schema changes (a test says so):
``python -m tests.doctor.realcorpus build``.

Scoring (the issue-12 yardstick): every report goes through ``coursekit doctor --from``'s
own code path (:func:`coursekit.doctor.service.examine`), triaged on a POSIX and on a
Windows flavour of the triaging machine (``os.path`` swapped, the way a TA on another OS
reads it); the worse of the two counts. ``hit``: an accepted id is the top finding (most
severe; among equals, the doctor's own order); ``partial``: present but not top; ``miss``:
absent. A healthy report is a hit when no error appears on either flavour. Every fix line
is checked against the machine (:func:`wrong_fix_lines`).
"""

from __future__ import annotations

import copy
import json
import ntpath
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent / "data" / "real-reports"
BASES = ROOT / "bases"

CATEGORIES: dict[str, str] = {
    "driver-too-old": "NVIDIA driver older than the torch build's CUDA needs",
    "no-driver": "an NVIDIA GPU without a working driver (vs. no GPU at all)",
    "gpu-arch": "GPU architecture not in the build (sm_xx not compatible, no kernel image)",
    "cpu-build": "a CPU build of torch on a machine with a usable NVIDIA GPU",
    "duplicate-torch": "two torch installs (user site, PYTHONPATH, conda + pip)",
    "wrong-interpreter": "the wrong Python or Jupyter kernel runs",
    "companion-mismatch": "torchvision/torchaudio not matching torch (old 0.x numbering included)",
    "numpy": "NumPy 2 with an old torch or extension; NumPy missing",
    "shared-library": "shared library load errors (LD_LIBRARY_PATH, nvJitLink, cuDNN, DLLs)",
    "wsl": "WSL2-specific GPU problems",
    "no-wheels": "a platform without wheels (Intel Mac, 32-bit, unsupported Python)",
    "memory-install": "MemoryError while pip installs torch",
    "hash-mismatch": "pip's hash mismatch on a torch download",
    "uv-resync": "uv re-syncing torch to the project's default (CPU/PyPI) build",
    "stale-torch": "an old torch picked by an installer or a lock file",
    "windows-paths": "Windows-specific path and DLL problems",
    "macos-mps": "macOS GPU (MPS) not available",
    "healthy": "a working machine (must give no error on any triage OS)",
}

FLAVOURS = ("posix", "windows")
_BACKEND = re.compile(r"--backend\s+(\S+?)[\s),;.`]|--backend\s+(\S+)$")
_INDEX = re.compile(r"download\.pytorch\.org/whl/(?:nightly/)?([a-z0-9.]+)")


# --- building reports -----------------------------------------------------------------------

_VISION_1X = {0: "0.2", 1: "0.3", 2: "0.4", 3: "0.4", 4: "0.5", 5: "0.6", 6: "0.7", 7: "0.8", 8: "0.9", 9: "0.10", 10: "0.11", 11: "0.12",
              12: "0.13", 13: "0.14"}
_VISION_PATCH = {"1.0.0": "0.2.1", "1.0.1": "0.2.2", "1.3.0": "0.4.1", "1.3.1": "0.4.2", "1.13.1": "0.14.1", "1.12.1": "0.13.1", "1.10.1": "0.11.2", "1.10.2": "0.11.3",
                 "1.9.1": "0.10.1", "1.8.1": "0.9.1", "1.7.1": "0.8.2", "1.5.1": "0.6.1",
                 "2.0.1": "0.15.2", "2.0.0": "0.15.1"}
_AUDIO_PATCH = {"1.0.0": "0.2.0", "1.0.1": "0.2.0", "1.1.0": "0.3.0", "1.2.0": "0.3.0", "1.3.0": "0.3.1",
                "1.3.1": "0.3.2", "1.7.1": "0.7.2", "2.0.1": "2.0.2", "2.0.0": "2.0.1", "1.10.1": "0.10.1",
                "1.10.2": "0.10.2"}


def companions(torch: str) -> tuple[str, str]:
    """The torchvision and torchaudio released with ``torch`` (pytorch/vision README table,
    pytorch/audio installation table; torchaudio 2.11 serves torch 2.12+, pytorch/audio#4212)."""
    public = torch.split("+")[0]
    v = Version(public)
    major, minor, micro = v.major, v.minor, v.micro
    if major == 1:
        vision = _VISION_PATCH.get(public, f"{_VISION_1X[minor]}.{micro}")
        audio = _AUDIO_PATCH.get(public, f"0.{minor}.{micro}")
        return vision, audio
    vision = _VISION_PATCH.get(public, f"0.{minor + 15}.{micro}")
    audio = _AUDIO_PATCH.get(public, f"2.{minor}.{micro}" if minor <= 11 else "2.11.0")
    return vision, audio


_PYPI_CUDA = {(1, 6): "10.2", (1, 7): "10.2", (1, 8): "10.2", (1, 9): "10.2", (1, 10): "10.2", (1, 11): "10.2", (1, 12): "10.2", (1, 13): "11.7", (2, 0): "11.7",
              (2, 1): "12.1", (2, 2): "12.1", (2, 3): "12.1", (2, 4): "12.1", (2, 5): "12.4",
              (2, 6): "12.4", (2, 7): "12.6", (2, 8): "12.8", (2, 9): "12.8", (2, 10): "12.8"}
"""The CUDA of PyPI's untagged Linux x86_64 torch wheel (envs/SOURCES.md W2, note 2; older releases from
their release notes; 2.11+: 13.0)."""


def cuda_of(torch: str, os_name: str) -> str | None:
    """``torch.version.cuda`` of a build: from its local tag, else PyPI's default."""
    tag = torch.split("+", 1)[1] if "+" in torch else ""
    if tag.startswith("cu"):
        digits = tag[2:]
        return f"{digits[:-1]}.{digits[-1]}"
    if tag or os_name != "linux":
        return None
    v = Version(torch)
    return _PYPI_CUDA.get((v.major, v.minor), "13.0" if (v.major, v.minor) >= (2, 11) else None)


def arch_of(cuda: str | None) -> list[str]:
    """``torch.cuda.get_arch_list()`` of PyTorch's Linux wheels for a CUDA version (typical;
    published in each release's build matrix, pytorch/builder and .ci/manywheel)."""
    if not cuda:
        return []
    major, minor = (int(p) for p in cuda.split("."))
    if major >= 13 or (major, minor) >= (12, 8):
        return ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120", "compute_120"]
    if major == 12:
        return ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_90"]
    if (major, minor) == (11, 8):
        return ["sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86", "sm_37", "sm_90"]
    if major == 11:
        return ["sm_37", "sm_50", "sm_60", "sm_70", "sm_75", "sm_80", "sm_86"]
    if major == 10:
        return ["sm_37", "sm_50", "sm_60", "sm_70"]
    return ["sm_35", "sm_50", "sm_60", "sm_70"]


def merge(base: Any, patch: Any) -> Any:
    """Deep-merge ``patch`` into a copy of ``base``: objects merge key by key (an object with
    ``"$replace": true`` replaces instead); a list of named objects patched with an object merges
    by name (``null`` removes); anything else replaces."""
    if isinstance(patch, dict) and patch.get("$replace"):
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$replace"}
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for key, value in patch.items():
            out[key] = merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    if isinstance(base, list) and isinstance(patch, dict) and all(
            isinstance(x, dict) and "name" in x for x in base):
        items = {x["name"]: x for x in base}
        order = [x["name"] for x in base]
        for name, value in patch.items():
            if value is None:
                items.pop(name, None)
            elif name in items:
                items[name] = merge(items[name], value)
            else:
                items[name] = {"name": name, **copy.deepcopy(value)}
                order.append(name)
        return [items[n] for n in order if n in items]
    return copy.deepcopy(patch)


def _with_python(base: dict[str, Any], version: str) -> dict[str, Any]:
    """The base with another env Python (version numbers and the paths that carry them)."""
    v = Version(version)
    text = json.dumps(base)
    text = text.replace("3.12.11", version).replace("python3.12", f"python{v.major}.{v.minor}")
    text = text.replace("Python312", f"Python{v.major}{v.minor}")
    data: dict[str, Any] = json.loads(text)
    # coursekit itself runs on its own Python: only the env's interpreter changes.
    data["platform"]["coursekit_python"] = base["platform"]["coursekit_python"]
    return data


def _with_torch(base: dict[str, Any], torch: str) -> dict[str, Any]:
    """The base with another torch build; torchvision/torchaudio are its matching partners."""
    data = copy.deepcopy(base)
    os_name = data["platform"]["os"]
    tag = "+" + torch.split("+", 1)[1] if "+" in torch else ""
    vision, audio = companions(torch)
    cuda = cuda_of(torch, os_name)
    probe = data["probe"]["data"]
    probe["torch"].update(version=torch, cuda=cuda, arch_list=arch_of(cuda))
    if not cuda:
        probe["torch"].update(cuda_available=False, device_count=0, devices=[], cuda_op=None)
    versions = {"torch": torch, "torchvision": vision + tag, "torchaudio": audio + tag}
    for item in probe["distributions"]["items"]:
        if item["name"] in versions:
            item["version"] = versions[item["name"]]
    for name in ("torchvision", "torchaudio"):
        probe["imports"][name]["version"] = versions[name]
    return data


def typical_numpy(python: str, torch: Version) -> str:
    """The NumPy a working env of that era has: 1.x beside torch < 2.3 (NumPy 2 support came
    in 2.3, pytorch/pytorch#107302), else the newest 2.x the Python supports."""
    py = Version(python)
    old = {(3, 6): "1.19.5", (3, 7): "1.21.6", (3, 8): "1.24.4"}.get((py.major, py.minor))
    if old:  # the last NumPy for that Python
        return old
    if (torch.major, torch.minor) < (2, 3):
        return "1.26.4"
    return {(3, 9): "2.0.2", (3, 10): "2.2.6"}.get((py.major, py.minor), "2.3.4")


def _typical_neighbours(data: dict[str, Any], torch: Version) -> None:
    """Keep the base's neighbours of torch plausible for an older torch: a NumPy of its era,
    and no lightning 2.6 (it requires torch >= 2.1) beside a torch older than 2.1."""
    probe = data["probe"]["data"]
    numpy = typical_numpy(str(probe["python"]["version"]), torch)
    items = probe["distributions"]["items"]
    for item in items:
        if item["name"] == "numpy":
            item["version"] = numpy
    if "numpy" in probe.get("imports", {}):
        probe["imports"]["numpy"]["version"] = numpy
    for pkg in probe.get("conda_meta", {}).get("packages", []):
        if pkg["name"] == "numpy":
            pkg["version"] = numpy
    if (torch.major, torch.minor) < (2, 1):
        probe["distributions"]["items"] = [i for i in items if i["name"] != "lightning"]


def base_data(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((BASES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def current_schema() -> int:
    """The report schema this coursekit writes (1 on main; 2 once issue 12's new facts land)."""
    from coursekit.doctor.report import SCHEMA

    return int(SCHEMA)


def build_facts(corpus: dict[str, Any], schema: int | None = None) -> dict[str, Any]:
    """The ``facts`` of a report: its base, with its Python, torch build and patch applied.

    ``patch_v2`` holds stated facts that only report schema 2 has a place for (``shell``,
    ``project``, ``pip_log``, ``gpu.pci_nvidia``, ``platform.wsl_lib``, the probe's cuDNN
    convolution): merged only when building for schema >= 2 (default: the running coursekit's).
    """
    data = base_data(corpus["base"])
    if corpus.get("python"):
        data = _with_python(data, corpus["python"])
    if corpus.get("torch"):
        data = _with_torch(data, corpus["torch"])
    if corpus.get("torch") or corpus.get("python"):
        _typical_neighbours(data, Version(corpus.get("torch") or data["probe"]["data"]["torch"]["version"]))
    result: dict[str, Any] = merge(data, corpus.get("patch") or {})
    if (current_schema() if schema is None else schema) >= 2 and corpus.get("patch_v2"):
        result = merge(result, corpus["patch_v2"])
    return result


def build_report(corpus: dict[str, Any]) -> dict[str, Any]:
    """A ``--json`` report of the running coursekit's schema with these facts (``--from`` re-diagnoses them; the saved
    findings are left empty so that no verdict of today's rules is frozen into the data)."""
    from coursekit.doctor.report import KIND

    return {"kind": KIND, "schema": current_schema(), "coursekit_version": "0.1.0", "source": "this machine",
            "summary": {"status": "ok", "errors": 0, "warnings": 0, "infos": 0, "checks_failed": 0},
            "findings": [], "facts": build_facts(corpus), "corpus": corpus}


def report_paths() -> list[Path]:
    return sorted(p for p in ROOT.glob("*.json"))


def write_all() -> int:
    """Rebuild every report's facts from its sidecar; returns how many files changed."""
    changed = 0
    for path in report_paths():
        data = json.loads(path.read_text(encoding="utf-8"))
        text = json.dumps(build_report(data["corpus"]), indent=1, ensure_ascii=False) + "\n"
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed += 1
    return changed


# --- triage ---------------------------------------------------------------------------------

@contextmanager
def triaged_on(flavour: str) -> Iterator[None]:
    """Run the doctor as on a triaging machine of ``flavour`` (``posix`` or ``windows``).

    Swaps the path module (``os.path``, separators) and ``sys.platform``: what a rule that
    compares a report's paths with the *triaging* machine's rules would see on Windows.
    ``os.name`` stays (pathlib could not build paths otherwise); rules that use the report's
    own flavour (PureWindowsPath/PurePosixPath) are unaffected, as they should be.
    """
    if flavour == "posix":
        yield
        return
    saved = (os.path, os.sep, os.altsep, os.pathsep, sys.platform, sys.modules.get("os.path"))
    os.path, os.sep, os.altsep, os.pathsep = ntpath, "\\", "/", ";"  # type: ignore[misc]
    sys.modules["os.path"] = ntpath
    sys.platform = "win32"
    try:
        yield
    finally:
        os.path, os.sep, os.altsep, os.pathsep, sys.platform = saved[:5]  # type: ignore[misc]
        sys.modules["os.path"] = saved[5] if saved[5] is not None else saved[0]


def triage(path: Path, flavour: str = "posix") -> Any:
    """``coursekit doctor --from PATH`` (the CLI's own domain call) on a ``flavour`` machine."""
    from coursekit.doctor.advice import matrix_or_none
    from coursekit.doctor.course import spec_or_none
    from coursekit.doctor.service import DoctorRequest, examine

    # The course's own data files (envs/*.toml) are read from this machine, not the report: load
    # them before the path module is swapped (importing coursekit.resources under ntpath on a
    # POSIX machine fails, which a real Windows machine never sees).
    matrix_or_none(), spec_or_none()
    with triaged_on(flavour):
        return examine(DoctorRequest(from_file=path))


_RANK = {"error": 0, "warning": 1, "info": 2}


def top(findings: Any) -> Any:
    """The finding a student reads first: the most severe; among equals, the doctor's order."""
    ordered = sorted(findings, key=lambda f: _RANK.get(f.severity, 3))
    return ordered[0] if ordered else None


# --- fix lines ------------------------------------------------------------------------------

def _capabilities(facts: Any) -> list[str]:
    """Compute capabilities of the machine's NVIDIA GPUs: nvidia-smi's, else torch's devices,
    plus the one torch's 'sm_XY is not compatible' warning names."""
    caps = [g.compute_capability for g in (facts.gpu.gpus if facts.gpu else ())
            if g.vendor == "nvidia" and g.compute_capability]
    torch = (facts.probe.data.get("torch") or {}) if facts.probe and facts.probe.ok else {}
    if not caps:
        caps = [str(d.get("capability")) for d in torch.get("devices") or [] if d.get("capability")]
    texts = "\n".join(map(str, torch.get("warnings") or [])) + str(torch.get("cuda_error") or "")
    caps += [f"{m.group(1)}.{m.group(2)}" for m in re.finditer(r"CUDA capability sm_(\d+)(\d)\b", texts)]
    return sorted(set(caps), key=_vt)


def _driver(facts: Any) -> str | None:
    drivers = [g.driver_version for g in (facts.gpu.gpus if facts.gpu else ())
               if g.vendor == "nvidia" and g.driver_version]
    return min(drivers, key=lambda d: tuple(int(x) for x in re.findall(r"\d+", d))) if drivers else None


def _vt(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text))


def _platform_key(facts: Any) -> str:
    p = facts.platform
    if p is None:
        return "linux-x86_64"
    os_name = "linux" if p.os == "linux" else p.os
    return f"{os_name}-{'arm64' if p.arch in ('arm64', 'aarch64') else 'x86_64'}"


def _covers(sm: tuple[str, ...], ptx: tuple[str, ...], cap: str) -> bool:
    gpu = _vt(cap)
    if any(_vt(s)[0] == gpu[0] and _vt(s) <= gpu for s in sm):
        return True
    return any(_vt(p) <= gpu for p in ptx)


def _matrix() -> Any:
    """The planner's PyTorch matrix (envs/*.toml), through the doctor's own accessor so the
    scorer follows wherever the planner's modules live."""
    from coursekit.doctor.advice import matrix_or_none

    matrix = matrix_or_none()
    if matrix is None:
        raise RuntimeError("the PyTorch matrix (envs/torch-matrix.toml) does not load")
    return matrix


def _variant_for(backend: str, platform_key: str, torch: str | None) -> Any:
    """The matrix variant ``backend`` names (of release ``torch``, else the newest with it)."""
    releases = list(_matrix().releases)
    if torch:
        public = torch.split("+")[0]
        picked = [r for r in releases if any(v.torch == public for v in r.versions)]
        releases = picked or releases
    for release in reversed(releases):
        for variant in release.variants:
            if variant.backend == backend and platform_key in variant.platforms:
                return variant
    return None


def _any_cuda_covers(cap: str, platform_key: str) -> bool:
    for release in _matrix().releases:
        for variant in release.variants:
            if variant.backend.startswith("cu") and platform_key in variant.platforms and _covers(
                    tuple(variant.sm), tuple(variant.ptx) if platform_key in variant.ptx_platforms
                    else (), cap):
                return True
    return False


def _driver_minimum(cuda: str, table: str) -> str | None:
    drivers = _matrix().drivers
    req = drivers.get(cuda) or next((d for k, d in drivers.items() if k.split(".")[0] ==
                                     cuda.split(".")[0]), None)
    return req.minimum.get(table) if req is not None else None


_POSIX_ON_WINDOWS = (
    (re.compile(r"&&"), "'&&' (Windows PowerShell 5.1 rejects it)"),
    (re.compile(r"(?<![\w.:/])~/"), "a POSIX home path '~/'"),
    (re.compile(r"(?<![\w.:/])/(usr|home|etc|opt|proc|tmp)/"), "a POSIX absolute path"),
    (re.compile(r"\bsudo\b|\bapt(-get)?\s+(install|remove|purge)|ubuntu-drivers"), "a Linux package command"),
    (re.compile(r"\bexport\s+\w+="), "POSIX 'export'"),
    (re.compile(r"\.bashrc\b"), "a bash profile"),
)
_WINDOWS_ON_POSIX = (
    (re.compile(r"\b[A-Za-z]:\\"), "a Windows drive path"),
    (re.compile(r"vc_redist|Visual C\+\+ Redistributable"), "a Windows-only installer"),
)
_POWERSHELL_ONLY = re.compile(r"\$env:|Remove-Item\s+Env:")
_POSIX_SHELL = re.compile(r"\bunset\b|\bexport\b")


def _syntax_problems(fix: str, os_name: str) -> list[str]:
    """Shell syntax of another OS in a fix line (an alternative for the other shell, offered
    beside the right one, is not wrong)."""
    if os_name == "windows":
        return [why for pattern, why in _POSIX_ON_WINDOWS if pattern.search(fix)]
    out = [why for pattern, why in _WINDOWS_ON_POSIX if pattern.search(fix)]
    if _POWERSHELL_ONLY.search(fix) and not _POSIX_SHELL.search(fix):
        out.append("PowerShell-only syntax")
    if os_name == "macos" and re.search(r"\bapt(-get)?\b|ubuntu-drivers|nvidia driver|NVIDIA driver", fix):
        out.append("Linux/NVIDIA driver advice on a Mac")
    return out


def wrong_fix_lines(facts: Any, findings: Any) -> list[str]:
    """Every fix line that is wrong for the machine of ``facts``: ``"<id>: why"``.

    Wrong: shell syntax of another OS (``&&`` or POSIX paths on Windows, Windows paths on
    Linux/macOS), a CUDA backend or index on macOS or on a machine without an NVIDIA GPU, a
    backend whose kernels do not cover the GPU's compute capability, a CUDA backend offered
    instead of a driver update although the current driver is too old for it, and CUDA
    advice for a GPU no build supports.
    """
    p = facts.platform
    os_name = p.os if p else "linux"
    wsl = bool(p and p.wsl)
    platform_key = _platform_key(facts)
    nvidia = [g for g in (facts.gpu.gpus if facts.gpu else ()) if g.vendor == "nvidia"]
    amd = [g for g in (facts.gpu.gpus if facts.gpu else ()) if g.vendor == "amd"]
    caps = _capabilities(facts)
    driver = _driver(facts)
    table = "windows" if os_name == "windows" or wsl else "linux"
    out: list[str] = []
    for f in findings:
        fix = f.fix or ""
        if not fix:
            continue
        for why in _syntax_problems(fix, os_name):
            out.append(f"{f.id}: {why} in a fix for {os_name}: {fix}")
        torch_named = re.search(r"torch (\d+\.\d+\.\d+)", fix)
        backends = [a or b for a, b in _BACKEND.findall(fix)] + _INDEX.findall(fix)
        for backend in backends:
            why = next(filter(None, (_backend_problem(
                backend, fix, os_name, platform_key, nvidia, amd, cap, driver, table,
                torch_named.group(1) if torch_named else None) for cap in caps or [None])), None)
            if why:
                out.append(f"{f.id}: {why}: {fix}")
    return out


def _backend_problem(backend: str, fix: str, os_name: str, platform_key: str, nvidia: list[Any],
                     amd: list[Any], cap: str | None, driver: str | None, table: str,
                     torch: str | None) -> str | None:
    if backend.startswith("rocm") and not amd:
        return f"{backend} (ROCm) for a machine without an AMD GPU"
    if not backend.startswith("cu"):
        return None
    if os_name == "macos":
        return f"{backend} on macOS (no CUDA wheels)"
    if not nvidia:
        return None  # no GPU list (no driver): installing the driver comes first; not judged here
    if cap and not _any_cuda_covers(cap, platform_key):
        return f"{backend} for compute capability {cap}, which no PyTorch CUDA build supports"
    variant = _variant_for(backend, platform_key, torch)
    if cap and variant is not None and not _covers(
            tuple(variant.sm), tuple(variant.ptx) if platform_key in variant.ptx_platforms else (), cap):
        return f"{backend} has no kernels for compute capability {cap}"
    cuda = f"{backend[2:-1]}.{backend[-1]}"
    minimum = _driver_minimum(cuda, table)
    if driver and minimum and _vt(driver) < _vt(minimum):
        upgrade = re.search(r"driver\s*>=\s*(\d+)", fix)
        position = fix.find(backend)
        offered_instead = upgrade is None or " or " in fix[upgrade.end():position]
        if offered_instead or _vt(upgrade.group(1)) < _vt(minimum):
            return f"{backend} needs driver >= {minimum}, this machine has {driver}"
    return None


# --- scoring --------------------------------------------------------------------------------

@dataclass
class Outcome:
    """How the doctor did on one report (the worse of the triage flavours)."""

    name: str
    category: str
    os: str
    accepted: tuple[str, ...]
    verdict: str  # "hit" | "partial" | "miss"
    top: str | None
    found: dict[str, tuple[str, ...]] = field(default_factory=dict)  # flavour -> ids (severity order)
    wrong_fixes: tuple[str, ...] = ()
    rule_failed: bool = False


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def report_os(corpus: dict[str, Any], facts: dict[str, Any]) -> str:
    p = facts.get("platform") or {}
    return "wsl" if p.get("wsl") else str(p.get("os", "linux"))


def score(path: Path) -> Outcome:
    data = load(path)
    corpus = data["corpus"]
    accepted = tuple(corpus.get("accepted") or ())
    rank = {"hit": 0, "partial": 1, "miss": 2}
    verdicts: list[str] = []
    first: str | None = None
    found: dict[str, tuple[str, ...]] = {}
    wrong: list[str] = []
    failed = False
    for flavour in FLAVOURS:
        report = triage(path, flavour)
        ordered = sorted(report.findings, key=lambda f: _RANK.get(f.severity, 3))
        found[flavour] = tuple(f"{f.id}:{f.severity}" for f in ordered)
        failed = failed or any(f.id == "rule-failed" for f in ordered)
        best = top(report.findings)
        if accepted:
            ids = {f.id for f in report.findings}
            this = ("hit" if best is not None and best.id in accepted else
                    "partial" if ids & set(accepted) else "miss")
        else:
            this = "miss" if any(f.severity == "error" for f in report.findings) else "hit"
        verdicts.append(this)
        if flavour == FLAVOURS[0]:
            first = best.id if best else None
        wrong += [w for w in wrong_fix_lines(report.facts, report.findings) if w not in wrong]
    verdict = max(verdicts, key=rank.__getitem__)
    return Outcome(path.stem, corpus["category"], report_os(corpus, data["facts"]), accepted, verdict,
                   first, found, tuple(wrong), failed)


def score_all() -> list[Outcome]:
    return [score(p) for p in report_paths()]


def hit_rate(outcomes: list[Outcome]) -> float:
    """Share of failure reports whose accepted finding is the top finding (issue 12: >= 0.9)."""
    failing = [o for o in outcomes if o.accepted]
    return sum(o.verdict == "hit" for o in failing) / len(failing) if failing else 1.0


def table(outcomes: list[Outcome]) -> str:
    """The score by category: reports, hits, partial, misses, wrong fix lines."""
    rows = [("category", "n", "hit", "partial", "miss", "wrong fix")]
    for cat in CATEGORIES:
        mine = [o for o in outcomes if o.category == cat]
        if mine:
            rows.append((cat, str(len(mine)), *(str(sum(o.verdict == v for o in mine))
                                                for v in ("hit", "partial", "miss")),
                         str(sum(len(o.wrong_fixes) for o in mine))))
    n = len(outcomes)
    hits = sum(o.verdict == "hit" for o in outcomes)
    rows.append(("TOTAL", str(n), str(hits), str(sum(o.verdict == "partial" for o in outcomes)),
                 str(sum(o.verdict == "miss" for o in outcomes)),
                 str(sum(len(o.wrong_fixes) for o in outcomes))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    failing = [o for o in outcomes if o.accepted]
    failing_hits = sum(o.verdict == "hit" for o in failing)
    if failing:
        lines.append(f"failure reports: right root cause on top in {failing_hits}/{len(failing)} = "
                     f"{100 * failing_hits / len(failing):.0f} %")
    healthy = [o for o in outcomes if not o.accepted]
    if healthy:
        lines.append(f"healthy reports without an error on every triage OS: "
                     f"{sum(o.verdict == 'hit' for o in healthy)}/{len(healthy)}")
    return "\n".join(lines)


def by_os(outcomes: list[Outcome]) -> str:
    counts: dict[tuple[str, str], int] = {}
    for o in outcomes:
        counts[(o.category, o.os)] = counts.get((o.category, o.os), 0) + 1
    oses = sorted({o.os for o in outcomes})
    lines = ["category".ljust(20) + "".join(s.rjust(9) for s in oses)]
    for cat in CATEGORIES:
        if any(c == cat for c, _ in counts):
            lines.append(cat.ljust(20) + "".join(str(counts.get((cat, s), 0)).rjust(9) for s in oses))
    lines.append("TOTAL".ljust(20) + "".join(str(sum(v for (c, s2), v in counts.items() if s2 == s)).rjust(9)
                                            for s in oses))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv[1:2] == ["build"]:
        print(f"rebuilt {write_all()} report(s) in {ROOT}")
        return 0
    print(__doc__.split("\n")[0])
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
