"""`coursekit matrix check`: a maintainer's command that compares the PyTorch matrix with an index.

Thin adapter: parse the flags, call :func:`coursekit.setup.plan.matrixcheck.check`, render the
report.
"""

from __future__ import annotations

import click

from coursekit.cli import AppContext
from coursekit.errors import ExitCode


@click.group()
def matrix() -> None:
    """Maintainer commands for coursekit's PyTorch data (envs/torch-matrix.toml)."""


@matrix.command("check")
@click.option(
    "--index-url",
    metavar="URL",
    default=None,
    help="Index root to read (default: https://download.pytorch.org/whl); file:///folder works "
    "too.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(1, 300),
    default=20.0,
    show_default=True,
    help="Seconds to wait for each page.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the drift report as JSON (schema in the README)."
)
@click.pass_obj
def check(app: AppContext, index_url: str | None, timeout: float, as_json: bool) -> int:
    """Report drift between the matrix and what the index serves.

    \b
    Exit codes: 0 no drift, 1 drift found, 2 bad flags, 3 index unreachable.
    Examples:
      coursekit matrix check
      coursekit matrix check --index-url file:///srv/mirror/whl --json
    """
    from coursekit.errors import EnvironmentProblem
    from coursekit.render.matrix import render_check
    from coursekit.setup.plan.matrix import load_matrix
    from coursekit.setup.plan.matrixcheck import DEFAULT_INDEX, urllib_fetch
    from coursekit.setup.plan.matrixcheck import check as run_check

    index = DEFAULT_INDEX if index_url is None else index_url
    try:
        report = run_check(load_matrix(), index, urllib_fetch, timeout)
    except OSError as exc:
        raise EnvironmentProblem(
            f"could not read the index {index}: {exc}",
            "Check the network (or --index-url), then run `coursekit matrix check` again.",
        ) from exc
    render_check(app.console, report, as_json=as_json)
    return ExitCode.OK if report.ok else ExitCode.FAILED
