"""--channel / --index-url as the plan shows them (dry-run) and as the executor runs them."""

from __future__ import annotations

from pathlib import Path

from coursekit.execute import RunOptions
from coursekit.setup_run import with_overrides
from tests.fakes.plans import make_test_plan
from tests.helpers import run_cli


def _plan():  # type: ignore[no-untyped-def]
    from coursekit.plan import Step

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
