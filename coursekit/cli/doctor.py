"""`coursekit doctor`: say what is wrong with the setup and the command that fixes it.

Thin adapter: parse flags, call :func:`coursekit.doctor.service.examine`, render
(:mod:`coursekit.render.doctor`), and with ``--fix`` show, confirm and apply the safe fixes
(:mod:`coursekit.doctor.fixes`), then examine again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from coursekit.cli import AppContext
from coursekit.doctor.report import Report
from coursekit.doctor.results import FixAction
from coursekit.doctor.service import DoctorRequest
from coursekit.errors import UsageError
from coursekit.render import Console
from coursekit.render.doctor import render_report


@click.command()
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also show the facts behind each category and each check's time.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the versioned JSON report (schema in the README).",
)
@click.option(
    "--from",
    "from_files",
    metavar="FILE",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Diagnose a report saved with --json (e.g. a student's) instead of this machine; "
    "repeat it to triage many reports at once.",
)
@click.option(
    "--fix",
    is_flag=True,
    help="Apply the safe fixes it knows (reinstall the torch trio, register the kernel).",
)
@click.option("--yes", "-y", is_flag=True, help="With --fix: do not ask before each fix.")
@click.option("--dry-run", is_flag=True, help="With --fix: show the fix commands, run nothing.")
@click.option(
    "--python",
    "python",
    metavar="PATH",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Examine this Python interpreter instead of the course env.",
)
@click.option(
    "--env",
    "env_name",
    default=None,
    metavar="NAME",
    help="Name of the course env to examine (default: the env spec's [env] name, 'pt').",
)
@click.option(
    "--name",
    "name",
    metavar="NAME",
    help="Your name, recorded in the report for your instructor (default: $COURSEKIT_STUDENT).",
)
@click.option(
    "--save",
    is_flag=True,
    help="Also write the JSON report to doctor-<name>-<date>.json here, ready to hand in.",
)
@click.option(
    "--list",
    "list_findings",
    is_flag=True,
    help="List every finding the doctor knows (id, severity, category) and exit.",
)
@click.option(
    "--markdown",
    is_flag=True,
    help="With --list: print the findings as the README's Markdown table.",
)
@click.pass_obj
def doctor(
    app: AppContext,
    verbose: bool,
    as_json: bool,
    from_files: tuple[Path, ...],
    fix: bool,
    yes: bool,
    dry_run: bool,
    python: Path | None,
    env_name: str | None,
    name: str | None,
    save: bool,
    list_findings: bool,
    markdown: bool,
) -> int:
    """Diagnose the course setup and print the command that fixes each problem.

    \b
    Exit codes: 0 no error (warnings allowed), 1 an error was found, 2 bad usage or a
    bad --from file, 3 a check could not finish (the diagnosis is incomplete).
    \b
    Examples:
      coursekit doctor                       check this machine
      coursekit doctor --json > report.json  a report to send to your instructor
      coursekit doctor --from report.json    an instructor reads a student's report
      coursekit doctor --from a.json --from b.json   triage many reports
      coursekit doctor --fix                 apply the safe fixes, asking first
      coursekit doctor --save --name "Ada Lovelace"   doctor-ada-lovelace-<date>.json to hand in
    """
    from coursekit.doctor.service import examine, exit_code

    if list_findings:
        from coursekit.render.doctor import render_catalogue

        render_catalogue(app.console, as_json=as_json, markdown=markdown)
        return 0
    if markdown:
        raise UsageError(
            "--markdown goes with --list.", "Run `coursekit doctor --list --markdown`."
        )
    if fix and from_files:
        raise UsageError(
            "--fix works on this machine, not on a report from --from.",
            "Run `coursekit doctor --fix` on the machine the report came from.",
        )
    if env_name is not None and not env_name.strip():
        raise UsageError(
            "--env is empty.", "Give the course env's name (default: pt), or leave --env out."
        )
    if (yes or dry_run) and not fix:
        raise UsageError("--yes and --dry-run go with --fix.", "Add --fix, or drop them.")
    if (save or name is not None) and from_files:
        raise UsageError(
            "--name and --save describe this machine, not a report from --from.",
            "Drop --from, or drop --name/--save.",
        )
    import os

    from coursekit.names import student_name

    student = student_name(name, os.environ, required=save)
    console = app.console
    if len(from_files) > 1:
        from coursekit.doctor.service import triage, triage_exit_code
        from coursekit.render.doctor import render_triage

        entries = triage(from_files)
        render_triage(console, entries, as_json=as_json)
        return int(triage_exit_code(entries))
    request = DoctorRequest(
        from_file=from_files[0] if from_files else None,
        python=python,
        env_name=env_name,
        student=student,
    )
    report = examine(request, on_slow=_slow_note(console))
    if not (fix and as_json):  # --fix --json prints one report: the one after the fixes
        render_report(console, report, as_json=as_json, verbose=verbose)
    if fix:
        report = _fix(
            console, report, request, yes=yes, dry_run=dry_run, as_json=as_json, verbose=verbose
        )
    if save:
        from coursekit.doctor.save import save_report

        saved = save_report(report, Path.cwd())
        note = f"saved {saved.name}: hand this file in (only this setup's facts, no passwords)."
        console.eprint(note) if as_json else console.print(note)
    return int(exit_code(report))


def _slow_note(console: Console) -> Callable[[list[str]], None]:
    def note(pending: list[str]) -> None:
        console.eprint(
            f"This is taking an unexpectedly long time (still running: {', '.join(pending)}; "
            "a first `import torch` after installing can take a minute) ..."
        )

    return note


def _fix(
    console: Console,
    report: Report,
    request: DoctorRequest,
    *,
    yes: bool,
    dry_run: bool,
    as_json: bool,
    verbose: bool,
) -> Report:
    """Show the safe fixes, ask, apply, and examine again (the report that decides the exit)."""
    import sys

    from coursekit.doctor.fixes import apply_fixes, live_record, plan_fixes
    from coursekit.doctor.service import examine
    from coursekit.render.doctor import render_fix_outcomes, render_fix_plan

    actions = plan_fixes(report, live_record(report))
    os_name = report.facts.platform.os if report.facts.platform else "linux"
    render_fix_plan(console, actions, to_stderr=as_json, os_name=os_name)
    if not actions or dry_run:
        if as_json:
            render_report(console, report, as_json=True, verbose=verbose)
        return report
    interactive = sys.stdin.isatty()
    if not yes and not interactive:
        console.eprint("Not applied: no terminal to ask on. Run again with --fix --yes to apply.")
        if as_json:
            render_report(console, report, as_json=True, verbose=verbose)
        return report

    def confirm(action: FixAction) -> bool:
        return yes or click.confirm(f"Apply: {action.title}?", default=False, err=True)

    prefix = report.facts.env.prefix if report.facts.env else None
    outcomes = apply_fixes(actions, confirm, os_name=os_name, prefix=prefix)
    render_fix_outcomes(console, outcomes, to_stderr=as_json)
    console.eprint("Checking again ...") if as_json else console.print("Checking again ...")
    after = examine(request, on_slow=_slow_note(console))
    render_report(console, after, as_json=as_json, verbose=verbose)
    return after
