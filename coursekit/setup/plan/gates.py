"""The three gates, applied to one CUDA variant: driver, architecture, publishing (pure).

``judge_cuda`` says why a variant fails for a host (or that it passes and whether the driver
gives full support); ``best_cuda`` ranks the survivors of a release; ``driver_fix`` names the
lowest driver that would let a release serve every GPU. :mod:`coursekit.setup.plan.select` builds
the decision on these.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from packaging.version import Version

from coursekit.host import GpuInfo, HostInfo
from coursekit.setup.plan.releases import Matrix, Release, Variant, parse_cc, parse_driver


@dataclass(frozen=True)
class Verdict:
    """How one variant fared at the three gates."""

    variant: Variant
    failures: tuple[str, ...]
    full_support: bool
    covered: tuple[int, ...]  # indexes (into the GPU list) of the GPUs it has kernels for

    @property
    def ok(self) -> bool:
        return not self.failures


def platform_key(host: HostInfo) -> str:
    """``linux-x86_64``, ``windows-x86_64``, ``macos-arm64`` ..."""
    return f"{host.os}-{host.arch}"


def driver_os(host: HostInfo) -> str:
    """Whose driver table applies: WSL runs the Windows driver (microsoft/WSL, envs/SOURCES.md
    W10)."""
    return "windows" if host.os == "windows" or host.wsl else "linux"


def nvidia_gpus(host: HostInfo) -> tuple[GpuInfo, ...]:
    """The host's NVIDIA GPUs."""
    return tuple(g for g in host.gpus if g.vendor == "nvidia")


def amd_gpus(host: HostInfo) -> tuple[GpuInfo, ...]:
    """The host's AMD GPUs."""
    return tuple(g for g in host.gpus if g.vendor == "amd")


def lowest_driver(gpus: Sequence[GpuInfo]) -> str | None:
    """The lowest driver version among ``gpus`` (None when none is known)."""
    versions = [g.driver_version for g in gpus if g.driver_version]
    return min(versions, key=parse_driver) if versions else None


def sm(cc: str) -> str:
    """``"8.6"`` -> ``"sm_86"``."""
    major, minor = parse_cc(cc)
    return f"sm_{major}{minor}"


def coverage(variant: Variant, cc: str, platform: str) -> str | None:
    """How ``variant`` runs on a GPU of capability ``cc``, or None when it has no kernels for it.

    Same-major cubins run on a higher minor (bitsandbytes#1939; applied to 10.x/12.x unverified);
    PTX is JIT-compiled for any newer capability (RELEASE.md: PTX on Linux builds only).
    """
    gpu = parse_cc(cc)
    cubins = [c for c in map(parse_cc, variant.sm) if c[0] == gpu[0] and c <= gpu]
    if cubins:
        best = max(cubins)
        return f"{sm(cc)}: cubin sm_{best[0]}{best[1]}"
    ptx = [c for c in map(parse_cc, variant.ptx_on(platform)) if c <= gpu]
    if ptx:
        best = max(ptx)
        return f"{sm(cc)}: PTX compute_{best[0]}{best[1]} (JIT-compiled on first use)"
    return None


def glibc_failure(release: Release, variant: Variant, host: HostInfo) -> str | None:
    """Why ``variant``'s Linux wheels cannot install on ``host``'s C library (None: they can, or
    unknown)."""
    need = release.glibc_for(variant)
    if host.os != "linux" or not host.glibc or not need:
        return None
    if host.glibc == "musl":
        return (
            "publishes no wheels for musl (Alpine): PyTorch's Linux wheels are manylinux "
            "(glibc) builds"
        )
    if Version(host.glibc) < Version(need):
        return (
            f"needs glibc >= {need} (manylinux_{need.replace('.', '_')} wheels); this machine has "
            f"glibc {host.glibc}"
        )
    return None


def companion_failure(release: Release, variant: Variant, needs: Collection[str]) -> str | None:
    """Why ``variant``'s index cannot serve the companions the spec asks for (None: it can)."""
    missing = [c for c in variant.companions_missing if c in needs]
    if not missing:
        return None
    return (
        f"has no {' or '.join(missing)} for torch {release.line} on its index (the course spec's "
        "[pip] torch list asks for it)"
    )


def judge_cuda(
    matrix: Matrix,
    release: Release,
    variant: Variant,
    host: HostInfo,
    python: str,
    needs: Collection[str] = (),
) -> Verdict:
    """Run one CUDA variant through the gates for ``host``: driver, architecture, publishing
    (platform, Python, C library and the companions in ``needs``)."""
    failures: list[str] = []
    platform, table = platform_key(host), driver_os(host)
    gpus = nvidia_gpus(host)
    driver = lowest_driver(gpus)
    req = matrix.drivers[variant.cuda or ""]
    minimum, full = req.minimum[table], req.full.get(table)
    if driver is not None and parse_driver(driver) < parse_driver(minimum):
        failures.append(
            f"needs NVIDIA driver >= {minimum} (CUDA {variant.cuda}), this machine has {driver}"
        )
    full_support = (
        driver is not None and full is not None and parse_driver(driver) >= parse_driver(full)
    )
    if driver is None and host.cuda_driver_api:
        # No driver version, but the banner's "CUDA Version" (the newest CUDA the driver runs):
        # same major is enough under minor-version compatibility (NVIDIA Table 2).
        have, need = parse_driver(host.cuda_driver_api), parse_driver(variant.cuda or "0.0")
        if need.major > have.major:
            failures.append(
                f"needs a driver for CUDA {need.major}.x; this driver runs CUDA "
                f"{host.cuda_driver_api} (nvidia-smi)"
            )
        full_support = need <= have
    covered = []
    for i, gpu in enumerate(gpus):
        how = (
            coverage(variant, gpu.compute_capability, platform)
            if gpu.compute_capability
            else "unknown"
        )
        if how is None:
            failures.append(
                f"has no kernels for {sm(gpu.compute_capability or '0.0')} ({gpu.name}); "
                f"it has {', '.join(sm(c) for c in variant.sm)}"
            )
        elif "PTX" in how and driver is not None and not full_support:
            # Minor-version compatibility cannot JIT-compile PTX (NVIDIA, "CUDA Minor Version
            # Compatibility", limitations); PTX-only coverage needs the full-support driver.
            failures.append(
                f"reaches {sm(gpu.compute_capability or '0.0')} only through PTX, which needs "
                f"driver >= {full} (full support)"
            )
        else:
            covered.append(i)
    if platform not in variant.platforms or python not in release.python:
        failures.append(f"publishes no torch {release.line} for {platform}, Python {python}")
    failures += [
        f
        for f in (glibc_failure(release, variant, host), companion_failure(release, variant, needs))
        if f
    ]
    return Verdict(variant, tuple(failures), full_support, tuple(covered))


def default_cuda(release: Release, platform: str) -> str | None:
    """The CUDA variant PyPI ships for ``platform``, or (Windows: PyPI is CPU-only) for Linux
    x86_64.

    Matching it keeps flash-attn, vllm and similar wheels lined up (envs/SOURCES.md W9 rule 3).
    """
    for key in (platform, "linux-x86_64"):
        backend = release.pypi_default.get(key, "")
        if backend.startswith("cu"):
            return backend
    return None


def rank(release: Release, platform: str, verdict: Verdict) -> tuple[bool, bool, bool, float]:
    """Sort key: full support, then the PyPI-default CUDA, then stable, then newest CUDA."""
    variant = verdict.variant
    return (
        verdict.full_support,
        default_cuda(release, platform) == variant.backend,
        not variant.experimental,
        float(variant.cuda or 0),
    )


def best_cuda(
    matrix: Matrix, release: Release, host: HostInfo, python: str, needs: Collection[str] = ()
) -> tuple[Verdict | None, list[Verdict]]:
    """The best qualifying CUDA variant of ``release`` (or None) and every verdict."""
    platform = platform_key(host)
    verdicts = [
        judge_cuda(matrix, release, v, host, python, needs)
        for v in release.variants
        if v.kind == "cuda" and platform in v.platforms
    ]
    ok = [v for v in verdicts if v.ok]
    best = max(ok, key=lambda v: rank(release, platform, v)) if ok else None
    return best, verdicts


def why_not(release: Release, verdicts: list[Verdict]) -> str:
    """One line: why no CUDA variant of ``release`` qualified."""
    if not verdicts:
        return f"torch {release.line} has no CUDA build for this platform"
    parts = [f"{v.variant.backend} {'; '.join(v.failures)}" for v in verdicts]
    return f"torch {release.line}: " + " | ".join(parts)


def driver_fix(
    matrix: Matrix, release: Release, host: HostInfo, python: str, needs: Collection[str] = ()
) -> str | None:
    """ "Install driver >= X" for the lowest driver that would let ``release`` serve every GPU."""
    table = driver_os(host)
    options = []
    for verdict in best_cuda(matrix, release, host, python, needs)[1]:
        blocking = [f for f in verdict.failures if not f.startswith("needs NVIDIA driver")]
        if not blocking:
            minimum = matrix.drivers[verdict.variant.cuda or ""].minimum[table]
            options.append((parse_driver(minimum), minimum, verdict.variant.backend))
    if not options:
        return None
    _, minimum, backend = min(options)
    text = f"install NVIDIA driver >= {minimum} (for torch {release.latest.torch}+{backend})"
    pre_turing = [
        g
        for g in nvidia_gpus(host)
        if g.compute_capability
        and parse_cc(g.compute_capability) < parse_cc(matrix.pre_turing_below_cc)
    ]
    if pre_turing:
        text += (
            f" (a {matrix.pre_turing_last_branch}.xx driver: R{matrix.pre_turing_last_branch} is "
            "the last branch for Maxwell, Pascal and Volta, NixOS/nixos-hardware#1880)"
        )
    return text
