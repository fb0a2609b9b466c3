"""The fetcher on real sockets: framing, codings, keep-alive, faults, TLS, cookies, proxies.

These drive the wire by hand, byte for byte, for what a well-behaved server never does, and check
what the fetcher (on aiohttp) makes of it: the body, or the plain sentence of a FetchError.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import threading
import zlib
from collections.abc import Callable, Iterator

import brotli
import pytest

from tests.loopback import LoopbackServer, Route, closed_port
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


def fetcher(**kw: object) -> Fetcher:
    limits = FetchLimits(
        connect_timeout=2,
        read_timeout=float(kw.pop("read_timeout", 2)),  # type: ignore[arg-type]
        total_timeout=float(kw.pop("total_timeout", 10)),  # type: ignore[arg-type]
        max_bytes=int(kw.pop("max_bytes", 20_000_000)),  # type: ignore[call-overload]
    )
    return Fetcher(limits, serve_samples=False, **kw)  # type: ignore[arg-type]


def get(url: str, **kw: object) -> bytes:
    """The body of ``url`` through the fetcher's async path (raises FetchError)."""
    f = fetcher(**kw)

    async def run() -> bytes:
        async with f.async_client() as c:
            return (await f.fetch_async(c, url)).content

    return asyncio.run(run())


def message(url: str, **kw: object) -> str:
    """The FetchError message for ``url`` (async path), or "no error"."""
    try:
        get(url, **kw)
    except FetchError as exc:
        return exc.message
    return "no error"


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


def one_shot(
    make_server: Callable[..., RawServer], *answers: bytes, close: bool = False
) -> RawServer:
    ref: list[RawServer] = []
    ref.append(make_server(serve_each(ref, *answers, close=close)))
    return ref[0]


def test_content_length_chunked_and_read_to_close(make_server: Callable[..., RawServer]) -> None:
    srv = one_shot(make_server, ok(b"hello", b'ETag: "v1"\r\n'))
    f = fetcher()

    async def run() -> tuple[int, bytes, str | None]:
        async with f.async_client() as c:
            r = await f.fetch_async(c, srv.url("/p?q=1"))
            return r.status, r.content, r.etag

    assert asyncio.run(run()) == (200, b"hello", '"v1"')
    request = srv.requests[0]
    assert request.startswith(b"GET /p?q=1 HTTP/1.1\r\n")
    assert b"\r\nHost: 127.0.0.1:%d\r\n" % srv.port in request
    assert b"\r\nUser-Agent: tuinews/" in request

    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    assert get(one_shot(make_server, chunked).url()) == b"hello world"

    to_close = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
    assert get(one_shot(make_server, to_close, close=True).url()) == b"until the end"


def test_interim_answers_are_skipped(make_server: Callable[..., RawServer]) -> None:
    answer = b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + ok(b"final")
    assert get(one_shot(make_server, answer).url()) == b"final"


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nx",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000,
        b"",
    ],
)
def test_broken_answers_are_reported_as_broken_off(
    make_server: Callable[..., RawServer], answer: bytes
) -> None:
    srv = one_shot(make_server, answer, close=True)
    assert "127.0.0.1 broke off the response" in message(srv.url())


def test_codings_are_decoded_and_bombs_stop_at_the_cap(
    make_server: Callable[..., RawServer],
) -> None:
    text = b"news " * 2000
    codings = {
        b"gzip": gzip.compress(text),
        b"deflate": zlib.compress(text),
        b"br": brotli.compress(text),
    }
    for name, body in codings.items():
        srv = one_shot(make_server, ok(body, b"Content-Encoding: " + name + b"\r\n"))
        assert get(srv.url()) == text, name
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw = raw_deflate.compress(text) + raw_deflate.flush()
    srv = one_shot(make_server, ok(raw, b"Content-Encoding: deflate\r\n"))
    assert get(srv.url()) == text  # raw deflate, as some servers send it
    srv = one_shot(make_server, ok(b"not gzip at all", b"Content-Encoding: gzip\r\n"))
    assert "does not decode" in message(srv.url())
    zeros = b"\0" * 20_000_000
    for name, bomb in ((b"gzip", gzip.compress(zeros)), (b"br", brotli.compress(zeros))):
        assert len(bomb) < 100_000
        srv = one_shot(make_server, ok(bomb, b"Content-Encoding: " + name + b"\r\n"))
        assert "too large (over 976 KiB)" in message(srv.url(), max_bytes=1_000_000)
    big = one_shot(make_server, ok(b"x" * 5000))
    assert "too large (4 KiB, the limit is 0 KiB)" in message(big.url(), max_bytes=1000)


def test_keep_alive_reuses_one_connection(make_server: Callable[..., RawServer]) -> None:
    srv = one_shot(make_server, ok(b"A"), ok(b"B"), ok(b"A"))
    f = fetcher()

    async def run() -> list[bytes]:
        async with f.async_client() as c:
            return [(await f.fetch_async(c, srv.url(f"/{i}"))).content for i in range(3)]

    assert asyncio.run(run()) == [b"A", b"B", b"A"]
    assert srv.connections == 1


def test_connections_are_bounded(server: LoopbackServer) -> None:
    server.routes["/slow"] = Route(b"s", delay=0.2)
    f = Fetcher(FetchLimits(concurrency=4), serve_samples=False)

    async def run() -> list[bytes]:
        async with f.async_client() as c:
            done = await asyncio.gather(*(f.fetch_async(c, server.url("/slow")) for _ in range(12)))
            return [r.content for r in done]

    assert asyncio.run(run()) == [b"s"] * 12
    assert server.max_concurrent <= 4


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
    f = fetcher()

    async def run() -> tuple[bytes, bytes]:
        async with f.async_client() as c:
            first = (await f.fetch_async(c, ref[0].url())).content
            await asyncio.to_thread(closed.wait, 5)
            await asyncio.sleep(0.05)  # the event loop hears of the close
            second = (await f.fetch_async(c, ref[0].url())).content
            return first, second

    assert asyncio.run(run()) == (b"first", b"again")
    assert ref[0].connections == 2


def test_timeouts_refusals_and_bad_urls() -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts (backlog), never answers
    try:
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        assert "stopped answering (read timeout)" in message(url, read_timeout=0.3)
    finally:
        listener.close()
    assert "127.0.0.1 refused the connection" in message(f"http://127.0.0.1:{closed_port()}/")
    for url in ("ftp://127.0.0.1/x", "http:///nohost", "http://127.0.0.1:99999/", "http://a\r\nb/"):
        assert "invalid address" in message(url) or "only http and https" in message(url), url


def test_header_values_with_line_breaks_are_refused(server: LoopbackServer) -> None:
    server.routes["/h"] = Route(b"h")
    f = fetcher()
    with pytest.raises(FetchError, match="line break"):
        f.fetch(server.url("/h"), etag='"x"\r\nX-Injected: 1')
    f.close()
    assert server.hits["/h"] == 0


def test_non_ascii_urls_are_encoded(server: LoopbackServer) -> None:
    server.routes["/caf%C3%A9%20bar"] = Route(b"encoded")
    assert get(server.url("/café bar")) == b"encoded"


def test_cookies_set_on_a_redirect_are_sent_back(make_server: Callable[..., RawServer]) -> None:
    """A consent or session cookie set on a redirect (as some news sites do) comes back on the
    next request."""
    redirect = (
        b"HTTP/1.1 302 Found\r\nLocation: /story\r\nSet-Cookie: seen=1; Path=/\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    srv = one_shot(make_server, redirect, ok(b"the story"))
    assert get(srv.url("/")) == b"the story"
    assert b"\r\nCookie: seen=1\r\n" in srv.requests[1]
    assert b"Cookie" not in srv.requests[0]


def test_the_total_deadline_cuts_a_half_sent_body(make_server: Callable[..., RawServer]) -> None:
    srv = one_shot(make_server, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
    assert "took longer than 0.5 s" in message(srv.url(), read_timeout=5, total_timeout=0.5)


def test_tls_on_loopback_verifies_the_certificate(make_server: Callable[..., RawServer]) -> None:
    trustme = pytest.importorskip("trustme", reason="trustme is a test dependency")
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    ref: list[RawServer] = []
    ref.append(make_server(serve_each(ref, ok(b"over TLS"), ok(b"again")), tls=server_ctx))
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    url = ref[0].url(scheme="https")
    assert get(url, ssl_context=client_ctx) == b"over TLS"
    # certifi's roots (the default) do not know our throwaway CA
    assert "CERTIFICATE_VERIFY_FAILED" in message(url)


def test_the_blocking_fetch_shares_one_loop_and_its_connections(
    make_server: Callable[..., RawServer],
) -> None:
    """Single pages (the app's threads, ``tuinews read``) go through the same client on the
    fetcher's own loop thread: from several threads at once, reusing connections."""
    srv = one_shot(make_server, ok(b"1"), ok(b"2"))
    f = fetcher()
    assert f.fetch(srv.url("/a")).content == b"1"
    assert f.fetch(srv.url("/b")).content == b"2"
    assert srv.connections == 1
    assert f._thread is not None
    loop_thread = f._thread.thread
    f.close()
    assert not loop_thread.is_alive()


def test_fetches_from_many_threads_at_once(server: LoopbackServer) -> None:
    server.routes["/t"] = Route(b"t", delay=0.1)
    f = fetcher()
    out: list[bytes] = []
    workers = [
        threading.Thread(target=lambda: out.append(f.fetch(server.url("/t")).content))
        for _ in range(8)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(10)
    f.close()
    assert out == [b"t"] * 8


def test_samples_are_answered_without_the_network() -> None:
    from tuinews.core.samples import sample_feeds

    f = Fetcher()
    feed = sample_feeds()[0]

    async def run() -> tuple[int, int]:
        async with f.async_client() as c:
            first = await f.fetch_async(c, feed.url)
            again = await f.fetch_async(c, feed.url, etag=first.etag)
            return len(first.content), again.status

    size, status = asyncio.run(run())
    assert size > 1000 and status == 304
    assert f.fetch(feed.url).status == 200  # the blocking path too
    f.close()


def test_redirects_to_other_schemes_are_refused(server: LoopbackServer) -> None:
    server.routes["/js"] = Route(status=302, headers={"Location": "javascript:alert(1)"})
    server.routes["/file"] = Route(status=301, headers={"Location": "file:///etc/passwd"})
    for path in ("/js", "/file"):
        assert "redirected to an invalid address: only http and https" in message(server.url(path))


class ProxyServer(RawServer):
    """An HTTP proxy on 127.0.0.1: answers absolute-form GETs itself, saying whom they were for."""

    def __init__(self) -> None:
        super().__init__(self._answer)

    def _answer(self, conn: socket.socket) -> None:
        while (request := self.read_request(conn)) is not None:
            target = request.split(b" ", 2)[1]
            conn.sendall(ok(b"via proxy: " + target))


def test_http_proxy_from_the_environment(
    server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY sends requests through the proxy (the name need not resolve here); NO_PROXY
    names hosts that are fetched directly (both read when a client opens)."""
    proxy = ProxyServer()
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        body = get("http://news.tuinews.invalid/feed.xml")
        assert body == b"via proxy: http://news.tuinews.invalid/feed.xml"
        f = fetcher()
        assert f.fetch("http://news.tuinews.invalid/x").content.startswith(b"via proxy")
        f.close()
        server.routes["/direct"] = Route(b"direct")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,tuinews.invalid")
        assert get(server.url("/direct")) == b"direct"
        assert "does not resolve" in message("http://news.tuinews.invalid/feed.xml")
        assert proxy.connections >= 1 and len(proxy.requests) == 2
    finally:
        proxy.close()


def test_proxies_are_ignored_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert "refused" in message("http://news.tuinews.invalid/")  # the proxy is used, and down
    assert "does not resolve" in message("http://news.tuinews.invalid/", trust_env=False)
