"""No test reaches outside the machine: pytest-socket (pyproject addopts) lets tests connect to loopback
only. 0.0.0.0 is not in the allow-list, and without the guard a connect to it stays on this host (the
kernel treats it as the local address), so this test never sends anything out even when it fails."""

from __future__ import annotations

import socket

import pytest
from pytest_socket import SocketConnectBlockedError


@pytest.mark.filterwarnings("ignore:A test tried to use socket")
def test_a_connection_off_loopback_is_refused_by_the_guard() -> None:
    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("0.0.0.0", 9), timeout=1)


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
