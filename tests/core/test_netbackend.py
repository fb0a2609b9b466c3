"""The async pool's cheap "is this connection still open?" check, on real sockets."""

from __future__ import annotations

import asyncio
import socket
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


def test_readable_only_once_the_peer_writes_or_closes() -> None:
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
    assert netbackend._readable(ours) is True  # a closed socket: drop the connection


def test_fetcher_pools_use_it_and_reuse_connections(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks: list[bool] = []
    real = netbackend._readable

    def counted(sock: socket.socket) -> bool:
        checks.append(real(sock))
        return checks[-1]

    monkeypatch.setattr(netbackend, "_readable", counted)
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
