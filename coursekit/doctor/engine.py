"""From facts to findings: a pure function over the catalogue's rules and a planner.

:func:`diagnose_all` runs every rule (``rules_env``, ``rules_torch``, ``rules_packages``,
``rules_install``, ``rules_release``) on a :class:`~coursekit.doctor.view.View` of the facts
with the :class:`~coursekit.doctor.planning.Planner` its caller hands down, drops findings made
redundant by a more specific one (the catalogue's ``unless``), and orders them most severe
first (then by category). It never looks at the machine: the same facts (e.g. a student's
report loaded with ``--from``) and planner always give the same findings.

The planner is a parameter, not an import (issue 9): :mod:`.diagnose` and :mod:`.report` pass
the course's (:mod:`.advice`), setup's verify step its own. May import the rules, the view,
:mod:`.results` and the catalogue.
"""

from __future__ import annotations

from coursekit.doctor import (
    rules_env,
    rules_install,
    rules_packages,
    rules_release,
    rules_torch,
)
from coursekit.doctor.catalogue import CATEGORIES, SEVERITIES, entry
from coursekit.doctor.facts import Facts
from coursekit.doctor.planning import Planner
from coursekit.doctor.results import Hidden
from coursekit.doctor.view import Finding, Rule, View, finding

_MODULES = (rules_env, rules_torch, rules_packages, rules_install, rules_release)

RULES: tuple[Rule, ...] = tuple(
    rule for module in _MODULES for group in module.BY_CATEGORY.values() for rule in group
)
"""Every rule, in run order: each module's ``BY_CATEGORY`` (the only list of its rules) in its
order, module after module (rule order breaks ties between findings of one severity and
category)."""


def rules_of(category: str) -> tuple[Rule, ...]:
    """The rules whose findings are in ``category``, in run order (what its unit holds)."""
    return tuple(rule for module in _MODULES for rule in module.BY_CATEGORY.get(category, ()))


def diagnose_all(facts: Facts, planner: Planner) -> tuple[tuple[Finding, ...], tuple[Hidden, ...]]:
    """Every finding for ``facts``, most severe first (``[0]`` is the one to fix first), and
    the ones a more specific finding hid."""
    view = View(facts, planner)
    found: list[Finding] = []
    for rule in RULES:
        try:
            found += rule(view)
        except Exception as exc:  # noqa: BLE001 - reported as a finding of its own
            found += _rule_failed(rule, exc)
    if facts.setup is not None:  # the env's recorded channel and index in every fix line
        found = [_with_sources(f, facts, view) for f in found]
    ids = {f.id for f in found}
    kept = [f for f in found if not set(entry(f.id).unless) & ids]
    hidden = tuple(
        Hidden(f, tuple(u for u in entry(f.id).unless if u in ids))
        for f in found
        if set(entry(f.id).unless) & ids
    )
    order = list(CATEGORIES)
    # Most severe first, so findings[0] is the root cause to fix first (issue 12: a platform with
    # no wheels before torch-missing, a driver before the build); then category order (platform,
    # GPU, env, torch, ...: roughly the order in which a problem blocks the next), then rule order;
    # within a severity, findings that stop the labs (the catalogue's ``blocks``) before advice.
    return tuple(
        sorted(
            kept,
            key=lambda f: (
                SEVERITIES.index(f.severity),
                not entry(f.id).blocks,
                order.index(f.category),
            ),
        )
    ), hidden


def _with_sources(f: Finding, facts: Facts, view: View) -> Finding:
    from dataclasses import replace

    from coursekit.doctor.recorded import fix_with_sources

    fix = fix_with_sources(f.fix, facts.setup, view.os) if f.fix else f.fix
    return f if fix == f.fix else replace(f, fix=fix)


def _rule_failed(rule: Rule, exc: Exception) -> list[Finding]:
    """A rule that failed, as a finding of its own: facts may come from a file (--from) with odd
    values inside the probe's free-form data, and one rule tripping over them must not hide
    what the other rules find."""
    name = getattr(rule, "__name__", "rule")
    return [
        finding(
            "rule-failed",
            f"The diagnosis rule '{name}' itself failed",
            f"{type(exc).__name__}: {exc}",
            "Run `coursekit doctor -v` again on the student's machine; if it persists, "
            "report it (with the --json report) to the coursekit maintainers",
        )
    ]
