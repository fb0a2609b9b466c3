"""The async pool's network backend on asyncio protocols, on real sockets (plain and TLS)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Iterator

import httpcore
import httpx
import pytest

from tests.loopback import LoopbackServer, Route, closed_port
from tuinews.core import netbackend
from tuinews.core.fetch import Fetcher, FetchLimits


class RawServer:
    """A TCP server on 127.0.0.1 whose connections a test script drives by hand."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.tls = tls
        self.accepted: list[socket.socket] = []
        self._ready = threading.Semaphore(0)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            if self.tls is not None:
                try:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    conn.close()
                    continue
            self.accepted.append(conn)
            self._ready.release()

    def next_connection(self) -> socket.socket:
        assert self._ready.acquire(timeout=10), "no connection arrived"
        return self.accepted[-1]

    def close(self) -> None:
        self.listener.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def raw() -> Iterator[RawServer]:
    srv = RawServer()
    yield srv
    srv.close()


def answer(conn: socket.socket, body: bytes) -> None:
    """Read one request and answer it with ``body`` (keep-alive)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)


def test_reads_writes_and_sees_the_server_close_an_idle_connection(raw: RawServer) -> None:
    async def run() -> tuple[bytes, bool, bool, bytes]:
        backend = netbackend.AsyncioBackend()
        stream = await backend.connect_tcp("127.0.0.1", raw.port, timeout=5)
        peer = await asyncio.to_thread(raw.next_connection)
        await stream.write(b"ping", timeout=5)
        got = await asyncio.to_thread(peer.recv, 10)
        peer.sendall(b"pong")
        reply = await stream.read(65536, timeout=5)
        idle = stream.get_extra_info("is_readable")
        peer.close()  # the server drops the idle keep-alive connection
        for _ in range(100):  # the event loop hears of it on its next turns
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        closed = stream.get_extra_info("is_readable")
        end = await stream.read(65536, timeout=5)
        await stream.aclose()
        assert got == b"ping"
        return reply, idle, closed, end

    reply, idle, closed, end = asyncio.run(run())
    assert reply == b"pong"
    assert idle is False  # open and quiet: no system call needed to say so
    assert closed is True  # so the pool drops it instead of sending a request into it
    assert end == b""


def test_a_body_larger_than_the_buffer_arrives_whole(raw: RawServer) -> None:
    big = bytes(range(256)) * 8192  # 2 MiB: the transport is paused and resumed on the way

    async def run() -> bytes:
        stream = await netbackend.AsyncioBackend().connect_tcp("127.0.0.1", raw.port, timeout=5)
        peer = await asyncio.to_thread(raw.next_connection)
        sender = asyncio.create_task(asyncio.to_thread(peer.sendall, big))
        await asyncio.sleep(0.2)  # let the server fill the buffer before anything is read
        out = bytearray()
        while len(out) < len(big):
            chunk = await stream.read(65536, timeout=5)
            assert chunk and len(chunk) <= 65536
            out += chunk
        await sender
        await stream.aclose()
        return bytes(out)

    assert asyncio.run(run()) == big


def test_timeouts_and_refusals_are_httpcore_errors(raw: RawServer) -> None:
    async def run() -> None:
        backend = netbackend.AsyncioBackend()
        with pytest.raises(httpcore.ConnectError):
            await backend.connect_tcp("127.0.0.1", closed_port(), timeout=5)
        stream = await backend.connect_tcp("127.0.0.1", raw.port, timeout=5)
        await asyncio.to_thread(raw.next_connection)
        with pytest.raises(httpcore.ReadTimeout):
            await stream.read(100, timeout=0.2)  # the server says nothing
        await stream.aclose()

    asyncio.run(run())


def test_a_reset_connection_is_a_read_error(raw: RawServer) -> None:
    async def run() -> None:
        stream = await netbackend.AsyncioBackend().connect_tcp("127.0.0.1", raw.port, timeout=5)
        peer = await asyncio.to_thread(raw.next_connection)
        peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        peer.close()  # RST
        with pytest.raises(httpcore.ReadError):
            await stream.read(100, timeout=5)  # ECONNRESET: an error, not a clean end
        with pytest.raises(httpcore.WriteError):
            await stream.write(b"more", timeout=1)
        await stream.aclose()

    asyncio.run(run())


def test_fetcher_pools_use_it_and_reuse_connections(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[int] = []
    real = netbackend.AsyncioBackend.connect_tcp

    async def counted(self: netbackend.AsyncioBackend, *args: object, **kwargs: object) -> object:
        connects.append(1)
        return await real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(netbackend.AsyncioBackend, "connect_tcp", counted)
    server.routes["/a"] = Route(b"first body")
    server.routes["/b"] = Route(b"second body", gzip=True)
    fetcher = Fetcher(FetchLimits(concurrency=4), serve_samples=False)

    async def run() -> list[bytes]:
        async with fetcher.async_client() as client:
            pool = client._transport._pool  # type: ignore[attr-defined]
            assert isinstance(pool._network_backend, netbackend.AsyncioBackend)
            out = []
            for path in ("/a", "/b", "/a"):
                out.append((await fetcher.fetch_async(client, server.url(path))).content)
            return out

    assert asyncio.run(run()) == [b"first body", b"second body", b"first body"]
    assert len(connects) == 1  # one keep-alive connection served all three


def test_a_connection_the_server_closed_while_idle_is_not_reused(raw: RawServer) -> None:
    async def run() -> list[str]:
        transport = httpx.AsyncHTTPTransport()
        netbackend.install(transport)
        async with httpx.AsyncClient(transport=transport) as client:
            url = f"http://127.0.0.1:{raw.port}/"
            first = asyncio.create_task(client.get(url))
            peer = await asyncio.to_thread(raw.next_connection)
            await asyncio.to_thread(answer, peer, b"one")
            texts = [(await first).text]
            peer.close()  # the server's keep-alive timeout
            await asyncio.sleep(0.1)
            second = asyncio.create_task(client.get(url))
            peer2 = await asyncio.to_thread(raw.next_connection)
            await asyncio.to_thread(answer, peer2, b"two")
            texts.append((await second).text)
            return texts

    assert asyncio.run(run()) == ["one", "two"]


def test_tls_on_loopback_verifies_the_certificate() -> None:
    trustme = pytest.importorskip("trustme", reason="trustme is a test dependency")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    srv = RawServer(tls=server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)

    async def get(verify: ssl.SSLContext | bool) -> str:
        transport = httpx.AsyncHTTPTransport(verify=verify)
        netbackend.install(transport)
        async with httpx.AsyncClient(transport=transport) as client:
            task = asyncio.create_task(client.get(f"https://127.0.0.1:{srv.port}/"))
            peer = await asyncio.to_thread(srv.next_connection)
            await asyncio.to_thread(answer, peer, b"over TLS")
            response = await task
            stream = response.extensions["network_stream"]
            assert isinstance(stream, netbackend._Stream)  # TLS over our protocol, not anyio's
            assert stream.get_extra_info("ssl_object") is not None
            return response.text

    try:
        assert asyncio.run(get(client_ctx)) == "over TLS"

        async def untrusted() -> None:
            transport = httpx.AsyncHTTPTransport()  # the system's CAs: ours is unknown there
            netbackend.install(transport)
            async with httpx.AsyncClient(transport=transport) as client:
                await client.get(f"https://127.0.0.1:{srv.port}/", timeout=5)

        with pytest.raises(httpx.ConnectError):
            asyncio.run(untrusted())
    finally:
        srv.close()


def test_install_leaves_unknown_transports_alone() -> None:
    class Other:
        pass

    other = Other()
    netbackend.install(other)
    assert not hasattr(other, "_pool")
