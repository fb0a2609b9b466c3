"""More network faults than :mod:`tests.loopback` offers, still on 127.0.0.1 only.

:class:`HostileServer` is a :class:`~tests.loopback.LoopbackServer` that also takes *raw* routes:
callables that write the whole response themselves (no Content-Length, a body streamed from a
generator, then the connection closed). :func:`blackhole` gives an address whose connect never
completes. :class:`Tally` collects the per-category counts the hostile tests print.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from tests.loopback import LoopbackServer

RawHandler = Callable[[BaseHTTPRequestHandler], None]


class HostileServer(LoopbackServer):
    """A loopback server whose ``raw`` routes write their own bytes."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: dict[str, RawHandler] = {}
        base = self.httpd.RequestHandlerClass
        outer = self

        class _RawHandler(base):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                handler = outer.raw.get(path)
                if handler is None:
                    super().do_GET()
                    return
                outer.hits[path] += 1
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    handler(self)
                self.close_connection = True

        self.httpd.RequestHandlerClass = _RawHandler
        # The stdlib default backlog (5) drops SYNs when a refresh opens dozens of connections
        # at once, which the client would see as connect timeouts: not the fault under test.
        self.httpd.socket.listen(128)
        default_error = self.httpd.handle_error

        def handle_error(request: object, client_address: object) -> None:
            # A client that hangs up mid-response is what these tests provoke: no traceback.
            if not isinstance(sys.exc_info()[1], ConnectionError):
                default_error(request, client_address)  # type: ignore[arg-type]

        self.httpd.handle_error = handle_error  # type: ignore[method-assign]


def streamed(
    chunks: Callable[[], Iterable[bytes]],
    *,
    content_type: str = "application/rss+xml",
    headers: dict[str, str] | None = None,
) -> RawHandler:
    """A 200 response without Content-Length: the body ends when the connection closes."""

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", content_type)
        h.send_header("Connection", "close")
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        for chunk in chunks():
            h.wfile.write(chunk)
        h.wfile.flush()

    return handler


def reset_mid_body(body: bytes, after: int) -> RawHandler:
    """Announce the whole body, send ``after`` bytes, then reset the connection (RST).

    (``Route.reset_after`` in tests/loopback.py closes a socket the handler's files still
    hold, so on keep-alive the client sees a read timeout rather than a reset.)
    """

    def handler(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body[:after])
        h.wfile.flush()
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        h.close_connection = True

    return handler


def big_feed_chunks(total_bytes: int, *, item_bytes: int = 4096) -> Callable[[], Iterator[bytes]]:
    """An RSS feed of about ``total_bytes``, generated as it is sent (never held in memory)."""

    def gen() -> Iterator[bytes]:
        yield b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title>'
        sent, n = 0, 0
        pad = b"x" * item_bytes
        while sent < total_bytes:
            item = (
                b"<item><guid>big-%d</guid><title>Big %d</title><description>%s</description></item>"
                % (n, n, pad)
            )
            sent += len(item)
            n += 1
            yield item
        yield b"</channel></rss>"

    return gen


def gzip_bomb(decompressed_bytes: int) -> bytes:
    """A gzip stream of zeros that inflates to ``decompressed_bytes`` (about 1000:1)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * (1 << 20)
    parts = [comp.compress(block) for _ in range(decompressed_bytes >> 20)]
    parts.append(comp.flush())
    return b"".join(parts)


@contextmanager
def blackhole() -> Iterator[tuple[str, int]]:
    """A 127.0.0.1 address whose TCP connect hangs: a listener with backlog 0 that never
    accepts, its queue filled first, so further SYNs are dropped."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    addr = listener.getsockname()
    fillers = []
    try:
        for _ in range(4):
            s = socket.socket()
            s.setblocking(False)
            with contextlib.suppress(OSError):  # BlockingIOError: the SYN is on its way
                s.connect(addr)
            fillers.append(s)
        yield addr[0], addr[1]
    finally:
        for s in fillers:
            s.close()
        listener.close()


def blackhole_works(addr: tuple[str, int], timeout: float = 0.5) -> bool:
    """Whether a plain connect to ``addr`` really hangs (some kernels answer anyway)."""
    probe = socket.socket()
    probe.settimeout(timeout)
    try:
        probe.connect(addr)
    except TimeoutError:
        return True
    except OSError:
        return False
    finally:
        probe.close()
    return False


@dataclass
class Counts:
    inputs: int = 0
    crashes: int = 0
    hangs: int = 0
    lost: int = 0


class Tally:
    """Per-category counts of what the hostile suite tried, printed at the end of the session."""

    def __init__(self) -> None:
        self.counts: dict[str, Counts] = defaultdict(Counts)

    def add(
        self, category: str, *, inputs: int = 0, crashes: int = 0, hangs: int = 0, lost: int = 0
    ) -> None:
        c = self.counts[category]
        c.inputs += inputs
        c.crashes += crashes
        c.hangs += hangs
        c.lost += lost
        print(
            f"[hostile] {category}: +{inputs} inputs, {crashes} crashes, {hangs} hangs, "
            f"{lost} stories lost"
        )

    def lines(self) -> list[str]:
        return [
            f"{name:<16} inputs={c.inputs:<5} crashes={c.crashes} hangs={c.hangs} lost={c.lost}"
            for name, c in sorted(self.counts.items())
        ]


TALLY = Tally()


# --------------------------------------------------------------------------------------------
# Building the system under test
# --------------------------------------------------------------------------------------------


TUINEWS = Path(sys.executable).parent / "tuinews"
ESCAPE_BYTES = ("\x1b", "\x07", "\x9b", "\x9d", "\x90", "\x00")


def make_service(db: Path, **limits: float):  # type: ignore[no-untyped-def]
    """A real :class:`Service` over ``db`` with short timeouts and no bundled samples."""
    from tuinews.core.fetch import Fetcher, FetchLimits
    from tuinews.core.service import Service

    lim = FetchLimits(
        connect_timeout=limits.get("connect", 1.0),
        read_timeout=limits.get("read", 2.0),
        total_timeout=limits.get("total", 6.0),
        max_bytes=int(limits.get("max_bytes", 20 * 1024 * 1024)),
        concurrency=int(limits.get("concurrency", 16)),
    )
    return Service(
        db,
        fetcher=Fetcher(lim, serve_samples=False),
        extract_workers=1,
        extract_timeout=limits.get("extract_timeout", 10.0),
    )


def cli(
    data: Path, *args: str, check: int | None = 0, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tuinews`` script on the data directory ``data``."""
    env = {k: v for k, v in os.environ.items() if k != "TUINEWS_HOME"}
    proc = subprocess.run(
        [str(TUINEWS), "--data-dir", str(data), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        stdin=subprocess.DEVNULL,
        encoding="utf-8",
        errors="surrogateescape",
    )
    if check is not None:
        assert proc.returncode == check, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


def write_config(data: Path, **network: float) -> None:
    """A config.toml with short network limits in ``data``."""
    data.mkdir(parents=True, exist_ok=True)
    lines = ["[network]"] + [f"{k} = {v}" for k, v in network.items()]
    (data / "config.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
