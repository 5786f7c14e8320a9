"""The finding catalogue: every finding ``coursekit doctor`` can report, with a stable id.

Ids are part of the ``--json`` contract (an instructor's scripts key on them): never
rename one; retire it instead. README.md mirrors this table (a test checks that every id
is documented there). ``severity`` is the default; a rule may lower it with a reason
(e.g. a broken driver is an error only when a CUDA build needs it). ``unless`` lists
more specific findings that, when present, make this one redundant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ERROR: Final = "error"
WARNING: Final = "warning"
INFO: Final = "info"
SEVERITIES: Final = (ERROR, WARNING, INFO)

CATEGORIES: Final = {
    "platform": "Platform",
    "gpu": "GPU and driver",
    "env": "Course environment",
    "torch": "PyTorch",
    "packages": "torchvision, torchaudio, NumPy, Lightning",
    "jupyter": "Jupyter kernels",
    "pip": "pip configuration",
    "resources": "Disk and memory",
}
"""Categories in display order (one status line each)."""

CHECK_CATEGORY: Final = {
    "platform": "platform",
    "gpu": "gpu",
    "memory": "resources",
    "disk": "resources",
    "env": "env",
    "probe": "torch",
    "kernels": "jupyter",
    "shell": "env",
    "project": "env",
    "pip_log": "pip",
    "release_check": "platform",
}
"""Which category a crashed or timed-out check is shown under."""


@dataclass(frozen=True)
class Entry:
    """One catalogue entry."""

    id: str
    category: str
    severity: str
    summary: str
    source: str = ""
    unless: tuple[str, ...] = ()
    blocks: bool = False
    """The labs cannot work until it is fixed (a missing kernel, pip going to another Python, a
    stale torch), as opposed to advice (a conda-owned torch, a Python other than the course's):
    among findings of one severity, blocking ones are listed first."""


_E = Entry
CATALOGUE: Final[tuple[Entry, ...]] = (
    # --- the doctor itself -------------------------------------------------------------------
    _E(
        "check-failed",
        "platform",
        WARNING,
        "A check crashed or ran past its time limit; its facts are missing (the others still ran). "
        "Shown under the failed check's category.",
        "flutter doctor's crash validator; envs/SOURCES.md P2",
    ),
    _E(
        "rule-failed",
        "platform",
        WARNING,
        "A diagnosis rule crashed on these facts (a malformed report, or a coursekit bug); the "
        "other rules still ran.",
    ),
    # --- course environment --------------------------------------------------------------------
    _E(
        "env-missing",
        "env",
        ERROR,
        "The course env 'pt' does not exist (setup has not run, or ran with another tool).",
    ),
    _E(
        "env-python-broken",
        "env",
        ERROR,
        "The env exists but its Python is missing, crashes or prints nothing usable.",
    ),
    _E(
        "env-python-version",
        "env",
        WARNING,
        "The env's Python is not the course's version (3.12).",
        "envs/course.toml",
    ),
    _E(
        "probe-timeout",
        "env",
        ERROR,
        "The env's Python did not finish the probe in time (a hang at start-up).",
    ),
    # --- platform ------------------------------------------------------------------------------
    _E(
        "python-32bit",
        "platform",
        ERROR,
        "The env's Python is 32-bit: PyTorch publishes 64-bit wheels only.",
        "envs/SOURCES.md W2",
    ),
    _E(
        "python-no-torch-wheel",
        "platform",
        ERROR,
        "No PyTorch wheel exists for the env's Python version.",
        "envs/SOURCES.md W2",
        unless=("pip-memory-error", "pip-hash-mismatch"),
    ),
    _E(
        "platform-no-torch-wheel",
        "platform",
        ERROR,
        "No PyTorch build coursekit knows exists for this OS and CPU (Windows on ARM64, 32-bit "
        "ARM, ...): pip finds no torch.",
        "envs/torch-matrix.toml platforms; pytorch/pytorch#133804",
    ),
    _E(
        "gpu-line-ending",
        "gpu",
        INFO,
        "The GPU is served only by a CUDA line that PyTorch plans to drop (cu126: Maxwell, Pascal, "
        "Volta): it works today; pin the course's torch to keep a working release.",
        "envs/torch-matrix.toml eol_note; RFC pytorch/pytorch#190385",
    ),
    _E(
        "glibc-too-old",
        "platform",
        ERROR,
        "A Linux whose C library is older than every torch wheel's manylinux baseline (glibc 2.28 "
        "since torch 2.7: Ubuntu 18.04, CentOS 7), or musl (Alpine): pip finds no torch.",
        "envs/torch-matrix.toml glibc; pytorch/pytorch#123649, #126551",
    ),
    _E(
        "python-ms-store",
        "platform",
        WARNING,
        "The env's Python is the Microsoft Store's: its sandboxed folder under "
        "AppData\\Local\\Packages makes torch's paths exceed Windows' 260-character limit "
        "([Errno 2] during pip install).",
        "pytorch/pytorch#23823",
    ),
    _E(
        "macos-rosetta",
        "platform",
        ERROR,
        "On Apple silicon, the env's Python is x86_64 (Rosetta): no PyTorch wheels after 2.2, "
        "no MPS.",
        "pytorch/pytorch#114602, #131766",
    ),
    _E(
        "macos-intel",
        "platform",
        WARNING,
        "Intel Mac: PyTorch 2.2 was the last release for macOS x86_64.",
        "pytorch/pytorch#114602",
    ),
    _E(
        "mps-unavailable",
        "platform",
        WARNING,
        "macOS arm64 but torch cannot use the GPU (MPS): macOS too old or torch built without MPS.",
        "pytorch/pytorch#164943, #177819; RELEASE.md (MPS on macOS 14+)",
    ),
    _E(
        "torch-newer-release",
        "platform",
        INFO,
        "Online: the PyTorch index lists a stable torch newer than every release coursekit's data "
        "(envs/torch-matrix.toml) knows; setup still plans the releases it knows.",
        "the index's torch page (PEP 691/503); docs/doctor.md#the-release-check",
    ),
    _E(
        "wsl-libcuda",
        "gpu",
        ERROR,
        "WSL: the CUDA build cannot load libcuda from /usr/lib/wsl/lib.",
        "microsoft/WSL#8587, #8794; bitsandbytes#337",
        unless=("driver-too-old", "driver-missing"),
    ),
    _E(
        "windows-dll-error",
        "torch",
        ERROR,
        "Windows could not load one of torch's DLLs ([WinError 126], fbgemm.dll, c10.dll).",
        "pytorch/pytorch#131662 and similar",
    ),
    # --- GPU and driver ------------------------------------------------------------------------
    _E(
        "no-gpu",
        "gpu",
        INFO,
        "No NVIDIA or AMD GPU: the CPU build is the right one, and every lab runs on CPU.",
        unless=("driver-missing",),
    ),
    _E(
        "driver-missing",
        "gpu",
        ERROR,
        "No NVIDIA driver, told apart from no GPU: torch's 'Found no NVIDIA driver on your "
        "system' or NVIDIA devices on the PCI bus with no driver; the fix installs the driver "
        "(the CPU build only if there is no NVIDIA GPU).",
        "torch/cuda/__init__.py; envs/SOURCES.md P5.10",
        unless=("driver-not-loaded", "driver-library-mismatch"),
        blocks=True,
    ),
    _E(
        "wsl-linux-driver",
        "gpu",
        WARNING,
        "WSL: an nvidia-smi outside /usr/lib/wsl/lib (a Linux driver or nvidia-utils installed "
        "inside WSL) shadows the Windows driver; an error when it fails.",
        "microsoft/WSL#11888, #5265; docs.nvidia.com/cuda/wsl-user-guide",
    ),
    _E(
        "driver-not-loaded",
        "gpu",
        ERROR,
        "nvidia-smi cannot talk to the NVIDIA driver (not installed, not loaded, or a broken "
        "Linux driver inside WSL).",
        "microsoft/WSL#11888; envs/SOURCES.md P5.10",
    ),
    _E(
        "driver-library-mismatch",
        "gpu",
        ERROR,
        "The NVIDIA driver was updated but the old kernel module is still loaded.",
        "greshake/i3status-rust#771; envs/SOURCES.md P5.10",
    ),
    _E(
        "nvidia-smi-failed",
        "gpu",
        WARNING,
        "nvidia-smi hung or failed for another reason; GPU facts are incomplete.",
        unless=("driver-not-loaded", "driver-library-mismatch"),
    ),
    _E(
        "driver-too-old",
        "gpu",
        ERROR,
        "The NVIDIA driver is older than the minimum for the installed torch's CUDA version.",
        "NVIDIA CUDA Toolkit Release Notes Tables 2 and 3 (CUDA 8.0-13.x); "
        "envs/nvidia-drivers.toml",
        unless=("jetson-sbsa-wheel",),
    ),
    _E(
        "gpu-arch-unsupported",
        "gpu",
        ERROR,
        "The installed torch has no kernels for this GPU's compute capability "
        "('sm_120 is not compatible', 'no kernel image is available').",
        "envs/SOURCES.md W3, W10; astral-sh/uv#14742",
    ),
    _E(
        "cpu-torch-on-gpu",
        "torch",
        ERROR,
        "torch is a CPU build on a machine with a usable NVIDIA GPU ('Torch not compiled with "
        "CUDA enabled').",
        "pytorch/pytorch#51858; Lightning-AI/pytorch-lightning#18968",
    ),
    _E("cuda-hidden", "gpu", WARNING, "CUDA_VISIBLE_DEVICES hides the GPU from torch."),
    _E(
        "cuda-op-failed",
        "gpu",
        ERROR,
        "torch.cuda.is_available() is True but a real CUDA operation failed.",
        unless=("gpu-arch-unsupported", "driver-too-old", "cuda-lib-shadowed", "cuda-lib-missing"),
    ),
    _E(
        "cudnn-failed",
        "gpu",
        ERROR,
        "A real cuDNN convolution failed although a matmul worked (CNN labs fail).",
        "microsoft/WSL#8587 ('Could not load library libcudnn_cnn_infer.so.8')",
        unless=(
            "wsl-libcuda",
            "cuda-lib-shadowed",
            "cuda-lib-missing",
            "gpu-arch-unsupported",
            "driver-too-old",
            "cuda-op-failed",
        ),
    ),
    _E(
        "cuda-unavailable",
        "gpu",
        ERROR,
        "A CUDA build and an NVIDIA GPU, but torch.cuda.is_available() is False.",
        unless=(
            "driver-too-old",
            "cuda-hidden",
            "wsl-libcuda",
            "driver-not-loaded",
            "driver-library-mismatch",
            "gpu-arch-unsupported",
            "jetson-sbsa-wheel",
            "driver-missing",
            "cuda-lib-shadowed",
            "cuda-lib-missing",
        ),
    ),
    _E(
        "jetson-sbsa-wheel",
        "gpu",
        ERROR,
        "NVIDIA Jetson with PyTorch's aarch64 CUDA wheel: an SBSA build that does not run on L4T.",
        "bitsandbytes-foundation/bitsandbytes#1941, #1939; envs/SOURCES.md W5",
    ),
    _E(
        "cuda-build-without-gpu",
        "gpu",
        INFO,
        "A CUDA build of torch on a machine without an NVIDIA GPU: it works on CPU but wastes "
        "gigabytes.",
        unless=(
            "driver-not-loaded",
            "driver-library-mismatch",
            "nvidia-smi-failed",
            "driver-missing",
        ),
    ),
    # --- PyTorch -------------------------------------------------------------------------------
    _E(
        "torch-missing",
        "torch",
        ERROR,
        "torch is not installed in the env.",
        unless=(
            "python-32bit",
            "python-no-torch-wheel",
            "macos-rosetta",
            "macos-intel",
            "pip-memory-error",
            "pip-hash-mismatch",
            "platform-no-torch-wheel",
            "glibc-too-old",
            "python-ms-store",
            "python-not-env",
            "windows-long-path",
        ),
    ),
    _E(
        "torch-import-failed",
        "torch",
        ERROR,
        "import torch raises an error.",
        unless=("windows-dll-error", "numpy-abi", "cuda-lib-shadowed", "cuda-lib-missing"),
    ),
    _E(
        "cuda-lib-shadowed",
        "torch",
        ERROR,
        "A CUDA library torch's nvidia-* wheels bring is shadowed by another CUDA "
        "(LD_LIBRARY_PATH, a system CUDA): 'undefined symbol: __nvJitLinkComplete_12_4, version "
        "libnvJitLink.so.12'.",
        "pytorch/pytorch#134929, #111469, #152783; infiniflow/ragflow#4466",
    ),
    _E(
        "cuda-lib-missing",
        "torch",
        ERROR,
        "A CUDA library torch needs cannot be found ('libcudnn.so.9: cannot open shared object "
        "file', 'libcublas.so.*[0-9] not found in the system path'): its nvidia-* wheel is "
        "missing.",
        "torch/__init__.py _preload_cuda_deps",
        unless=("cuda-lib-shadowed", "wsl-libcuda"),
    ),
    _E(
        "torch-stale",
        "torch",
        WARNING,
        "torch is older than the course's release line (an old lock file, requirements file or "
        "installer picked it).",
        "envs/course.toml [torch]; envs/torch-matrix.toml",
    ),
    _E(
        "torch-import-crashed",
        "torch",
        ERROR,
        "import torch kills the Python process (segfault, illegal instruction, abort).",
        unless=("wsl-libcuda",),
    ),
    _E("torch-import-timeout", "torch", ERROR, "import torch (or a CUDA call) hangs."),
    _E(
        "torch-conda-and-pip",
        "torch",
        ERROR,
        "Two owners of torch: conda-forge pytorch/libtorch and a pip torch in the same env.",
        "envs/SOURCES.md P5.1; pytorch/pytorch#51858; nv-morpheus/Morpheus#1943",
    ),
    _E(
        "torch-from-conda",
        "torch",
        WARNING,
        "torch comes from conda-forge (pulled in by lightning?), not from the PyTorch wheel index.",
        "envs/SOURCES.md P5.1",
        unless=("torch-conda-and-pip",),
    ),
    _E(
        "torch-duplicate",
        "torch",
        ERROR,
        "More than one torch is importable (user site ~/.local, PYTHONPATH), or the one imported "
        "is not the env's.",
        "envs/SOURCES.md P5.5",
    ),
    _E(
        "torch-from-pypi",
        "torch",
        WARNING,
        "torch came from PyPI (no +cuXXX/+cpu tag): pip's 'Requirement already satisfied' or an "
        "add-on such as lightning replaced the course's build.",
        "envs/SOURCES.md P5.2; Lightning-AI/pytorch-lightning#18968",
        unless=("torch-stale",),
    ),
    _E(
        "conda-after-pip",
        "torch",
        INFO,
        "conda changed the env after pip installed torch: conda does not know pip's packages and "
        "can break them.",
        "conda docs 'Using pip in an environment'; envs/SOURCES.md P5.5",
    ),
    # --- companion packages --------------------------------------------------------------------
    _E(
        "torchvision-mismatch",
        "packages",
        ERROR,
        "torchvision does not match torch (version pairing, +cpu vs +cuXXX, 'operator "
        "torchvision::nms does not exist', undefined symbols).",
        "envs/SOURCES.md W4",
    ),
    _E(
        "torchaudio-mismatch",
        "packages",
        ERROR,
        "torchaudio does not match torch (version pairing, build tag, library load errors).",
        "envs/SOURCES.md W4",
    ),
    _E(
        "companion-missing",
        "packages",
        WARNING,
        "torch is installed but torchvision or torchaudio, which the course installs with it, "
        "is not.",
        "envs/course.toml [pip] packages",
    ),
    _E(
        "numpy-abi",
        "packages",
        ERROR,
        "An extension built for NumPy 1.x is loaded with NumPy 2.x ('compiled using NumPy 1.x "
        "cannot be run in NumPy 2.x'), torch older than 2.3 with NumPy 2 included ('Numpy is not "
        "available', '_ARRAY_API not found').",
        "numpy 2.0 migration guide; pytorch/pytorch#132179 "
        "(2.3 is the first torch that supports NumPy 2)",
    ),
    _E(
        "numpy-missing",
        "packages",
        WARNING,
        "NumPy is missing or broken: torch warns 'Failed to initialize NumPy', or the probe's "
        "torch.from_numpy fails.",
        unless=("numpy-abi",),
        blocks=True,
    ),
    _E(
        "lightning-malware",
        "packages",
        ERROR,
        "lightning/pytorch-lightning 2.6.2 or 2.6.3: malicious releases on PyPI (credential "
        "stealer on import).",
        "GHSA-w37p-236h-pfx3; Lightning-AI/pytorch-lightning#21691",
    ),
    _E(
        "lightning-old",
        "packages",
        INFO,
        "lightning older than 2.6.6 (checkpoint code-execution advisory).",
        "GHSA-qqmf-gpg7-g8gw",
        unless=("lightning-malware",),
    ),
    # --- Jupyter -------------------------------------------------------------------------------
    _E(
        "python-not-env",
        "env",
        WARNING,
        "`python` or `pip` on PATH belongs to another Python (the env not active, or shadowed): "
        "what a student types runs elsewhere and `pip install` goes there; an error when that "
        "is why torch is missing.",
        "jupyter troubleshoot; envs/SOURCES.md P2",
        blocks=True,
    ),
    _E(
        "uv-project-resync",
        "env",
        WARNING,
        "A uv project around the current folder takes torch from another index (or PyPI): `uv run` "
        "re-syncs torch to that build (an error when it already put a CPU torch on a GPU machine).",
        "astral-sh/uv docs/guides/integration/pytorch.md; astral-sh/uv#17236",
        blocks=True,
    ),
    _E(
        "kernel-missing",
        "jupyter",
        WARNING,
        "No Jupyter kernel named after the env: notebooks cannot pick the course's Python.",
        "envs/SOURCES.md P5.8",
        blocks=True,
    ),
    _E(
        "kernel-wrong-python",
        "jupyter",
        ERROR,
        "The course kernel runs another interpreter, or one that no longer exists.",
        "envs/SOURCES.md P5.8; jupyter/notebook#4629",
    ),
    _E(
        "kernel-shadowing",
        "jupyter",
        WARNING,
        "A user-level 'python3' kernel points at another Python and shadows the env's own "
        "('No module named torch' in notebooks).",
        "envs/SOURCES.md P5.8; pytorch/pytorch#16103",
        blocks=True,
    ),
    _E(
        "kernel-broken",
        "jupyter",
        WARNING,
        "A registered kernel's interpreter does not exist any more.",
    ),
    # --- pip configuration ---------------------------------------------------------------------
    _E(
        "pip-memory-error",
        "pip",
        ERROR,
        "pip's last install died with MemoryError: it reads a whole cached wheel into memory; "
        "`--no-cache-dir` streams it.",
        "pytorch/pytorch#25164, #61516",
    ),
    _E(
        "pip-hash-mismatch",
        "pip",
        ERROR,
        "pip's last install refused a download whose hash did not match (interrupted download, "
        "proxy, corrupt cache).",
        "pip's hash-checking mode",
    ),
    _E(
        "windows-long-path",
        "pip",
        ERROR,
        "pip's last install failed on a path longer than Windows' 260 characters (long paths not "
        "enabled): '[Errno 2] No such file or directory', '[WinError 206]'.",
        "pytorch/pytorch#23823; pip's 'Windows Long Path support' hint",
    ),
    _E(
        "pip-extra-index",
        "pip",
        WARNING,
        "pip is configured with an extra index: it mixes indexes and takes the highest version "
        "(dependency confusion).",
        "envs/SOURCES.md P5.6; CVE-2018-20225; torchtriton Dec 2022",
    ),
    # --- disk and memory -----------------------------------------------------------------------
    _E(
        "disk-low",
        "resources",
        WARNING,
        "Little free disk space where the env or pip's cache lives (a CUDA torch needs ~6 GB).",
    ),
    _E("ram-low", "resources", WARNING, "Less than 6 GiB of RAM: labs will be slow or fail."),
)

BY_ID: Final = {e.id: e for e in CATALOGUE}


def entry(finding_id: str) -> Entry:
    """The catalogue entry for ``finding_id`` (KeyError for an unknown id: a coursekit bug)."""
    return BY_ID[finding_id]
