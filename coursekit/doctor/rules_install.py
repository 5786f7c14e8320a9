"""Rules for how torch got (or did not get) installed and loaded (pure): pip's last log
(MemoryError, hash mismatch, no space), shared libraries (``LD_LIBRARY_PATH`` or a system CUDA
shadowing the ``nvidia-*`` wheels, missing ``nvidia-*`` wheels), the shell's ``python``/``pip``,
a uv project around the current folder, and a torch older than the course's release line.

Error texts matched here are the real ones from public reports: pip's ``MemoryError`` while
reading a cached wheel (pytorch/pytorch#25164, #61516), "THESE PACKAGES DO NOT MATCH THE
HASHES FROM THE REQUIREMENTS FILE" (pip's hash check), "[Errno 28] No space left on device",
"undefined symbol: __nvJitLinkComplete_12_4, version libnvJitLink.so.12" with a system CUDA on
``LD_LIBRARY_PATH`` (pytorch/pytorch#134929, #111469, #152783; infiniflow/ragflow#4466),
"libcudnn.so.9: cannot open shared object file", "libcublas.so.*[0-9] not found in the system
path" (torch's own ``_preload_cuda_deps``).
"""

from __future__ import annotations

import re

from coursekit.doctor.planning import per_matrix, suggest_backend
from coursekit.doctor.versions import version_tuple
from coursekit.doctor.view import Finding, Rule, View, finding, local_tag

_REINSTALL = "reinstall-torch"


def _log(v: View) -> str:
    return v.f.pip_log.tail if v.f.pip_log else ""


def _line(text: str, needle: str, limit: int = 200) -> str:
    line = next((ln.strip() for ln in text.splitlines() if needle.lower() in ln.lower()), needle)
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _torch_pins(v: View) -> str:
    """The pins (and index) the planner would install, for a pip line a student pastes."""
    advice = suggest_backend(v)
    if advice is None or not advice.pins:
        return "torch torchvision torchaudio"
    index = f" --index-url {advice.index_url}" if advice.index_url else ""
    return " ".join(advice.pins) + index


def pip_memory_error(v: View) -> list[Finding]:
    text = _log(v)
    if not re.search(
        r"^\s*MemoryError\b|\bMemoryError\s*$|ERROR: Exception:[\s\S]*MemoryError",
        text,
        re.MULTILINE,
    ):
        return []
    return [
        finding(
            "pip-memory-error",
            "pip ran out of memory while installing torch",
            f"{_line(text, 'MemoryError')} in "
            f"{v.f.pip_log.path if v.f.pip_log else 'the pip log'}; pip reads a whole cached "
            "wheel (torch is 1-3 GB) into memory (pytorch/pytorch#25164)",
            f"{v.py_cmd} -m pip install --no-cache-dir {_torch_pins(v)}  (pip then streams the "
            "download instead of loading it from its cache)",
        )
    ]


def pip_hash_mismatch(v: View) -> list[Finding]:
    text = _log(v)
    if "DO NOT MATCH THE HASHES" not in text and not re.search(
        r"Expected sha256 \w+\s+Got\s+\w+", text
    ):
        return []
    got = _line(text, "Got") if "Got" in text else ""
    pkg = next(
        (
            ln.strip().rstrip(":")
            for ln in text.splitlines()
            if " from http" in ln and ln.strip().endswith(":")
        ),
        "",
    )
    detail = (
        "pip's download did not match the hash the index publishes (an interrupted or altered "
        "download, a proxy, or a corrupt cache entry)"
    )
    if pkg:
        detail += f": {pkg}"
    if got:
        detail += f" ({got})"
    return [
        finding(
            "pip-hash-mismatch",
            "pip refused a download whose hash did not match",
            detail,
            f"{v.py_cmd} -m pip cache purge\n{v.py_cmd} -m pip install --no-cache-dir "
            f"{_torch_pins(v)}",
        )
    ]


def windows_long_path(v: View) -> list[Finding]:
    text = _log(v)
    hint = "Windows Long Path support" in text
    long_errno2 = re.search(r"\[(?:Errno 2|WinError 206)\][^\n]*?'([^'\n]{250,})'", text)
    if v.report_os != "windows" or not (hint or long_errno2 or "[WinError 206]" in text):
        return []
    line = (
        _line(text, "Long Path")
        if hint
        else _line(text, "WinError 206" if "WinError 206" in text else "Errno 2")
    )
    return [
        finding(
            "windows-long-path",
            "pip failed on a path longer than Windows allows",
            line,
            "Enable long paths (PowerShell as administrator: New-ItemProperty -Path "
            "'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\FileSystem' -Name LongPathsEnabled "
            "-Value 1 -PropertyType DWORD -Force), then install again; or keep the env in a "
            "short folder (C:\\ml)",
        )
    ]


_LIB = re.compile(r"(lib[A-Za-z0-9_]+)\.so(?:\.[\d*\[\]-]+)*")
_WHEEL_FOR = {
    "libcudnn": "nvidia-cudnn",
    "libcublas": "nvidia-cublas",
    "libcublasLt": "nvidia-cublas",
    "libcusparse": "nvidia-cusparse",
    "libcusparseLt": "nvidia-cusparselt",
    "libnvJitLink": "nvidia-nvjitlink",
    "libnccl": "nvidia-nccl",
    "libcufft": "nvidia-cufft",
    "libcurand": "nvidia-curand",
    "libcusolver": "nvidia-cusolver",
    "libcudart": "nvidia-cuda-runtime",
    "libnvrtc": "nvidia-cuda-nvrtc",
    "libcupti": "nvidia-cuda-cupti",
    "libnvToolsExt": "nvidia-nvtx",
    "libcufile": "nvidia-cufile",
    "libnvshmem": "nvidia-nvshmem",
}
_SHADOW_DIRS = re.compile(r"cuda|nvidia|/opt/conda/lib|cudnn", re.IGNORECASE)


def _lib_error(v: View) -> tuple[str, str] | None:
    """(library, line) of a CUDA shared-library load error in torch's import error or texts."""
    for line in v.torch_texts.splitlines():
        if (
            "cannot open shared object file" in line
            or "undefined symbol" in line
            or "not found in the system path" in line
            or "version `" in line
        ):
            unopened = re.search(
                r"(lib[A-Za-z0-9_]+)\.so[\w.]*: cannot open shared object file", line
            )
            if unopened and unopened.group(1) not in _WHEEL_FOR:
                continue  # libcuda & co. belong to the driver, not to an nvidia-* wheel
            versioned = re.search(r"version `?(lib[A-Za-z0-9_]+)\.so", line)
            if versioned and versioned.group(1) in _WHEEL_FOR:
                return versioned.group(1), line.strip()
            for m in _LIB.finditer(line):
                base = re.sub(r"_(?:cnn|ops|adv|graph|engines)\w*$|_infer$|_train$", "", m.group(1))
                if base in _WHEEL_FOR:
                    return base, line.strip()
    return None


def _wheels(v: View) -> list[str]:
    names = (v.data.get("distributions") or {}).get("nvidia_names") or []
    return [str(n).split()[0] for n in names]


def cuda_libs(v: View) -> list[Finding]:
    """A CUDA library of the nvidia-* wheels fails to load: shadowed or missing."""
    if v.report_os != "linux":
        return []
    hit = _lib_error(v)
    if hit is None:
        return []
    lib, line = hit
    wheel = _WHEEL_FOR[lib]
    have = _wheels(v)
    known = bool((v.data.get("distributions") or {}).get("nvidia_names") is not None)
    present = any(n.startswith(wheel) for n in have)
    ld = str((v.data.get("env") or {}).get("LD_LIBRARY_PATH") or "")
    shadow = [
        d for d in ld.split(":") if d and _SHADOW_DIRS.search(d) and "site-packages/nvidia" not in d
    ]
    undefined = "undefined symbol" in line or "version `" in line
    folder = (
        wheel.replace("nvidia-", "")
        .replace("cuda-runtime", "cuda_runtime")
        .replace("cuda-nvrtc", "cuda_nvrtc")
    )
    if shadow or (undefined and (present or not known)):
        if shadow:
            fix = (
                f"unset LD_LIBRARY_PATH  (it puts {', '.join(shadow)} before the libraries of the "
                "nvidia-* wheels); remove the line that sets it from ~/.bashrc, open a new terminal"
            )
            why = f"LD_LIBRARY_PATH={ld} loads another CUDA's {lib} instead of the {wheel} wheel's"
        else:
            nv_module = folder.replace("-", "_")
            fix = (
                f"a system CUDA (/etc/ld.so.conf.d, /usr/local/cuda) shadows the {wheel} wheel: "
                f"put the wheel's folder first, export LD_LIBRARY_PATH=\"$({v.py_cmd} -c 'import "
                f"nvidia.{nv_module}, os; "
                f"print(os.path.dirname(nvidia.{nv_module}.__file__))')/lib:$LD_LIBRARY_PATH\"; "
                "if it persists, " + f"{v.py_cmd} -m pip install --force-reinstall {_torch_pins(v)}"
            )
            why = f"{lib} resolves to a library other than the {wheel} wheel's"
        return [
            finding(
                "cuda-lib-shadowed",
                f"Another CUDA's {lib} shadows the one torch brought",
                f"{why}: {line}",
                fix,
            )
        ]
    missing = known and not present
    if (
        missing
        or "cannot open shared object file" in line
        or "not found in the system path" in line
    ):
        return [
            finding(
                "cuda-lib-missing",
                f"torch cannot find {lib} (the {wheel} wheel)",
                line
                + (
                    f"; no {wheel}* wheel is installed"
                    if missing
                    else f"; {wheel} is installed but its library did not load"
                ),
                f"{v.py_cmd} -m pip install {_torch_pins(v)}  (pip installs the nvidia-* wheels "
                "torch depends on that are missing); if it persists, add --force-reinstall",
                fix_action=_REINSTALL,
            )
        ]
    return []


def python_not_env(v: View) -> list[Finding]:
    """``python`` or ``pip`` on PATH is another interpreter's: what a student types runs
    elsewhere."""
    sh, env = v.f.shell, v.f.env
    if sh is None or env is None or not env.exists or env.explicit or not env.prefix:
        return []
    wrong = [
        (what, path)
        for what, path, ok in (
            ("python", sh.path_python, sh.path_python_is_env),
            ("pip", sh.path_pip, sh.path_pip_is_env),
        )
        if path and ok is False
    ]
    if not wrong:
        return []
    active = bool(
        sh.conda_prefix
        and v.inside(sh.conda_prefix, env.prefix)
        and v.inside(env.prefix, sh.conda_prefix)
    )
    missing = not v.torch_ok and not v.dists("torch") and v.probe_ok
    detail = "; ".join(f"`{w}` runs {p}" for w, p in wrong)
    if active:
        detail += (
            f", although the env {env.prefix} is active: `pip install` puts packages into "
            "another Python"
        )
        fix = (
            "Use `python -m pip` (never bare `pip`); remove the alias or the PATH entry "
            f"({wrong[0][1]}) from your shell profile, open a new terminal and `conda activate "
            f"{env.name}`"
        )
    else:
        detail += f", not the course env's ({env.prefix}), which is not active in this shell"
        fix = (
            f"`conda activate {env.name}` in every new terminal (or run the env's Python by its "
            f"path: {v.env_python}); install with `python -m pip`, never a bare `pip`"
        )
    if missing:
        detail += "; that is where `pip install torch` went, not into the env"
    return [
        finding(
            "python-not-env",
            f"`{wrong[0][0]}` on PATH is not the course env's",
            detail,
            fix,
            severity="error" if missing else None,
        )
    ]


def _extras(sources: tuple[str, ...]) -> dict[str, str]:
    """``{"cu128": "pytorch-cu128"}`` from ``("index=pytorch-cu128, extra=cu128", ...)``."""
    out = {}
    for src in sources:
        fields = dict(part.split("=", 1) for part in re.split(r"[,\s]+", src) if "=" in part)
        if "extra" in fields:
            out[fields["extra"]] = fields.get("index", "")
    return out


def uv_project(v: View) -> list[Finding]:
    """A uv project whose torch configuration differs from the env's build: ``uv run`` re-syncs
    it."""
    proj = v.f.project
    if proj is None or not (proj.torch_requirement or proj.locked_torch or proj.torch_sources):
        return []
    installed = local_tag(v.torch_version)
    pytorch_index = [i for i in proj.indexes if "download.pytorch.org" in i]
    extras = _extras(proj.torch_sources)
    wants = ""
    note = ""
    if extras and len(extras) == len(proj.torch_sources):
        # Every torch source is gated by an extra: `uv run`/`uv sync` without `--extra` takes torch
        # from the default index (PyPI: CPU-only on Windows). [tool.uv.pip] torch-backend applies
        # to `uv pip` only, not to `uv sync` (astral-sh/uv#17236).
        wants = "PyPI (no --extra selected)"
        if proj.torch_backend:
            note = (
                f"; [tool.uv.pip] torch-backend = {proj.torch_backend} applies to `uv pip` only "
                "(astral-sh/uv#17236)"
            )
    elif proj.locked_torch:
        wants = local_tag(proj.locked_torch.split()[0]) or (
            "PyPI" if "pypi.org" in proj.locked_torch or "(" not in proj.locked_torch else ""
        )
    elif proj.torch_backend:
        return []  # no lock and uv pip's own detection: no fixed build to compare
    elif not (proj.torch_sources and pytorch_index):
        wants = "PyPI"
    tags = [re.search(r"/whl/(\w+)", i) for i in pytorch_index]
    index_tags = {m.group(1) for m in tags if m}
    if not wants and index_tags and installed not in index_tags:
        wants = "/".join(sorted(index_tags))
    if not wants or wants == installed:
        return []
    root = v.pure(proj.root)
    source = (
        "uv.lock: torch " + proj.locked_torch
        if proj.locked_torch
        else proj.torch_requirement or "pyproject.toml"
    )
    detail = (
        f"{root} is a uv project that takes torch from {wants} ({source}); "
        f"`uv run` / `uv sync` there replaces torch {v.torch_version or ''} with that build{note}"
    )
    advice = suggest_backend(v)
    tag = advice.backend if advice and advice.backend not in ("pypi",) else (installed or "cpu")
    if extras:
        pick = (
            tag
            if tag in extras
            else next((e for e in extras if e.startswith("cu")), next(iter(extras)))
        )
        fix = (
            f"Always select the build: `uv sync --extra {pick}` and `uv run --extra {pick} ...` "
            f"in {root} (or set default extras there); then check with `coursekit doctor`"
        )
    else:
        fix = (
            f"In {root / 'pyproject.toml'} route torch to the PyTorch index: "
            "[[tool.uv.index]] name = "
            f'"pytorch-{tag}", url = "https://download.pytorch.org/whl/{tag}", explicit '
            "= true; and "
            f'[tool.uv.sources] torch = [{{ index = "pytorch-{tag}" }}]; then `uv lock`. '
            "Or run the course's "
            "notebooks from the env, not with `uv run`"
        )
    # An error when the env's torch is already the wrong build that uv put there.
    uv_made = any(d.get("installer") == "uv" for d in v.dists("torch"))
    wrong_now = (
        uv_made and v.torch_ok and not v.cuda_build and bool(v.nvidia) and v.report_os != "macos"
    )
    return [
        finding(
            "uv-project-resync",
            "A uv project here swaps torch for another build",
            detail,
            fix,
            severity="error" if wrong_now else None,
        )
    ]


def torch_stale(v: View) -> list[Finding]:
    """torch older than the course's release line (an installer or an old lock file picked it)."""
    version = v.torch_version
    if not version or not (v.torch_ok or v.dists("torch")):
        return []
    line = course_line(v)
    have = version_tuple(version)[:2]
    if line is None or len(have) != 2 or have >= line:
        return []
    advice = suggest_backend(v)
    target = f"torch {advice.torch}" if advice else f"torch {line[0]}.{line[1]}"
    course = f"{line[0]}.{line[1]}"
    return [
        finding(
            "torch-stale",
            f"torch {version} is older than the course's torch {course}",
            f"the course needs torch {course} or newer; torch {version} came from an old lock "
            "file, requirements file or installer",
            f"{advice.command if advice else 'coursekit setup'}  (installs {target}), or "
            "coursekit doctor --fix",
            fix_action=_REINSTALL,
        )
    ]


def course_line(v: View) -> tuple[int, int] | None:
    """The oldest torch line the course accepts: the env spec's ``[torch] version`` pin, else the
    oldest release line in the planner's matrix (``envs/torch-matrix.toml``)."""
    spec = v.planner.spec
    pinned = spec.torch_version if spec is not None else None
    if pinned:
        parts = version_tuple(str(pinned))[:2]
        return (parts[0], parts[1]) if len(parts) == 2 else None
    matrix = v.planner.matrix
    if matrix is None or not matrix.releases:
        return None
    oldest: tuple[int, int] = per_matrix(
        matrix, ("oldest_line",), lambda: min(r.key for r in matrix.releases)
    )
    return oldest


BY_CATEGORY: dict[str, tuple[Rule, ...]] = {
    "pip": (
        pip_memory_error,
        pip_hash_mismatch,
        windows_long_path,
    ),
    "torch": (
        cuda_libs,
        torch_stale,
    ),
    "env": (
        python_not_env,
        uv_project,
    ),
}
"""This module's rules by the summary category their findings are in: the only list of them
(the category units and :data:`coursekit.doctor.engine.RULES` are derived from it,
issue 16)."""
