"""Versions are ordered with packaging.version everywhere (issue 10, item 16): a hand-made tuple
reads 2.6.6rc1 as 2.6.6 and passed it against the Lightning 2.6.6 security fix."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from coursekit.doctor import rules_packages
from coursekit.doctor.view import as_version, version_tuple
from coursekit.setup.plan.matrix import parse_driver

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("version", "old"), [
    ("2.6.6rc1", True), ("2.6.6.dev0", True), ("2.6.6a1", True), ("2.6.5", True),
    ("2.6.6", False), ("2.6.6.post1", False), ("2.6.10", False), ("not-a-version", True),
])
def test_lightning_pre_releases_are_before_the_fix(version: str, old: bool) -> None:
    assert ((as_version(version) or as_version("0")) < rules_packages.LIGHTNING_SAFE) is old  # type: ignore[operator]


def test_lightning_rc_is_flagged_by_the_doctor() -> None:
    from tests.doctor.fixtures import finding_facts

    from coursekit.doctor.report import make_report

    facts = finding_facts("lightning-old")
    import dataclasses
    import json

    data = json.loads(json.dumps(dataclasses.asdict(facts)))
    for dist in data["probe"]["data"]["distributions"]["items"]:
        if dist["name"] in ("lightning", "pytorch-lightning"):
            dist["version"] = "2.6.6rc1"
    from coursekit.doctor.facts import Facts, from_data

    ids = {f.id for f in make_report(from_data(Facts, data)).findings}
    assert "lightning-old" in ids


def test_driver_versions_order_like_packaging() -> None:
    assert parse_driver("580.65.06") == as_version("580.65.6")
    assert parse_driver("525.60.13") < parse_driver("525.105.17")
    assert version_tuple("2.13.0+cu130") == (2, 13, 0)


def test_no_hand_made_version_tuples_are_compared() -> None:
    """No `tuple(int(...) for ... in x.split("."))` left in coursekit (the probe, which must run
    on a bare Python, excepted)."""
    offenders = []
    for path in (REPO / "coursekit").rglob("*.py"):
        if path.name == "probe.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "tuple"
                    and node.args and isinstance(node.args[0], ast.GeneratorExp)
                    and "int(" in ast.unparse(node.args[0]) and ".split('.')" in ast.unparse(node.args[0])):
                offenders.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not offenders, offenders
