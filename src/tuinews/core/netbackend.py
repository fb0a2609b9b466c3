"""A network backend for httpcore's async pool that answers "is this connection still open?"
cheaply.

httpcore checks every pooled connection for a server-side close on every request it assigns
(``has_expired`` -> ``get_extra_info("is_readable")``). Through anyio each check rebuilds the
socket's attribute table, with a ``getpeername`` system call, before the ``poll`` that answers
it. With 16 connections and 1,000 feeds that was 21% of a refresh's event-loop time, in a
process that is CPU-bound (bench/RESULTS.md). This backend wraps the default one and keeps each
connection's socket from the start, so a check is one ``poll`` on it, as in httpcore's own
blocking backend. Everything else is passed through unchanged.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
import typing
from typing import Any

import httpcore

QUIET_FOR = 0.02
"""Seconds a connection found quiet (no data, no close) is not polled again."""


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")
        self._poller: select.poll | None = None
        self._quiet_until = 0.0

    def _readable(self, sock: socket.socket) -> bool:
        """True when a read would not block: data, or (for an idle connection) the server's
        close. The same test as httpcore's blocking backend, with one poll object kept per
        connection.

        The pool asks every idle connection on every request it assigns and every response
        it closes: with 16 connections that was 40 polls a page in a prefetch, 15% of its
        event loop. A connection found quiet is taken as quiet for :data:`QUIET_FOR` seconds.
        That widens the window in which a server's close of an idle connection goes unseen
        until the next request on it from microseconds to those milliseconds; a server keeps
        an idle connection for seconds (nginx: 75 s) before closing it.
        """
        try:
            if sock.fileno() < 0:
                return True  # closed (so its descriptor can't be another socket's by now)
            now = time.monotonic()
            if now < self._quiet_until:
                return False
            if self._poller is None:
                self._poller = select.poll()
                self._poller.register(sock, select.POLLIN)
            if self._poller.poll(0):
                return True
            self._quiet_until = now + QUIET_FOR
            return False
        except (OSError, ValueError):
            return True  # closed or broken: let the pool drop it

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return self._readable(self._socket)
        if info == "socket" and self._socket is not None:
            return self._socket
        return self._inner.get_extra_info(info)


class CheapCheckBackend(httpcore.AsyncNetworkBackend):
    """httpcore's default async backend, with connections that check themselves cheaply."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _Stream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: typing.Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return _Stream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def install(transport: Any) -> None:
    """Give an ``httpx.AsyncHTTPTransport``'s pool this backend, when the pool is the shape we
    know (httpx does not take a backend as an argument); otherwise leave it as it is."""
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and hasattr(pool, "_network_backend"):
        pool._network_backend = CheapCheckBackend()
