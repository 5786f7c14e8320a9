"""`coursekit lab` and `coursekit progress`: Click adapters over :mod:`coursekit.lab.service`."""

from __future__ import annotations

from pathlib import Path

import click

from coursekit.cli import AppContext
from coursekit.errors import ExitCode, UsageError


@click.command()
@click.argument("number", required=False)
@click.option(
    "--check",
    "do_check",
    is_flag=True,
    help="Grade your work (exit 0 passed, 1 not yet, 3 could not grade).",
)
@click.option("--hint", "do_hint", is_flag=True, help="Show the next hint (one more each time).")
@click.option(
    "--reset",
    "do_reset",
    is_flag=True,
    help="Move the lab folder to a timestamped backup, then hand out the starter again.",
)
@click.option(
    "--solution",
    "do_solution",
    is_flag=True,
    help="Copy the reference solution into the lab folder (once the lab has passed).",
)
@click.option(
    "--dir",
    "base",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder that holds (or will hold) the lab folder; default: the current folder.",
)
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Grade with this Python (default: this one if it has torch, else the course env).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.pass_obj
def lab(
    app: AppContext,
    number: str | None,
    do_check: bool,
    do_hint: bool,
    do_reset: bool,
    do_solution: bool,
    base: Path | None,
    python: str | None,
    as_json: bool,
) -> int:
    """List the labs, hand out lab NUMBER, or grade it with --check.

    \b
      coursekit lab              every lab, its state, and what to do next
      coursekit lab 2            create lab02-.../ here (never overwrites your files)
      coursekit lab 2 --check    grade it (from the course folder or inside the lab folder)
    """
    from coursekit.lab import service
    from coursekit.render import lab as render

    console = app.console
    actions = [do_check, do_hint, do_reset, do_solution]
    if sum(actions) > 1:
        raise UsageError(
            "--check, --hint, --reset and --solution go one at a time.",
            "Pick one, e.g. coursekit lab 2 --check",
        )
    cwd = Path.cwd()
    if number is None:
        if any(actions):
            raise UsageError("which lab?", "Give its number, e.g. coursekit lab 2 --check")
        render.lab_list(console, service.list_labs(cwd), as_json)
        return ExitCode.OK
    if do_check:
        run = service.check(
            number, cwd, base, python, on_event=lambda e: render.progress_event(console, e)
        )
        render.check(console, run, as_json)
        return run.report.exit_code
    if do_hint:
        render.hints(console, service.hints(number), as_json)
    elif do_reset:
        render.handout(console, service.reset(number, cwd, base), as_json, verb="reset")
    elif do_solution:
        render.solution(console, service.solution(number, cwd, base), as_json)
    else:
        render.handout(console, service.handout(number, cwd, base), as_json)
    return ExitCode.OK


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.pass_obj
def progress(app: AppContext, as_json: bool) -> int:
    """Show every lab's state, best score and what to do next."""
    from coursekit.lab import service
    from coursekit.render import lab as render

    render.lab_list(app.console, service.list_labs(Path.cwd()), as_json)
    return ExitCode.OK
