"""A lean HTTP/1.1 client on asyncio protocols, for the bulk GETs of a refresh or a prefetch.

A refresh fetches a thousand feeds and a prefetch a thousand pages, and in both the event loop is
CPU-bound: the work that is left for the process (storing, indexing) and for the other core
(parsing, extraction workers) waits on it. httpx's async client spent 1.3 ms of CPU on each
20 KB page from 127.0.0.1 (request and response models, header normalisation, the cookie jar,
httpcore's pool and h11's parser); the loop below spends 0.1 ms (bench/RESULTS.md). It does only
what those fetches need:

- ``GET`` over HTTP/1.1, with pooled keep-alive connections (at most ``max_connections`` open);
  an idle connection the server has closed is noticed from what the event loop already told the
  protocol (no system call), and a request that meets a close on a reused connection before any
  byte of its answer is sent again once, on a new connection (a GET is idempotent);
- bodies framed by ``Content-Length``, by ``chunked`` transfer coding or by the end of the
  connection; ``1xx`` interim answers are skipped;
- ``gzip``, ``deflate`` (zlib or raw) and ``br`` content codings, decoded under a cap on the
  decoded size (a compression bomb stops at the cap, brotli included);
- a connect timeout, a read timeout on every wait for data (the caller bounds the whole
  exchange with ``asyncio.timeout``), TLS through :mod:`ssl` with certifi's roots, as httpx;
- cookies a server sets (on a redirect, say) are kept for the client's life and sent back,
  through :mod:`http.cookiejar`, as httpx does.

Redirects, status codes and validators are the caller's (:mod:`tuinews.core.fetch`). No proxy
(tuinews's httpx clients ignore the environment too) and no HTTP/2. Single articles opened from
the app still go through httpx.
"""

from __future__ import annotations

import asyncio
import email.message
import http.cookiejar
import ssl
import typing
import urllib.request
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

try:
    import brotli
except ImportError:  # pragma: no cover - httpx[brotli] installs it
    brotli = None

ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"
"""What the client can decode (send it as the Accept-Encoding header)."""

_MAX_HEAD = 64 * 1024
"""The longest status line and headers accepted."""
_MAX_LINE = 4096
"""The longest chunk-size or trailer line accepted."""
_READ_LIMIT = 256 * 1024
"""Bytes buffered before the transport stops reading."""
_DEFAULT_PORTS = {"http": 80, "https": 443}


class HTTPError(Exception):
    """Anything that went wrong on the way to a complete response."""


class ConnectError(HTTPError):
    """No connection (the OS error, when there is one, is the ``__cause__``)."""


class ConnectTimeout(HTTPError):
    """The connection (or the TLS handshake) took longer than the connect timeout."""


class ReadTimeout(HTTPError):
    """The server sent nothing for longer than the read timeout."""


class RemoteProtocolError(HTTPError):
    """The server broke off the response, or sent something that is not HTTP/1.1."""


class DecodingError(HTTPError):
    """The body does not decode with its declared content coding."""


class TooLarge(HTTPError):
    """The body (decoded) is larger than the cap."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit
        self.declared = declared


class InvalidURL(HTTPError):
    """Not an absolute http(s) URL this client can request."""


class Headers:
    """A response's headers in their order; names compared without case."""

    __slots__ = ("_items",)

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items  # names lower-cased

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value, or the values joined with ", " when it is repeated (as httpx does)."""
        name = name.lower()
        values = [v for k, v in self._items if k == name]
        if not values:
            return default
        return values[0] if len(values) == 1 else ", ".join(values)

    def get_list(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self._items if k == name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and any(k == name.lower() for k, _ in self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(slots=True)
class Response:
    """A complete response (the body read and decoded)."""

    url: str
    status_code: int
    reason_phrase: str
    headers: Headers
    content: bytes = b""


# -- one connection ---------------------------------------------------------------------


class _Connection(asyncio.Protocol):
    """One socket's side of the event loop: what has arrived, and whether it has ended."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_LIMIT and not self._paused and self.transport:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        if exc is not None:
            self.error = exc
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- for the client ----------------------------------------------------------------

    @property
    def usable(self) -> bool:
        """Idle and still open: nothing arrived since its last response, no close, no error
        (anything else means the server closed it, or sent what it should not have)."""
        return (
            not self.buffer
            and not self.eof
            and self.transport is not None
            and not self.transport.is_closing()
        )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()

    async def more(self, timeout: float | None) -> None:
        """Wait until more data arrives; raise if the connection ended or stays silent."""
        if self.error is not None:
            raise RemoteProtocolError(f"the connection was lost ({self.error})")
        if self.eof:
            raise RemoteProtocolError("the server closed the connection before the response ended")
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        except TimeoutError:
            raise ReadTimeout(f"no data for {timeout:g} s") from None

    def take(self, n: int) -> bytes:
        """Up to ``n`` buffered bytes."""
        buf = self.buffer
        if n >= len(buf):
            data = bytes(buf)
            buf.clear()
        else:
            data = bytes(buf[:n])
            del buf[:n]
        if self._paused and len(buf) <= _READ_LIMIT // 2 and self.transport:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def read_line(self, timeout: float | None) -> bytes:
        """One CRLF-ended line (without its end), at most :data:`_MAX_LINE` bytes."""
        start = 0
        while True:
            end = self.buffer.find(b"\n", start)
            if end >= 0:
                line = self.take(end + 1)
                return line.rstrip(b"\r\n")
            if len(self.buffer) > _MAX_LINE:
                raise RemoteProtocolError("a line of the chunked body is too long")
            start = len(self.buffer)
            await self.more(timeout)

    async def read_head(self, timeout: float | None) -> bytes | None:
        """The status line and headers, up to the blank line. None when the connection ended
        before any byte of them came (a reused connection the server had closed)."""
        start = 0
        while True:
            buf = self.buffer
            end = buf.find(b"\r\n\r\n", start)
            if end >= 0:
                return self.take(end + 4)
            end = buf.find(b"\n\n", start)  # lenient servers end lines with LF alone
            if end >= 0:
                return self.take(end + 2)
            if len(buf) > _MAX_HEAD:
                raise RemoteProtocolError("the response headers are too long")
            if not buf and (self.eof or self.error is not None):
                return None
            start = max(0, len(buf) - 3)
            await self.more(timeout)


# -- bodies -----------------------------------------------------------------------------


class _Decoder:
    """Decodes the content codings of one body, in order, under a cap on the decoded size."""

    def __init__(self, codings: list[str], limit: int) -> None:
        self.limit = limit
        self.total = 0
        self.steps: list[Callable[[bytes, int], bytes]] = []
        for coding in reversed(codings):  # the last coding applied is undone first
            if coding in ("gzip", "x-gzip"):
                self.steps.append(self._zlib(zlib.MAX_WBITS | 16))
            elif coding == "deflate":
                self.steps.append(self._deflate())
            elif coding == "br" and brotli is not None:
                self.steps.append(self._brotli())
            # identity, and codings we never asked for: left as they are (as httpx does)

    def _zlib(self, wbits: int) -> Callable[[bytes, int], bytes]:
        d = zlib.decompressobj(wbits)

        def step(data: bytes, room: int) -> bytes:
            return d.decompress(data, room) if data else d.flush()

        return step

    def _deflate(self) -> Callable[[bytes, int], bytes]:
        # "deflate" should be zlib-wrapped; some servers send raw deflate (httpx accepts both).
        state: dict[str, typing.Any] = {"d": zlib.decompressobj(), "first": True}

        def step(data: bytes, room: int) -> bytes:
            if not data:
                return bytes(state["d"].flush())
            if state["first"]:
                state["first"] = False
                try:
                    return bytes(state["d"].decompress(data, room))
                except zlib.error:
                    state["d"] = zlib.decompressobj(-zlib.MAX_WBITS)
            return bytes(state["d"].decompress(data, room))

        return step

    def _brotli(self) -> Callable[[bytes, int], bytes]:
        assert brotli is not None
        d = brotli.Decompressor()

        def step(data: bytes, room: int) -> bytes:
            if not data:
                return b""
            return bytes(d.process(data, output_buffer_limit=room))

        return step

    def feed(self, data: bytes) -> bytes:
        room = self.limit - self.total + 1  # one byte more than allowed: enough to know
        try:
            for step in self.steps:
                data = step(data, room)
        except (zlib.error, ValueError, OSError) as exc:
            raise DecodingError(str(exc) or type(exc).__name__) from exc
        except Exception as exc:  # brotli.error
            if brotli is not None and isinstance(exc, brotli.error):
                raise DecodingError(str(exc) or "brotli error") from exc
            raise
        self.total += len(data)
        if self.total > self.limit:
            raise TooLarge(self.limit)
        return data

    def finish(self) -> bytes:
        return self.feed(b"") if self.steps else b""


async def _read_body(
    conn: _Connection,
    headers: Headers,
    decoder: _Decoder,
    timeout: float | None,
    limit: int,
) -> tuple[bytes, bool]:
    """The body, decoded, and whether it ended where the connection can serve another."""
    chunks: list[bytes] = []
    encoded = 0

    def add(data: bytes) -> None:
        nonlocal encoded
        encoded += len(data)
        if encoded > limit and (not decoder.steps or encoded > 2 * limit):
            raise TooLarge(limit)  # as sent (decoded sizes are the decoder's to check)
        out = decoder.feed(data) if decoder.steps else data
        if out:
            chunks.append(out)

    async def exactly(n: int) -> None:
        while n:
            if not conn.buffer:
                await conn.more(timeout)
            data = conn.take(n)
            n -= len(data)
            add(data)

    transfer = (headers.get("transfer-encoding") or "").lower()
    length = headers.get("content-length")
    reusable = True
    if "chunked" in transfer:
        while True:
            line = await conn.read_line(timeout)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise RemoteProtocolError(f"a bad chunk size {size_text[:20]!r}") from None
            if size < 0:
                raise RemoteProtocolError("a negative chunk size")
            if size == 0:
                while await conn.read_line(timeout):  # trailers, up to the blank line
                    pass
                break
            await exactly(size)
            if await conn.read_line(timeout):
                raise RemoteProtocolError("a chunk longer than its size")
    elif length is not None:
        values = {v.strip() for v in length.split(",")}
        if len(values) != 1 or not (n := values.pop()).isdigit():
            raise RemoteProtocolError(f"a bad Content-Length {length[:40]!r}")
        if int(n) > limit:
            raise TooLarge(limit, declared=int(n))
        await exactly(int(n))
    else:  # the body runs to the end of the connection
        reusable = False
        while True:
            if conn.buffer:
                add(conn.take(len(conn.buffer)))
            if conn.eof:
                if conn.error is not None:
                    raise RemoteProtocolError(f"the connection was lost ({conn.error})")
                break
            await conn.more(timeout)
    tail = decoder.finish()
    if tail:
        chunks.append(tail)
    return b"".join(chunks), reusable and not conn.buffer


def _parse_head(head: bytes) -> tuple[str, int, str, Headers]:
    """(HTTP version, status, reason, headers) from a response head."""
    lines = head.decode("latin-1").split("\n")
    version, _, rest = lines[0].rstrip("\r").partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise RemoteProtocolError(f"not an HTTP/1.1 response: {lines[0][:60]!r}")
    items: list[tuple[str, str]] = []
    for raw in lines[1:]:
        line = raw.rstrip("\r")
        if not line:
            continue
        if line[0] in " \t" and items:  # an obsolete folded continuation
            name, value = items[-1]
            items[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        name = name.strip().lower()
        if sep and name:
            items.append((name, value.strip()))
    return version, int(code), reason.strip(), Headers(items)


def _safe(value: str) -> bytes:
    """A header value as bytes; a value with a line break or NUL is refused (it would inject
    headers: validators come from servers and are sent back)."""
    if "\r" in value or "\n" in value or "\0" in value:
        raise InvalidURL(f"a header value with a line break: {value[:40]!r}")
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


class _CookieResponse:
    """What :meth:`http.cookiejar.CookieJar.extract_cookies` reads of a response."""

    def __init__(self, headers: Headers) -> None:
        self._message = email.message.Message()
        for value in headers.get_list("set-cookie"):
            self._message["Set-Cookie"] = value  # appends

    def info(self) -> email.message.Message:
        return self._message


_Key = tuple[str, str, int]


class Client:
    """Pooled HTTP/1.1 GETs (see the module's docstring). Use it as an async context manager,
    or call :meth:`aclose`.

    Args:
        connect_timeout: seconds for the connection and the TLS handshake.
        read_timeout: seconds of silence allowed while a response is expected.
        max_connections: open connections at most, busy or idle, across all servers.
        max_bytes: the largest body accepted, decoded (and as sent).
        headers: sent with every request (User-Agent, Accept-Encoding...).
        local: answers some URLs without the network (the bundled samples): returns a
            :class:`Response`, or None for the network.
        ssl_context: for https (default: certifi's roots, as httpx).
    """

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        max_connections: int = 16,
        max_bytes: int = 20 * 1024 * 1024,
        headers: dict[str, str] | None = None,
        local: Callable[[str, dict[str, str]], Response | None] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_connections = max(1, max_connections)
        self.max_bytes = max_bytes
        self._fixed = b"".join(
            k.encode("ascii") + b": " + _safe(v) + b"\r\n" for k, v in (headers or {}).items()
        )
        self._fixed_names = {k.lower() for k in headers or {}}
        self._local = local
        self._ssl_context = ssl_context
        self._idle: dict[_Key, list[_Connection]] = {}
        self._open = 0  # connections open, busy or idle
        self._busy: asyncio.Semaphore | None = None
        self.cookies = http.cookiejar.CookieJar()
        self.connections_made = 0
        """Connections opened so far (tests check that keep-alive reuses them)."""

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._open -= sum(len(c) for c in self._idle.values())
        self._idle.clear()

    # -- requests ----------------------------------------------------------------------

    async def get(self, url: str, headers: dict[str, str] | None = None) -> Response:
        """GET ``url`` and read its whole body (within ``max_bytes``). Statuses are not
        errors here; a redirect is returned as it is.

        Raises:
            HTTPError: one of its subclasses, saying what went wrong.
        """
        headers = headers or {}
        if self._local is not None and (local := self._local(url, headers)) is not None:
            return local
        key, target, host_header = split_url(url)
        request = self._request(url, target, host_header, headers)
        if self._busy is None:
            self._busy = asyncio.Semaphore(self.max_connections)
        async with self._busy:
            for attempt in (1, 2):
                conn, reused = await self._connection(key, fresh=attempt == 2)
                try:
                    response, keep = await self._exchange(conn, request, url)
                except _Closed:
                    self._drop(conn, abort=True)
                    if reused and attempt == 1:
                        continue  # the server had closed it: once more, on a new connection
                    raise RemoteProtocolError(
                        "the server closed the connection without answering"
                    ) from None
                except BaseException:  # an error, a timeout or a cancellation mid-response
                    self._drop(conn, abort=True)
                    raise
                if keep:
                    self._idle.setdefault(key, []).append(conn)
                else:
                    self._drop(conn)
                if "set-cookie" in response.headers:
                    self.cookies.extract_cookies(
                        _CookieResponse(response.headers),  # type: ignore[arg-type]
                        urllib.request.Request(url),
                    )
                return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _request(self, url: str, target: str, host: str, headers: dict[str, str]) -> bytes:
        parts = [f"GET {target} HTTP/1.1\r\nHost: {host}\r\n".encode("ascii"), self._fixed]
        for name, value in headers.items():
            parts.append(name.encode("ascii") + b": " + _safe(value) + b"\r\n")
        if "accept" not in self._fixed_names and not any(k.lower() == "accept" for k in headers):
            parts.append(b"Accept: */*\r\n")
        if len(self.cookies):
            shim = urllib.request.Request(url)
            self.cookies.add_cookie_header(shim)
            cookie = shim.get_header("Cookie")
            if cookie:
                parts.append(b"Cookie: " + _safe(cookie) + b"\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)

    async def _exchange(self, conn: _Connection, request: bytes, url: str) -> tuple[Response, bool]:
        assert conn.transport is not None
        if conn.transport.is_closing():
            raise _Closed
        conn.transport.write(request)
        while True:
            head = await conn.read_head(self.read_timeout)
            if head is None:
                raise _Closed
            version, status, reason, headers = _parse_head(head)
            if 100 <= status < 200:
                if status == 101:
                    raise RemoteProtocolError("the server switched protocols unasked")
                continue  # an interim answer (100 Continue, 103 Early Hints)
            break
        tokens = {t.strip().lower() for t in (headers.get("connection") or "").split(",")}
        keep = "close" not in tokens and (version != "HTTP/1.0" or "keep-alive" in tokens)
        if status in (204, 304):
            body = b""
        else:
            codings = [
                c.strip().lower()
                for c in (headers.get("content-encoding") or "").split(",")
                if c.strip()
            ]
            decoder = _Decoder(codings, self.max_bytes)
            body, reusable = await _read_body(
                conn, headers, decoder, self.read_timeout, self.max_bytes
            )
            keep = keep and reusable
        return Response(url, status, reason, headers, body), keep

    # -- the pool ----------------------------------------------------------------------

    async def _connection(self, key: _Key, *, fresh: bool = False) -> tuple[_Connection, bool]:
        """An idle connection to ``key`` that is still open, else a new one (``fresh``: always
        a new one), and whether it was reused."""
        idle = None if fresh else self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable:
                return conn, True
            self._drop(conn, abort=True)
        if self._open >= self.max_connections:
            # Busy ones are fewer (the semaphore): close the longest idle of other servers.
            for other in self._idle.values():
                if other:
                    self._drop(other.pop(0))
                    break
        conn = await self._connect(key)
        self._open += 1
        self.connections_made += 1
        return conn, False

    def _drop(self, conn: _Connection, *, abort: bool = False) -> None:
        """Close a connection for good (abort: at once, unsent data and all)."""
        if abort:
            conn.abort()
        else:
            conn.close()
        self._open -= 1

    async def _connect(self, key: _Key) -> _Connection:
        scheme, host, port = key
        loop = asyncio.get_running_loop()
        context = None
        if scheme == "https":
            if self._ssl_context is None:
                self._ssl_context = default_ssl_context()
            context = self._ssl_context
        try:
            async with asyncio.timeout(self.connect_timeout):
                _transport, conn = await loop.create_connection(
                    _Connection,
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                    happy_eyeballs_delay=0.25,
                )
        except TimeoutError:
            raise ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:  # ssl.SSLError included
            raise ConnectError(str(exc) or repr(exc)) from exc
        return conn


class _Closed(Exception):
    """The connection ended before any byte of the response (internal)."""


def default_ssl_context() -> ssl.SSLContext:
    """Certificate checks against certifi's roots (httpx's default), HTTP/1.1 offered."""
    import certifi

    context = ssl.create_default_context(cafile=certifi.where())
    context.set_alpn_protocols(["http/1.1"])
    return context


def split_url(url: str) -> tuple[_Key, str, str]:
    """((scheme, host, port), request target, Host header) of an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(f"invalid address {url!r}: {exc}") from None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if scheme not in _DEFAULT_PORTS or not host:
        raise InvalidURL(f"unsupported address {url!r}: only http and https are fetched")
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidURL(f"invalid host in {url!r}") from exc
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    if not target.isascii() or " " in target:
        target = quote(target, safe="/?&=%:@!$'()*+,;~[]-._")
    if any(c in target for c in "\r\n\0"):
        raise InvalidURL(f"invalid address {url!r}")
    default = _DEFAULT_PORTS[scheme]
    port = port or default
    host_header = f"[{host}]" if ":" in host else host
    if port != default:
        host_header = f"{host_header}:{port}"
    return (scheme, host, port), target, host_header
