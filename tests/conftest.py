"""Hermetic defaults for every test: private coursekit home, no colour, no network."""

from __future__ import annotations

import errno
import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest


def is_loopback(host: object) -> bool:
    """``host`` names this machine only (127.0.0.0/8, ::1, localhost; None or '' is a local bind)."""
    if host is None:
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    if name in ("", "localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


_REAL_GETADDRINFO = socket.getaddrinfo
_REAL_CONNECT = socket.socket.connect
_REAL_CONNECT_EX = socket.socket.connect_ex


def _no_network(host: object) -> OSError:
    return OSError(errno.ENETUNREACH, f"tests may not reach the network (asked for {host!r})")


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    if not is_loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, f"tests may not reach the network ({host!r})")
    return _REAL_GETADDRINFO(host, *args, **kwargs)


def _inet(sock: socket.socket, address: Any) -> bool:
    return sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple)


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if _inet(self, address) and not is_loopback(address[0]):
        raise _no_network(address[0])
    _REAL_CONNECT(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if _inet(self, address) and not is_loopback(address[0]):
        return errno.ENETUNREACH
    return _REAL_CONNECT_EX(self, address)


@pytest.fixture(autouse=True)
def _hermetic(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path_factory.mktemp("coursekit-home")
    monkeypatch.setenv("COURSEKIT_HOME", str(home))
    monkeypatch.setenv("COURSEKIT_OFFLINE", "1")
    monkeypatch.delenv("COURSEKIT_NO_RELEASE_CHECK", raising=False)
    monkeypatch.delenv("COURSEKIT_RELEASE_INDEX", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    # Wide lines: tests compare whole lines; the wrapping tests set COLUMNS themselves.
    monkeypatch.setenv("COLUMNS", "1000")
    monkeypatch.delenv("COURSEKIT_DEBUG", raising=False)
    monkeypatch.delenv("COURSEKIT_ENV_SPEC", raising=False)
    # No test reaches the network, even one that unsets COURSEKIT_OFFLINE or passes its own
    # environment: in this process, names other than this machine's do not resolve and
    # connections go to loopback only (local indexes on 127.0.0.1 still work). Child
    # processes get COURSEKIT_OFFLINE from the environment above.
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
