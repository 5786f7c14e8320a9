"""``coursekit class``: the instructor's commands (``grade``, ``triage``); Click adapters only."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from coursekit.cli import AppContext
from coursekit.errors import ExitCode


F = TypeVar("F", bound=Callable[..., Any])


def _jobs_option(help_text: str) -> Callable[[F], F]:
    """``--jobs K`` / ``-j K``: how many at once, 0 (the default) for the number of cores."""
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=0),
        default=0,
        show_default="the number of cores",
        help=help_text,
    )


@click.group(name="class")
def class_group() -> None:
    """Instructor tools: the grade of record and the week-one triage.

    \b
      coursekit class grade 2 submissions/        grade every zip/folder in submissions/
      coursekit class triage reports/ --html t.html   group doctor reports by root cause
    """


@class_group.command()
@click.argument("number")
@click.argument("submissions", nargs=-1, required=True)
@click.option(
    "--graders",
    "graders_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="An instructor's folder laid out like labs/ (NN-slug/lab.toml, grader.py): "
    "hidden checks and its own limits. Default: the installed course's graders.",
)
@_jobs_option("Submissions graded at once (0: the number of cores).")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write one row per submission to this CSV file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--force", is_flag=True, help="Grade again even submissions already in the cache.")
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where graded results are remembered (default: ./coursekit-grades-labNN.cache.json).",
)
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Grade with this Python (default: this one if it has torch, else the 'pt' env).",
)
@click.pass_obj
def grade(
    app: AppContext,
    number: str,
    submissions: tuple[str, ...],
    graders_dir: Path | None,
    jobs: int,
    csv_path: Path | None,
    as_json: bool,
    force: bool,
    cache_path: Path | None,
    python: str | None,
) -> int:
    """Grade lab NUMBER for many SUBMISSIONS (zips, folders, folders of them, globs).

    Exit codes: 0 every submission has a row (whatever its verdict), 2 bad usage,
    3 at least one submission could not be graded (the environment or the grader failed).
    """
    from coursekit.instructor.classgrade import ClassGradeRequest, grade_class
    from coursekit.lab.interpreter import choose_python
    from coursekit.render import instructor as render

    console = app.console
    req = ClassGradeRequest(
        number, submissions, choose_python(python).path, graders_dir, jobs, force, cache_path
    )
    bar = render.ProgressBar(console)
    result = grade_class(req, Path.cwd(), on_progress=bar, environ=dict(os.environ))
    render.class_grade(console, result, as_json=as_json, csv_path=csv_path)
    if any(r.verdict == "could-not-grade" for r in result.rows):
        return ExitCode.ENVIRONMENT
    return ExitCode.OK


@class_group.command()
@click.argument("reports", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the grouping as JSON on stdout.")
@click.option(
    "--csv",
    "csv_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write one row per student to this CSV file.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write one self-contained page (opens from disk in any browser).",
)
@_jobs_option("Processes reading reports at once (0: the number of cores; Linux only).")
@click.pass_obj
def triage(
    app: AppContext,
    reports: tuple[str, ...],
    as_json: bool,
    csv_path: Path | None,
    html_path: Path | None,
    jobs: int,
) -> int:
    """Group students' doctor reports (files, folders, globs) by root cause.

    Exit codes: 0 nobody is blocked, 1 at least one student is blocked (or sent an
    unreadable report), 2 bad usage.
    """
    from coursekit.instructor.triage import triage as run_triage
    from coursekit.render import instructor as render

    result = run_triage(reports, keep_facts=html_path is not None, jobs=jobs)
    render.class_triage(
        app.console,
        result,
        as_json=as_json,
        csv_path=csv_path,
        html_path=html_path,
    )
    return ExitCode.FAILED if result.blocked else ExitCode.OK
