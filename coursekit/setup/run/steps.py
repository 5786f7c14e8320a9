"""The steps of ``coursekit setup``: for each, "is it already done?" and "do it".

Checks are pure over :class:`~coursekit.setup.engines.state.EnvState`; actions go through the
subprocess door with a time limit, network ones with retries
(:func:`coursekit.setup.run.tools.run_checked`). The pip steps are in
:mod:`coursekit.setup.run.pip`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from coursekit.errors import CoursekitError, ExitCode
from coursekit.setup.engines import drivers
from coursekit.setup.engines.base import env_bin_dirs, env_script
from coursekit.setup.engines.discovery import embedded_env_prefix
from coursekit.setup.engines.state import EnvState
from coursekit.setup.plan.model import Step
from coursekit.setup.run.context import Context, StepFailed, StepOutcome
from coursekit.setup.run.failures import Failure, classify
from coursekit.setup.run.pip import install_dependents, install_torch, pip_settings, torch_source
from coursekit.setup.run.preflight import disk_note, stop_leftovers
from coursekit.setup.run.tools import (
    TIMEOUTS,
    channels,
    check_after,
    env_state,
    locate,
    run_checked,
    spec_name,
    trio_pins,
)


def prepare(ctx: Context) -> None:
    """Find the env. It is deleted and recreated only with --force (or a yes at the
    question), and only when it cannot be repaired in place: another Python version, or
    conda-forge's torch inside it."""
    if not ctx.engine.external:
        stop_leftovers(ctx, embedded_env_prefix(ctx.plan.env_name, ctx.environ))
    locate(ctx)
    if ctx.engine.external and ctx.location is not None:
        stop_leftovers(ctx, ctx.location.prefix)
    note = disk_note(ctx) if ctx.location is None or not ctx.location.confirmed else None
    if note:
        ctx.notes.append(note)
        ctx.reporter.note(note)
    loc = ctx.location
    if loc is None or not loc.confirmed:
        return
    if loc.python_minor != ctx.plan.python:
        question = (
            f"The env '{loc.name}' at {loc.prefix} has Python {loc.python_version}; the "
            f"course needs {ctx.plan.python}. Delete it and create it again?"
        )
        if not (ctx.options.force or ctx.confirm(question)):
            raise CoursekitError(
                f"An env '{loc.name}' already exists at {loc.prefix} with Python "
                f"{loc.python_version}, but the course needs Python {ctx.plan.python}.",
                "Keep it and rename it first (`conda rename -n pt pt-old`), or let coursekit "
                "delete and recreate it: `coursekit setup --force` (what you installed in it is "
                "lost).",
                exit_code=ExitCode.FAILED,
            )
        _remove_env(ctx)
    elif ctx.options.force and env_state(ctx).conda_torch:
        _remove_env(ctx)


def _remove_env(ctx: Context) -> None:
    assert ctx.location is not None
    prefix = ctx.location.prefix
    ctx.reporter.note(f"Removing the env at {prefix} (--force) ...")
    argv = drivers.remove_argv(ctx.engine, prefix)
    if argv is None:
        try:
            shutil.rmtree(prefix)
        except OSError as exc:  # Windows: a running kernel or editor holds python.exe or a DLL
            raise StepFailed(
                Failure(
                    "tool",
                    f"Removing the old env at {prefix} failed: {exc.strerror or exc}",
                    "Close Jupyter, VS Code and anything else using the env's Python, then run "
                    "`coursekit setup --force` again.",
                    str(exc),
                )
            ) from exc
    else:
        result = ctx.runner(argv, timeout=600, env=ctx.environ)
        if not result.ok:
            raise StepFailed(classify("Removing the old env", result))
    ctx.location = None
    ctx.state = None


def run_step(ctx: Context, step: Step) -> tuple[bool, str]:
    """Do ``step`` unless it is already done; returns (did work, detail)."""
    handler = _HANDLERS.get(step.id)
    if handler is None:  # a plan from a newer planner than this executor
        raise StepFailed(
            Failure(
                "tool",
                f"{step.title}: this coursekit cannot carry out step '{step.id}'",
                "Update coursekit, then run `coursekit setup` again.",
                None,
            )
        )
    return handler(ctx, step)


# --- create_env ---------------------------------------------------------------------------


def _conda_specs(ctx: Context) -> list[str]:
    return [f"python={ctx.plan.python}", "pip", *ctx.plan.conda_packages]


def _env_missing(ctx: Context, state: EnvState) -> tuple[list[str], str]:
    """The conda specs still missing, and why the step is not done ('' when it is)."""
    if not state.exists:
        return _conda_specs(ctx), "no env yet"
    # spec_name folds '_' into '-'; conda keeps it (conda-forge's jupyter_server): fold both.
    have = {spec_name(name) for name in state.conda}
    missing = [s for s in _conda_specs(ctx) if spec_name(s) not in have]
    if not state.usable:
        return missing, state.probe_error or "the env's Python does not run"
    pip = state.one("pip")
    if pip is None or not pip.intact:
        return [*missing, "pip"] if "pip" not in missing else missing, "pip is missing or damaged"
    return missing, f"missing: {' '.join(spec_name(s) for s in missing)}" if missing else ""


def _create_env(ctx: Context, step: Step) -> tuple[bool, str]:
    state = env_state(ctx)
    missing, why = _env_missing(ctx, state)
    if not why:
        return False, f"{ctx.location.prefix if ctx.location else ''} (Python {ctx.plan.python})"
    cache = ctx.home / "rattler-cache"
    if ctx.location is None:
        prefix = (
            None if ctx.engine.external else embedded_env_prefix(ctx.plan.env_name, ctx.environ)
        )
        argv = drivers.create_argv(
            ctx.engine, ctx.plan.env_name, channels(ctx), missing, prefix=prefix, cache_dir=cache
        )
    else:
        pip = state.one("pip")
        reinstall = [
            n
            for n, bad in (
                ("python", not state.usable),
                ("pip", state.usable and "pip" in state.conda and (pip is None or not pip.intact)),
            )
            if bad
        ]
        argv = drivers.complete_argv(
            ctx.engine,
            ctx.location.prefix,
            channels(ctx),
            missing or [f"python={ctx.plan.python}"],
            reinstall=reinstall,
            cache_dir=cache,
        )
    run_checked(
        ctx,
        step,
        argv,
        timeout=TIMEOUTS["create_env"],
        network=True,
        capture=not ctx.options.interactive,
    )  # at a terminal the tool shows its progress
    locate(ctx)
    _, still = _env_missing(ctx, env_state(ctx, fresh=True))
    check_after(ctx, step, not still, still)
    assert ctx.location is not None
    return True, _created_detail(state, missing, ctx.location.prefix)


def _created_detail(state: EnvState, missing: list[str], prefix: Path) -> str:
    """What create_env did, in plain words (pure)."""
    if not state.exists:
        return f"created {prefix}"
    if not state.usable:
        return f"repaired its Python in {prefix}"
    names = [spec_name(s) for s in missing]
    return f"added {', '.join(names)} to {prefix}" if names else f"repaired {prefix}"


def _create_env_recorded(ctx: Context, step: Step) -> tuple[bool, str]:
    """create_env, then the sources it used recorded in the env (once it exists, so that a
    failed pip step is still fixed from the same mirror: :mod:`coursekit.setup.run.record`)."""
    result = _create_env(ctx, step)
    record_sources(ctx)
    return result


def record_sources(ctx: Context) -> None:
    """Write ``etc/coursekit/setup.json`` into the env; a prefix setup cannot write to (a
    shared, read-only env) is a note, not a failure."""
    from coursekit.setup.run.record import record_data, write_record

    if ctx.location is None:
        return
    settings = pip_settings(ctx)
    source = torch_source(ctx, settings)
    data = record_data(
        engine=ctx.engine.kind,
        channels=tuple(channels(ctx)),
        channels_given=bool(ctx.options.channels),
        index=source.label,
        index_is_folder=source.folder is not None,
        index_given=bool(ctx.options.index_url),
        pypi_index_url=settings.index_url,
        backend=ctx.plan.torch.backend,
        torch=ctx.plan.torch.version,
    )
    try:
        write_record(ctx.location.prefix, data)
    except OSError as exc:
        note = (
            f"could not record the channels and index in the env ({exc.strerror or exc}); "
            "`coursekit doctor --fix` will use the public ones"
        )
        ctx.notes.append(note)
        ctx.reporter.note(note)


# --- kernel, verify, git --------------------------------------------------------------------


def _kernels_dir(ctx: Context) -> Path:
    from coursekit.setup.run.kernel import data_dir

    assert ctx.location is not None
    return data_dir(ctx.location.python, ctx.environ, ctx.os_name, runner=ctx.runner) / "kernels"


def _register_kernel(ctx: Context, step: Step) -> tuple[bool, str]:
    from coursekit.setup.run.kernel import check_kernel, display_name_for, write_kernel

    assert ctx.location is not None
    env = env_state(ctx)
    if "ipykernel" not in env.conda and not env.copies("ipykernel"):
        raise StepFailed(
            Failure(
                "tool",
                f"{step.title}: ipykernel is not in the env, so a kernel could not start",
                "Add `ipykernel` to the [conda] packages of "
                "the env spec (envs/course.toml), then run `coursekit setup`.",
                None,
            )
        )
    kernels = _kernels_dir(ctx)
    name = ctx.plan.env_name  # the plan's `ipykernel install --name` and the doctor agree on it
    state = check_kernel(kernels, ctx.location.python, name)
    if state.ok:
        return False, f"'{display_name_for(name)}' in {state.path.parent}"
    try:
        path = write_kernel(kernels, ctx.location.python, ctx.location.prefix, name)
    except OSError as exc:  # e.g. a root-owned ~/.local/share/jupyter left by `sudo jupyter`
        raise StepFailed(
            Failure(
                "tool",
                f"{step.title}: cannot write {state.path}: {exc.strerror or exc}",
                f"Make {kernels} yours again (Linux/macOS: `sudo chown -R $USER {kernels}`), then "
                "run `coursekit setup` again.",
                str(exc),
            )
        ) from exc
    again = "" if state.why == "not registered" else f" (replaced: {state.why})"
    return True, f"registered '{display_name_for(name)}' in {path.parent.parent}{again}"


def _verify(ctx: Context, step: Step) -> tuple[bool, str]:
    from coursekit.probing import run_probe

    assert ctx.location is not None
    facts = run_probe(ctx.location.python, runner=ctx.runner, env=ctx.environ)
    assert ctx.judge is not None, "the executor sets the judge"
    verdict = ctx.judge(
        ctx.plan.torch,
        facts.status,
        facts.data,
        ctx.os_name,
        pins=trio_pins(ctx),
        engine=ctx.engine.kind,
        env_name=ctx.plan.env_name,
        python=str(ctx.location.python),
    )
    ctx.verification = verdict
    for note in verdict.notes:
        ctx.reporter.note(note)
    if not verdict.ok:
        first = verdict.problems[0]
        others = "; ".join(p.message for p in verdict.problems[1:])
        raise StepFailed(
            Failure(
                "verify",
                f"{step.title}: {first.message}" + (f" (also: {others})" if others else ""),
                first.fix,
                None,
            )
        )
    return True, f"torch {verdict.torch_version} on {verdict.device}"


def after_verify(ctx: Context) -> list[StepOutcome]:
    """Optional extras once the env is healthy: nbdime's git integration."""
    from coursekit.setup.run.nbdime import offer_nbdime

    outcome = offer_nbdime(ctx)
    return [outcome] if outcome is not None else []


def activation(ctx: Context) -> tuple[str, ...]:
    """How to use the env afterwards, per engine."""
    loc = ctx.location
    if loc is None:
        return ()
    if ctx.engine.external:
        return (f"{ctx.engine.kind} activate {ctx.plan.env_name}",)
    bins = env_bin_dirs(loc.prefix, ctx.os_name)
    jupyter = env_script(loc.prefix, "jupyter", ctx.os_name)
    if ctx.os_name == "windows":
        # PowerShell lines: a quoted path runs only after the call operator `&`, and the
        # label is a comment, so each line pastes as it is.
        path = ";".join(str(b) for b in bins)
        return (f'$env:PATH = "{path};$env:PATH"   # PowerShell', f'& "{jupyter}" lab')
    return (f'export PATH="{bins[0]}:$PATH"', f'"{jupyter}" lab')


_HANDLERS = {
    "create_env": _create_env_recorded,
    "install_torch": install_torch,
    "install_dependents": install_dependents,
    "register_kernel": _register_kernel,
    "verify": _verify,
}
