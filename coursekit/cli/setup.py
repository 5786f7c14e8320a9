"""`coursekit setup` (being built; see the issue tracker)."""

from __future__ import annotations

import click

from coursekit.errors import EnvironmentProblem


@click.command()
def setup() -> int:
    """Not built yet."""
    raise EnvironmentProblem("'coursekit setup' is not built yet.", "Update coursekit.")
