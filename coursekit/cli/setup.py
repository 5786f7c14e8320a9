"""`coursekit setup`: plan the course environment (``--dry-run``) or create it.

Thin adapter: parse the flags into a :class:`~coursekit.setup.plan.request.SetupRequest`, build the
plan (:func:`coursekit.setup.plan.request.build_plan`), then render it (``--dry-run``) or hand it to
the executor (:mod:`coursekit.setup.run.service`).
"""

from __future__ import annotations

import click

from coursekit.cli import AppContext
from coursekit.errors import ExitCode


@click.command()
@click.option(
    "--dry-run", is_flag=True, help="Print the plan (steps to paste, and why) and change nothing."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the plan (with --dry-run) or the result as JSON (contracts in the README).",
)
@click.option(
    "--os",
    "os_name",
    type=click.Choice(["linux", "windows", "macos"]),
    help="Plan for another machine with this OS (turns detection off).",
)
@click.option(
    "--arch",
    type=click.Choice(["x86_64", "arm64"]),
    help="Its CPU architecture (default: arm64 on macos, else x86_64).",
)
@click.option("--gpu-driver", metavar="VERSION", help="Its NVIDIA driver version, e.g. 580.95.05.")
@click.option(
    "--gpu-cc",
    metavar="X.Y",
    multiple=True,
    help="An NVIDIA GPU's compute capability, e.g. 8.6 (repeat once per GPU).",
)
@click.option(
    "--gpu-rocm",
    metavar="gfxNNNN",
    multiple=True,
    help="An AMD GPU's gfx target, e.g. gfx1100 (repeat once per GPU).",
)
@click.option(
    "--glibc",
    metavar="X.Y",
    help="Its C library (Linux): glibc version as `ldd --version` prints it, or musl.",
)
@click.option(
    "--torch",
    "torch_version",
    metavar="VERSION",
    help="Install this torch release (2.13) or version (2.13.0) instead of the newest that fits.",
)
@click.option(
    "--backend", metavar="NAME", help="Force a wheel variant: cu126, cu130, cpu, rocm7.2, ..."
)
@click.option(
    "--engine",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "conda", "mamba", "micromamba", "embedded"]),
    help="Tool that creates the env; auto: micromamba, mamba, conda, else the built-in one.",
)
@click.option(
    "--channel",
    "channels",
    metavar="URL",
    multiple=True,
    help="Conda channel to use instead of conda-forge (a mirror, file://...); repeatable.",
)
@click.option(
    "--index-url",
    metavar="URL",
    help="PyTorch wheel index instead of the planned one (https, http://localhost, or a folder "
    "of wheels).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Delete and recreate an existing course env that cannot be repaired in place "
    "(another Python version, conda-forge's pytorch in it).",
)
@click.option(
    "--nbdime/--no-nbdime",
    default=None,
    help="Configure git (globally) to diff notebooks with nbdime; default: ask.",
)
@click.option(
    "--yes", "-y", is_flag=True, help="Ask nothing (scripts, classrooms); see --force and --nbdime."
)
@click.pass_obj
def setup(
    app: AppContext,
    dry_run: bool,
    as_json: bool,
    os_name: str | None,
    arch: str | None,
    gpu_driver: str | None,
    gpu_cc: tuple[str, ...],
    gpu_rocm: tuple[str, ...],
    glibc: str | None,
    torch_version: str | None,
    backend: str | None,
    engine: str,
    channels: tuple[str, ...],
    index_url: str | None,
    force: bool,
    nbdime: bool | None,
    yes: bool,
) -> int:
    """Create the course env (the env spec's [env] name) with the PyTorch build for this machine.

    \b
    Examples:
      coursekit setup --dry-run                 the plan for this machine
      coursekit setup --dry-run --json          the same, for scripts
      coursekit setup --dry-run --os windows --gpu-driver 581.57 --gpu-cc 8.9
      coursekit setup                           create or repair the env (safe to re-run)
      coursekit setup --index-url ./wheels      offline room: torch & co. from a folder
    """
    from coursekit.render.setup import render_plan
    from coursekit.setup.plan.request import SetupRequest, build_plan
    from coursekit.setup.run import service as setup_run

    options = setup_run.make_options(
        engine=engine, channels=channels, index_url=index_url, force=force, nbdime=nbdime, yes=yes
    )
    request = SetupRequest(
        engine=setup_run.plan_engine(engine),
        torch=torch_version,
        backend=backend,
        os=os_name,
        arch=arch,
        gpu_driver=gpu_driver,
        gpu_cc=gpu_cc,
        gpu_rocm=gpu_rocm,
        glibc=glibc,
    )
    plan = setup_run.with_overrides(build_plan(request), options)
    console = app.console
    if dry_run:
        render_plan(
            console,
            plan,
            as_json=as_json,
            embedded=setup_run.embedded_target(plan, described=request.describes_machine),
        )
        return ExitCode.OK
    from coursekit.render.setup_run import ProgressReporter, render_result

    reporter = ProgressReporter(console, to_stderr=as_json)
    result = setup_run.execute_plan(plan, reporter=reporter, options=options)
    return render_result(console, result, as_json=as_json, shown=reporter.shown)
