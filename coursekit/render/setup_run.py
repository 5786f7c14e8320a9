"""Progress and summary of ``coursekit setup`` (the real run, not the dry-run plan).

A line when a step starts and one when it ends, with its state and duration; ``--json``
prints the whole :class:`~coursekit.setup.run.execute.SetupResult` at the end instead.
"""

from __future__ import annotations

from coursekit.errors import ExitCode
from coursekit.render import Console, render_error
from coursekit.setup.run.context import SetupResult, StepOutcome

_STATES = {
    "done": ("done", "green"),
    "ok": ("ok, already done", "green"),
    "failed": ("FAILED", "red"),
    "interrupted": ("interrupted", "yellow"),
    "not-run": ("not run", "dim"),
    "skipped": ("skipped", "dim"),
}


class ProgressReporter:
    """Prints step progress to stdout (stderr under ``--json``, keeping stdout pure JSON)."""

    def __init__(self, console: Console, *, to_stderr: bool = False):
        self.console = console
        self.to_stderr = to_stderr
        self._index: dict[str, str] = {}
        self.shown: set[str] = set()
        """Notes already printed while setup ran (the summary does not repeat them)."""

    def _print(self, text: str) -> None:
        (self.console.eprint if self.to_stderr else self.console.print)(text)

    def start(self, step_id: str, title: str, index: int, total: int) -> None:
        self._index[step_id] = f"[{index}/{total}]"
        self._print(f"{self._index[step_id]} {title} ...")

    def finish(self, outcome: StepOutcome) -> None:
        label, colour = _STATES[outcome.state]
        tag = self._index.get(outcome.id, "[+]")
        # A failure's detail is the error block printed right after; don't say it twice.
        show = outcome.detail and outcome.state != "failed"
        detail = f"  {self.console.style(outcome.detail, 'dim')}" if show else ""
        self._print(
            f"{tag} {outcome.title}: {self.console.style(label, colour, 'bold')} "
            f"({outcome.duration_s:.1f}s){detail}"
        )

    def retry(self, step_id: str, attempt: int, why: str, wait_s: float) -> None:
        self._print(f"      network trouble ({why}); try {attempt} in {wait_s:.0f}s")

    def note(self, text: str) -> None:
        if text in self.shown:
            return  # e.g. the same ignored pip setting for each pip step: said once
        self.shown.add(text)
        self._print(f"note: {text}")


def render_result(
    console: Console,
    result: SetupResult,
    *,
    as_json: bool = False,
    shown: frozenset[str] | set[str] = frozenset(),
) -> int:
    """Print the outcome and return the exit code (0 ready, 1 a step failed); ``shown``: notes
    the progress display already printed, not repeated in the summary."""
    code = int(ExitCode.OK if result.ok else ExitCode.FAILED)
    if as_json:
        console.json({"ok": result.ok, "exit_code": code, "result": result})
        if result.failure is not None:  # stdout stays pure JSON; the error goes to stderr too
            _render_failure(console, result)
        return code
    for outcome in result.outcomes:
        if outcome.id == "nbdime_git":
            ProgressReporter(console).finish(outcome)
    for note in result.notes:
        if note not in shown:
            console.print(f"note: {note}")
    if result.failure is not None:
        _render_failure(console, result)
        return code
    loc = result.location
    verdict = result.verification
    what = f": torch {verdict.torch_version} on {verdict.device}" if verdict else ""
    ready = f"The env '{result.plan.env_name}' is ready{what}."
    console.print(
        console.style(ready, "green", "bold")
        + ("" if result.changed else " Nothing needed changing.")
    )
    if loc is not None:
        console.print(f"  env:     {loc.prefix}")
        console.print(f"  python:  {loc.python}")
        console.print(f"  kernel:  'Python ({result.plan.env_name})' in Jupyter and VS Code")
    if result.activate:
        console.print("Use it:")
        for line in result.activate:
            console.print(f"  {line}")
    return code


def _render_failure(console: Console, result: SetupResult) -> None:
    f = result.failure
    assert f is not None
    render_error(console, f.message, None)
    if f.tool_line:
        console.eprint(f"  tool said: {f.tool_line}")
    console.eprint(f"{console.style('  fix:', 'bold')} {f.fix}")
