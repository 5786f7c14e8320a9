"""pip hardening: one index, the user's extra indexes dropped (and reported), network
settings kept; a real pip proves a planted extra index cannot serve torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coursekit.errors import UsageError
from coursekit.setup.run import pipsafe
from tests.fakes.fixtures import *  # noqa: F403 - torch_index, clean_pip_env
from tests.fakes.pyindex import IndexServer


@pytest.mark.parametrize("url", ["https://mirror.example.edu/whl/cu126",
                                 "http://127.0.0.1:8080/whl/cpu", "http://localhost/whl",
                                 "file:///srv/wheels/whl/cpu"])
def test_allowed_index_urls(url: str) -> None:
    assert pipsafe.check_index(url).url == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://mirror.example.edu/whl/cu126", "ftp://x/y", "nope/none"])
def test_refused_index_urls(url: str) -> None:
    with pytest.raises(UsageError):
        pipsafe.check_index(url)


def test_a_wheel_folder_becomes_no_index_find_links(tmp_path: Path) -> None:
    source = pipsafe.check_index(str(tmp_path))
    assert source.pip_args() == ["--no-index", "--find-links", str(tmp_path)]


def test_settings_keep_network_and_drop_sources(tmp_path: Path) -> None:
    glob = tmp_path / "global.conf"
    glob.write_text("[global]\nproxy = http://proxy:3128\nextra-index-url = https://evil/simple\n"
                    "timeout = 30\n")
    user = tmp_path / "user.conf"
    user.write_text("[global]\nindex-url = https://mirror/simple\ncert = /etc/ca.pem\n"
                    "[install]\nfind-links = /wheels\ntrusted-host = mirror\n[freeze]\nall = 1\n")
    env = {"PIP_EXTRA_INDEX_URL": "https://evil2/simple", "PIP_DEFAULT_TIMEOUT": "99",
           "PIP_FIND_LINKS": "/opt/wheels"}
    s = pipsafe.read_settings([glob, user], env)
    assert s.keep == {"proxy": "http://proxy:3128", "timeout": "30", "cert": "/etc/ca.pem",
                      "trusted-host": "mirror", "default-timeout": "99"}
    assert s.index_url == "https://mirror/simple"
    dropped = " ".join(s.dropped)
    assert "https://evil/simple" in dropped and "PIP_EXTRA_INDEX_URL" in dropped
    assert "/wheels" in dropped and "PIP_FIND_LINKS" in dropped


def test_child_env_has_no_user_pip_variables() -> None:
    settings = pipsafe.PipSettings({"proxy": "http://p:1", "trusted-host": "a b"}, None, ())
    env = pipsafe.pip_env({"PIP_EXTRA_INDEX_URL": "x", "PIP_INDEX_URL": "y", "HTTPS_PROXY": "h",
                           "PYTHONPATH": "/coursekit", "PATH": "/bin"}, settings)
    assert env == {"HTTPS_PROXY": "h", "PATH": "/bin", "PIP_CONFIG_FILE": os.devnull,
                   "PYTHONNOUSERSITE": "1",
                   "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                   "PIP_PROXY": "http://p:1", "PIP_TRUSTED_HOST": "a b"}


def test_config_files_in_pips_order(tmp_path: Path) -> None:
    home = tmp_path / "home"
    for rel in (".pip/pip.conf", ".config/pip/pip.conf"):
        (home / rel).parent.mkdir(parents=True)
        (home / rel).write_text("[global]\n")
    prefix = tmp_path / "env"
    prefix.mkdir()
    (prefix / "pip.conf").write_text("[global]\n")
    extra = tmp_path / "extra.conf"
    extra.write_text("[global]\n")
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": str(tmp_path / "none"),
           "PIP_CONFIG_FILE": str(extra)}
    files = pipsafe.config_files(env, prefix, "linux")
    assert files[-4:] == [home / ".pip/pip.conf", home / ".config/pip/pip.conf",
                          prefix / "pip.conf", extra]
    assert pipsafe.config_files({"PIP_CONFIG_FILE": os.devnull}, prefix, "linux") == []


@pytest.mark.parametrize(("version", "resume"), [("25.1", True), ("25.3.1", True), ("25.0.1", False),
                                                 ("23.2.1", False), (None, False), ("dev", False)])
def test_resume_retries_only_where_pip_has_it(version: str | None, resume: bool) -> None:
    args = pipsafe.install_args(["torch==2.7.0+cu126"], pipsafe.IndexSource(url="https://x"),
                                pip_version=version, retries=4, timeout_s=30)
    assert ("--resume-retries" in args) is resume
    assert args[:5] == ["-m", "pip", "install", "--index-url", "https://x"]
    assert "--extra-index-url" not in args and args[-1] == "torch==2.7.0+cu126"
    assert args[args.index("--retries") + 1] == "4" and "--progress-bar" in args


@pytest.mark.realtool
def test_planted_extra_index_cannot_serve_torch(torch_index: IndexServer, tmp_path: Path,
                                                clean_pip_env: dict[str, str]) -> None:
    """A user config adding the evil index, as this machine's own pip config does."""
    conf = Path(clean_pip_env["HOME"]) / ".config" / "pip" / "pip.conf"
    conf.parent.mkdir(parents=True)
    evil = torch_index.url("evil/simple")
    conf.write_text(f"[global]\nextra-index-url = {evil}\n")
    user_env = {k: v for k, v in clean_pip_env.items() if k != "PIP_CONFIG_FILE"}
    user_env["PIP_EXTRA_INDEX_URL"] = evil
    files = pipsafe.config_files(user_env, None, "linux")
    settings = pipsafe.read_settings(files, user_env)
    assert len(settings.dropped) == 2
    args = pipsafe.install_args(["torch==2.7.0+cu126"], pipsafe.IndexSource(
        url=torch_index.url("whl/cu126")), pip_version="23.2.1", retries=0)
    args = [*args[:3], "--dry-run", "--report", "-", "-q", "--no-cache-dir", *args[3:]]
    torch_index.requests.clear()
    hardened = subprocess.run([sys.executable, *args], env=pipsafe.pip_env(user_env, settings),
                              capture_output=True, text=True)
    assert hardened.returncode == 0, hardened.stderr
    assert "/evil/" not in hardened.stdout and "/whl/cu126/files/torch-2.7.0" in hardened.stdout
    assert not [r for r in torch_index.requests if "/evil/" in r]
    # Without the hardening the same command consults the planted index (and here took
    # its torch: same version, pip treats both indexes as equal, pypa/pip#8606).
    plain = subprocess.run([sys.executable, *args], env=user_env, capture_output=True, text=True)
    assert plain.returncode == 0, plain.stderr
    assert [r for r in torch_index.requests if "/evil/" in r]


def test_a_users_longer_timeout_and_retries_win() -> None:
    s = pipsafe.PipSettings({"default-timeout": "180", "retries": "2"}, None, ())
    assert s.at_least("timeout", 60) == 180 and s.at_least("retries", 5) == 5
    assert pipsafe.PipSettings({"timeout": "x"}, None, ()).at_least("timeout", 60) == 60
