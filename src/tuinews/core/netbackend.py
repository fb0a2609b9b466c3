"""A network backend for httpcore's async pool, on plain asyncio protocols.

httpx's async pool talks to sockets through httpcore's anyio backend. In a refresh or a prefetch
the event loop is CPU-bound, and that layer cost a quarter of it (bench/RESULTS.md):

- every read and write opens an anyio cancel scope (``fail_after``), which looks up the current
  task and registers itself with it;
- the pool checks every idle connection for a server-side close on every request it assigns and
  every response it closes (``has_expired`` -> ``get_extra_info("is_readable")``): through
  anyio each check rebuilt the socket's attribute table, with a ``getpeername`` system call,
  then polled the socket; with 16 connections that was tens of system calls a page.

Here a connection is an :class:`asyncio.Protocol` that keeps reading into a buffer (up to a
limit, then the transport is paused). A read takes what is buffered or waits for the next data;
a time limit is one timer. The event loop already watches every socket, so "has the server
closed this idle connection?" is answered from what the protocol was told: no system call.

TLS goes through :meth:`asyncio.loop.start_tls`, as asyncio's own streams do. Unix sockets
(never used by tuinews) are left to the default backend. Errors map to httpcore's, as its anyio
backend maps them: a failed connect is ``ConnectError``/``ConnectTimeout``, a failed read or
write ``ReadError``/``WriteError``, a slow one ``ReadTimeout``/``WriteTimeout``.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import typing
from collections.abc import Iterable
from typing import Any

import httpcore

_READ_LIMIT = 256 * 1024
"""Bytes buffered before the transport stops reading (a read takes at most 64 KiB)."""


class _Connection(asyncio.Protocol):
    """One socket's side of the event loop: what has arrived, and whether it has ended."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.closed = False
        self._data_waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._paused_reading = False
        self.paused_writing = False

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_LIMIT and not self._paused_reading and self.transport:
            self._paused_reading = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake_reader()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.eof = True
        if exc is not None:
            self.error = exc
        self._wake_reader()
        self._wake_writer()

    def pause_writing(self) -> None:
        self.paused_writing = True

    def resume_writing(self) -> None:
        self.paused_writing = False
        self._wake_writer()

    # -- waiting -----------------------------------------------------------------------

    def _wake_reader(self) -> None:
        waiter, self._data_waiter = self._data_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self) -> None:
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.buffer[:max_bytes])
        del self.buffer[:max_bytes]
        if self._paused_reading and len(self.buffer) <= _READ_LIMIT // 2 and self.transport:
            self._paused_reading = False
            self.transport.resume_reading()
        return data

    def data_waiter(self) -> asyncio.Future[None]:
        self._data_waiter = asyncio.get_running_loop().create_future()
        return self._data_waiter

    def drain_waiter(self) -> asyncio.Future[None]:
        self._drain_waiter = asyncio.get_running_loop().create_future()
        return self._drain_waiter


async def _wait(
    waiter: asyncio.Future[None],
    timeout: float | None,
    error: type[httpcore.TimeoutException],
    doing: str,
) -> None:
    """Wait for the protocol to wake ``waiter``, at most ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            await waiter
    except TimeoutError:
        raise error(f"timed out {doing} the server") from None


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, connection: _Connection) -> None:
        self._transport = transport
        self._connection = connection
        connection.transport = transport

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        conn = self._connection
        while not conn.buffer:
            if conn.error is not None:
                raise httpcore.ReadError(str(conn.error) or repr(conn.error))
            if conn.eof:
                return b""
            await _wait(conn.data_waiter(), timeout, httpcore.ReadTimeout, "reading from")
        return conn.take(max_bytes)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        conn = self._connection
        if conn.closed or self._transport.is_closing():
            raise httpcore.WriteError(str(conn.error) if conn.error else "the connection is closed")
        self._transport.write(buffer)
        while conn.paused_writing and not conn.closed:
            await _wait(conn.drain_waiter(), timeout, httpcore.WriteTimeout, "writing to")
        if conn.error is not None:
            raise httpcore.WriteError(str(conn.error) or repr(conn.error))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport,
                    self._connection,
                    ssl_context,
                    server_hostname=server_hostname,
                )
        except TimeoutError:
            self._transport.abort()
            raise httpcore.ConnectTimeout("timed out during the TLS handshake") from None
        except (OSError, ssl.SSLError, ConnectionError, RuntimeError) as exc:
            self._transport.abort()
            raise httpcore.ConnectError(str(exc) or repr(exc)) from exc
        if transport is None:  # the peer closed during the handshake
            raise httpcore.ConnectError("the server closed the connection during the handshake")
        return _Stream(transport, self._connection)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Idle and readable means the server closed it (or sent what it should not):
            # the event loop has already told the protocol either way.
            conn = self._connection
            return bool(conn.buffer) or conn.eof or conn.closed
        if info == "ssl_object":
            return self._transport.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        if info == "socket":
            return self._transport.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's async backend on asyncio protocols (see the module's docstring)."""

    def __init__(self, fallback: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._fallback = fallback or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport, connection = await loop.create_connection(
                    _Connection,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=0.25,
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or repr(exc)) from exc
        sock = transport.get_extra_info("socket")
        if sock is not None:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                # asyncio sets TCP_NODELAY itself; said again so that it does not depend on it.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return _Stream(transport, connection)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._fallback.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def install(transport: Any) -> None:
    """Give an ``httpx.AsyncHTTPTransport``'s pool this backend, when the pool is the shape we
    know (httpx does not take a backend as an argument); otherwise leave it as it is."""
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = AsyncioBackend()
