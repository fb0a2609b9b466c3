"""A real HTTP server on 127.0.0.1 for tests: routes, ETag/Last-Modified, faults.

Each route is a :class:`Route` (a canned response with optional misbehaviour) or a callable
``(handler) -> Route``. The server counts requests per path so tests can check that a 304 cost
no second download, that Retry-After was respected, and so on.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    """A canned response."""

    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = False
    """Send an ETag (hash of the body) and answer If-None-Match with 304."""
    last_modified: str | None = None
    """Send this Last-Modified and answer a matching If-Modified-Since with 304."""
    gzip: bool = False
    delay: float = 0.0
    """Sleep before answering (headers included): a read timeout."""
    drip: float = 0.0
    """Send the body one byte every ``drip`` seconds."""
    reset_after: int | None = None
    """Send this many body bytes, then reset the connection."""
    content_length: int | None = None
    """Announce this Content-Length instead of the real one."""


Handler = Callable[[BaseHTTPRequestHandler], Route]


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 with a route table."""

    def __init__(self) -> None:
        self.routes: dict[str, Route | Handler] = {}
        self.hits: Counter[str] = Counter()
        self.request_headers: dict[str, dict[str, str]] = {}
        self.in_flight = 0
        self.max_concurrent = 0
        """The most requests being answered at once."""
        lock = threading.Lock()
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without TCP_NODELAY keep-alive clients stall ~40 ms per small response.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                server.hits[path] += 1
                server.request_headers[path] = {k.lower(): v for k, v in self.headers.items()}
                route = server.routes.get(path)
                if route is None:
                    self._send(Route(b"not found", 404, "text/plain"))
                    return
                if callable(route):
                    route = route(self)
                with lock:
                    server.in_flight += 1
                    server.max_concurrent = max(server.max_concurrent, server.in_flight)
                try:
                    self._send(route)
                finally:
                    with lock:
                        server.in_flight -= 1

            def do_POST(self) -> None:  # noqa: N802
                # The same routes (a sync server's login is a POST); the body is ignored.
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def _send(self, route: Route) -> None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send_inner(route)

            def _send_inner(self, route: Route) -> None:
                if route.delay:
                    time.sleep(route.delay)
                body = route.body
                headers = dict(route.headers)
                etag = '"' + hashlib.sha1(body).hexdigest()[:12] + '"' if route.etag else None
                if etag:
                    headers["ETag"] = etag
                if route.last_modified:
                    headers["Last-Modified"] = route.last_modified
                not_modified = (etag and self.headers.get("If-None-Match") == etag) or (
                    route.last_modified
                    and self.headers.get("If-Modified-Since") == route.last_modified
                )
                if not_modified and route.status == 200:
                    self.send_response(304)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if route.gzip:
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                length = route.content_length if route.content_length is not None else len(body)
                self.send_header("Content-Length", str(length))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if route.reset_after is not None:
                    # Linger 0 then let the server close the socket: the client gets an RST
                    # in the middle of the announced body.
                    self.wfile.write(body[: route.reset_after])
                    self.wfile.flush()
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
                    self.close_connection = True
                    return
                if route.drip:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(route.drip)
                    return
                self.wfile.write(body)
                if route.content_length is not None and route.content_length > len(body):
                    self.wfile.flush()
                    self.close_connection = True

        class _Server(ThreadingHTTPServer):
            # Refreshes open dozens of connections at once; the default backlog of 5 drops
            # some and they look like connect timeouts.
            request_queue_size = 128

        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss(title: str, items: list[tuple[str, str, str]], *, link: str = "http://127.0.0.1/") -> bytes:
    """A small RSS 2.0 feed: items are (guid, title, link)."""
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0"><channel>',
        f"<title>{title}</title><link>{link}</link><description>test</description>",
    ]
    for n, (guid, item_title, item_link) in enumerate(items):
        parts.append(
            f"<item><guid>{guid}</guid><title>{item_title}</title><link>{item_link}</link>"
            f"<description>Summary of {item_title}.</description>"
            f"<pubDate>Mon, {1 + n % 28:02d} Jun 2026 10:00:00 GMT</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")
