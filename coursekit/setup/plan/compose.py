"""Making the plan (pure): :func:`make_plan` turns the env spec, the machine and the PyTorch
matrix into a :class:`~coursekit.setup.plan.model.Plan`, through the selector
(:mod:`.select`).

Apart from :mod:`.model` (the plan as data, which the executor, the renderer and setup's
verify step read) so that reading a plan does not import the selector, the gates and the
matrix below it (issue 9). May import :mod:`coursekit.setup.plan` and the core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from coursekit.errors import UsageError
from coursekit.host import HostInfo
from coursekit.setup.plan.model import ENGINES, Plan, Step, TorchChoice, run_prefix

if TYPE_CHECKING:
    from coursekit.setup.plan.envspec import EnvSpec
    from coursekit.setup.plan.matrix import Matrix
    from coursekit.setup.plan.select import Selection


def make_plan(
    spec: EnvSpec,
    host: HostInfo,
    *,
    engine: str = "conda",
    torch: str | None = None,
    backend: str | None = None,
    matrix: Matrix | None = None,
) -> Plan:
    """Plan the setup of ``spec`` on ``host`` (pure). Raises UsageError on bad input.

    ``torch`` and ``backend`` are the command-line overrides; they win over the spec's
    ``[torch]`` pins, which win over detection.
    """
    from coursekit.setup.plan.select import platform_key, select_torch

    if engine not in ENGINES:
        raise UsageError(f"unknown engine {engine!r}.", f"Use one of: {', '.join(ENGINES)}.")
    if matrix is None:
        from coursekit.setup.plan.matrix import load_matrix

        matrix = load_matrix()
    selection = select_torch(
        matrix,
        host,
        python=spec.python,
        torch=torch or spec.torch_version,
        backend=backend or spec.torch_backend,
        pin_source="--torch" if torch else "the env spec's [torch] version",
        backend_source="--backend" if backend else "the env spec's [torch] backend",
        needs=tuple(p for p in spec.torch_packages if p != "torch"),
    )
    choice = torch_choice(selection, matrix)
    steps = build_steps(spec, engine, choice, host)
    return Plan(
        env_name=spec.name,
        python=spec.python,
        engine=engine,
        torch=choice,
        steps=steps,
        reasons=selection.reasons,
        warnings=selection.warnings,
        channels=spec.channels,
        conda_packages=spec.conda_packages,
        pip_dependents=spec.after_torch,
        host_summary=describe_host(host),
        extra={"platform": platform_key(host)},
    )


def torch_choice(selection: Selection, matrix: Matrix) -> TorchChoice:
    """The exact pins (local tag included) and index for a selection."""
    tag = selection.variant.local_tag(selection.platform)
    suffix = f"+{tag}" if tag else ""
    v = selection.version
    return TorchChoice(
        version=v.torch + suffix,
        backend=selection.variant.backend,
        index_url=matrix.index_url(selection.variant.backend),
        torchvision=v.torchvision + suffix,
        torchaudio=v.torchaudio + suffix,
        release=selection.release.line,
        gpu=selection.gpu,
    )


def build_steps(
    spec: EnvSpec, engine: str, choice: TorchChoice, host: HostInfo
) -> tuple[Step, ...]:
    """The five steps, in the order that keeps exactly one torch (see the module docstring)."""
    creator = "conda" if engine == "embedded" else engine
    channels = tuple(a for c in spec.channels for a in ("-c", c))
    create = (
        creator,
        "create",
        "-n",
        spec.name,
        "-y",
        "--override-channels",
        *channels,
        f"python={spec.python}",
        *spec.conda_packages,
    )
    index = ("--index-url", choice.index_url) if choice.index_url else ()
    # The pins of the packages the spec lists, whatever their order there (torch is required).
    pins = tuple(p for p in choice.pins() if p.split("==", 1)[0] in spec.torch_packages)
    companions = [name for name in ("torchvision", "torchaudio") if name in spec.torch_packages]

    def in_env(step_id: str, title: str, args: tuple[str, ...], **kw: object) -> Step:
        return Step(step_id, title, (*run_prefix(engine, spec.name), *args), True, args, **kw)  # type: ignore[arg-type]

    source = f"from {choice.index_url}" if choice.index_url else "from PyPI"
    steps = [
        Step(
            "create_env",
            f"Create the conda env '{spec.name}' (Python {spec.python}, conda-forge packages "
            "that do not depend on torch)",
            create,
            why="lightning & co. are left to pip: conda-forge's would pull conda-forge's "
            "pytorch (envs/SOURCES.md P5.1)",
        ),
        in_env(
            "install_torch",
            f"Install {', '.join([f'torch {choice.version}', *companions])} {source}",
            ("-m", "pip", "install", *index, *pins),
            holds=pins,
            why="exact pins and exactly one --index-url, never --extra-index-url (torchtriton, "
            "Dec 2022)",
        ),
    ]
    if spec.after_torch:
        names = ", ".join(spec.after_torch)
        steps.append(
            in_env(
                "install_dependents",
                f"Install {names} from PyPI, holding torch at {choice.version}",
                ("-m", "pip", "install", *spec.after_torch, *pins),
                holds=pins,
                why="the trio's exact pins stop pip from swapping the CUDA build for PyPI's",
            )
        )
    steps.append(
        in_env(
            "register_kernel",
            f"Register the Jupyter kernel '{spec.name}'",
            (
                "-m",
                "ipykernel",
                "install",
                "--user",
                "--name",
                spec.name,
                "--display-name",
                f"Python ({spec.name})",
            ),
        )
    )
    steps.append(
        in_env(
            "verify",
            "Check that torch imports"
            + (" and sees the GPU" if choice.gpu and host.os != "macos" else ""),
            ("-c", verify_script(choice, host), choice.version),
        )
    )
    return tuple(steps)


def verify_script(choice: TorchChoice, host: HostInfo) -> str:
    """A one-line Python check: the right torch and, on a CUDA/ROCm build, a GPU that computes.

    The expected version comes in as ``sys.argv[1]`` (see :func:`build_steps`), so the script has
    no quotes of its own and pastes the same into bash, cmd.exe and PowerShell.
    """
    gpu = choice.gpu and host.os != "macos"
    checks = [
        "import sys, torch",
        "v = torch.__version__",
        "cuda = torch.cuda.is_available()",
        "print(v, cuda)",
        "ok = v == sys.argv[1]",
    ]
    if gpu:
        checks.append("ok = ok and cuda and torch.ones(2).cuda().sum().item() == 2")
    checks.append("sys.exit(0 if ok else 1)")
    return "; ".join(checks)


def describe_host(host: HostInfo) -> str:
    """One line: ``linux x86_64 (WSL), NVIDIA RTX 3090 sm_86 driver 535.183.01``."""
    parts = [
        f"{host.os} {host.arch}"
        + (" (WSL)" if host.wsl else "")
        + (f" macOS {host.macos_version}" if host.macos_version else "")
    ]
    for gpu in host.gpus:
        bits = [gpu.name]
        if gpu.compute_capability:
            bits.append(f"sm_{gpu.compute_capability.replace('.', '')}")
        if gpu.gfx and gpu.gfx != gpu.name:
            bits.append(gpu.gfx)
        if gpu.driver_version:
            bits.append(f"driver {gpu.driver_version}")
        parts.append(" ".join(bits))
    if not host.gpus:
        parts.append("no GPU")
    return ", ".join(parts) + ("" if host.detected else " (described by flags)")
