"""The lean HTTP/1.1 client on real sockets: framing, codings, keep-alive, faults, TLS, cookies.

The fetcher's own tests (test_fetch.py) run every fetch case through this client and httpx
alike; these drive the wire by hand, byte for byte, for what a well-behaved server never does.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import brotli
import pytest

from tests.loopback import LoopbackServer, Route, closed_port
from tuinews.core import http1
from tuinews.core.errors import FetchError
from tuinews.core.fetch import Fetcher, FetchLimits

Script = Callable[[socket.socket], None]


class RawServer:
    """A TCP server on 127.0.0.1 that answers each connection with a script of raw bytes."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.script = script
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            self._open.append(conn)
            self.script(conn)
        except (OSError, ssl.SSLError):
            pass

    def read_request(self, conn: socket.socket) -> bytes | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        self.requests.append(data)
        return data

    def close(self) -> None:
        self.listener.close()
        for conn in self._open:
            conn.close()


@pytest.fixture
def make_server() -> Iterator[Callable[..., RawServer]]:
    servers: list[RawServer] = []

    def make(script: Script, tls: ssl.SSLContext | None = None) -> RawServer:
        servers.append(RawServer(script, tls))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def serve_each(server_ref: list[RawServer], *answers: bytes, close: bool = False) -> Script:
    """A script that answers requests on one connection with ``answers`` in turn."""

    def script(conn: socket.socket) -> None:
        for data in answers:
            if server_ref[0].read_request(conn) is None:
                return
            conn.sendall(data)
        if close:
            conn.close()
        else:
            server_ref[0].read_request(conn)  # hold the connection open until the client goes

    return script


def get(url: str, *, client: http1.Client | None = None, **kw: object) -> http1.Response:
    async def run() -> http1.Response:
        options: dict[str, object] = {"connect_timeout": 2, "read_timeout": 2, **kw}
        async with client or http1.Client(**options) as c:  # type: ignore[arg-type]
            return await c.get(url)

    return asyncio.run(run())


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def one_shot(
    make_server: Callable[..., RawServer], *answers: bytes, close: bool = False
) -> RawServer:
    ref: list[RawServer] = []
    ref.append(make_server(serve_each(ref, *answers, close=close)))
    return ref[0]


def test_content_length_chunked_and_read_to_close(make_server: Callable[..., RawServer]) -> None:
    srv = one_shot(make_server, ok(b"hello", b"X-Twice: a\r\nX-Twice: b\r\n"))
    r = get(srv.url("/p?q=1"))
    assert (r.status_code, r.reason_phrase, r.content) == (200, "OK", b"hello")
    assert r.headers.get("x-twice") == "a, b" and r.headers.get_list("X-TWICE") == ["a", "b"]
    request = srv.requests[0]
    assert request.startswith(b"GET /p?q=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:%d\r\n" % srv.port in request

    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    assert get(one_shot(make_server, chunked).url()).content == b"hello world"

    to_close = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
    assert get(one_shot(make_server, to_close, close=True).url()).content == b"until the end"


def test_interim_answers_are_skipped_and_lf_only_heads_read(
    make_server: Callable[..., RawServer],
) -> None:
    answer = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + ok(b"final")
    assert get(one_shot(make_server, answer).url()).content == b"final"
    lf_only = b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok"
    assert get(one_shot(make_server, lf_only).url()).content == b"ok"


@pytest.mark.parametrize(
    "answer,words",
    [
        (b"SSH-2.0-OpenSSH\r\n\r\n", "not an HTTP/1.1 response"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "closed the connection"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000, "headers are too long"),
        (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "switched protocols"),
    ],
)
def test_broken_answers_are_protocol_errors(
    make_server: Callable[..., RawServer], answer: bytes, words: str
) -> None:
    srv = one_shot(make_server, answer, close=True)
    with pytest.raises(http1.RemoteProtocolError, match=words):
        get(srv.url())


def test_codings_are_decoded_and_bombs_stop_at_the_cap(
    make_server: Callable[..., RawServer],
) -> None:
    text = b"news " * 2000
    codings = {
        b"gzip": gzip.compress(text),
        b"deflate": zlib.compress(text),
        b"br": brotli.compress(text),
    }
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    codings[b"deflate"] = zlib.compress(text)
    for name, body in codings.items():
        srv = one_shot(make_server, ok(body, b"Content-Encoding: " + name + b"\r\n"))
        assert get(srv.url()).content == text, name
    raw = raw_deflate.compress(text) + raw_deflate.flush()
    srv = one_shot(make_server, ok(raw, b"Content-Encoding: deflate\r\n"))
    assert get(srv.url()).content == text  # raw deflate, as some servers send it
    srv = one_shot(make_server, ok(b"not gzip at all", b"Content-Encoding: gzip\r\n"))
    with pytest.raises(http1.DecodingError):
        get(srv.url())
    zeros = b"\0" * 20_000_000
    for name, bomb in ((b"gzip", gzip.compress(zeros)), (b"br", brotli.compress(zeros))):
        assert len(bomb) < 100_000
        srv = one_shot(make_server, ok(bomb, b"Content-Encoding: " + name + b"\r\n"))
        with pytest.raises(http1.TooLarge):
            get(srv.url(), max_bytes=1_000_000)
    big = one_shot(make_server, ok(b"x" * 5000))
    with pytest.raises(http1.TooLarge) as info:
        get(big.url(), max_bytes=1000)
    assert info.value.declared == 5000


def test_keep_alive_reuses_one_connection(server: LoopbackServer) -> None:
    server.routes["/a"] = Route(b"A")
    server.routes["/b"] = Route(b"B")

    async def run() -> tuple[list[bytes], int]:
        async with http1.Client(max_connections=4) as c:
            bodies = [(await c.get(server.url(p))).content for p in ("/a", "/b", "/a", "/b")]
            return bodies, c.connections_made

    bodies, made = asyncio.run(run())
    assert bodies == [b"A", b"B", b"A", b"B"] and made == 1


def test_connections_are_bounded(server: LoopbackServer) -> None:
    server.routes["/slow"] = Route(b"s", delay=0.2)

    async def run() -> tuple[int, int]:
        async with http1.Client(max_connections=3) as c:
            results = await asyncio.gather(*(c.get(server.url("/slow")) for _ in range(9)))
            assert all(r.content == b"s" for r in results)
            return c.connections_made, c._open

    made, still_open = asyncio.run(run())
    assert made == 3 and still_open == 3


def test_a_connection_closed_while_idle_is_replaced_without_an_error(
    make_server: Callable[..., RawServer],
) -> None:
    ref: list[RawServer] = []
    closed = threading.Event()

    def script(conn: socket.socket) -> None:
        if ref[0].read_request(conn) is None:
            return
        conn.sendall(ok(b"first" if ref[0].connections == 1 else b"again"))
        if ref[0].connections == 1:
            conn.close()  # the server drops the keep-alive connection while it is idle
            closed.set()
        else:
            ref[0].read_request(conn)

    ref.append(make_server(script))

    async def run() -> tuple[bytes, bytes, int]:
        async with http1.Client() as c:
            first = (await c.get(ref[0].url())).content
            await asyncio.to_thread(closed.wait, 5)
            await asyncio.sleep(0.05)  # the event loop hears of the close
            second = (await c.get(ref[0].url())).content
            return first, second, c.connections_made

    assert asyncio.run(run()) == (b"first", b"again", 2)


def test_a_close_racing_the_request_is_retried_once(make_server: Callable[..., RawServer]) -> None:
    """The server closes the reused connection as the request arrives (no answer at all): the
    GET is sent again on a new connection; a new connection that does the same is an error."""
    ref: list[RawServer] = []

    def script(conn: socket.socket) -> None:
        n = ref[0].connections
        if ref[0].read_request(conn) is None:
            return
        if n == 1:
            conn.sendall(ok(b"one"))
            ref[0].read_request(conn)  # the second request: no answer, just a close
            conn.close()
        elif n == 2:
            conn.sendall(ok(b"two"))
            ref[0].read_request(conn)

    ref.append(make_server(script))

    async def run() -> list[bytes]:
        async with http1.Client() as c:
            return [(await c.get(ref[0].url())).content for _ in range(2)]

    assert asyncio.run(run()) == [b"one", b"two"]
    silent = one_shot(make_server, close=True)
    with pytest.raises(http1.RemoteProtocolError, match="without answering"):
        get(silent.url())


def test_timeouts_refusals_and_bad_urls() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    try:
        with pytest.raises(http1.ReadTimeout):
            get(f"http://127.0.0.1:{listener.getsockname()[1]}/", read_timeout=0.3)
    finally:
        listener.close()
    with pytest.raises(http1.ConnectError) as info:
        get(f"http://127.0.0.1:{closed_port()}/")
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    for url in ("ftp://127.0.0.1/x", "http:///nohost", "http://127.0.0.1:99999/"):
        with pytest.raises(http1.InvalidURL):
            get(url)


def test_header_values_with_line_breaks_are_refused(server: LoopbackServer) -> None:
    server.routes["/h"] = Route(b"h")

    async def run() -> None:
        async with http1.Client() as c:
            await c.get(server.url("/h"), {"If-None-Match": '"x"\r\nX-Injected: 1'})

    with pytest.raises(http1.InvalidURL, match="line break"):
        asyncio.run(run())
    assert server.hits["/h"] == 0


def test_non_ascii_urls_are_encoded(server: LoopbackServer) -> None:
    server.routes["/caf%C3%A9%20bar"] = Route(b"encoded")
    assert get(server.url("/café bar")).content == b"encoded"


def test_cookies_set_on_a_redirect_are_sent_back(make_server: Callable[..., RawServer]) -> None:
    """A consent or session cookie set on a redirect (as some news sites do) comes back on the
    next request, as with httpx's client."""
    redirect = (
        b"HTTP/1.1 302 Found\r\nLocation: /story\r\nSet-Cookie: seen=1; Path=/\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    srv = one_shot(make_server, redirect, ok(b"the story"))

    async def run() -> tuple[int, bytes]:
        async with http1.Client() as c:
            first = await c.get(srv.url("/"))
            second = await c.get(srv.url("/story"))
            return first.status_code, second.content

    assert asyncio.run(run()) == (302, b"the story")
    assert b"\r\nCookie: seen=1\r\n" in srv.requests[1]
    assert b"Cookie" not in srv.requests[0]


def test_cancellation_closes_the_connection(make_server: Callable[..., RawServer]) -> None:
    """A fetch cut off by the caller's total deadline leaves no connection behind to be
    reused with half a response in it."""
    srv = one_shot(make_server, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")

    async def run() -> tuple[int, int]:
        async with http1.Client(read_timeout=5) as c:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.3):
                    await c.get(srv.url())
            return c._open, sum(len(v) for v in c._idle.values())

    assert asyncio.run(run()) == (0, 0)


def test_tls_on_loopback_verifies_the_certificate(make_server: Callable[..., RawServer]) -> None:
    trustme = pytest.importorskip("trustme", reason="trustme is a test dependency")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    ref: list[RawServer] = []
    ref.append(make_server(serve_each(ref, ok(b"over TLS")), tls=server_ctx))
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    url = ref[0].url(scheme="https")
    assert get(url, ssl_context=client_ctx).content == b"over TLS"
    with pytest.raises(http1.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        get(url)  # certifi's roots (the default) do not know our throwaway CA


def fetch_message(url: str) -> str:
    """What the fetcher's async path says of ``url`` (its error message, or "no error")."""
    f = Fetcher(FetchLimits(read_timeout=2, total_timeout=5), serve_samples=False)

    async def fetch() -> str:
        async with f.async_client() as c:
            try:
                await f.fetch_async(c, url)
            except FetchError as exc:
                return exc.message
            return "no error"

    return asyncio.run(fetch())


def test_fetcher_messages_through_the_client(make_server: Callable[..., RawServer]) -> None:
    """The errors above reach the user as the fetcher's plain sentences."""
    broken = one_shot(make_server, b"garbage\r\n\r\n", close=True)
    assert "broke off the response" in fetch_message(broken.url())
    assert "refused" in fetch_message(f"http://127.0.0.1:{closed_port()}/")


def test_samples_are_answered_without_the_network() -> None:
    from tuinews.core.samples import sample_feeds

    f = Fetcher()
    feed = sample_feeds()[0]

    async def run() -> tuple[int, int, int]:
        async with f.async_client() as c:
            first = await f.fetch_async(c, feed.url)
            again = await f.fetch_async(c, feed.url, etag=first.etag)
            return len(first.content), again.status, c.connections_made

    size, status, made = asyncio.run(run())
    assert size > 1000 and status == 304 and made == 0


def test_redirects_to_other_schemes_are_refused(server: LoopbackServer) -> None:
    server.routes["/js"] = Route(status=302, headers={"Location": "javascript:alert(1)"})
    server.routes["/file"] = Route(status=301, headers={"Location": "file:///etc/passwd"})
    for path in ("/js", "/file"):
        message = fetch_message(server.url(path))
        assert "redirected to an invalid address: only http and https" in message


def test_a_refresh_never_imports_httpx(tmp_path: Path, server: LoopbackServer) -> None:
    """httpx (13 MB) is for blocking one-off fetches: a refresh (and its prefetch) run
    without it."""
    server.routes["/feed"] = Route(
        b"<rss version='2.0'><channel><title>T</title><item><guid>1</guid><title>One</title>"
        b"<link>" + server.url("/story").encode() + b"</link></item></channel></rss>"
    )
    server.routes["/story"] = Route(b"<html><body><article><p>Text.</p></article></body></html>")
    script = (
        "import sys\n"
        "from tuinews.core.service import Service\n"
        f"with Service({str(tmp_path / 'c.sqlite3')!r}) as s:\n"
        f"    s.store.add_feed({server.url('/feed')!r})\n"
        "    s.refresh(prefetch=True)\n"
        "    assert s.list_stories(), 'nothing stored'\n"
        "print('httpx' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "False", out.stderr
    assert server.hits["/feed"] == 1 and server.hits["/story"] == 1
