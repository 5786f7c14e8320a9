"""The two pip steps: the torch trio from exactly one index, then lightning & co. with the
trio held (envs/SOURCES.md P5.1, P5.2, P5.6). Every call is hardened by
:mod:`coursekit.setup.run.pipsafe`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from coursekit.setup.engines.state import EnvState
from coursekit.setup.plan.envspec import TRIO
from coursekit.setup.plan.model import Step
from coursekit.setup.run import pipsafe
from coursekit.setup.run.context import Context, StepFailed
from coursekit.setup.run.failures import Failure
from coursekit.setup.run.tools import (
    TIMEOUTS,
    check_after,
    env_state,
    run_checked,
    spec_name,
    trio_pins,
)


def conda_torch_fix(names: str, engine: str, env_name: str) -> str:
    """How to get rid of conda-forge's torch ``names`` in the env, with the user's own tool
    (the built-in engine has no command a student could type: only ``--force``)."""
    remove = (
        f"`{engine} remove -n {env_name} --force {names}`, then `coursekit setup` again; or "
        if engine != "embedded"
        else ""
    )
    return (
        f"Remove it: {remove}`coursekit setup --force` (recreates the env; what you "
        "installed in it yourself is lost)."
    )


def pip_settings(ctx: Context) -> pipsafe.PipSettings:
    prefix = ctx.location.prefix if ctx.location else None
    files = pipsafe.config_files(ctx.environ, prefix, ctx.os_name)
    return pipsafe.read_settings(files, ctx.environ)


def _pip(
    ctx: Context,
    step: Step,
    requirements: Sequence[str],
    source: pipsafe.IndexSource,
    state: EnvState,
    *,
    extra: Sequence[str] = (),
    constraint: Path | None = None,
) -> None:
    assert ctx.location is not None
    settings = pip_settings(ctx)
    for dropped in settings.dropped:
        note = f"pip setting not used for this install: {dropped}"
        if note not in ctx.notes:
            ctx.notes.append(note)
            ctx.reporter.note(note)
    log = ctx.home / "logs" / f"{step.id}.log" if ctx.options.interactive else None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    args = pipsafe.install_args(
        [*extra, *requirements],
        source,
        pip_version=state.pip_version,
        retries=settings.at_least("retries", ctx.options.pip_retries),
        timeout_s=settings.at_least("timeout", ctx.options.pip_timeout_s),
        interactive=ctx.options.interactive,
        constraint=constraint,
        log=log,
    )
    env = pipsafe.pip_env(ctx.environ, settings)
    # -I: a pip/ or json.py in the current folder, PYTHONPATH or a user-site package must not
    # change what runs as pip (the env's own pip, isolated; PIP_* settings still apply).
    run_checked(
        ctx,
        step,
        [str(ctx.location.python), "-I", *args],
        timeout=TIMEOUTS.get(step.id, 1800.0),
        network=True,
        source=source.label,
        capture=log is None,
        env=env,
        log=log,
    )


def torch_source(ctx: Context, settings: pipsafe.PipSettings) -> pipsafe.IndexSource:
    """--index-url, else the plan's PyTorch index, else (plain PyPI builds) the user's own
    index or PyPI."""
    if ctx.options.index_url:
        return pipsafe.check_index(ctx.options.index_url)
    if ctx.plan.torch.index_url:
        return pipsafe.IndexSource(url=ctx.plan.torch.index_url)
    return pipsafe.IndexSource(url=settings.index_url or "https://pypi.org/simple")


def _trio_status(ctx: Context, state: EnvState) -> tuple[list[str], list[str]]:
    """(pins that are wrong or missing, pins installed at the right version but damaged)."""
    wrong, damaged = [], []
    for pin in trio_pins(ctx):
        name, want = pin.split("==", 1)
        dist = state.one(name)
        if dist is None or dist.version != want or dist.installer not in ("pip", None):
            wrong.append(pin)
        elif not dist.intact:
            damaged.append(pin)
    return wrong, damaged


def _refuse_duplicates(step: Step, state: EnvState) -> None:
    """Two copies of torch (one in the env, one in ~/.local or on PYTHONPATH): pip in the env
    cannot remove the other, and whichever comes first on sys.path wins in the notebook."""
    for name in TRIO:
        copies = state.copies(name)
        if len(copies) > 1:
            where = "; ".join(f"{c.version} in {c.location}" for c in copies)
            outside = [
                c.location
                for c in copies
                if c.location
                and not c.location.startswith(str(state.location.prefix) if state.location else "")
            ]
            raise StepFailed(
                Failure(
                    "tool",
                    f"{step.title}: {name} is installed {len(copies)} times ({where})",
                    "Delete the copy outside the env "
                    f"({', '.join(str(o) for o in outside) or 'see above'}"
                    "), then run `coursekit setup` again.",
                    None,
                )
            )


def install_torch(ctx: Context, step: Step) -> tuple[bool, str]:
    state = env_state(ctx)
    wrong, damaged = _trio_status(ctx, state)
    if not wrong and not damaged:
        return False, f"torch {ctx.plan.torch.version}"
    _refuse_duplicates(step, state)
    if state.conda_torch:
        names = " ".join(state.conda_torch)
        raise StepFailed(
            Failure(
                "tool",
                f"{step.title}: conda-forge's torch ({names}) is already in the env; pip's "
                "torch on top of it would give torch two owners",
                conda_torch_fix(names, ctx.engine.kind, ctx.plan.env_name),
                None,
            )
        )
    source = torch_source(ctx, pip_settings(ctx))
    if damaged:  # same version but files missing: pip would say "already satisfied"
        _pip(ctx, step, damaged, source, state, extra=["--force-reinstall", "--no-deps"])
    _pip(ctx, step, list(trio_pins(ctx)), source, state)
    wrong, damaged = _trio_status(ctx, env_state(ctx, fresh=True))
    check_after(ctx, step, not wrong and not damaged, f"still wrong: {' '.join(wrong + damaged)}")
    return True, f"torch {ctx.plan.torch.version} from {source.label}"


def _dependents_missing(ctx: Context, state: EnvState) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    missing = []
    for spec in ctx.plan.pip_dependents:
        dist = state.one(spec_name(spec))
        try:
            req = Requirement(spec)
            fits = dist is not None and req.specifier.contains(dist.version, prereleases=True)
        except InvalidRequirement:
            fits = dist is not None
        if dist is None or not fits or not dist.intact:
            missing.append(spec)
    return missing


def install_dependents(ctx: Context, step: Step) -> tuple[bool, str]:
    state = env_state(ctx)
    missing = _dependents_missing(ctx, state)
    if not missing:
        return False, " ".join(spec_name(s) for s in ctx.plan.pip_dependents)
    settings = pip_settings(ctx)
    if ctx.options.index_url and pipsafe.check_index(ctx.options.index_url).folder is not None:
        source = pipsafe.check_index(ctx.options.index_url)  # offline room: one wheel folder
    else:
        source = pipsafe.IndexSource(url=settings.index_url or "https://pypi.org/simple")
    # The trio held at its exact versions: pip must not swap the CUDA build (envs/SOURCES.md P5.2).
    holds = step.holds or trio_pins(ctx)
    constraint = ctx.home / "state" / "torch-constraints.txt"
    constraint.parent.mkdir(parents=True, exist_ok=True)
    constraint.write_text("".join(f"{h}\n" for h in holds), encoding="utf-8")
    damaged = [s for s in missing if (d := state.one(spec_name(s))) is not None and not d.intact]
    if damaged:
        _pip(
            ctx,
            step,
            damaged,
            source,
            state,
            extra=["--force-reinstall", "--no-deps"],
            constraint=constraint,
        )
    _pip(ctx, step, missing, source, state, constraint=constraint)
    after = env_state(ctx, fresh=True)
    left = _dependents_missing(ctx, after)
    wrong, _ = _trio_status(ctx, after)
    check_after(
        ctx,
        step,
        not left and not wrong,
        f"still missing {' '.join(left)}" if left else f"torch changed: {' '.join(wrong)}",
    )
    return True, " ".join(spec_name(s) for s in missing)
