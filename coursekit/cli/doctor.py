"""`coursekit doctor` (being built; see the issue tracker)."""

from __future__ import annotations

import click

from coursekit.errors import EnvironmentProblem


@click.command()
def doctor() -> int:
    """Not built yet."""
    raise EnvironmentProblem("'coursekit doctor' is not built yet.", "Update coursekit.")
