"""``coursekit doctor --fix``: the safe fixes the doctor knows, planned purely, run on request.

Two fixes are automatic, both limited to the course env and both what ``coursekit setup``
would do itself:

``reinstall-torch``
    the setup plan's own ``<env python> -m pip install --index-url <one index>
    torch==X+tag torchvision==Y+tag torchaudio==Z+tag`` (pins and index from
    :func:`coursekit.setup.plan.compose.make_plan` for this machine; pip replaces other versions
    itself, and a failed download removes nothing), plus ``--force-reinstall --no-deps`` for pins
    already installed at that exact version (broken files). Run with the hardened pip environment of
    :mod:`coursekit.setup.run.pipsafe` (config files off, no ``PIP_*`` sources: an
    ``extra-index-url`` cannot sneak in).
``register-kernel``
    writes the user-level kernelspec ``pt`` for the env's Python with
    :func:`coursekit.setup.run.kernel.write_kernel` (the same file ``python -m ipykernel install
    --user --name pt --display-name "Python (pt)"`` writes).

Both reuse the sources ``coursekit setup`` recorded in the env (``etc/coursekit/setup.json``,
:mod:`coursekit.doctor.recorded`): a class mirror or offline wheel folder given with
``--index-url`` (its build segment following the fix's build), or pip config's PyPI mirror,
instead of the public indexes. The recorded URLs are read again, credentials included, for the
commands that run; every line shown has them redacted.

Everything else (drivers, recreating an env, deleting files) is for a person: the finding's
fix line says how. Each command is shown before it runs, and runs only after a yes (or
``--yes``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from coursekit.doctor.facts import SetupRecordFacts
from coursekit.doctor.planning import suggest_backend
from coursekit.doctor.recorded import index_args, pypi_index, read_record
from coursekit.doctor.results import FixAction, FixOutcome, Report
from coursekit.doctor.view import View
from coursekit.proc import Runner, run_tool

PIP_TIMEOUT_S = 3600.0  # a CUDA trio is ~3 GB; slow student Wi-Fi


def _reinstall(
    v: View, python: str, findings: list[str], recorded: SetupRecordFacts | None
) -> FixAction | None:
    advice = suggest_backend(v)
    if advice is None or not advice.pins:
        return None
    # the env's recorded sources first (a class mirror or an offline folder), else the plan's
    source = index_args(recorded, advice.backend) or (
        "--index-url",
        advice.index_url or pypi_index(recorded) or "https://pypi.org/simple",
    )
    install = (python, "-m", "pip", "install", *source, "--progress-bar", "off")
    # No uninstall first: pip downloads everything before it removes anything and restores
    # the old files when installing fails, so a failed download never leaves the env
    # without torch. Pins already installed at exactly that version are broken copies: reinstall
    # just those files (--no-deps keeps the gigabytes of nvidia-* wheels).
    same = [pin for pin in advice.pins if v.dist_version(pin.split("==")[0]) == pin.split("==")[1]]
    commands = [(*install, *advice.pins)]
    if same:
        commands.append((*install, "--force-reinstall", "--no-deps", *same))
    return FixAction(
        "reinstall-torch",
        f"install torch {advice.torch} and its partners from {source[-1]}",
        tuple(findings),
        tuple(commands),
    )


def plan_fixes(report: Report, recorded: SetupRecordFacts | None = None) -> tuple[FixAction, ...]:
    """The automatic fixes for ``report``'s findings (pure; empty when none applies).

    ``recorded``: the env's setup record with its real URLs (:func:`live_record`); by default
    the report's own (credentials redacted)."""
    v = View(report.facts, report.planner)
    recorded = recorded if recorded is not None else report.facts.setup
    env = report.facts.env
    python = env.python if env and env.exists else None
    if not python:
        return ()
    wanted: dict[str, list[str]] = {}
    for f in report.findings:
        if f.fix_action:
            wanted.setdefault(f.fix_action, []).append(f.id)
    actions = []
    if "reinstall-torch" in wanted:
        action = _reinstall(v, python, wanted["reinstall-torch"], recorded)
        if action is not None:
            actions.append(action)
    if "register-kernel" in wanted and env is not None and not env.explicit:
        actions.append(
            FixAction(
                "register-kernel",
                f"register the Jupyter kernel '{env.name}' for {python}",
                tuple(wanted["register-kernel"]),
                (
                    (
                        python,
                        "-m",
                        "ipykernel",
                        "install",
                        "--user",
                        "--name",
                        env.name,
                        "--display-name",
                        f"Python ({env.name})",
                    ),
                ),
                kernel_python=python,
                kernel_prefix=env.prefix,
                kernel_name=env.name,
            )
        )
    return tuple(actions)


def live_record(report: Report) -> SetupRecordFacts | None:
    """The setup record of the env ``report`` examined on this machine, with its real URLs
    (a mirror's credentials included: the fix must reach it); None for a report from a file."""
    env = report.facts.env
    if report.source != "this machine" or env is None or not env.exists:
        return None
    return read_record(env.prefix, redacted=False)


def _pip_environment(
    environ: Mapping[str, str], prefix: str | None, os_name: str
) -> dict[str, str]:
    from coursekit.setup.run import pipsafe

    files = pipsafe.config_files(environ, Path(prefix) if prefix else None, os_name)
    return pipsafe.pip_env(environ, pipsafe.read_settings(files, environ))


def apply_fix(
    action: FixAction,
    *,
    runner: Runner = run_tool,
    environ: Mapping[str, str] | None = None,
    os_name: str = "linux",
    prefix: str | None = None,
) -> FixOutcome:
    """Carry out one action; a failing command stops it and says why."""
    env = dict(os.environ if environ is None else environ)
    if action.key == "register-kernel" and action.kernel_python:
        from coursekit.setup.run import kernel

        python = Path(action.kernel_python)
        folder = kernel.data_dir(python, env, os_name, runner=runner) / "kernels"
        try:
            path = kernel.write_kernel(
                folder,
                python,
                Path(action.kernel_prefix or python.parent.parent),
                name=action.kernel_name,
            )
        except OSError as exc:  # a read-only or foreign-owned Jupyter folder: say so, no crash
            return FixOutcome(
                action.key, False, f"could not write the kernelspec in {folder}: {exc}"
            )
        return FixOutcome(action.key, True, f"wrote {path}")
    pip_env = _pip_environment(env, prefix, os_name)
    for argv in action.commands:
        # the env's Python isolated (-I): nothing from the current folder or PYTHONPATH runs
        run = [argv[0], "-I", *argv[1:]] if argv[1:3] == ("-m", "pip") else list(argv)
        result = runner(run, timeout=PIP_TIMEOUT_S, env=pip_env, capture=True)
        if not result.ok:
            why = (
                "timed out"
                if result.timed_out
                else (result.key_error_line() or f"exit {result.returncode}")
            )
            return FixOutcome(action.key, False, f"{' '.join(argv[:5])} ... failed: {why}")
    return FixOutcome(action.key, True, "done")


def apply_fixes(
    actions: tuple[FixAction, ...],
    confirm: Callable[[FixAction], bool],
    *,
    runner: Runner = run_tool,
    environ: Mapping[str, str] | None = None,
    os_name: str = "linux",
    prefix: str | None = None,
) -> tuple[FixOutcome, ...]:
    """Ask (``confirm``) and apply each action in order; declined ones are reported as such."""
    outcomes = []
    for action in actions:
        if not confirm(action):
            outcomes.append(FixOutcome(action.key, False, "skipped (not confirmed)"))
            continue
        outcomes.append(
            apply_fix(action, runner=runner, environ=environ, os_name=os_name, prefix=prefix)
        )
    return tuple(outcomes)
