"""The steps of ``coursekit setup``: for each, "is it already done?" and "do it".

Checks are pure over :class:`~coursekit.engines.state.EnvState`; actions go through the
subprocess door with a time limit, network ones with retries (:func:`_run`).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from coursekit import pipsafe
from coursekit.engines import drivers, embedded_env_prefix, env_bin_dirs, env_script, locate_env
from coursekit.engines.discovery import confirm_env
from coursekit.engines.state import EnvState, read_state
from coursekit.errors import CoursekitError, ExitCode
from coursekit.execute import Context, StepFailed, StepOutcome
from coursekit.failures import Failure, classify
from coursekit.plan import Step
from coursekit.proc import ToolResult

TIMEOUTS = {"create_env": 3600.0, "install_torch": 3600.0, "install_dependents": 1800.0}
TRIO = ("torch", "torchvision", "torchaudio")


def spec_name(spec: str) -> str:
    """``jupyterlab>=4`` / ``python=3.12`` / ``lightning>=2.6.6`` -> the package name."""
    return re.split(r"[\s=<>!~\[;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def trio_pins(ctx: Context) -> tuple[str, ...]:
    """The exact torch pins this plan installs (the spec may list fewer than all three)."""
    try:
        holds = ctx.plan.step("install_torch").holds
    except KeyError:
        holds = ()
    return holds or ctx.plan.torch.pins()


def _names(ctx: Context) -> list[str]:
    return [*TRIO, *(spec_name(s) for s in ctx.plan.pip_dependents)]


def _state(ctx: Context, fresh: bool = False) -> EnvState:
    """The env's state, read once per run and again only after a step changed the env."""
    if fresh or ctx.state is None:
        ctx.state = read_state(ctx.location, _names(ctx), runner=ctx.runner, env=ctx.environ)
    return ctx.state


def _channels(ctx: Context) -> tuple[str, ...]:
    return ctx.options.channels or ctx.plan.channels


def _locate(ctx: Context) -> None:
    if ctx.engine.external:
        ctx.location = locate_env(ctx.engine, ctx.plan.env_name, runner=ctx.runner, env=ctx.environ)
    else:
        prefix = embedded_env_prefix(ctx.plan.env_name, ctx.environ)
        ctx.location = (confirm_env(ctx.plan.env_name, prefix, "embedded", runner=ctx.runner,
                                    env=ctx.environ) if (prefix / "conda-meta").is_dir() else None)


# Rough sizes of a finished env (conda stack + the torch trio), for the free-space warning:
# CUDA wheels pull several GB of nvidia-* libraries; pip also needs room for the download.
NEEDED_GB = {"gpu": 10.0, "cpu": 4.0}


def _free_gb(folder: Path) -> float | None:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return shutil.disk_usage(candidate).free / 1e9
    return None


def disk_note(ctx: Context) -> str | None:
    """A warning before a long download when the disk is nearly full (None: enough room)."""
    if ctx.location is not None and ctx.location.confirmed:
        folder = ctx.location.prefix
    elif not ctx.engine.external:
        folder = embedded_env_prefix(ctx.plan.env_name, ctx.environ)
    else:
        folder = ctx.home
    free = _free_gb(folder)
    need = NEEDED_GB["gpu" if ctx.plan.torch.gpu else "cpu"]
    if free is None or free >= need:
        return None
    return (f"only {free:.1f} GB free where the env goes ({folder}); a fresh env with this torch "
            f"build needs about {need:.0f} GB. Free some space first, or setup may stop with "
            "'disk full' (it can be re-run then).")


def prepare(ctx: Context) -> None:
    """Find the env; an env with another Python is recreated only with --force (or a yes)."""
    _locate(ctx)
    note = disk_note(ctx) if ctx.location is None or not ctx.location.confirmed else None
    if note:
        ctx.notes.append(note)
        ctx.reporter.note(note)
    loc = ctx.location
    if loc is None or not loc.confirmed or loc.python_minor == ctx.plan.python:
        return
    question = (f"The env '{loc.name}' at {loc.prefix} has Python {loc.python_version}; the course "
                f"needs {ctx.plan.python}. Delete it and create it again?")
    if not (ctx.options.force or ctx.confirm(question)):
        raise CoursekitError(
            f"An env '{loc.name}' already exists at {loc.prefix} with Python "
            f"{loc.python_version}, but the course needs Python {ctx.plan.python}.",
            "Keep it and rename it first (`conda rename -n pt pt-old`), or let coursekit delete "
            "and recreate it: `coursekit setup --force` (what you installed in it is lost).",
            exit_code=ExitCode.FAILED)
    ctx.reporter.note(f"Removing the env at {loc.prefix} (--force) ...")
    argv = drivers.remove_argv(ctx.engine, loc.prefix)
    if argv is None:
        shutil.rmtree(loc.prefix)
    else:
        result = ctx.runner(argv, timeout=600, env=ctx.environ)
        if not result.ok:
            raise StepFailed(classify("Removing the old env", result))
    ctx.location = None


def run_step(ctx: Context, step: Step) -> tuple[bool, str]:
    """Do ``step`` unless it is already done; returns (did work, detail)."""
    handler = _HANDLERS.get(step.id)
    if handler is None:
        return False, "unknown step id: nothing to do"
    return handler(ctx, step)


# --- running tools ------------------------------------------------------------------------

def _run(ctx: Context, step: Step, argv: Sequence[str], *, timeout: float, network: bool,
         source: str = "", capture: bool = True, env: Mapping[str, str] | None = None
         ) -> ToolResult:
    """Run ``argv`` (retrying network failures); raise :class:`StepFailed` when it fails."""
    attempts = ctx.options.attempts if network else 1
    wait = ctx.options.backoff_s
    for attempt in range(1, attempts + 1):
        result = ctx.runner(list(argv), timeout=timeout, env=env or ctx.environ, capture=capture)
        if result.ok:
            return result
        failure = classify(step.title, result, source=source)
        if not (failure.transient and attempt < attempts):
            raise StepFailed(failure)
        ctx.reporter.retry(step.id, attempt + 1, failure.tool_line or failure.message, wait)
        ctx.sleep(wait)
        wait *= 2
    raise AssertionError("unreachable")


def _check_after(ctx: Context, step: Step, ok: bool, why: str) -> None:
    if not ok:
        raise StepFailed(Failure("tool", f"{step.title}: the command succeeded but {why}",
                                 "Run `coursekit doctor` to see what is wrong.", None))


# --- create_env ---------------------------------------------------------------------------

def _conda_specs(ctx: Context) -> list[str]:
    return [f"python={ctx.plan.python}", "pip", *ctx.plan.conda_packages]


def _env_missing(ctx: Context, state: EnvState) -> tuple[list[str], str]:
    """The conda specs still missing, and why the step is not done ('' when it is)."""
    if not state.exists:
        return _conda_specs(ctx), "no env yet"
    missing = [s for s in _conda_specs(ctx) if spec_name(s) not in state.conda]
    if not state.usable:
        return missing, state.probe_error or "the env's Python does not run"
    pip = state.one("pip")
    if pip is None or not pip.intact:
        return [*missing, "pip"] if "pip" not in missing else missing, "pip is missing or damaged"
    return missing, f"missing: {' '.join(spec_name(s) for s in missing)}" if missing else ""


def _create_env(ctx: Context, step: Step) -> tuple[bool, str]:
    state = _state(ctx)
    missing, why = _env_missing(ctx, state)
    if not why:
        return False, f"{ctx.location.prefix if ctx.location else ''} (Python {ctx.plan.python})"
    cache = ctx.home / "rattler-cache"
    if ctx.location is None:
        prefix = None if ctx.engine.external else embedded_env_prefix(ctx.plan.env_name, ctx.environ)
        argv = drivers.create_argv(ctx.engine, ctx.plan.env_name, _channels(ctx), missing,
                                   prefix=prefix, cache_dir=cache)
    else:
        pip = state.one("pip")
        reinstall = [n for n, bad in (("python", not state.usable),
                                      ("pip", state.usable and "pip" in state.conda
                                       and (pip is None or not pip.intact))) if bad]
        argv = drivers.complete_argv(ctx.engine, ctx.location.prefix, _channels(ctx),
                                     missing or [f"python={ctx.plan.python}"],
                                     reinstall=reinstall, cache_dir=cache)
    _run(ctx, step, argv, timeout=TIMEOUTS["create_env"], network=True,
         capture=not (ctx.options.interactive and ctx.engine.external))
    _locate(ctx)
    _, still = _env_missing(ctx, _state(ctx, fresh=True))
    _check_after(ctx, step, not still, still)
    assert ctx.location is not None
    return True, f"{why}: fixed, {ctx.location.prefix}"


# --- pip steps ----------------------------------------------------------------------------

def _settings(ctx: Context) -> pipsafe.PipSettings:
    prefix = ctx.location.prefix if ctx.location else None
    files = pipsafe.config_files(ctx.environ, prefix, ctx.os_name)
    return pipsafe.read_settings(files, ctx.environ)


def _pip(ctx: Context, step: Step, requirements: Sequence[str], source: pipsafe.IndexSource,
         state: EnvState, *, extra: Sequence[str] = (), constraint: Path | None = None) -> None:
    assert ctx.location is not None
    settings = _settings(ctx)
    for dropped in settings.dropped:
        note = f"pip setting not used for this install: {dropped}"
        if note not in ctx.notes:
            ctx.notes.append(note)
            ctx.reporter.note(note)
    log = ctx.home / "logs" / f"{step.id}.log" if ctx.options.interactive else None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.unlink(missing_ok=True)
    args = pipsafe.install_args([*extra, *requirements], source, pip_version=state.pip_version,
                                retries=ctx.options.pip_retries,
                                timeout_s=ctx.options.pip_timeout_s,
                                interactive=ctx.options.interactive, constraint=constraint, log=log)
    env = pipsafe.pip_env(ctx.environ, settings)
    _pip_run(ctx, step, [str(ctx.location.python), *args], source, log, env)


def _pip_run(ctx: Context, step: Step, argv: list[str], source: pipsafe.IndexSource,
             log: Path | None, env: Mapping[str, str]) -> ToolResult:
    try:
        return _run(ctx, step, argv, timeout=TIMEOUTS.get(step.id, 1800.0), network=True,
                    source=source.label, capture=log is None, env=env)
    except StepFailed as exc:
        if log is not None and log.exists() and exc.failure.tool_line is None:
            errors = [ln for ln in log.read_text(errors="replace").splitlines() if "ERROR" in ln]
            if errors:
                f = exc.failure
                raise StepFailed(Failure(f.kind, f.message, f.fix, errors[-1].strip())) from exc
        raise


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
            outside = [c.location for c in copies
                       if c.location and not c.location.startswith(str(state.location.prefix)
                                                                    if state.location else "")]
            raise StepFailed(Failure(
                "tool", f"{step.title}: {name} is installed {len(copies)} times ({where})",
                f"Delete the copy outside the env ({', '.join(str(o) for o in outside) or 'see above'}"
                "), then run `coursekit setup` again.", None))


def _install_torch(ctx: Context, step: Step) -> tuple[bool, str]:
    state = _state(ctx)
    wrong, damaged = _trio_status(ctx, state)
    if not wrong and not damaged:
        return False, f"torch {ctx.plan.torch.version}"
    _refuse_duplicates(step, state)
    if state.conda_torch:
        raise StepFailed(Failure(
            "tool", f"{step.title}: conda-forge's torch ({' '.join(state.conda_torch)}) is "
            "already in the env; pip's torch on top of it would give torch two owners",
            f"conda remove -n {ctx.plan.env_name} --force {' '.join(state.conda_torch)}   then "
            "`coursekit setup` again (or `coursekit setup --force`).", None))
    source = torch_source(ctx, _settings(ctx))
    if damaged:  # same version but files missing: pip would say "already satisfied"
        _pip(ctx, step, damaged, source, state, extra=["--force-reinstall", "--no-deps"])
    _pip(ctx, step, list(trio_pins(ctx)), source, state)
    wrong, damaged = _trio_status(ctx, _state(ctx, fresh=True))
    _check_after(ctx, step, not wrong and not damaged, f"still wrong: {' '.join(wrong + damaged)}")
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


def _install_dependents(ctx: Context, step: Step) -> tuple[bool, str]:
    state = _state(ctx)
    missing = _dependents_missing(ctx, state)
    if not missing:
        return False, " ".join(spec_name(s) for s in ctx.plan.pip_dependents)
    settings = _settings(ctx)
    if ctx.options.index_url and pipsafe.check_index(ctx.options.index_url).folder is not None:
        source = pipsafe.check_index(ctx.options.index_url)  # offline room: one wheel folder
    else:
        source = pipsafe.IndexSource(url=settings.index_url or "https://pypi.org/simple")
    # The trio held at its exact versions: pip must not swap the CUDA build (§5.2).
    holds = step.holds or trio_pins(ctx)
    constraint = ctx.home / "state" / "torch-constraints.txt"
    constraint.parent.mkdir(parents=True, exist_ok=True)
    constraint.write_text("".join(f"{h}\n" for h in holds), encoding="utf-8")
    damaged = [s for s in missing if (d := state.one(spec_name(s))) is not None and not d.intact]
    if damaged:
        _pip(ctx, step, damaged, source, state, extra=["--force-reinstall", "--no-deps"],
             constraint=constraint)
    _pip(ctx, step, missing, source, state, constraint=constraint)
    after = _state(ctx, fresh=True)
    left = _dependents_missing(ctx, after)
    wrong, _ = _trio_status(ctx, after)
    _check_after(ctx, step, not left and not wrong,
                 f"still missing {' '.join(left)}" if left else f"torch changed: {' '.join(wrong)}")
    return True, " ".join(spec_name(s) for s in missing)


# --- kernel, verify, git --------------------------------------------------------------------

def _kernels_dir(ctx: Context) -> Path:
    from coursekit.kernel import data_dir

    assert ctx.location is not None
    return data_dir(ctx.location.python, ctx.environ, ctx.os_name, runner=ctx.runner) / "kernels"


def _register_kernel(ctx: Context, step: Step) -> tuple[bool, str]:
    from coursekit.kernel import DISPLAY_NAME, check_kernel, write_kernel

    assert ctx.location is not None
    kernels = _kernels_dir(ctx)
    state = check_kernel(kernels, ctx.location.python)
    if state.ok:
        return False, f"'{DISPLAY_NAME}' in {state.path.parent}"
    path = write_kernel(kernels, ctx.location.python, ctx.location.prefix)
    return True, f"{state.why}: wrote {path}"


def _verify(ctx: Context, step: Step) -> tuple[bool, str]:
    from coursekit.doctor.probing import run_probe
    from coursekit.onetorch import judge

    assert ctx.location is not None
    facts = run_probe(ctx.location.python, runner=ctx.runner, env=ctx.environ)
    verdict = judge(ctx.plan.torch, facts.status, facts.data, ctx.os_name,
                    pins=trio_pins(ctx))
    ctx.verification = verdict
    for note in verdict.notes:
        ctx.reporter.note(note)
    if not verdict.ok:
        first = verdict.problems[0]
        others = "; ".join(p.message for p in verdict.problems[1:])
        raise StepFailed(Failure("verify", f"{step.title}: {first.message}"
                                 + (f" (also: {others})" if others else ""), first.fix, None))
    return True, f"torch {verdict.torch_version} on {verdict.device}"


def after_verify(ctx: Context) -> list[StepOutcome]:
    """Optional extras once the env is healthy: nbdime's git integration."""
    from coursekit.nbdime_git import offer_nbdime

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
        path = ";".join(str(b) for b in bins)
        return (f'$env:PATH = "{path};$env:PATH"   (PowerShell)', f'"{jupyter}" lab')
    return (f'export PATH="{bins[0]}:$PATH"', f'"{jupyter}" lab')


_HANDLERS = {"create_env": _create_env, "install_torch": _install_torch,
             "install_dependents": _install_dependents, "register_kernel": _register_kernel,
             "verify": _verify}
