"""What a doctor category is: one unit, like a flutter doctor validator (envs/SOURCES.md H6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from coursekit.doctor.view import Rule, View


def _never(v: View) -> bool:
    return False


@dataclass(frozen=True)
class Category:
    """One line of the doctor's summary and everything behind it.

    ``checks``: the doctor checks whose facts it reads (their time and failure show on its
    line); ``status``: the short text after its title ('' when its facts are unknown);
    ``details``: the fact lines ``-v`` shows; ``rules``: the rules whose findings it holds
    (derived: :func:`coursekit.doctor.engine.rules_of`, from the rule modules' ``BY_CATEGORY``);
    ``not_checked``: True when its facts say it could not be judged although no rule
    explains why (it then shows ``[-]``, never a tick).
    """

    id: str
    title: str
    checks: tuple[str, ...]
    status: Callable[[View], str]
    details: Callable[[View], list[str]]
    rules: tuple[Rule, ...]
    not_checked: Callable[[View], bool] = _never


def gb(mib: int) -> str:
    """Mebibytes as gigabytes with one decimal (``12.3 GB``)."""
    return f"{mib / 1024:.1f} GB"
