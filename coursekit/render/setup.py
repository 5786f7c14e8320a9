"""Rendering of a setup plan: numbered steps with commands to paste, or the JSON contract.

The JSON shape is a documented contract (README, section ``setup``): top-level ``env_name``,
``python``, ``engine``, ``torch`` (``version``, ``backend``, ``index_url``, ``torchvision``,
``torchaudio``, ``release``, ``gpu``), ``steps`` (``id``, ``title``, ``argv``, ``in_env``,
``python_args``, ``holds``), ``reasons``,
``warnings``, plus ``host`` (one line) and ``index_checked``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coursekit.render import Console
from coursekit.setup.plan.model import ENV_PYTHON, Plan
from coursekit.shellquote import as_command, quote_arg, windows_join

__all__ = ["format_command", "plan_json", "render_plan", "windows_join"]

_ENGINE_NAMES = {"embedded": "coursekit's built-in engine"}


def format_command(argv: Sequence[str], os_name: str, env_python: str | None = None) -> str:
    """The command as a student pastes it on ``os_name`` (``{env_python}`` filled in when known).

    Quoting is :mod:`coursekit.shellquote`'s, the same as the doctor's fix lines; the
    placeholder itself is shown bare.
    """
    words = [
        (quote_arg(env_python, os_name) if env_python else arg)
        if arg == ENV_PYTHON
        else quote_arg(arg, os_name)
        for arg in argv
    ]
    return as_command(words, os_name)


def plan_json(plan: Plan) -> dict[str, Any]:
    """The plan as the documented JSON object."""
    torch = plan.torch
    return {
        "env_name": plan.env_name,
        "python": plan.python,
        "engine": plan.engine,
        "torch": {
            "version": torch.version,
            "backend": torch.backend,
            "index_url": torch.index_url,
            "torchvision": torch.torchvision,
            "torchaudio": torch.torchaudio,
            "release": torch.release,
            "gpu": torch.gpu,
        },
        "steps": [
            {
                "id": s.id,
                "title": s.title,
                "argv": list(s.argv),
                "in_env": s.in_env,
                "python_args": list(s.python_args),
                "holds": list(s.holds),
            }
            for s in plan.steps
        ],
        "reasons": list(plan.reasons),
        "warnings": list(plan.warnings),
        "host": plan.host_summary,
        "index_checked": plan.index_checked,
    }


def render_plan(
    console: Console, plan: Plan, *, as_json: bool = False, env_python: str | None = None
) -> None:
    """Print the plan: JSON on stdout, or numbered steps, reasons and warnings.

    ``env_python``: the env interpreter's real path, shown in place of ``{env_python}`` in
    the text (the JSON keeps the placeholder: its contract is machine-independent).
    """
    if as_json:
        console.json(plan_json(plan))
        return
    os_name = plan.extra.get("platform", "linux").split("-")[0]
    torch = plan.torch
    console.print(console.style(f"coursekit setup plan for {plan.host_summary}", "bold"))
    source = torch.index_url or "PyPI"
    console.print(
        f"  env '{plan.env_name}': Python {plan.python} with "
        f"{_ENGINE_NAMES.get(plan.engine, plan.engine)}; "
        f"torch {torch.version} ({torch.backend}) from {source}"
    )
    if plan.warnings:
        console.print()
        console.print(console.style("Warnings:", "yellow", "bold"))
        for warning in plan.warnings:
            console.print(f"  ! {console.style(warning, 'yellow')}")
    console.print()
    console.print(console.style("Steps (paste them in order):", "bold"))
    for number, step in enumerate(plan.steps, 1):
        console.print(f"  {number}. {step.title}")
        shown = format_command(step.argv, os_name, env_python)
        console.print(f"     {console.style(shown, 'cyan')}")
    if env_python:
        console.print(
            "  (coursekit creates the env itself; step 1 is the conda command that does the same "
            f"where conda is installed. The env's Python will be {env_python})"
        )
    elif any(ENV_PYTHON in s.argv for s in plan.steps):
        console.print(
            f"  ({ENV_PYTHON} stands for the Python of the env that coursekit's built-in engine "
            "creates; with conda or micromamba installed the commands can be pasted as they are)"
        )
    console.print()
    console.print(console.style("Why:", "bold"))
    for reason in plan.reasons:
        console.print(f"  - {reason}")
