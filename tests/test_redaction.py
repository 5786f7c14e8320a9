"""Credentials in URLs are never printed (issue 10, item 4): not in a plan (text or JSON), an
error, a note or a report; the commands setup runs keep the real URL."""

from __future__ import annotations

import io

import pytest

from coursekit.render import Console, redact_urls
from tests.helpers import run_cli

SECRETS = ("s3cret", "hunter2", "alice", "bob", "ghp_tok")
INDEX = "https://alice:s3cret@mirror.example/simple"
CHANNEL = "https://bob:hunter2@mirror.example/conda"


def _clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, text


@pytest.mark.parametrize("extra", [[], ["--json"]])
@pytest.mark.parametrize("engine", ["embedded", "conda"])
def test_plans_never_show_credentials(extra: list[str], engine: str) -> None:
    result = run_cli(["setup", "--dry-run", "--os", "linux", "--engine", engine, "--index-url", INDEX,
                      "--channel", CHANNEL, *extra], env={"COURSEKIT_OFFLINE": "1"})
    assert result.code == 0, result.stderr
    _clean(result.stdout + result.stderr)
    assert "https://***@mirror.example/simple" in result.stdout


def test_errors_never_show_credentials() -> None:
    result = run_cli(["setup", "--dry-run", "--os", "linux", "--index-url",
                      "http://alice:s3cret@mirror.example/simple"])
    assert result.code == 2
    _clean(result.stdout + result.stderr)
    assert "http://***@mirror.example/simple" in result.stderr


def test_the_plan_itself_keeps_the_real_url() -> None:
    from coursekit.setup.plan.request import SetupRequest, build_plan
    from coursekit.setup.run import service

    options = service.make_options(index_url=INDEX)
    plan = service.with_overrides(build_plan(SetupRequest(engine="conda", os="linux"),
                                             env={"COURSEKIT_OFFLINE": "1"}), options)
    assert INDEX in plan.step("install_torch").argv


@pytest.mark.parametrize(("text", "shown"), [
    ("from https://user:pass@host/x", "from https://***@host/x"),
    ("git+https://ghp_tok@github.com/a/b.git", "git+https://***@github.com/a/b.git"),
    ("file://me@server/share", "file://***@server/share"),
    ("two http://a:b@h1/ and https://c@h2/", "two http://***@h1/ and https://***@h2/"),
    ("mail bob@example.com stays", "mail bob@example.com stays"),
    ("https://host/path@v1", "https://host/path@v1"),
])
def test_redact_urls(text: str, shown: str) -> None:
    assert redact_urls(text) == shown


def test_every_console_method_redacts() -> None:
    out, err = io.StringIO(), io.StringIO()
    console = Console(out, err, color=False)
    console.print(f"index {INDEX}")
    console.eprint(f"channel {CHANNEL}")
    console.json({"url": INDEX, "nested": [CHANNEL]})
    _clean(out.getvalue() + err.getvalue())
