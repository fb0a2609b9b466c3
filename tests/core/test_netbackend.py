"""The async pool's cheap "is this connection still open?" check, on real sockets."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import httpcore
import pytest

from tests.loopback import LoopbackServer, Route
from tuinews.core import netbackend
from tuinews.core.fetch import Fetcher, FetchLimits


class FakeInner(httpcore.AsyncNetworkStream):
    """Stands in for anyio's stream: only its socket matters here."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.asked: list[str] = []

    def get_extra_info(self, info: str) -> Any:
        self.asked.append(info)
        return self.sock if info == "socket" else f"inner:{info}"


def test_readable_only_once_the_peer_writes_or_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(netbackend, "QUIET_FOR", 0.0)
    ours, theirs = socket.socketpair()
    try:
        inner = FakeInner(ours)
        stream = netbackend._Stream(inner)
        assert stream.get_extra_info("is_readable") is False  # idle and open
        theirs.close()  # the server closes an idle keep-alive connection
        assert stream.get_extra_info("is_readable") is True
        assert stream.get_extra_info("socket") is ours
        assert stream.get_extra_info("server_addr") == "inner:server_addr"  # passed through
        assert inner.asked == ["socket", "server_addr"]  # the socket was looked up once
    finally:
        ours.close()
    assert stream.get_extra_info("is_readable") is True  # a closed socket: drop the connection


def test_a_quiet_connection_is_not_polled_again_for_a_moment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(netbackend, "QUIET_FOR", 0.3)
    ours, theirs = socket.socketpair()
    try:
        stream = netbackend._Stream(FakeInner(ours))
        assert stream.get_extra_info("is_readable") is False
        theirs.sendall(b"x")
        assert stream.get_extra_info("is_readable") is False  # still taken as quiet
        time.sleep(0.35)
        assert stream.get_extra_info("is_readable") is True  # polled again: data waits
    finally:
        ours.close()
        theirs.close()
    assert stream.get_extra_info("is_readable") is True  # closed: never taken as quiet


def test_fetcher_pools_use_it_and_reuse_connections(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[bool] = []
    real = netbackend._Stream._readable

    def counted(self: netbackend._Stream, sock: socket.socket) -> bool:
        checks.append(real(self, sock))
        return checks[-1]

    monkeypatch.setattr(netbackend._Stream, "_readable", counted)
    server.routes["/a"] = Route(b"first body")
    server.routes["/b"] = Route(b"second body")
    fetcher = Fetcher(FetchLimits(concurrency=4), serve_samples=False)

    async def run() -> list[bytes]:
        async with fetcher.async_client() as client:
            pool = client._transport._pool  # type: ignore[attr-defined]
            assert isinstance(pool._network_backend, netbackend.CheapCheckBackend)
            out = []
            for path in ("/a", "/b", "/a"):
                out.append((await fetcher.fetch_async(client, server.url(path))).content)
            return out

    assert asyncio.run(run()) == [b"first body", b"second body", b"first body"]
    # The idle connection was checked before being reused, and found open.
    assert checks and not any(checks)


def test_install_leaves_unknown_transports_alone() -> None:
    class Other:
        pass

    other = Other()
    netbackend.install(other)
    assert not hasattr(other, "_pool")
