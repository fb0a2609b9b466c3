"""The fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip

import pytest

from tests.loopback import LoopbackServer, Route, closed_port
from tuinews.core.errors import FetchError
from tuinews.core.fetch import Fetcher, FetchLimits, check_url, parse_retry_after


def fetcher(**kw: float) -> Fetcher:
    limits = FetchLimits(
        connect_timeout=kw.get("connect", 2.0),
        read_timeout=kw.get("read", 2.0),
        total_timeout=kw.get("total", 5.0),
        max_bytes=int(kw.get("max_bytes", 1_000_000)),
        max_redirects=int(kw.get("max_redirects", 5)),
    )
    return Fetcher(limits, serve_samples=False)


def fetch_both(f: Fetcher, url: str, **kw: str) -> list[object]:
    """Run the sync and async fetch; return both results or errors."""
    out: list[object] = []
    for mode in ("sync", "async"):
        try:
            if mode == "sync":
                out.append(f.fetch(url, **kw))
            else:

                async def go() -> object:
                    async with f.async_client() as client:
                        return await f.fetch_async(client, url, **kw)

                out.append(asyncio.run(go()))
        except FetchError as exc:
            out.append(exc)
    return out


def test_ok_and_user_agent(server: LoopbackServer) -> None:
    server.routes["/f"] = Route(b"hello")
    for res in fetch_both(fetcher(), server.url("/f")):
        assert not isinstance(res, FetchError)
        assert res.content == b"hello" and res.status == 200
    assert server.request_headers["/f"]["user-agent"].startswith("tuinews/")
    assert "gzip" in server.request_headers["/f"]["accept-encoding"]


def test_etag_and_last_modified_give_304(server: LoopbackServer) -> None:
    server.routes["/e"] = Route(b"body", etag=True)
    server.routes["/m"] = Route(b"body", last_modified="Mon, 01 Jun 2026 10:00:00 GMT")
    f = fetcher()
    first = f.fetch(server.url("/e"))
    assert first.etag and first.status == 200
    again = f.fetch(server.url("/e"), etag=first.etag)
    assert again.not_modified and again.content == b""
    lm = f.fetch(server.url("/m"))
    assert lm.last_modified == "Mon, 01 Jun 2026 10:00:00 GMT"
    assert f.fetch(server.url("/m"), last_modified=lm.last_modified).status == 304


def test_permanent_redirect_reported_temporary_not(server: LoopbackServer) -> None:
    server.routes["/old"] = Route(status=301, headers={"Location": "/mid"})
    server.routes["/mid"] = Route(status=308, headers={"Location": "/new"})
    server.routes["/new"] = Route(b"moved")
    server.routes["/tmp"] = Route(status=302, headers={"Location": "/new"})
    for res in fetch_both(fetcher(), server.url("/old")):
        assert res.content == b"moved"
        assert res.permanent_url == server.url("/new")
    for res in fetch_both(fetcher(), server.url("/tmp")):
        assert res.content == b"moved" and res.permanent_url is None


def test_redirect_loop_and_chain_limit(server: LoopbackServer) -> None:
    server.routes["/a"] = Route(status=302, headers={"Location": "/b"})
    server.routes["/b"] = Route(status=302, headers={"Location": "/a"})
    for res in fetch_both(fetcher(), server.url("/a")):
        assert isinstance(res, FetchError) and "loop" in res.message
    for i in range(10):
        server.routes[f"/c{i}"] = Route(status=301, headers={"Location": f"/c{i + 1}"})
    for res in fetch_both(fetcher(max_redirects=3), server.url("/c0")):
        assert isinstance(res, FetchError) and "too many redirects" in res.message


@pytest.mark.parametrize("status,gone", [(404, True), (410, True), (500, False)])
def test_http_errors(server: LoopbackServer, status: int, gone: bool) -> None:
    server.routes["/x"] = Route(b"no", status=status)
    for res in fetch_both(fetcher(), server.url("/x")):
        assert isinstance(res, FetchError)
        assert res.status == status and res.gone is gone
        assert str(status) in res.message


def test_retry_after(server: LoopbackServer) -> None:
    server.routes["/busy"] = Route(b"", status=429, headers={"Retry-After": "120"})
    for res in fetch_both(fetcher(), server.url("/busy")):
        assert isinstance(res, FetchError) and res.retry_after == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert parse_retry_after("garbage") is None


def test_read_timeout_and_drip_are_bounded(server: LoopbackServer) -> None:
    server.routes["/slow"] = Route(b"late", delay=3.0)
    server.routes["/drip"] = Route(b"x" * 100, drip=0.2)
    f = fetcher(read=0.5, total=1.5)
    for res in fetch_both(f, server.url("/slow")):
        assert isinstance(res, FetchError) and "read timeout" in res.message
    for res in fetch_both(f, server.url("/drip")):
        assert isinstance(res, FetchError) and "longer than" in res.message


def test_size_caps_and_gzip_bomb(server: LoopbackServer) -> None:
    server.routes["/big"] = Route(b"x" * 300_000)
    server.routes["/bomb"] = Route(b"\0" * 50_000_000, gzip=True)
    f = fetcher(max_bytes=100_000)
    for path in ("/big", "/bomb"):
        for res in fetch_both(f, server.url(path)):
            assert isinstance(res, FetchError) and "too large" in res.message
    assert len(gzip.compress(b"\0" * 50_000_000)) < 100_000  # the bomb really is small


def test_gzip_body_is_decoded(server: LoopbackServer) -> None:
    server.routes["/gz"] = Route(b"compressed text " * 100, gzip=True)
    for res in fetch_both(fetcher(), server.url("/gz")):
        assert res.content == b"compressed text " * 100


def test_connection_refused_reset_and_short_body(server: LoopbackServer) -> None:
    port = closed_port()
    for res in fetch_both(fetcher(), f"http://127.0.0.1:{port}/"):
        assert isinstance(res, FetchError) and "refused" in res.message
    server.routes["/reset"] = Route(b"x" * 10_000, reset_after=100)
    server.routes["/short"] = Route(b"x" * 100, content_length=5000)
    for res in fetch_both(fetcher(read=5.0), server.url("/reset")):
        # A reset, reported as such at once (not a read timeout).
        assert isinstance(res, FetchError) and "broke off" in res.message, res
    for res in fetch_both(fetcher(), server.url("/short")):
        assert isinstance(res, FetchError) and "broke off" in res.message, res


def test_unresolvable_name() -> None:
    for res in fetch_both(fetcher(), "http://no-such-host.invalid/feed"):
        assert isinstance(res, FetchError) and "does not resolve" in res.message


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "javascript:alert(1)", "data:text/html,hi", "ftp://x/y", "nope"]
)
def test_only_http_urls(url: str) -> None:
    with pytest.raises(FetchError, match="only http and https|invalid address"):
        check_url(url)
