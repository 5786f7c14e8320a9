"""--channel / --index-url as the plan shows them (dry-run) and as the executor runs them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from coursekit.setup.run.context import RunOptions
from coursekit.setup.run.service import with_overrides
from tests.fakes.plans import make_test_plan
from tests.helpers import run_cli


def _plan():  # type: ignore[no-untyped-def]
    from coursekit.setup.plan.model import Step

    plan = make_test_plan("https://download.pytorch.org/whl/cu126", channel="conda-forge")
    create = Step("create_env", "Create", ("conda", "create", "-n", "pt", "-y",
                                           "--override-channels", "-c", "conda-forge", "python=3.12"))
    torch = Step("install_torch", "Install torch from https://download.pytorch.org/whl/cu126",
                 ("conda", "run", "-n", "pt", "python", "-m", "pip", "install", "--index-url",
                  "https://download.pytorch.org/whl/cu126", "torch==2.7.0+cu126"), True,
                 ("-m", "pip", "install", "--index-url", "https://download.pytorch.org/whl/cu126",
                  "torch==2.7.0+cu126"))
    import dataclasses

    return dataclasses.replace(plan, steps=(create, torch, *plan.steps[2:]))


def test_overrides_rewrite_the_commands(tmp_path: Path) -> None:
    plan = with_overrides(_plan(), RunOptions(channels=("https://mirror/cf", "file:///srv/ch"),
                                              index_url="https://mirror/whl/cu126"))
    assert plan.step("create_env").argv[-6:] == ("--override-channels", "-c", "https://mirror/cf",
                                                 "-c", "file:///srv/ch", "python=3.12")
    step = plan.step("install_torch")
    assert step.python_args == ("-m", "pip", "install", "--index-url", "https://mirror/whl/cu126",
                                "torch==2.7.0+cu126")
    assert step.title == "Install torch from https://mirror/whl/cu126"
    assert plan.torch.index_url == "https://mirror/whl/cu126"
    assert plan.channels == ("https://mirror/cf", "file:///srv/ch")
    folder = with_overrides(_plan(), RunOptions(index_url=str(tmp_path)))
    assert folder.step("install_torch").python_args[3:6] == ("--no-index", "--find-links",
                                                            str(tmp_path))


def test_no_overrides_no_change() -> None:
    plan = _plan()
    assert with_overrides(plan, RunOptions()) == plan


def test_dry_run_shows_the_overrides() -> None:
    res = run_cli(["setup", "--dry-run", "--json", "--backend", "cpu", "--engine", "conda",
                   "--channel", "https://mirror.example.edu/conda-forge",
                   "--index-url", "https://mirror.example.edu/whl/cpu"])
    assert res.code == 0, res.stderr
    assert "https://mirror.example.edu/conda-forge" in res.stdout
    assert '"index_url": "https://mirror.example.edu/whl/cpu"' in res.stdout
    assert "download.pytorch.org" not in res.stdout


def test_plain_http_index_is_a_usage_error() -> None:
    res = run_cli(["setup", "--dry-run", "--index-url", "http://mirror.example.edu/whl/cpu"])
    assert res.code == 2
    assert "only https://" in res.stderr


def test_yes_asks_nothing_but_keeps_the_tools_progress_at_a_terminal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`--yes` at a terminal: no question, but conda's and pip's progress still shown (it used
    to count as "not at a terminal", so a 2.5 GB download ran for minutes without a sign)."""
    from coursekit.setup.run import service as setup_run

    monkeypatch.setattr(setup_run, "is_interactive", lambda: True)
    asked: list[str] = []
    monkeypatch.setattr("click.confirm", lambda q, default=False: asked.append(q) or True)
    quiet = setup_run.make_options(yes=True)
    assert quiet.interactive and not quiet.may_ask
    assert setup_run._confirm(quiet)("Delete it?") is False and asked == []
    person = setup_run.make_options()
    assert person.may_ask and setup_run._confirm(person)("Delete it?") is True
    assert asked == ["Delete it?"]


def test_yes_never_configures_nbdime_by_itself() -> None:
    from coursekit.proc import ToolResult
    from coursekit.setup.engines.base import Engine, EnvLocation
    from coursekit.setup.run.context import Context, SilentReporter
    from coursekit.setup.run.nbdime import offer_nbdime

    calls: list[list[str]] = []

    def runner(argv, **kw):  # type: ignore[no-untyped-def]
        calls.append([str(a) for a in argv])
        return ToolResult(tuple(calls[-1]), 0 if argv[1] == "--version" else 1)

    ctx = Context(_plan(), Engine("embedded", None, "test"),
                  RunOptions(interactive=True, yes=True), runner, {}, SilentReporter(),
                  lambda q: pytest.fail("asked"), "linux", Path("/tmp/ck"))
    ctx.location = EnvLocation("pt", Path("/e"), Path("/e/bin/python"), "embedded", True)
    assert offer_nbdime(ctx) is None
    assert calls and all(c[1] == "--version" or "--get" in c for c in calls)  # only looked
    assert any("coursekit setup --nbdime" in n for n in ctx.notes)


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_a_signal_setup_was_started_ignoring_stays_ignored() -> None:
    """`nohup coursekit setup`: a closed terminal (SIGHUP) must not stop it, while SIGTERM still
    does (it stops setup like Ctrl-C); both are put back afterwards."""
    from coursekit.setup.run.service import _stop_signals_interrupt

    before_hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    before_term = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        with _stop_signals_interrupt():
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert callable(signal.getsignal(signal.SIGTERM))
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises before this ends
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGHUP, before_hup)
        signal.signal(signal.SIGTERM, before_term)
