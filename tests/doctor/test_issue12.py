"""Issue 12: the doctor's rules on real failure shapes (each test fails on the code before it)."""

from __future__ import annotations

from typing import Any

import pytest

from coursekit.doctor.diagnose import diagnose
from coursekit.doctor.facts import Facts, from_data
from coursekit.doctor.view import Finding
from tests.doctor.fixtures import healthy_data, merge


def facts(base: str, patch: dict[str, Any]) -> Facts:
    return from_data(Facts, merge(healthy_data(base), patch))


def found(base: str, patch: dict[str, Any]) -> dict[str, Finding]:
    return {f.id: f for f in diagnose(facts(base, patch))}


def with_versions(torch: str, vision: str | None, audio: str | None, base: str = "cpu_linux") -> dict[str, Finding]:
    data = healthy_data(base)
    items = [d for d in data["probe"]["data"]["distributions"]["items"]
             if d["name"] not in ("torch", "torchvision", "torchaudio")]
    loc = data["probe"]["data"]["python"]["prefix"] + "/lib/python3.12/site-packages"
    for name, version in (("torch", torch), ("torchvision", vision), ("torchaudio", audio)):
        if version:
            items.append({"name": name, "version": version, "location": loc, "installer": "pip"})
    data["probe"]["data"]["distributions"]["items"] = items
    data["probe"]["data"]["torch"]["version"] = torch
    data["probe"]["data"]["imports"] = {}
    return {f.id: f for f in diagnose(from_data(Facts, data))}


# --- bug 2: old torchvision/torchaudio numbering -------------------------------------------------

@pytest.mark.parametrize(("torch", "vision", "audio"), [
    ("1.4.0", "0.5.0", "0.4.0"), ("1.5.1", "0.6.1", "0.5.1"), ("1.7.1", "0.8.2", "0.7.2"),
    ("1.10.2", "0.11.3", "0.10.2"), ("1.13.1+cu117", "0.14.1+cu117", "0.13.1+cu117"),
    ("2.0.0", "0.15.1", "2.0.1"), ("2.0.1+cu118", "0.15.2+cu118", "2.0.2+cu118"),
    ("2.5.1", "0.20.1", "2.5.1"), ("2.12.0+cpu", "0.27.0+cpu", "2.11.0+cpu")])
def test_published_pairs_are_not_a_mismatch(torch: str, vision: str, audio: str) -> None:
    ids = set(with_versions(torch, vision, audio))
    assert not ids & {"torchvision-mismatch", "torchaudio-mismatch"}, ids


@pytest.mark.parametrize(("torch", "vision", "audio", "bad"), [
    ("1.13.1", "0.15.1", "0.13.1", "torchvision-mismatch"), ("1.12.1", "0.13.1", "0.13.1", "torchaudio-mismatch"),
    ("2.0.1", "0.14.1", "2.0.2", "torchvision-mismatch"), ("1.13.1", "0.14.1", "2.0.1", "torchaudio-mismatch"),
    ("2.13.0+cpu", "0.28.0+cpu", "2.10.0+cpu", "torchaudio-mismatch")])
def test_wrong_pairs_are_named(torch: str, vision: str, audio: str, bad: str) -> None:
    assert bad in with_versions(torch, vision, audio)


@pytest.mark.parametrize(("torch", "vision", "audio"), [("1.3.1", "0.4.2", "0.3.2"), ("1.0.0", "0.2.2", None),
                                                        ("2.15.0", "0.30.0", "2.11.0")])
def test_pairs_the_tables_do_not_know_are_not_errors(torch: str, vision: str, audio: str | None) -> None:
    ids = set(with_versions(torch, vision, audio))
    assert not ids & {"torchvision-mismatch", "torchaudio-mismatch"}, ids


def test_pairing_says_which_torch_a_companion_is_for() -> None:
    f = with_versions("1.13.1", "0.15.1", "0.13.1")["torchvision-mismatch"]
    assert "is for torch 2.0" in f.detail
