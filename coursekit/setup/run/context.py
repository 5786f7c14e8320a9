"""The types a setup run and its steps share: options, outcomes, the reporter, the run's context.

They sit below every step module (:mod:`.steps`, :mod:`.pip`, :mod:`.tools`, :mod:`.preflight`,
:mod:`.nbdime`) and below :mod:`.execute`, which runs the steps: the steps import these types,
never the executor, so the package has no import circle.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from coursekit.proc import Runner
from coursekit.setup.engines.base import Engine, EnvLocation
from coursekit.setup.engines.state import EnvState
from coursekit.setup.plan.model import Plan, TorchChoice
from coursekit.setup.run.failures import Failure


@dataclass(frozen=True)
class Problem:
    """Something wrong with the env, and what to do about it."""

    message: str
    fix: str


@dataclass(frozen=True)
class Verification:
    """The verdict: ``ok`` when there is no problem; ``device`` names what torch computes on."""

    ok: bool
    torch_version: str | None
    device: str | None
    problems: tuple[Problem, ...] = ()
    notes: tuple[str, ...] = ()


class Judge(Protocol):
    """Setup's verdict on the probe's facts (:func:`coursekit.setup.run.verify.judge`: the
    doctor's rules plus the planned-build rule). :func:`~coursekit.setup.run.execute.carry_out`
    passes it down, so the steps never import the doctor."""

    def __call__(
        self,
        torch: TorchChoice,
        status: str,
        data: dict[str, Any],
        os_name: str,
        pins: tuple[str, ...] | None = None,
        *,
        engine: str = ...,
        env_name: str = ...,
        python: str = ...,
    ) -> Verification: ...


StepState = Literal["done", "ok", "failed", "not-run", "interrupted", "skipped"]


@dataclass(frozen=True)
class RunOptions:
    """What the student chose on the command line (besides the plan's own flags)."""

    engine: str = "auto"
    """``--engine``: auto, conda, mamba, micromamba or embedded."""
    channels: tuple[str, ...] = ()
    """``--channel``: replaces the plan's conda channels (mirrors, ``file://`` channels)."""
    index_url: str | None = None
    """``--index-url``: replaces the plan's torch index (https, http to localhost, a folder)."""
    pypi_index_url: str | None = None
    """pip's own ``index-url`` (config file or ``PIP_INDEX_URL``; a PyPI mirror): where
    lightning & co. come from, named in the plan's step titles."""
    force: bool = False
    """``--force``: remove and recreate an env whose Python version is wrong."""
    nbdime: bool | None = None
    """``--nbdime``/``--no-nbdime``: configure git for notebooks; None: ask when interactive."""
    interactive: bool = False
    """A person is at a terminal: the tools show their progress, questions may be asked."""
    yes: bool = False
    """``--yes``: ask nothing (the tools' progress is still shown at a terminal)."""

    @property
    def may_ask(self) -> bool:
        """Questions go to a person: at a terminal and without ``--yes``."""
        return self.interactive and not self.yes

    attempts: int = 3
    """Tries per network step."""
    backoff_s: float = 5.0
    """Wait before the second try (doubled after)."""
    pip_retries: int = 5
    pip_timeout_s: int = 60


@dataclass(frozen=True)
class StepOutcome:
    """How one step went: ``done`` (did the work), ``ok`` (already done, skipped), ``failed``,
    ``interrupted``, ``not-run`` (after a failure), ``skipped`` (declined)."""

    id: str
    title: str
    state: StepState
    duration_s: float = 0.0
    detail: str = ""


@dataclass(frozen=True)
class SetupResult:
    """Everything ``coursekit setup`` did; ``failure`` is set when a step failed."""

    plan: Plan
    engine: Engine
    outcomes: tuple[StepOutcome, ...]
    location: EnvLocation | None = None
    verification: Verification | None = None
    failure: Failure | None = None
    failed_step: str | None = None
    notes: tuple[str, ...] = ()
    activate: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No step failed (including an opted-in extra such as nbdime's git setup)."""
        return self.failure is None and all(o.state != "failed" for o in self.outcomes)

    @property
    def changed(self) -> bool:
        """True when some step did work (False: the env was already healthy)."""
        return any(o.state == "done" and o.id != "verify" for o in self.outcomes)


class Reporter(Protocol):
    """Live progress (implemented in :mod:`coursekit.render.setup_run`)."""

    def start(self, step_id: str, title: str, index: int, total: int) -> None: ...

    def finish(self, outcome: StepOutcome) -> None: ...

    def retry(self, step_id: str, attempt: int, why: str, wait_s: float) -> None: ...

    def note(self, text: str) -> None: ...


class SilentReporter:
    """A reporter that reports nothing (library use, tests)."""

    def start(self, step_id: str, title: str, index: int, total: int) -> None: ...

    def finish(self, outcome: StepOutcome) -> None: ...

    def retry(self, step_id: str, attempt: int, why: str, wait_s: float) -> None: ...

    def note(self, text: str) -> None: ...


Confirm = Callable[[str], bool]


def never_confirm(question: str) -> bool:
    """The answer when nobody may be asked: no."""
    return False


@dataclass
class Context:
    """The mutable state of one run (internal to the executor and its steps)."""

    plan: Plan
    engine: Engine
    options: RunOptions
    runner: Runner
    environ: Mapping[str, str]
    reporter: Reporter
    confirm: Confirm
    os_name: str
    home: Path
    sleep: Callable[[float], None] = time.sleep
    location: EnvLocation | None = None
    state: EnvState | None = None
    notes: list[str] = field(default_factory=list)
    verification: Verification | None = None
    judge: Judge | None = None
    """The verify step's verdict; None: :func:`coursekit.setup.run.verify.judge` (set by the
    executor)."""


class StepFailed(Exception):
    """Raised by a step: carries the explained failure."""

    def __init__(self, failure: Failure):
        super().__init__(failure.message)
        self.failure = failure
