"""A reverse proxy on 127.0.0.1 in front of the real FreshRSS, for faults FreshRSS itself does
not make: a gateway answering 502, a mangled item in a response, a hang.

It forwards every request as is (GET and POST, headers and body) and hands the response to
``fault(path, status, body)``, which may return another (status, body).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.sync import http

Fault = Callable[[str, int, bytes], tuple[int, bytes] | None]


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.fault: Fault | None = None
        self.hits: list[str] = []
        proxy = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def _forward(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() in ("authorization", "content-type")
                }
                path = self.path.split("?")[0]
                proxy.hits.append(path)
                r = http.request(method, proxy.upstream + self.path, content=body, headers=headers)
                status, data = r.status_code, r.content
                ctype = r.headers.get("content-type", "text/plain")
                if proxy.fault is not None:
                    changed = proxy.fault(path, status, data)
                    if changed is not None:
                        status, data = changed
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._forward("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._forward("POST")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/greader.php"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
