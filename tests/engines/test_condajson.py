"""Parsing conda / mamba / micromamba JSON (captured shapes, envs/SOURCES.md P5.7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coursekit.setup.engines.condajson import BadToolOutput, parse_env_list, parse_info, pick_env

CONDA_2511 = {
    "envs": ["/home/s/miniforge3", "/home/s/miniforge3/envs/pt", "/data/other/pt"],
    "envs_details": {
        "/home/s/miniforge3": {"name": "base", "base": True, "active": True},
        "/home/s/miniforge3/envs/pt": {"name": "pt", "base": False},
        "/data/other/pt": {"name": "", "base": False},
    },
}
MAMBA = {"envs": ["/home/s/micromamba", "/home/s/micromamba/envs/pt", "/home/s/micromamba/envs/x"]}


def test_conda_envs_details_name_wins() -> None:
    listing = parse_env_list(json.dumps(CONDA_2511))
    assert listing.root_prefix == Path("/home/s/miniforge3")
    assert pick_env(listing, "pt") == Path("/home/s/miniforge3/envs/pt")
    assert pick_env(listing, "missing") is None


def test_mamba_only_envs_uses_envs_folder_rule() -> None:
    listing = parse_env_list(json.dumps(MAMBA))
    assert listing.names == {}
    assert pick_env(listing, "pt") == Path("/home/s/micromamba/envs/pt")


def test_prefix_outside_envs_dir_is_not_taken_by_name() -> None:
    listing = parse_env_list(json.dumps({"envs": ["/r", "/elsewhere/pt"]}))
    assert pick_env(listing, "pt", (Path("/r/envs"),)) is None


def test_base_env_never_returned_for_pt() -> None:
    listing = parse_env_list(json.dumps({"envs": ["/opt/pt"], "root_prefix": "/opt/pt"}))
    assert pick_env(listing, "pt") is None


def test_old_conda_printed_the_whole_info_dict() -> None:
    text = "WARNING: something\n" + json.dumps({"envs": ["/c", "/c/envs/pt"], "root_prefix": "/c",
                                                "envs_dirs": ["/c/envs"]})
    listing = parse_env_list(text)
    assert pick_env(listing, "pt") == Path("/c/envs/pt")


def test_info_conda_and_mamba_keys() -> None:
    conda = parse_info(json.dumps({"root_prefix": "/c", "envs_dirs": ["/c/envs", "/u/.conda/envs"],
                                   "conda_version": "25.11.0", "platform": "linux-64",
                                   "virtual_pkgs": [["__cuda", "12.8", "0"]]}))
    assert conda.root_prefix == Path("/c") and conda.envs_dirs[1] == Path("/u/.conda/envs")
    assert conda.virtual_packages == ("__cuda=12.8=0",) and conda.version == "25.11.0"
    mamba = parse_info(json.dumps({"base environment": "/m", "envs directories": ["/m/envs"],
                                   "micromamba version": "2.3.2",
                                   "virtual packages": ["__cuda=12.8=0"], "platform": "osx-arm64"}))
    assert mamba.root_prefix == Path("/m") and mamba.envs_dirs == (Path("/m/envs"),)
    assert mamba.version == "2.3.2" and mamba.platform == "osx-arm64"


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", "{broken"])
def test_garbage_is_reported(text: str) -> None:
    with pytest.raises(BadToolOutput):
        parse_env_list(text)
