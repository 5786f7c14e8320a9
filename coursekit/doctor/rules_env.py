"""Rules for the doctor itself, the env, the platform, Jupyter, pip and disk/memory (pure)."""

from __future__ import annotations

from typing import Any

from coursekit.constants import ENV_DISK_GB
from coursekit.doctor.catalogue import CHECK_CATEGORY, WARNING
from coursekit.doctor.planning import per_matrix, torch_pythons
from coursekit.doctor.versions import version_tuple
from coursekit.doctor.view import Finding, Rule, View, finding, quote

_GIB = 1024


def check_failed(v: View) -> list[Finding]:
    out = []
    for run in v.f.checks:
        if run.status not in ("crashed", "timeout"):
            continue
        if run.name == "probe" and run.status == "timeout":
            continue  # probe-timeout says it better
        what = f"timed out after {run.timeout_s:g} s" if run.status == "timeout" else "crashed"
        first = (run.error or "").splitlines()[0] if run.error else ""
        f = finding(
            "check-failed",
            f"The {run.name} check itself failed ({what})",
            first or what,
            "Run `coursekit --debug doctor -v` and send the output to your "
            "instructor; the other checks' results below still stand.",
        )
        out.append(
            Finding(
                f.id, f.severity, CHECK_CATEGORY.get(run.name, "platform"), f.title, f.detail, f.fix
            )
        )
    return out


def _recreate(v: View) -> str:
    return "coursekit setup --force  (deletes and recreates the env)"


def env_missing(v: View) -> list[Finding]:
    env = v.f.env
    if env is None or env.exists or env.explicit:
        return []
    tools = (
        ", ".join(env.engines)
        if env.engines
        else ("no conda, mamba or micromamba found (setup uses its embedded engine then)")
    )
    detail = f"looked through: {tools}"
    if env.engine_problems:
        detail += "; problems: " + "; ".join(env.engine_problems)
    return [
        finding(
            "env-missing",
            f"The course environment '{env.name}' does not exist",
            detail,
            "coursekit setup",
        )
    ]


def env_python_broken(v: View) -> list[Finding]:
    env, probe = v.f.env, v.f.probe
    if env is None or not env.exists:
        return []
    if not env.confirmed:
        return [
            finding(
                "env-python-broken",
                f"The env's Python does not work ({env.python})",
                env.problem or "it did not confirm its prefix",
                f"Recreate the env: {_recreate(v)}",
            )
        ]
    if probe is not None and probe.status in ("not-found", "crashed", "bad-output"):
        tail = probe.stderr.strip().splitlines()[-1:] or [f"exit code {probe.returncode}"]
        return [
            finding(
                "env-python-broken",
                f"The env's Python cannot run the probe ({probe.status})",
                tail[0],
                f"Recreate the env: {_recreate(v)}",
            )
        ]
    return []


def probe_timeout(v: View) -> list[Finding]:
    probe = v.f.probe
    run = v.f.check("probe")
    if (probe is not None and probe.status == "timeout") or (run and run.status == "timeout"):
        # A report without the probe check's record (an older one) has no limit to name.
        limit = f"{run.timeout_s:g} s" if run else "the time limit"
        return [
            finding(
                "probe-timeout",
                "The env's Python hung while being examined",
                f"no answer within {limit} from {v.env_python}",
                "Close other programs using the GPU, reboot, and run `coursekit doctor` again; "
                f"if it still hangs, recreate the env: {_recreate(v)}",
            )
        ]
    return []


def env_python_version(v: View) -> list[Finding]:
    version = v.py.get("version") or (v.f.env.python_version if v.f.env else None)
    if not version or (v.f.env and v.f.env.explicit):
        return []
    minor = ".".join(version.split(".")[:2])
    wanted = v.planner.course_python
    if minor == wanted:
        return []
    # Only advice while the course's torch still publishes wheels for this Python; a warning
    # when it does not (then torch cannot be installed or upgraded in this env).
    served = version_tuple(minor)[:2] in course_torch_pythons(v.planner.matrix)
    detail = f"{v.env_python} is Python {version}" + (
        "; the course's torch publishes wheels for it, so this is advice"
        if served
        else "; the course's torch publishes no wheel for it"
    )
    return [
        finding(
            "env-python-version",
            f"The env has Python {version}, the course uses {wanted}",
            detail,
            f"Recreate the env: {_recreate(v)}",
            severity="info" if served else None,
        )
    ]


def course_torch_pythons(matrix: Any) -> tuple[tuple[int, ...], ...]:
    """The Pythons of the newest release line in the planner's matrix (what setup installs)."""
    if matrix is None or not matrix.releases:
        return ()

    def compute() -> tuple[tuple[int, ...], ...]:
        newest = max(matrix.releases, key=lambda r: r.key)
        return tuple(version_tuple(p)[:2] for p in newest.python)

    return per_matrix(matrix, ("course_torch_pythons",), compute)


def platform_no_torch_wheel(v: View) -> list[Finding]:
    """No build in the planner's matrix serves this OS and CPU at all (Windows on ARM64, ...)."""
    p = v.f.platform
    matrix = v.planner.matrix
    if not p or matrix is None or v.torch_ok or p.os == "macos":
        return []  # macOS x86_64 and Rosetta have findings of their own
    key = f"{p.os}-{p.arch}"
    platforms = per_matrix(
        matrix,
        ("platforms",),
        lambda: frozenset(
            pl for r in matrix.releases for var in r.variants for pl in var.platforms
        ),
    )
    if not platforms or key in platforms:
        return []
    return [
        finding(
            "platform-no-torch-wheel",
            f"No PyTorch build for {p.os} on {p.machine or p.arch}",
            "the torch releases coursekit installs publish wheels for "
            f"{', '.join(sorted(platforms))}, not {key}; pip says 'No matching distribution "
            "found for torch'",
            "Use another machine (an x86_64 or Apple silicon computer) or a hosted notebook "
            "such as Google Colab (https://colab.research.google.com)",
        )
    ]


def glibc_too_old(v: View) -> list[Finding]:
    """A Linux whose C library is older than every torch wheel's manylinux baseline, or musl."""
    from packaging.version import InvalidVersion, Version

    p = v.f.platform
    matrix = v.planner.matrix
    if not p or p.os != "linux" or not p.glibc or matrix is None or v.torch_ok:
        return []
    needs = [r.glibc for r in matrix.releases if r.glibc]
    if not needs:
        return []
    least = per_matrix(matrix, ("least_glibc",), lambda: min(needs, key=Version))
    if p.glibc != "musl":
        try:
            if Version(p.glibc) >= Version(least):
                return []
        except InvalidVersion:
            return []
    why = (
        "this Linux uses musl (Alpine); PyTorch publishes Linux wheels for glibc only"
        if p.glibc == "musl"
        else f"this Linux has glibc {p.glibc}; every torch coursekit installs needs glibc >= "
        f"{least} (manylinux_{least.replace('.', '_')} wheels, pytorch/pytorch#123649)"
    )
    pip_log = v.f.pip_log.tail if v.f.pip_log else ""
    if "No matching distribution found for torch" in pip_log:
        why += "; that is why pip said 'No matching distribution found for torch'"
    return [
        finding(
            "glibc-too-old",
            "No PyTorch wheel installs on this Linux's C library",
            why,
            "Use a newer OS (Ubuntu 20.04 or later, Debian 10 or later, RHEL 8 or later), a "
            "container with one, WSL with a current Ubuntu on Windows, or a hosted notebook "
            "such as Google Colab",
        )
    ]


_STORE = "PythonSoftwareFoundation.Python."


def python_ms_store(v: View) -> list[Finding]:
    """The Microsoft Store's Python: long sandboxed package paths break torch's install."""
    paths = [
        str(x)
        for x in (
            v.py.get("executable"),
            v.py.get("prefix"),
            v.py.get("user_site"),
            v.f.env.python if v.f.env else None,
            v.f.env.prefix if v.f.env else None,
        )
        if x
    ]
    hit = next((x for x in paths if _STORE in x and ("WindowsApps" in x or "Packages" in x)), None)
    if v.report_os != "windows" or hit is None:
        return []
    missing = not v.torch_ok and not v.dists("torch") and v.probe_ok
    return [
        finding(
            "python-ms-store",
            "The env's Python is the Microsoft Store's",
            f"{hit}: packages go under AppData\\Local\\Packages\\{_STORE}..., where torch's "
            "deepest files exceed Windows' 260-character path limit (pip fails with [Errno 2])"
            + ("; that is why torch is not installed" if missing else ""),
            "Install Miniforge (https://conda-forge.org/download/) and run `coursekit setup`; "
            "or enable long paths (PowerShell as administrator: New-ItemProperty -Path "
            "'HKLM:\\SYSTEM\\CurrentControlSet\\Control\\FileSystem' -Name LongPathsEnabled "
            "-Value 1 -PropertyType DWORD -Force) and install again",
            severity="error" if missing else None,
        )
    ]


def python_32bit(v: View) -> list[Finding]:
    if v.py.get("bits") != 32:
        return []
    os_bits = v.f.platform.bits if v.f.platform else None
    where = f" on a {os_bits}-bit system" if os_bits else ""
    return [
        finding(
            "python-32bit",
            "The env's Python is 32-bit; PyTorch needs 64-bit",
            f"{v.py.get('executable')} reports a {v.py.get('bits')}-bit build{where}",
            "Install 64-bit Miniforge (https://conda-forge.org/download/), then run `coursekit "
            "setup`",
        )
    ]


def python_no_torch_wheel(v: View) -> list[Finding]:
    version = version_tuple(v.py.get("version"))
    if len(version) < 2 or v.torch_ok:
        return []
    pythons = torch_pythons(v.planner.matrix)
    if not pythons or version[:2] in pythons:
        return []
    shown = ".".join(map(str, version[:2]))
    span = f"{pythons[0][0]}.{pythons[0][1]}-{pythons[-1][0]}.{pythons[-1][1]}"
    return [
        finding(
            "python-no-torch-wheel",
            f"No PyTorch wheel exists for Python {shown}",
            f"the torch releases coursekit knows publish wheels for Python {span}",
            f"Recreate the env with Python {v.planner.course_python}: {_recreate(v)}",
        )
    ]


def macos_rosetta(v: View) -> list[Finding]:
    p = v.f.platform
    if not p or p.os != "macos" or not p.apple_silicon or v.py.get("machine") != "x86_64":
        return []
    return [
        finding(
            "macos-rosetta",
            "The env's Python is x86_64 running under Rosetta on Apple silicon",
            f"{v.py.get('executable')}: machine x86_64 on an arm64 Mac; PyTorch stopped x86_64 "
            "macOS wheels after 2.2 and MPS needs arm64",
            "Install Miniforge for arm64 (Miniforge3-MacOSX-arm64), remove the old one, then run "
            "`coursekit setup`",
        )
    ]


def macos_intel(v: View) -> list[Finding]:
    p = v.f.platform
    if not p or p.os != "macos" or p.apple_silicon is not False:
        return []
    # No torch at all: the missing wheel is the root cause, an error (and torch-missing's reason).
    missing = not v.torch_ok and not v.dists("torch") and v.probe_ok
    return [
        finding(
            "macos-intel",
            "Intel Mac: the newest PyTorch for macOS x86_64 is 2.2",
            f"{p.machine} Mac; PyTorch publishes macOS wheels for arm64 only since 2.3"
            + ("; that is why pip found no torch for the course" if missing else ""),
            "Use another machine or a hosted notebook such as Google Colab "
            "(https://colab.research.google.com) for the labs that need torch >= 2.3",
            severity="error" if missing else None,
        )
    ]


def disk_low(v: View) -> list[Finding]:
    # Before torch is installed the download and unpacking need ~6 GB (a CUDA build); after,
    # the labs only need room for datasets and checkpoints.
    installed = v.torch_ok
    # the same number setup's disk note and its disk-full fix say (coursekit.constants)
    need_gb = ENV_DISK_GB["gpu" if v.nvidia else "cpu"]
    need_mib = int(need_gb * 1e9 / 2**20)
    warn_below, error_below = (2 * _GIB, _GIB // 2) if installed else (need_mib, 3 * _GIB)
    out = []
    seen: set[tuple[int, int]] = set()
    for disk in v.f.disks or ():
        if disk.free_mib >= warn_below or (disk.free_mib, disk.total_mib) in seen:
            continue  # the same filesystem measured twice is reported once
        seen.add((disk.free_mib, disk.total_mib))
        severity = "error" if disk.free_mib < error_below else WARNING
        if disk.label == "pip cache":
            fix = "free space there; `python -m pip cache purge` empties pip's cache"
        elif installed:
            fix = "free at least 2 GB there for datasets and checkpoints"
        else:
            fix = (
                f"free at least {need_gb} GB there (what a fresh course env with this torch "
                "build needs, pip's download included)"
            )
        if disk.label == "temp folder":
            fix = (
                "free space there, or give pip a temp folder with room: export "
                "TMPDIR=/path/with/space (PowerShell: $env:TMP = 'D:\\tmp'), then install again"
            )
        out.append(
            finding(
                "disk-low",
                f"Only {disk.free_mib / _GIB:.1f} GB free for the {disk.label}",
                f"{disk.path}: {disk.free_mib} MiB free of {disk.total_mib} MiB",
                fix,
                severity=severity,
            )
        )
    log = v.f.pip_log.tail if v.f.pip_log else ""
    if not out and ("No space left on device" in log or "[Errno 28]" in log):
        line = next(
            ln.strip() for ln in log.splitlines() if "No space left" in ln or "Errno 28" in ln
        )
        out.append(
            finding(
                "disk-low",
                "pip ran out of disk space while installing",
                line,
                "free at least 10 GB where pip unpacks (the temp folder) and where the env "
                "lives; or export TMPDIR=/path/with/space (PowerShell: $env:TMP = 'D:\\tmp') "
                "and install again",
                severity="error",
            )
        )
    return out


def ram_low(v: View) -> list[Finding]:
    mem = v.f.memory
    if mem is None or mem.total_mib >= 6 * _GIB:
        return []
    return [
        finding(
            "ram-low",
            f"Only {mem.total_mib / _GIB:.1f} GB of RAM",
            f"{mem.total_mib} MiB total, {mem.available_mib} MiB available",
            "Close other programs while working on labs, or use a hosted notebook such as "
            "Google Colab",
        )
    ]


def pip_extra_index(v: View) -> list[Finding]:
    cfg = v.data.get("pip_config") or {}
    hits = [
        f"{s['file']} [{s['section']}] extra-index-url = {s['value']}"
        for s in cfg.get("settings", [])
        if s.get("key") == "extra-index-url"
    ]
    env = cfg.get("env") or {}
    if env.get("PIP_EXTRA_INDEX_URL"):
        hits.append(f"PIP_EXTRA_INDEX_URL={env['PIP_EXTRA_INDEX_URL']}")
    if not hits:
        return []
    fixes = []
    if env.get("PIP_EXTRA_INDEX_URL"):
        fixes.append("unset PIP_EXTRA_INDEX_URL (and remove it from your shell profile)")
    files = sorted(
        {s["file"] for s in cfg.get("settings", []) if s.get("key") == "extra-index-url"}
    )
    fixes += [f"delete the extra-index-url line from {quote(f)}" for f in files]
    return [
        finding(
            "pip-extra-index",
            "pip is configured to mix in an extra index",
            "; ".join(hits),
            "; ".join(fixes),
        )
    ]


def _kernel_cmd(v: View) -> str:
    name = v.env_name
    return f'{v.py_cmd} -m ipykernel install --user --name {name} --display-name "Python ({name})"'


def kernels(v: View) -> list[Finding]:
    env = v.f.env
    if v.f.kernels is None or env is None or not env.exists or env.explicit:
        return []
    out = []
    mine = [k for k in v.f.kernels if k.name == env.name]
    if not mine:
        detail = f"kernels found: {', '.join(sorted({k.name for k in v.f.kernels})) or 'none'}"
        if v.probe_ok and not v.dists("ipykernel"):
            # A kernelspec without ipykernel in the env would fail to start: install it first.
            # Two commands: on Windows as two lines (Windows PowerShell 5.1 rejects `&&`).
            sep = "\n" if v.os == "windows" else " && "
            out.append(
                finding(
                    "kernel-missing",
                    f"No Jupyter kernel named '{env.name}', and the env has no ipykernel",
                    detail,
                    f"{v.py_cmd} -m pip install ipykernel{sep}{_kernel_cmd(v)}",
                )
            )
        else:
            out.append(
                finding(
                    "kernel-missing",
                    f"No Jupyter kernel named '{env.name}'",
                    detail,
                    _kernel_cmd(v),
                    fix_action="register-kernel",
                )
            )
    elif not mine[0].argv0_exists or mine[0].same_env is False:
        k = mine[0]
        why = "does not exist" if not k.argv0_exists else f"is not the env's Python ({env.python})"
        out.append(
            finding(
                "kernel-wrong-python",
                f"The '{env.name}' kernel runs another Python",
                f"{v.pure(k.directory) / 'kernel.json'} runs {k.argv0}, which {why}",
                _kernel_cmd(v),
                fix_action="register-kernel",
            )
        )
    for k in v.f.kernels:
        if (
            k.name == "python3"
            and k.scope in ("user", "JUPYTER_PATH")
            and k.same_env is False
            and k.argv0_exists
        ):
            out.append(
                finding(
                    "kernel-shadowing",
                    "A user-level 'python3' kernel runs another Python",
                    f"{k.directory} runs {k.argv0}; it shadows the env's own 'Python 3' kernel",
                    f"Pick the 'Python ({env.name})' kernel in notebooks, or delete "
                    f"{quote(k.directory)}",
                )
            )
        elif k.name != env.name and not k.argv0_exists:
            out.append(
                finding(
                    "kernel-broken",
                    f"The '{k.name}' kernel's Python no longer exists",
                    f"{v.pure(k.directory) / 'kernel.json'} runs {k.argv0 or '(nothing)'}",
                    f"jupyter kernelspec remove {k.name}   (or delete {quote(k.directory)})",
                )
            )
    return out


BY_CATEGORY: dict[str, tuple[Rule, ...]] = {
    "platform": (
        check_failed,
        python_32bit,
        python_ms_store,
        platform_no_torch_wheel,
        glibc_too_old,
        python_no_torch_wheel,
        macos_rosetta,
        macos_intel,
    ),
    "env": (
        env_missing,
        env_python_broken,
        probe_timeout,
        env_python_version,
    ),
    "resources": (
        disk_low,
        ram_low,
    ),
    "pip": (pip_extra_index,),
    "jupyter": (kernels,),
}
"""This module's rules by the summary category their findings are in: the only list of them
(the category units and :data:`coursekit.doctor.engine.RULES` are derived from it,
issue 16)."""
