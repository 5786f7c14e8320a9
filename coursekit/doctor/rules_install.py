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

from coursekit.doctor.advice import suggest_backend
from coursekit.doctor.rules_env import Rule
from coursekit.doctor.view import Finding, View, finding, local_tag, version_tuple

_REINSTALL = "reinstall-torch"


def _log(v: View) -> str:
    return v.f.pip_log.tail if v.f.pip_log else ""


def _line(text: str, needle: str, limit: int = 200) -> str:
    line = next((ln.strip() for ln in text.splitlines() if needle.lower() in ln.lower()), needle)
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _torch_pins(v: View) -> str:
    """The pins (and index) the planner would install, for a pip line a student pastes."""
    advice = suggest_backend(v)
    if advice is None or not advice.pins:
        return "torch torchvision torchaudio"
    index = f" --index-url {advice.index_url}" if advice.index_url else ""
    return " ".join(advice.pins) + index


def pip_memory_error(v: View) -> list[Finding]:
    text = _log(v)
    if not re.search(r"^\s*MemoryError\b|\bMemoryError\s*$|ERROR: Exception:[\s\S]*MemoryError", text, re.M):
        return []
    return [finding("pip-memory-error", "pip ran out of memory while installing torch",
                    f"{_line(text, 'MemoryError')} in {v.f.pip_log.path if v.f.pip_log else 'the pip log'}; pip "
                    "reads a whole cached wheel (torch is 1-3 GB) into memory (pytorch/pytorch#25164)",
                    f"{v.py_cmd} -m pip install --no-cache-dir {_torch_pins(v)}  (pip then streams the "
                    "download instead of loading it from its cache)")]


def pip_hash_mismatch(v: View) -> list[Finding]:
    text = _log(v)
    if "DO NOT MATCH THE HASHES" not in text and not re.search(r"Expected sha256 \w+\s+Got\s+\w+", text):
        return []
    got = _line(text, "Got") if "Got" in text else ""
    pkg = next((ln.strip().rstrip(":") for ln in text.splitlines() if " from http" in ln and ln.strip().endswith(":")), "")
    detail = "pip's download did not match the hash the index publishes (an interrupted or altered " \
             "download, a proxy, or a corrupt cache entry)"
    if pkg:
        detail += f": {pkg}"
    if got:
        detail += f" ({got})"
    return [finding("pip-hash-mismatch", "pip refused a download whose hash did not match", detail,
                    f"{v.py_cmd} -m pip cache purge\n{v.py_cmd} -m pip install --no-cache-dir {_torch_pins(v)}")]


_LIB = re.compile(r"(lib[A-Za-z0-9_]+)\.so(?:\.[\d*\[\]-]+)*")
_WHEEL_FOR = {"libcudnn": "nvidia-cudnn", "libcublas": "nvidia-cublas", "libcublasLt": "nvidia-cublas",
              "libcusparse": "nvidia-cusparse", "libcusparseLt": "nvidia-cusparselt",
              "libnvJitLink": "nvidia-nvjitlink", "libnccl": "nvidia-nccl", "libcufft": "nvidia-cufft",
              "libcurand": "nvidia-curand", "libcusolver": "nvidia-cusolver", "libcudart": "nvidia-cuda-runtime",
              "libnvrtc": "nvidia-cuda-nvrtc", "libcupti": "nvidia-cuda-cupti", "libnvToolsExt": "nvidia-nvtx",
              "libcufile": "nvidia-cufile", "libnvshmem": "nvidia-nvshmem"}
_SHADOW_DIRS = re.compile(r"cuda|nvidia|/opt/conda/lib|cudnn", re.IGNORECASE)


def _lib_error(v: View) -> tuple[str, str] | None:
    """(library, line) of a CUDA shared-library load error in torch's import error or texts."""
    for line in v.torch_texts.splitlines():
        if ("cannot open shared object file" in line or "undefined symbol" in line
                or "not found in the system path" in line or "version `" in line):
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
    shadow = [d for d in ld.split(":") if d and _SHADOW_DIRS.search(d) and "site-packages/nvidia" not in d]
    undefined = "undefined symbol" in line or "version `" in line
    folder = wheel.replace("nvidia-", "").replace("cuda-runtime", "cuda_runtime").replace("cuda-nvrtc", "cuda_nvrtc")
    if shadow or (undefined and (present or not known)):
        if shadow:
            fix = (f"unset LD_LIBRARY_PATH  (it puts {', '.join(shadow)} before the libraries of the "
                   "nvidia-* wheels); remove the line that sets it from ~/.bashrc, open a new terminal")
            why = f"LD_LIBRARY_PATH={ld} loads another CUDA's {lib} instead of the {wheel} wheel's"
        else:
            fix = (f"a system CUDA (/etc/ld.so.conf.d, /usr/local/cuda) shadows the {wheel} wheel: put the "
                   f"wheel's folder first, export LD_LIBRARY_PATH=\"$({v.py_cmd} -c 'import nvidia.{folder.replace('-', '_')}"
                   f", os; print(os.path.dirname(nvidia.{folder.replace('-', '_')}.__file__))')/lib:$LD_LIBRARY_PATH\"; "
                   "if it persists, " + f"{v.py_cmd} -m pip install --force-reinstall {_torch_pins(v)}")
            why = f"{lib} resolves to a library other than the {wheel} wheel's"
        return [finding("cuda-lib-shadowed", f"Another CUDA's {lib} shadows the one torch brought",
                        f"{why}: {line}", fix)]
    missing = known and not present
    if missing or "cannot open shared object file" in line or "not found in the system path" in line:
        return [finding("cuda-lib-missing", f"torch cannot find {lib} (the {wheel} wheel)",
                        line + (f"; no {wheel}* wheel is installed" if missing else
                                f"; {wheel} is installed but its library did not load"),
                        f"{v.py_cmd} -m pip install {_torch_pins(v)}  (pip installs the nvidia-* wheels torch "
                        "depends on that are missing); if it persists, add --force-reinstall",
                        fix_action=_REINSTALL)]
    return []


def path_not_env(v: View) -> list[Finding]:
    """The env is activated, yet ``python`` or ``pip`` on PATH is another interpreter's."""
    sh, env = v.f.shell, v.f.env
    if sh is None or env is None or not env.exists or env.explicit or not env.prefix or not sh.conda_prefix:
        return []
    if not v.inside(sh.conda_prefix, env.prefix) or not v.inside(env.prefix, sh.conda_prefix):
        return []  # another env (or base) is active: nothing says the student meant this one
    wrong = [(what, path) for what, path, ok in (("python", sh.path_python, sh.path_python_is_env),
                                                 ("pip", sh.path_pip, sh.path_pip_is_env))
             if path and ok is False]
    if not wrong:
        return []
    detail = "; ".join(f"`{w}` runs {p}" for w, p in wrong) + f", although the env {env.prefix} is active"
    return [finding("python-not-env", f"`{wrong[0][0]}` on PATH is not the env's, although the env is active",
                    detail + ": `pip install` puts packages into another Python",
                    f"Use `python -m pip` (never bare `pip`); remove the alias or the PATH entry "
                    f"({wrong[0][1]}) from your shell profile, open a new terminal and `conda activate {env.name}`")]


def uv_project(v: View) -> list[Finding]:
    """A uv project whose torch configuration differs from the env's build: ``uv run`` re-syncs it."""
    proj = v.f.project
    if proj is None or not (proj.torch_requirement or proj.locked_torch):
        return []
    installed = local_tag(v.torch_version)
    pytorch_index = [i for i in proj.indexes if "download.pytorch.org" in i]
    wants = ""
    if proj.torch_backend:
        return []  # uv pip --torch-backend picks by itself: no fixed build to compare
    if proj.locked_torch:
        wants = local_tag(proj.locked_torch.split()[0]) or ("PyPI" if "pypi.org" in proj.locked_torch
                                                           or "(" not in proj.locked_torch else "")
    elif not (proj.torch_sources and pytorch_index):
        wants = "PyPI"
    tags = [re.search(r"/whl/(\w+)", i) for i in pytorch_index]
    index_tags = {m.group(1) for m in tags if m}
    if not wants and index_tags and installed not in index_tags:
        wants = "/".join(sorted(index_tags))
    if not wants or wants == installed:
        return []
    detail = (f"{proj.root} is a uv project that takes torch from {wants} "
              f"({'uv.lock: torch ' + proj.locked_torch if proj.locked_torch else proj.torch_requirement}); "
              f"`uv run` / `uv sync` there replaces the env's torch {v.torch_version or ''} with that build "
              "(astral-sh/uv docs, 'Using uv with PyTorch')")
    tag = installed or "cpu"
    fix = (f"In {v.pure(proj.root) / 'pyproject.toml'} route torch to the PyTorch index: [[tool.uv.index]] name = "
           f"\"pytorch-{tag}\", url = \"https://download.pytorch.org/whl/{tag}\", explicit = true; and "
           f"[tool.uv.sources] torch = [{{ index = \"pytorch-{tag}\" }}]; then `uv lock`. Or run the course's "
           "notebooks from the env, not with `uv run`")
    return [finding("uv-project-resync", "A uv project here would swap torch for another build", detail, fix)]


def torch_stale(v: View) -> list[Finding]:
    """torch older than the course's release line (an installer or an old lock file picked it)."""
    version = v.torch_version
    if not version or not (v.torch_ok or v.dists("torch")):
        return []
    line = course_line()
    have = version_tuple(version)[:2]
    if line is None or len(have) != 2 or have >= line:
        return []
    advice = suggest_backend(v)
    target = f"torch {advice.torch}" if advice else f"torch {line[0]}.{line[1]}"
    course = f"{line[0]}.{line[1]}"
    return [finding("torch-stale", f"torch {version} is older than the course's torch {course}",
                    f"the course needs torch {course} or newer; torch {version} came from an old lock file, "
                    "requirements file or installer",
                    f"{advice.command if advice else 'coursekit setup'}  (installs {target}), or coursekit doctor --fix",
                    fix_action=_REINSTALL)]


def course_line() -> tuple[int, int] | None:
    """The oldest torch line the course accepts: the env spec's ``[torch] version`` pin, else the
    oldest release line in the planner's matrix (``envs/torch-matrix.toml``)."""
    from coursekit.doctor.advice import matrix_or_none

    try:
        from coursekit.setup.plan.envspec import load_spec

        pinned = load_spec().torch_version
    except Exception:  # noqa: BLE001 - a broken spec is setup's error to report
        pinned = None
    if pinned:
        parts = version_tuple(str(pinned))[:2]
        return (parts[0], parts[1]) if len(parts) == 2 else None
    matrix = matrix_or_none()
    if matrix is None or not matrix.releases:
        return None
    return min(r.key for r in matrix.releases)


RULES: tuple[Rule, ...] = (pip_memory_error, pip_hash_mismatch, cuda_libs, path_not_env, uv_project, torch_stale)
