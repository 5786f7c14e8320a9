"""Which PyTorch build fits this machine: a pure function over the matrix and the host.

A variant qualifies only if it passes three gates (envs/SOURCES.md W9 rule 2):

1. **driver**: the NVIDIA driver meets the variant's CUDA minimum (NVIDIA Table 2, minor-version
   compatibility; Windows numbers on Windows and WSL, whose driver is the Windows one);
2. **architecture**: every GPU's compute capability has a cubin of the same major with a minor
   not above it, or PTX for a compute capability not above it (AMD: the gfx is in the list);
3. **publishing**: the release publishes that variant for this OS, CPU architecture and Python,
   for this machine's C library (glibc at least the wheels' manylinux baseline; musl: none), and
   its index carries every companion the course spec installs (no cu132 torchaudio).

Among qualifying variants: full driver support (NVIDIA Table 3) first, then the release's PyPI
default, then stable over experimental, then the newest CUDA. Without a pin, the newest release
that can serve every GPU wins (Pascal keeps cu126 until it is dropped). A GPU machine never gets
a CPU build silently: the warning says why and what would fix it. An explicit ``--backend``
always wins, with a warning when a gate fails.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from packaging.version import Version

from coursekit.errors import EnvironmentProblem, SpecError, UsageError
from coursekit.host import HostInfo
from coursekit.setup.plan.gates import (
    Verdict,
    amd_gpus,
    best_cuda,
    companion_failure,
    coverage,
    default_cuda,
    driver_fix,
    driver_os,
    glibc_failure,
    judge_cuda,
    lowest_driver,
    nvidia_gpus,
    platform_key,
    rank,
    sm,
    why_not,
)
from coursekit.setup.plan.matrix import (
    COMPANIONS,
    Matrix,
    Release,
    TorchVersion,
    Variant,
    parse_cc,
    parse_driver,
)

__all__ = [
    "NoTorchForPlatform",
    "Selection",
    "Verdict",
    "candidate_releases",
    "coverage",
    "platform_key",
    "select_torch",
]


class NoTorchForPlatform(EnvironmentProblem):
    """No PyTorch release in the matrix publishes wheels for this OS/architecture/Python (exit
    3)."""


@dataclass(frozen=True)
class Selection:
    """The chosen build and the reasons for it."""

    release: Release
    version: TorchVersion
    variant: Variant
    platform: str
    reasons: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def gpu(self) -> bool:
        return self.variant.kind in ("cuda", "rocm", "pypi")


def _installable(release: Release, host: HostInfo) -> bool:
    """Some variant of ``release`` publishes wheels this machine's platform and C library take."""
    return any(
        glibc_failure(release, v, host) is None for v in release.variants_for(platform_key(host))
    )


def _glibc_problem(matrix: Matrix, host: HostInfo) -> NoTorchForPlatform:
    if host.glibc == "musl":
        what = "this Linux uses musl (Alpine), and PyTorch publishes Linux wheels for glibc only"
    else:
        need = min((r.glibc for r in matrix.releases if r.glibc), key=Version, default="2.28")
        what = (
            f"this Linux has glibc {host.glibc}; every torch release from "
            f"{matrix.releases[0].line} needs glibc >= {need} "
            f"(manylinux_{need.replace('.', '_')} wheels: pytorch/pytorch#123649)"
        )
    return NoTorchForPlatform(
        f"no PyTorch wheel installs here: {what}.",
        "Use a newer OS (Ubuntu 20.04 or later, Debian 10 or later, RHEL 8 or later), a "
        "container with one, WSL with a current Ubuntu on Windows, or a hosted notebook such as "
        "Google Colab.",
    )


def candidate_releases(
    matrix: Matrix, host: HostInfo, python: str, pinned: str | None
) -> list[tuple[Release, TorchVersion]]:
    """Releases to try, newest first: just the pinned one, or every one for this platform and
    Python."""
    platform = platform_key(host)
    if pinned:
        release, version = matrix.resolve(pinned)
        if python not in release.python:
            raise UsageError(
                f"torch {version.torch} has no wheels for Python {python} "
                f"(it supports {', '.join(release.python)}).",
                "Choose another --torch, or change env.python in the env spec.",
            )
        if not release.variants_for(platform):
            raise NoTorchForPlatform(
                f"torch {version.torch} publishes no wheels for {platform}.", _platform_fix(host)
            )
        if not _installable(release, host):
            raise _glibc_problem(matrix, host)
        return [(release, version)]
    found = [
        (r, r.latest)
        for r in reversed(matrix.releases)
        if python in r.python and r.variants_for(platform)
    ]
    if not found and not any(python in r.python for r in matrix.releases):
        every = sorted({p for r in matrix.releases for p in r.python}, key=Version)
        raise SpecError(
            f'env.python = "{python}": no PyTorch release in the matrix has wheels '
            f"for Python {python} (they cover {every[0]} to {every[-1]}).",
            f"Set env.python in the env spec to one of {', '.join(every)} "
            f"(the newest release supports {', '.join(matrix.releases[-1].python)}).",
        )
    if found and not any(_installable(r, host) for r, _ in found):
        raise _glibc_problem(matrix, host)
    found = [(r, v) for r, v in found if _installable(r, host)]
    if not found:
        raise NoTorchForPlatform(
            f"no PyTorch release from {matrix.releases[0].line} on publishes wheels "
            f"for {platform} with Python {python}.",
            _platform_fix(host),
        )
    return found


def _platform_fix(host: HostInfo) -> str:
    if host.os == "macos" and host.arch == "x86_64":
        return (
            "Intel Macs get no PyTorch wheels after 2.2 (pytorch/pytorch#114602): use another "
            "machine or a hosted notebook such as Google Colab (https://colab.research.google.com)."
        )
    return (
        "Use a supported machine (Linux or Windows x86_64, Linux arm64, macOS arm64) or a hosted "
        "notebook such as Google Colab (https://colab.research.google.com)."
    )


def select_torch(
    matrix: Matrix,
    host: HostInfo,
    *,
    python: str,
    torch: str | None = None,
    backend: str | None = None,
    pin_source: str = "--torch",
    backend_source: str = "--backend",
    needs: Collection[str] = COMPANIONS,
) -> Selection:
    """Choose the torch release and variant for ``host`` (pure; raises UsageError on bad input).

    ``needs`` are the companions the course spec installs beside torch: a variant whose index
    lacks one of them is not chosen (torchaudio refuses a torch built for another CUDA, so
    mixing variants is no way out: NixOS/nixpkgs#558343).
    """
    if backend is not None and backend not in matrix.backends():
        known = ", ".join(sorted(matrix.backends()))
        raise UsageError(f"unknown backend {backend!r}.", f"Use one of: {known}.")
    candidates = candidate_releases(matrix, host, python, torch)
    head = [f"torch {candidates[0][1].torch} pinned by {pin_source}"] if torch else []
    if backend is not None:
        return _forced(matrix, host, python, candidates, backend, head, backend_source, needs)
    if host.os == "macos":
        return _macos(host, python, candidates, head)
    if host.jetson:
        return _cpu(
            host,
            python,
            candidates,
            head,
            [
                (
                    "CPU build on an NVIDIA Jetson: PyTorch's aarch64 CUDA wheels are SBSA "
                    "builds that do not run on Jetson's L4T "
                    "(bitsandbytes-foundation/bitsandbytes#1941). For the GPU, install NVIDIA's "
                    "Jetson wheels (Jetson AI Lab) into the env instead of step 2."
                )
            ],
        )
    if nvidia_gpus(host):
        return _for_nvidia(matrix, host, python, candidates, head, needs)
    if amd_gpus(host):
        return _for_amd(matrix, host, python, candidates, head)
    return _cpu(host, python, candidates, [*head, "no GPU found: the CPU build"], [])


def _found(
    release: Release,
    version: TorchVersion,
    variant: Variant,
    host: HostInfo,
    reasons: list[str],
    warnings: list[str],
) -> Selection:
    for item in (release, variant):
        if not item.verified:
            reasons.append(
                f"unverified in envs/torch-matrix.toml (torch {release.line}): {item.unverified}"
            )
    if variant.note:
        warnings.append(variant.note)
    return Selection(release, version, variant, platform_key(host), tuple(reasons), tuple(warnings))


def _describe_cuda(
    matrix: Matrix,
    release: Release,
    verdict: Verdict,
    verdicts: list[Verdict],
    host: HostInfo,
    python: str,
) -> list[str]:
    variant, platform = verdict.variant, platform_key(host)
    req = matrix.drivers[variant.cuda or ""]
    table = driver_os(host)
    driver = lowest_driver(nvidia_gpus(host))
    lines = []
    if driver is None:
        lines.append(f"{variant.backend}: driver version unknown, assumed >= {req.minimum[table]}")
    else:
        support = (
            "full support"
            if verdict.full_support
            else f"minor-version compatibility; full support from {req.full.get(table)}"
        )
        lines.append(
            f"{variant.backend}: driver {driver} >= {req.minimum[table]} (CUDA {variant.cuda} "
            f"minimum for {table}, NVIDIA release notes Table 2; {support})"
        )
    covers = [
        coverage(variant, g.compute_capability, platform)
        for g in nvidia_gpus(host)
        if g.compute_capability
    ]
    if covers:
        lines.append(
            f"{variant.backend} has kernels for every GPU: " + "; ".join(c for c in covers if c)
        )
    lines.append(
        f"{variant.backend} publishes torch {release.line} for {platform}, Python {python}"
    )
    others = [v.variant.backend for v in verdicts if v.ok and v is not verdict]
    if others:
        lines.append(
            f"also qualified: {', '.join(others)}; order: full driver support, then the PyPI "
            f"default CUDA ({default_cuda(release, platform)}), then stable, then newest CUDA"
        )
    lines += [
        f"rejected {v.variant.backend}: {'; '.join(v.failures)}" for v in verdicts if not v.ok
    ]
    return lines


def _for_nvidia(
    matrix: Matrix,
    host: HostInfo,
    python: str,
    candidates: list[tuple[Release, TorchVersion]],
    head: list[str],
    needs: Collection[str],
) -> Selection:
    newest = candidates[0][0]
    rejected: list[str] = []
    warnings: list[str] = []
    for release, version in candidates:
        best, verdicts = best_cuda(matrix, release, host, python, needs)
        if best is None:
            rejected.append(why_not(release, verdicts) if not rejected else release.line)
            continue
        reasons = head or [
            f"torch {version.torch}: the newest release in the matrix that serves this machine"
        ]
        reasons += _summarize(rejected) + _describe_cuda(
            matrix, release, best, verdicts, host, python
        )
        if release is not newest:
            fix = driver_fix(matrix, newest, host, python, needs)
            warnings.append(
                f"torch {version.torch}, not the newest {newest.latest.torch}: no build of "
                f"{newest.line} serves this machine. "
                + (f"To get it, {fix}." if fix else "Its builds have no kernels for this GPU.")
            )
        warnings += (
            _unknown_facts(host)
            + _partial_support(matrix, release, best, host, python, needs)
            + _branch_warning(matrix, host)
            + _eol_warnings(release, best.variant, host)
        )
        return _found(release, version, best.variant, host, reasons, warnings)
    partial = _best_partial(matrix, newest, host, python, needs)
    if partial is not None:
        return partial
    fix = driver_fix(matrix, newest, host, python, needs)
    lines = ", ".join(r.line for r, _ in candidates)
    hint = (
        f"To use the GPU, {fix}."
        if fix
        else (
            f"No PyTorch build of {lines} has kernels for this GPU and driver; for GPU work use a "
            "hosted notebook such as Google Colab (https://colab.research.google.com)."
        )
    )
    return _cpu(
        host,
        python,
        candidates,
        [*head, *_summarize(rejected)],
        [
            (
                "CPU build although this machine has an NVIDIA GPU: no CUDA build of torch "
                f"{lines} passes the driver and architecture checks (details under reasons). "
                f"{hint}"
            )
        ],
    )


def _summarize(rejected: list[str]) -> list[str]:
    """The newest rejected release in full, the older ones by name."""
    if len(rejected) <= 1:
        return rejected
    return [rejected[0], f"torch {', '.join(rejected[1:])}: no qualifying CUDA build either"]


def _best_partial(
    matrix: Matrix, release: Release, host: HostInfo, python: str, needs: Collection[str]
) -> Selection | None:
    """Several different GPUs and no build covers all: the build for the most (and newest) of
    them."""
    gpus = nvidia_gpus(host)
    if len({g.compute_capability for g in gpus}) < 2:
        return None
    platform = platform_key(host)
    _, verdicts = best_cuda(matrix, release, host, python, needs)
    usable = [
        v for v in verdicts if v.covered and all(f.startswith("has no kernels") for f in v.failures)
    ]
    if not usable:
        return None

    def key(v: Verdict) -> tuple[int, tuple[int, int], tuple[bool, bool, bool, float]]:
        best_cc = max(parse_cc(gpus[i].compute_capability or "0.0") for i in v.covered)
        return len(v.covered), best_cc, rank(release, platform, v)

    chosen = max(usable, key=key)
    missing = [
        f"GPU {gpus[i].index if gpus[i].index is not None else i} ({gpus[i].name}, "
        f"{sm(gpus[i].compute_capability or '0.0')})"
        for i in range(len(gpus))
        if i not in chosen.covered
    ]
    visible = ",".join(
        str(gpus[i].index if gpus[i].index is not None else i) for i in chosen.covered
    )
    warnings = [
        (
            f"no PyTorch build covers every GPU: {chosen.variant.backend} has no kernels for "
            f"{', '.join(missing)}. Hide it with CUDA_VISIBLE_DEVICES={visible}."
        )
    ]
    reasons = [
        f"torch {release.latest.torch} {chosen.variant.backend}: covers the most GPUs, newest "
        "first",
        *(
            f"rejected {v.variant.backend}: {'; '.join(v.failures)}"
            for v in verdicts
            if v is not chosen
        ),
    ]
    return _found(release, release.latest, chosen.variant, host, reasons, warnings)


def _partial_support(
    matrix: Matrix,
    release: Release,
    verdict: Verdict,
    host: HostInfo,
    python: str,
    needs: Collection[str],
) -> list[str]:
    """A warning when the chosen build runs only under minor-version compatibility."""
    driver = lowest_driver(nvidia_gpus(host))
    if verdict.full_support or driver is None:
        return []
    table = driver_os(host)
    full = matrix.drivers[verdict.variant.cuda or ""].full.get(table)
    text = (
        f"driver {driver} runs {verdict.variant.backend} through CUDA minor-version compatibility "
        f"(limited features); driver >= {full} gives full support"
    )
    default = default_cuda(release, platform_key(host))
    for other in best_cuda(matrix, release, host, python, needs)[1]:
        blocked_by_driver_only = other.failures and all(
            f.startswith("needs NVIDIA driver") for f in other.failures
        )
        if other.variant.backend == default and blocked_by_driver_only:
            minimum = matrix.drivers[other.variant.cuda or ""].minimum[table]
            text += f"; driver >= {minimum} would allow the PyPI-default {default}"
    return [text + "."]


def _branch_warning(matrix: Matrix, host: HostInfo) -> list[str]:
    """Drivers after R580 ignore Maxwell, Pascal and Volta (NixOS/nixos-hardware#1880, #1828)."""
    last = parse_driver(matrix.pre_turing_last_branch).major
    old = [
        g
        for g in nvidia_gpus(host)
        if g.compute_capability
        and g.driver_version
        and parse_cc(g.compute_capability) < parse_cc(matrix.pre_turing_below_cc)
        and parse_driver(g.driver_version).major > last
    ]
    return [
        f"driver {g.driver_version} is newer than R{last}, the last branch for Maxwell, Pascal and "
        f"Volta: {g.name} ({sm(g.compute_capability or '0.0')}) needs the {last}.xx driver"
        for g in old
    ]


def _eol_warnings(release: Release, variant: Variant, host: HostInfo) -> list[str]:
    """The variant's end-of-line note, for each GPU that no other CUDA line of the release
    serves."""
    if not variant.eol_note:
        return []
    platform = platform_key(host)
    others = [v for v in release.variants_for(platform) if v.kind == "cuda" and v is not variant]
    only = [
        g
        for g in nvidia_gpus(host)
        if g.compute_capability
        and coverage(variant, g.compute_capability, platform)
        and not any(coverage(o, g.compute_capability, platform) for o in others)
    ]
    return [
        f"your GPU {g.name} ({sm(g.compute_capability or '0.0')}) is served only by "
        f"{variant.backend} builds: {variant.eol_note}"
        for g in only
    ]


def _unknown_facts(host: HostInfo) -> list[str]:
    gpus = nvidia_gpus(host)
    out = []
    if any(g.compute_capability is None for g in gpus):
        out.append(
            "the GPU's compute capability is unknown (its driver is too old to report it); "
            "the architecture gate was skipped"
        )
    if lowest_driver(gpus) is None:
        out.append(
            "the NVIDIA driver version is unknown; "
            + (
                f"the driver was judged by the CUDA version it reports ({host.cuda_driver_api})"
                if host.cuda_driver_api
                else "the driver gate was skipped"
            )
        )
    return out


def _for_amd(
    matrix: Matrix,
    host: HostInfo,
    python: str,
    candidates: list[tuple[Release, TorchVersion]],
    head: list[str],
) -> Selection:
    gfx = sorted({g.gfx for g in amd_gpus(host) if g.gfx})
    if platform_key(host) != "linux-x86_64":
        return _cpu(
            host,
            python,
            candidates,
            head,
            [
                (
                    f"CPU build although this machine has an AMD GPU ({', '.join(gfx)}): "
                    "PyTorch's ROCm wheels are Linux x86_64 only (astral-sh/uv#17380). To use "
                    "the GPU, run the course under Linux."
                )
            ],
        )
    # Every GPU covered, newest release first; failing that, the most GPUs (an APU's iGPU beside
    # a discrete card is often the one left out: lemonade-sdk/lemonade#2296).
    for need_all in (True, False):
        for release, version in candidates:
            best = _best_rocm(matrix, release, gfx, need_all)
            if best is None:
                continue
            covered = [g for g in gfx if g in matrix.rocm_targets[best.backend]]
            reasons = head or [
                f"torch {version.torch}: the newest release in the matrix that serves this GPU"
            ]
            reasons.append(
                f"{best.backend} has kernels for {', '.join(covered)} (gfx lists from uv's "
                f"LINUX_AMD_GPU_DRIVERS); the newest ROCm of torch {release.line} that does"
            )
            warnings = (
                []
                if release is candidates[0][0]
                else [
                    (
                        f"torch {version.torch}, not the newest {candidates[0][1].torch}: its "
                        f"ROCm builds lack {', '.join(gfx)}."
                    )
                ]
            )
            missing = [g for g in gfx if g not in covered]
            if missing:
                warnings.append(
                    f"no ROCm build covers every AMD GPU: {best.backend} has no kernels for "
                    f"{', '.join(missing)} (an integrated GPU?). Hide it with HIP_VISIBLE_DEVICES."
                )
            return _found(release, version, best, host, reasons, warnings)
    return _cpu(
        host,
        python,
        candidates,
        head,
        [
            (
                "CPU build although this machine has an AMD GPU: no ROCm build of torch has "
                f"kernels for {', '.join(gfx)}. If it is close to a supported target, "
                "HSA_OVERRIDE_GFX_VERSION (e.g. 10.3.0 for gfx1031) can make it work "
                "(ROCm/legacy-rocm-build#2353); then pass --backend rocmX.Y."
            )
        ],
    )


def _best_rocm(matrix: Matrix, release: Release, gfx: list[str], need_all: bool) -> Variant | None:
    """The ROCm variant of ``release`` covering every gfx (or, without ``need_all``, the most)."""

    def count(v: Variant) -> int:
        return len(set(gfx) & set(matrix.rocm_targets.get(v.backend, ())))

    rocm = [v for v in release.variants_for("linux-x86_64") if v.kind == "rocm" and count(v)]
    fits = [v for v in rocm if count(v) == len(gfx)] if need_all else rocm
    if not fits:
        return None
    return max(fits, key=lambda v: (count(v), Version(v.backend[4:])))  # rocm7.2 -> 7.2


def _macos(
    host: HostInfo, python: str, candidates: list[tuple[Release, TorchVersion]], head: list[str]
) -> Selection:
    release, version = candidates[0]
    variant = next(v for v in release.variants_for(platform_key(host)) if v.kind == "pypi")
    reasons = [
        *head,
        (
            f"macOS {host.arch}: torch {version.torch} from PyPI (no local tag); Apple GPU "
            "support (MPS) is built in (uv docs/guides/integration/pytorch.md)"
        ),
    ]
    warnings = []
    if host.macos_version and int(host.macos_version.split(".")[0]) < 14:
        warnings.append(
            f"macOS {host.macos_version}: MPS needs macOS 14 (Sonoma) or later (RELEASE.md), "
            "so torch will run on the CPU. Update macOS to use the Apple GPU."
        )
    return _found(release, version, variant, host, reasons, warnings)


def _cpu(
    host: HostInfo,
    python: str,
    candidates: list[tuple[Release, TorchVersion]],
    reasons: list[str],
    warnings: list[str],
) -> Selection:
    platform = platform_key(host)
    for release, version in candidates:
        for variant in release.variants_for(platform):
            if variant.kind in ("cpu", "pypi"):
                return _found(
                    release,
                    version,
                    variant,
                    host,
                    [*reasons, f"torch {version.torch} {variant.backend} for {platform}"],
                    warnings,
                )
    raise NoTorchForPlatform(f"no CPU build of torch for {platform}.", _platform_fix(host))


def _forced(
    matrix: Matrix,
    host: HostInfo,
    python: str,
    candidates: list[tuple[Release, TorchVersion]],
    backend: str,
    head: list[str],
    source: str,
    needs: Collection[str],
) -> Selection:
    platform = platform_key(host)
    lacking: list[str] = []
    for release, version in candidates:
        variant = next((v for v in release.variants_for(platform) if v.backend == backend), None)
        if variant is None:
            continue
        lacks = companion_failure(release, variant, needs)
        if lacks:
            lacking.append(f"torch {release.line}: {backend} {lacks}")
            continue
        reasons = [
            *head,
            (
                f"backend {backend} chosen by {source}; torch {version.torch} is the newest "
                f"release that publishes it for {platform}"
            ),
        ]
        warnings = []
        if variant.kind == "cuda" and nvidia_gpus(host):
            verdict = judge_cuda(matrix, release, variant, host, python)
            warnings += [
                f"{source} {backend} overrides a failed check: {backend} {f}"
                for f in verdict.failures
            ]
        elif variant.kind == "cuda":
            warnings.append(
                f"{source} {backend}: no NVIDIA GPU is known on this machine; torch will run on "
                "the CPU"
            )
        if variant.kind == "cpu" and host.gpus:
            warnings.append(f"{source} cpu: this machine's GPU will not be used")
        if variant.kind == "rocm":
            missing = [
                g.gfx for g in amd_gpus(host) if g.gfx not in matrix.rocm_targets.get(backend, ())
            ]
            if missing or not amd_gpus(host):
                warnings.append(
                    f"{source} {backend}: no kernels for "
                    f"{', '.join(g or '?' for g in missing) or 'any known AMD GPU here'}"
                )
        return _found(release, version, variant, host, reasons, warnings)
    if lacking:
        absent = sorted(
            {
                c
                for r, _ in candidates
                for v in r.variants_for(platform)
                if v.backend == backend
                for c in v.companions_missing
                if c in needs
            }
        )
        raise UsageError(
            f"backend {backend!r} cannot install the course's packages: {lacking[0]}.",
            f"Choose another --backend, or (instructor) drop {' and '.join(absent)} from "
            "[pip] torch in the course spec if the course can do without it.",
        )
    which = f"torch {candidates[0][1].torch}" if len(candidates) == 1 else "any torch in the matrix"
    have = sorted({v.backend for r, _ in candidates for v in r.variants_for(platform)})
    raise UsageError(
        f"backend {backend!r} publishes no wheels of {which} for {platform}.",
        f"Choose one of: {', '.join(have)}.",
    )
