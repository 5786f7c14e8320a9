"""`coursekit lab` and `coursekit progress` (being built; see the issue tracker)."""

from __future__ import annotations

import click

from coursekit.errors import EnvironmentProblem


@click.command()
def lab() -> int:
    """Not built yet."""
    raise EnvironmentProblem("'coursekit lab' is not built yet.", "Update coursekit.")


@click.command()
def progress() -> int:
    """Not built yet."""
    raise EnvironmentProblem("'coursekit progress' is not built yet.", "Update coursekit.")
