"""The setup plan: what ``coursekit setup`` will do, as data.

A :class:`Plan` is built by :func:`coursekit.setup.plan.compose.make_plan` (pure) and either printed
(``--dry-run``, ``--json``) or carried out by the setup executor. Its steps always come in
this order, which keeps exactly one torch in the env (envs/SOURCES.md P5.1, P5.2, P5.6):

``create_env``
    ``<engine> create -n pt --override-channels -c conda-forge python=3.12 <packages>``: only
    conda-forge packages that do **not** depend on pytorch (lightning would pull conda-forge's
    pytorch before the pip step).
``install_torch``
    ``python -m pip install --index-url <one index> torch==X+tag torchvision==Y+tag
    torchaudio==Z+tag``: exact pins, local tag included, one ``--index-url`` and never
    ``--extra-index-url`` (the Dec-2022 torchtriton attack came through that door).
``install_dependents``
    ``python -m pip install lightning ... torch==X+tag torchvision==Y+tag torchaudio==Z+tag``
    from PyPI. The trio's exact pins are repeated in the same command: pip keeps an installed
    distribution that satisfies an exact pin, so it can neither upgrade nor swap the CUDA
    build for PyPI's; a dependent that needs another torch makes pip fail with a conflict
    instead (pytorch-lightning#18968). ``Step.holds`` lists those pins, for executors that
    prefer writing them to a ``--constraint`` file.
``register_kernel``
    ``python -m ipykernel install --user --name pt --display-name "Python (pt)"``.
``verify``
    ``python -c <script>``: torch imports, has the chosen version and, on a GPU build, sees the GPU.

**Commands and the env's Python.** ``Step.argv`` is the exact command a student could paste
for the chosen engine. Steps that run inside the env (``Step.in_env``) are
``<engine> run -n pt python <python_args>`` for conda, mamba and micromamba; for the
``embedded`` engine (no CLI a student could call) they start with the placeholder
:data:`ENV_PYTHON` (``{env_python}``). An executor that knows the env's interpreter path runs
``(path, *step.python_args)`` instead of ``argv`` for those steps, and ``argv`` for the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

ENV_PYTHON: Final = "{env_python}"
"""Placeholder for the env's Python in ``argv`` when the engine has no ``run`` command."""

STEP_IDS: Final = ("create_env", "install_torch", "install_dependents", "register_kernel", "verify")
"""The stable step ids, in plan order. Executors and the doctor key on these strings."""

ENGINES: Final = ("conda", "mamba", "micromamba", "embedded")
"""Engines the planner knows how to write commands for."""


@dataclass(frozen=True)
class Step:
    """One numbered step of the plan."""

    id: str
    """One of :data:`STEP_IDS` (stable; others key on it)."""
    title: str
    """What the step does, for humans."""
    argv: tuple[str, ...]
    """The exact command a student could paste (see the module docstring for ``in_env``)."""
    in_env: bool = False
    """True when the command runs the env's Python; then ``python_args`` are its arguments."""
    python_args: tuple[str, ...] = ()
    """Arguments after the env's Python (``-m pip install ...``), for executors with its path."""
    holds: tuple[str, ...] = ()
    """Exact requirement pins this step must not change (the torch trio), e.g.
    ``torch==2.13.0+cu130``."""
    why: str = ""
    """One line on why this step looks the way it does."""


@dataclass(frozen=True)
class TorchChoice:
    """The PyTorch build the plan installs."""

    version: str
    """Exact torch version pip installs, local tag included: ``2.13.0+cu130`` (``2.13.0`` on
    PyPI)."""
    backend: str
    """``cu126``, ``cu130``, ``cpu``, ``rocm6.4`` ... or ``pypi`` (plain PyPI, macOS)."""
    index_url: str | None
    """The one ``--index-url`` for the trio; None for plain PyPI."""
    torchvision: str
    """Exact torchvision version (with the same local tag)."""
    torchaudio: str
    """Exact torchaudio version (with the same local tag)."""
    release: str = ""
    """The release line, ``2.13``."""
    gpu: bool = False
    """True when the build uses the GPU (CUDA or ROCm; on macOS, MPS)."""

    def pins(self) -> tuple[str, str, str]:
        """The trio as exact pip requirements."""
        return (
            f"torch=={self.version}",
            f"torchvision=={self.torchvision}",
            f"torchaudio=={self.torchaudio}",
        )


@dataclass(frozen=True)
class EmbeddedTarget:
    """Where the built-in engine will put the env, as words a student pastes.

    ``quoted``: the words are already quoted for the target's shell (a described machine's
    paths hold ``$HOME`` / ``$env:LOCALAPPDATA`` that the shell must expand); otherwise they
    are plain paths that the renderer quotes.
    """

    tool_python: str
    """The Python coursekit runs in (it has py-rattler): runs the engine's helper."""
    prefix: str
    env_python: str
    quoted: bool = False
    note: str = ""


@dataclass(frozen=True)
class Plan:
    """Everything ``coursekit setup`` will do, and why."""

    env_name: str
    python: str
    engine: str
    torch: TorchChoice
    steps: tuple[Step, ...]
    reasons: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    channels: tuple[str, ...] = ("conda-forge",)
    conda_packages: tuple[str, ...] = ()
    pip_dependents: tuple[str, ...] = ()
    host_summary: str = ""
    """One line describing the machine planned for (``linux x86_64, NVIDIA sm_86 driver 535``)."""
    index_checked: bool = False
    """True when the chosen index was confirmed online to list the wheel."""
    extra: dict[str, str] = field(default_factory=dict)

    def step(self, step_id: str) -> Step:
        """The step with id ``step_id`` (KeyError if absent)."""
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


def run_prefix(engine: str, env_name: str) -> tuple[str, ...]:
    """How a student runs the env's Python with ``engine`` (``conda run -n pt python``)."""
    if engine == "embedded":
        return (ENV_PYTHON,)
    if engine == "conda":
        # conda buffers the child's output unless told not to (conda/cli/main_run.py).
        return ("conda", "run", "--no-capture-output", "-n", env_name, "python")
    return (engine, "run", "-n", env_name, "python")
