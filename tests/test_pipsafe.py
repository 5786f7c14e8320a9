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


# --- issue 18: behaviours the mutation run found unpinned (bench/mutation.py pipsafe) --------------

def test_an_unreadable_config_file_is_reported_and_the_next_still_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.conf"
    bad.write_bytes(b"[global]\nproxy = \xff\xfe\n")
    broken = tmp_path / "broken.conf"
    broken.write_text("no section header\n")
    good = tmp_path / "good.conf"
    good.write_text("[global]\nextra-index-url = https://evil/simple\ncert = /ca.pem\n")
    s = pipsafe.read_settings([bad, broken, good], {})
    assert s.dropped[0] == f"{bad}: unreadable (UnicodeDecodeError)"
    assert s.dropped[1] == f"{broken}: unreadable (MissingSectionHeaderError)"
    assert s.dropped[2] == f"extra-index-url = https://evil/simple (from {good})"
    assert s.keep == {"cert": "/ca.pem"}


def test_precedence_later_file_install_section_and_variables(tmp_path: Path) -> None:
    one = tmp_path / "one.conf"
    one.write_text("[install]\ntimeout = 10\n[global]\ntimeout = 20\nproxy = http://a\n"
                   "index-url = https://one/simple\n")
    two = tmp_path / "two.conf"
    two.write_text("[global]\nproxy = http://b\nno-index = true\n[install]\ntrusted-host =\n  a\n  b\n")
    s = pipsafe.read_settings([one, two], {"PIP_INDEX_URL": "https://env/simple", "PIP_CONFIG_FILE": "x",
                                           "PIP_NO_CACHE_DIR": "1", "OTHER": "y"})
    assert s.keep == {"timeout": "10", "proxy": "http://b", "trusted-host": "a b", "no-cache-dir": "1"}
    assert s.index_url == "https://env/simple"
    assert s.dropped == (f"no-index = true (from {two})",)
    only = pipsafe.read_settings([one], {}, sections=("global",))
    assert only.keep["timeout"] == "20" and only.index_url == "https://one/simple"
    assert pipsafe.read_settings([], {}) == pipsafe.PipSettings({}, None, ())


def test_at_least() -> None:
    s = pipsafe.PipSettings({"timeout": "90.5", "default-timeout": "300", "retries": "9"}, None, ())
    assert s.at_least("timeout", 60) == 90 and s.at_least("timeout", 120) == 120
    assert s.at_least("retries", 5) == 9 and s.at_least("retries", 9) == 9
    assert pipsafe.PipSettings({"default-timeout": "300"}, None, ()).at_least("retries", 5) == 5
    assert pipsafe.PipSettings({}, None, ()).at_least("timeout", 60) == 60
    assert pipsafe.PipSettings({"timeout": ""}, None, ()).at_least("timeout", 60) == 60


def test_index_source_args_and_label(tmp_path: Path) -> None:
    url = pipsafe.IndexSource(url="https://x/whl")
    assert url.pip_args() == ["--index-url", "https://x/whl"] and url.label == "https://x/whl"
    folder = pipsafe.IndexSource(folder=tmp_path)
    assert folder.label == str(tmp_path)
    assert pipsafe.check_index("https://m.example/whl/cu126/").url == "https://m.example/whl/cu126"
    assert pipsafe.check_index("http://[::1]:8080/whl/").url == "http://[::1]:8080/whl"
    assert pipsafe.check_index("file:///srv/w/").url == "file:///srv/w/"  # kept as given
    assert pipsafe.check_index(str(tmp_path)).folder == tmp_path.resolve()
    for bad, match in (("https:///nohost", "only https://"), (str(tmp_path / "none"), "no such folder"),
                       ("http://localhost.evil.test/", "only https://")):
        with pytest.raises(UsageError, match=match):
            pipsafe.check_index(bad)


def test_install_args_in_full(tmp_path: Path) -> None:
    source = pipsafe.IndexSource(url="https://x/whl")
    assert pipsafe.install_args(["torch"], source, pip_version="25.1") == [
        "-m", "pip", "install", "--index-url", "https://x/whl", "--retries", "5", "--timeout", "60",
        "--upgrade-strategy", "only-if-needed", "--resume-retries", "5", "--progress-bar", "off", "torch"]
    args = pipsafe.install_args(["a", "b"], source, pip_version="24.0", interactive=True,
                                constraint=tmp_path / "c.txt", log=tmp_path / "pip.log")
    assert "--progress-bar" not in args and "--resume-retries" not in args
    assert args[-6:] == ["--constraint", str(tmp_path / "c.txt"), "--log", str(tmp_path / "pip.log"), "a", "b"]
    plain = pipsafe.install_args(["a"], source, pip_version=None)
    assert "--log" not in plain and "--constraint" not in plain and "None" not in plain
    assert pipsafe.supports_resume("26.0") and not pipsafe.supports_resume("24.9") and not pipsafe.supports_resume("")


def _touch(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("[global]\n")


def test_config_files_on_windows(tmp_path: Path) -> None:
    home, appdata, programdata = tmp_path / "u", tmp_path / "appdata", tmp_path / "pd"
    expected = [programdata / "pip" / "pip.ini", home / "pip" / "pip.ini", appdata / "pip" / "pip.ini",
                tmp_path / "env" / "pip.ini"]
    _touch(*expected, home / ".pip" / "pip.conf", tmp_path / "env" / "pip.conf")
    env = {"USERPROFILE": str(home), "HOME": str(tmp_path / "elsewhere"), "APPDATA": str(appdata),
           "PROGRAMDATA": str(programdata)}
    assert pipsafe.config_files(env, tmp_path / "env", "windows") == expected
    # without APPDATA: the user's AppData/Roaming
    roaming = home / "AppData" / "Roaming" / "pip" / "pip.ini"
    _touch(roaming)
    env.pop("APPDATA")
    assert pipsafe.config_files(env, None, "windows") == [expected[0], expected[1], roaming]


def test_config_files_on_macos_and_xdg(tmp_path: Path) -> None:
    home, xdg1, xdg2, cfg = tmp_path / "h", tmp_path / "x1", tmp_path / "x2", tmp_path / "cfg"
    mac = home / "Library" / "Application Support" / "pip" / "pip.conf"
    want = [xdg1 / "pip" / "pip.conf", xdg2 / "pip" / "pip.conf", home / ".pip" / "pip.conf", mac,
            cfg / "pip" / "pip.conf"]
    _touch(*want, home / ".config" / "pip" / "pip.conf")
    env = {"HOME": str(home), "XDG_CONFIG_DIRS": f"{xdg1}{os.pathsep}{os.pathsep}{xdg2}",
           "XDG_CONFIG_HOME": str(cfg), "USERPROFILE": str(tmp_path / "nobody")}
    files = pipsafe.config_files(env, None, "macos")
    assert [f for f in files if f != Path("/etc/pip.conf")] == want
    linux = pipsafe.config_files(env, None, "linux")
    assert mac not in linux and cfg / "pip" / "pip.conf" in linux


def test_pip_env_drops_pythonhome_and_keeps_other_variables() -> None:
    env = pipsafe.pip_env({"PYTHONHOME": "/x", "PYTHONPATH": "/y", "HOME": "/h"},
                          pipsafe.PipSettings({"default-timeout": "99", "no-cache-dir": "1"}, None, ()))
    assert "PYTHONHOME" not in env and "PYTHONPATH" not in env and env["HOME"] == "/h"
    assert env["PIP_DEFAULT_TIMEOUT"] == "99" and env["PIP_NO_CACHE_DIR"] == "1"


def test_more_index_and_settings_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert pipsafe.check_index("https://m.example/whl/XX/").url == "https://m.example/whl/XX"
    assert pipsafe.check_index("http://localhost/whl/XX/").url == "http://localhost/whl/XX"
    with pytest.raises(UsageError, match="no such folder") as drive:  # a Windows drive letter is a path
        pipsafe.check_index("C:\\nowhere\\wheels")
    assert drive.value.fix
    with pytest.raises(UsageError, match="only https://") as plain:
        pipsafe.check_index("http://mirror.example.edu/whl")
    assert plain.value.fix
    only_install = tmp_path / "install.conf"
    only_install.write_text("[install]\ntimeout = 45\n")
    assert pipsafe.read_settings([only_install], {}).keep == {"timeout": "45"}
    assert pipsafe.read_settings([], {"HTTPPROXY": "http://x", "ABCDTIMEOUT": "9"}).keep == {}
    args = pipsafe.install_args(["a"], pipsafe.IndexSource(url="https://x"), pip_version=None,
                                constraint=tmp_path / "c.txt")
    assert args[:5] == ["-m", "pip", "install", "--index-url", "https://x"]
    # Windows without PROGRAMDATA: C:\ProgramData (a relative name on this POSIX test machine)
    monkeypatch.chdir(tmp_path)
    default = Path("C:\\ProgramData") / "pip" / "pip.ini"
    _touch(default)
    assert pipsafe.config_files({"USERPROFILE": str(tmp_path / "u")}, None, "windows") == [default]
