"""From facts to findings with the course's planner: what ``coursekit doctor`` concludes.

:func:`diagnose` is :func:`coursekit.doctor.engine.diagnose_all` (the pure rules over a view of
the facts) with the planner handed down: by default the course's (:func:`.advice.course_planner`:
the env spec, the matrix, the selector's choice), so a fix line names what ``coursekit setup``
would install. It never looks at the machine: the same facts (e.g. a student's report loaded
with ``--from``) always give the same findings.
"""

from __future__ import annotations

from coursekit.doctor.advice import course_planner
from coursekit.doctor.engine import RULES
from coursekit.doctor.engine import diagnose_all as _diagnose_all
from coursekit.doctor.facts import Facts
from coursekit.doctor.planning import Planner
from coursekit.doctor.results import Hidden, Summary, summarize
from coursekit.doctor.view import Finding

__all__ = ["RULES", "Hidden", "Summary", "diagnose", "diagnose_all", "summarize"]


def diagnose(facts: Facts, planner: Planner | None = None) -> tuple[Finding, ...]:
    """Every finding for ``facts``, most severe first (``[0]`` is the one to fix first)."""
    return diagnose_all(facts, planner)[0]


def diagnose_all(
    facts: Facts, planner: Planner | None = None
) -> tuple[tuple[Finding, ...], tuple[Hidden, ...]]:
    """The findings (as :func:`diagnose`) and the ones a more specific finding hid;
    ``planner``: None for the course's."""
    return _diagnose_all(facts, course_planner() if planner is None else planner)
