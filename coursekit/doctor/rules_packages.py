"""Rules for who installed torch, its companion packages, NumPy, Lightning and MPS (pure)."""

from __future__ import annotations

from packaging.version import Version

from coursekit.doctor.planning import reinstall_hint
from coursekit.doctor.versions import as_version, version_tuple
from coursekit.doctor.view import Finding, Rule, View, finding, local_tag, remove_and_setup

_REINSTALL = "reinstall-torch"
_CONDA_TORCH = ("pytorch", "pytorch-cpu", "pytorch-gpu", "libtorch")
MALICIOUS_LIGHTNING = ("2.6.2", "2.6.3")  # GHSA-w37p-236h-pfx3
LIGHTNING_SAFE = Version("2.6.6")  # GHSA-qqmf-gpg7-g8gw fixed in 2.6.6 (2.6.6rc1 is before it)
_NUMPY_ABI = (
    "compiled using NumPy 1.x cannot be run in",
    "_ARRAY_API not found",
    "numpy.core.multiarray failed to import",
    "numpy.dtype size changed",
)


def _pip_torch(v: View) -> list[dict[str, object]]:
    return [d for d in v.dists("torch") if d.get("installer") != "conda"]


def torch_owners(v: View) -> list[Finding]:
    conda = [v.conda_packages[n] for n in _CONDA_TORCH if n in v.conda_packages]
    if not conda:
        return []
    described = ", ".join(
        f"{p['name']} {p['version']} ({p.get('channel') or 'conda'}, build {p['build']})"
        for p in conda
    )
    pip = _pip_torch(v)
    if pip:
        return [
            finding(
                "torch-conda-and-pip",
                "Two owners of torch: conda and pip",
                f"conda-meta lists {described}; pip installed torch {pip[0].get('version')}. "
                "conda packages that depend on pytorch (lightning, torchmetrics) pulled it in "
                "before the pip step",
                "Recreate the env so only pip installs torch: " + remove_and_setup(v),
            )
        ]
    return [
        finding(
            "torch-from-conda",
            "torch comes from conda, not from the PyTorch wheel index",
            f"conda-meta lists {described}; pip would say 'Requirement already satisfied' and "
            "keep it",
            "Recreate the env: " + remove_and_setup(v),
        )
    ]


def torch_duplicate(v: View) -> list[Finding]:
    copies = v.dists("torch")
    prefix = v.py.get("prefix")
    imported = v.torch.get("file") if v.torch_ok else None
    outside = bool(imported and prefix and not v.inside(str(imported), str(prefix)))
    if len(copies) < 2 and not outside:
        return []
    where = "; ".join(
        f"torch {c.get('version')} in {c.get('location')}"
        + (" (user site)" if c.get("in_user_site") else "")
        for c in copies
    )
    if outside:
        where += f"; Python imports {imported}, outside the env {prefix}"
    user = [c for c in copies if c.get("in_user_site")]
    if user:
        fix = (
            f"{v.py_cmd} -m pip uninstall -y torch torchvision torchaudio  (removes the ~/.local "
            "copy first; repeat until only the env's copy is left), then `coursekit doctor`"
        )
    else:
        fix = (
            "Remove the other folder from PYTHONPATH (or uninstall that copy), then `coursekit "
            "doctor`"
        )
    return [
        finding("torch-duplicate", "More than one torch is installed for this Python", where, fix)
    ]


def torch_from_pypi(v: View) -> list[Finding]:
    pip = _pip_torch(v)
    p = v.f.platform
    if (
        not pip
        or not p
        or p.os == "macos"
        or p.arch != "x86_64"
        or v.conda_packages.keys() & set(_CONDA_TORCH)
    ):
        return []
    version = str(pip[0].get("version") or "")
    if local_tag(version):
        return []
    op = v.torch.get("cuda_op") or {}
    if (
        p.os == "linux"
        and v.nvidia
        and v.torch_ok
        and v.torch.get("cuda_available")
        and op.get("ok")
    ):
        # PyPI's Linux x86_64 wheels are CUDA builds (torch.__version__ '2.11.0+cu130' while the
        # dist-info says '2.11.0'): when the probe ran a CUDA operation on this machine's GPU the
        # build serves it, and any real mismatch (driver, architecture) has a finding of its own.
        # Seen on a real H200 (tests/data/gpu-h200/): a false warning before this check.
        return []
    detail = (
        f"torch {version} has no +cuXXX/+cpu tag, so it came from PyPI, not download.pytorch.org"
    )
    lightning = v.dists("lightning") or v.dists("pytorch-lightning")
    torch_t, light_t = pip[0].get("mtime"), lightning[0].get("mtime") if lightning else None
    if (
        isinstance(torch_t, (int, float))
        and isinstance(light_t, (int, float))
        and abs(torch_t - light_t) < 600
    ):
        detail += (
            f"; it was installed together with {lightning[0]['name']} {lightning[0]['version']}, "
            "which replaced the course's build (Lightning-AI/pytorch-lightning#18968)"
        )
    return [
        finding(
            "torch-from-pypi",
            f"torch {version} came from PyPI, not the PyTorch index",
            detail,
            reinstall_hint(v),
            fix_action=_REINSTALL,
        )
    ]


def conda_after_pip(v: View) -> list[Finding]:
    history = (v.data.get("conda_meta") or {}).get("history_mtime")
    pip = [float(t) for d in _pip_torch(v) if isinstance(t := d.get("mtime"), (int, float))]
    # An hour of slack: setup's own pip steps run minutes after the env is created.
    if not isinstance(history, (int, float)) or not pip or history <= max(pip) + 3600:
        return []
    return [
        finding(
            "conda-after-pip",
            "conda changed the env after pip installed torch",
            "conda-meta/history is newer than torch's pip install; conda's docs say to recreate "
            "the env rather than run conda after pip",
            "If anything breaks, recreate the env: " + remove_and_setup(v),
        )
    ]


def _companion(v: View, name: str) -> list[Finding]:
    from coursekit.doctor import pairing

    fid = f"{name}-mismatch"
    tv = v.torch_version
    installed = v.dist_version(name)
    result = v.imports(name)
    err = result.get("error") or {}
    message = f"{err.get('type', '')}: {err.get('message', '')}".strip(": ")
    if not installed or not tv:
        return []
    problems = []
    if pairing.matches(name, installed, tv) is False:  # None: the tables do not know: no verdict
        built_for = pairing.torch_line_for(name, installed)
        problems.append(
            f"{name} {installed} is for torch {built_for}, not {tv}"
            if built_for
            else f"{name} {installed} is not built for torch {tv}"
        )
    if local_tag(installed) and local_tag(tv) and local_tag(installed) != local_tag(tv):
        problems.append(f"{name} is +{local_tag(installed)} but torch is +{local_tag(tv)}")
    if v.torch_ok and result and not result.get("ok") and "No module named" not in message:
        problems.append(f"import {name} fails: {message}")
    op_error = result.get("op_error") if result.get("ok") else None
    if v.torch_ok and op_error:
        problems.append(f"{name}'s operators do not load: {str(op_error).strip().splitlines()[-1]}")
    if not problems:
        return []
    return [
        finding(
            fid,
            f"{name} {installed} does not match torch {tv}",
            "; ".join(problems),
            reinstall_hint(v),
            fix_action=_REINSTALL,
        )
    ]


def _missing_companions(v: View) -> list[Finding]:
    # Only when torch itself is there and imports: otherwise torch's own finding says it all.
    if not v.torch_ok or not v.torch_version:
        return []
    missing = [n for n in ("torchvision", "torchaudio") if not v.dist_version(n)]
    if not missing:
        return []
    return [
        finding(
            "companion-missing",
            f"{' and '.join(missing)} not installed beside torch {v.torch_version}",
            f"the env has torch {v.torch_version} but no {', no '.join(missing)}; the course's "
            "notebooks import them, and installing one later without the torch index pulls "
            "another torch from PyPI",
            reinstall_hint(v),
            fix_action=_REINSTALL,
        )
    ]


def companions(v: View) -> list[Finding]:
    return _companion(v, "torchvision") + _companion(v, "torchaudio") + _missing_companions(v)


NUMPY2_FROM = (
    2,
    3,
)  # torch 2.3 is the first release that supports NumPy 2 (pytorch/pytorch#132179)


def numpy(v: View) -> list[Finding]:
    texts = (
        v.torch_texts
        + "\n"
        + "\n".join(
            str((v.imports(n).get("error") or {}).get("message") or "")
            for n in ("numpy", "torchvision", "torchaudio")
        )
    )
    npv = v.dist_version("numpy")
    tv = v.torch_version
    bridge_ok = v.torch.get("numpy_ok")
    old_torch = bool(tv and len(version_tuple(tv)) >= 2 and version_tuple(tv)[:2] < NUMPY2_FROM)
    if old_torch and npv and version_tuple(npv)[:1] >= (2,) and bridge_ok is not True:
        said = next(
            (
                ln.strip()
                for ln in texts.splitlines()
                if any(
                    t in ln
                    for t in (
                        "Numpy is not available",
                        "_ARRAY_API not found",
                        "compiled using NumPy 1.x",
                    )
                )
            ),
            "",
        )
        return [
            finding(
                "numpy-abi",
                f"torch {tv} cannot use NumPy {npv}",
                "torch before 2.3 is built against NumPy 1.x; with NumPy 2 `tensor.numpy()` and "
                "`torch.from_numpy` fail" + (f" ({said})" if said else ""),
                f'{v.py_cmd} -m pip install "numpy<2"  (keeps torch {tv}); or install '
                "the course's "
                f"torch, which supports NumPy 2: {reinstall_hint(v)}",
            )
        ]
    hit = next((t for t in _NUMPY_ABI if t in texts), None)
    if hit:
        line = next(ln.strip() for ln in texts.splitlines() if hit in ln)
        return [
            finding(
                "numpy-abi",
                f"A package built for NumPy 1.x is loaded with NumPy {npv or '2.x'}",
                line,
                f"Upgrade the package named in the error; or pin NumPy 1: {v.py_cmd} -m pip "
                'install "numpy<2"',
            )
        ]
    broken = v.torch_ok and (
        v.imports("numpy")
        and not v.imports("numpy").get("ok")
        or "Failed to initialize NumPy" in texts
        or bridge_ok is False
    )
    if broken:
        err = v.imports("numpy").get("error") or {}
        why = (
            str(err.get("message") or "")
            or str(v.torch.get("numpy_error") or "")
            or _first(texts, "Failed to initialize NumPy")
        )
        return [
            finding(
                "numpy-missing",
                "NumPy is missing or broken in the env",
                _first_line(why),
                f"{v.py_cmd} -m pip install --force-reinstall numpy",
            )
        ]
    return []


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else text


def _first(text: str, needle: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if needle in ln), needle)


def lightning(v: View) -> list[Finding]:
    out = []
    for name in ("lightning", "pytorch-lightning"):
        for copy in v.dists(name):
            version = str(copy.get("version"))
            if version in MALICIOUS_LIGHTNING:
                out.append(
                    finding(
                        "lightning-malware",
                        f"{name} {version} is a malicious release (credential stealer)",
                        f"{name} {version} in {copy.get('location')}: GHSA-w37p-236h-pfx3; "
                        "importing it ran code that steals credentials",
                        f"{v.py_cmd} -m pip uninstall -y {name}; then rotate every "
                        "token, key and password used "
                        f'on this machine; then install "{name}>=2.6.6" (coursekit setup does)',
                    )
                )
            elif (as_version(version) or Version("0")) < LIGHTNING_SAFE:
                out.append(
                    finding(
                        "lightning-old",
                        f"{name} {version} predates the checkpoint security fix",
                        "GHSA-qqmf-gpg7-g8gw (loading an untrusted checkpoint can run code) is "
                        "fixed in 2.6.6",
                        f'{v.py_cmd} -m pip install "{name}>=2.6.6" torch=={v.torch_version}  '
                        "(keeps torch)",
                    )
                )
    return out


def mps_unavailable(v: View) -> list[Finding]:
    p = v.f.platform
    if (
        not p
        or p.os != "macos"
        or p.arch != "arm64"
        or not v.torch_ok
        or v.torch.get("mps_available")
    ):
        return []
    if v.py.get("machine") == "x86_64":
        return []  # macos-rosetta explains it
    mac = p.macos_version or v.py.get("mac_ver") or "unknown"
    mac_v = as_version(mac)
    old = mac_v is not None and mac_v < Version("14")
    detail = f"macOS {mac}; torch {v.torch_version} mps built={v.torch.get('mps_built')}"
    fix = (
        "Update macOS to 14 (Sonoma) or later; until then the labs run on CPU"
        if old
        else "Reinstall torch from PyPI: " + reinstall_hint(v)
    )
    return [
        finding(
            "mps-unavailable",
            "torch cannot use the Apple GPU (MPS)",
            detail + ("; MPS needs macOS 14+ since torch 2.10" if old else ""),
            fix,
        )
    ]


BY_CATEGORY: dict[str, tuple[Rule, ...]] = {
    "torch": (
        torch_owners,
        torch_duplicate,
        torch_from_pypi,
        conda_after_pip,
    ),
    "packages": (
        companions,
        numpy,
        lightning,
    ),
    "platform": (mps_unavailable,),
}
"""This module's rules by the summary category their findings are in: the only list of them
(the category units and :data:`coursekit.doctor.engine.RULES` are derived from it,
issue 16)."""
