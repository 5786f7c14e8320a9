"""From facts to findings: a pure function over the catalogue's rules.

:func:`diagnose` runs every rule (``rules_env``, ``rules_torch``, ``rules_packages``) on a
:class:`~coursekit.doctor.view.View` of the facts, drops findings made redundant by a more
specific one (the catalogue's ``unless``), and orders them most severe first (then by category).
It never looks at the machine: the same facts (e.g. a student's report loaded with
``--from``) always give the same findings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coursekit.doctor import rules_env, rules_install, rules_packages, rules_torch
from coursekit.doctor.catalogue import CATEGORIES, ERROR, INFO, SEVERITIES, WARNING, entry
from coursekit.doctor.facts import Facts
from coursekit.doctor.view import Finding, View, finding

RULES = (*rules_env.RULES, *rules_torch.RULES, *rules_packages.RULES, *rules_install.RULES)


@dataclass(frozen=True)
class Summary:
    """Counts, and the verdict the exit code is derived from."""

    errors: int
    warnings: int
    infos: int

    @property
    def status(self) -> str:
        """``error`` when any error was found, else ``warning``, else ``ok``."""
        return ERROR if self.errors else (WARNING if self.warnings else "ok")


@dataclass(frozen=True)
class Hidden:
    """A finding left out because another one explains it (the catalogue's ``unless``).

    Kept so the report can say why a category with a problem shows no finding of its own
    (e.g. torch missing in a Python 3.8 env: ``python-no-torch-wheel`` under Platform hides
    ``torch-missing``, and PyTorch must not look ok).
    """

    finding: Finding
    by: tuple[str, ...]  # ids of the findings that explain it, in catalogue order


def diagnose(facts: Facts) -> tuple[Finding, ...]:
    """Every finding for ``facts``, most severe first (``[0]`` is the one to fix first)."""
    return diagnose_all(facts)[0]


def diagnose_all(facts: Facts) -> tuple[tuple[Finding, ...], tuple[Hidden, ...]]:
    """The findings (as :func:`diagnose`) and the ones a more specific finding hid."""
    view = View(facts)
    found = [f for rule in RULES for f in _run_rule(rule, view)]
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


def _run_rule(rule: Callable[[View], list[Finding]], view: View) -> list[Finding]:
    # Facts may come from a file (--from) with odd values inside the probe's free-form data:
    # one rule tripping over them must not hide what the other rules find.
    try:
        return rule(view)
    except Exception as exc:  # noqa: BLE001 - reported as a finding of its own
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


def summarize(findings: tuple[Finding, ...]) -> Summary:
    """Count findings by severity."""
    return Summary(
        errors=sum(f.severity == ERROR for f in findings),
        warnings=sum(f.severity == WARNING for f in findings),
        infos=sum(f.severity == INFO for f in findings),
    )
