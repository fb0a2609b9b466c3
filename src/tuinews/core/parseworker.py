"""The feed-parsing worker process: ``python -m tuinews.core.parseworker``.

It reads requests from stdin and writes answers to stdout, one frame each: a 4-byte big-endian
length and a pickle. A request is ``(request_id, data, url, content_type)``; an answer is
``(request_id, True, ParsedFeed)`` or ``(request_id, False, message)``. Only this module and
:mod:`tuinews.core.parsers` (the refresh's side) speak it, over pipes they own.

This module imports only what parsing needs (no asyncio, no httpx): a worker costs about
25 MB.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pickle
import struct
import sys
from typing import Any, BinaryIO

from tuinews.core.errors import ParseError
from tuinews.core.models import ParsedFeed

HEADER = struct.Struct(">I")


# --------------------------------------------------------------------------------------------
# The worker's side
# --------------------------------------------------------------------------------------------


def _read_frame(stream: BinaryIO) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return pickle.loads(stream.read(size))


def _write_frame(stream: BinaryIO, message: object) -> None:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def parse_for_cache(data: bytes, url: str, content_type: str | None) -> ParsedFeed:
    """Parse one feed and compress each item's HTML for the cache (what a worker does)."""
    from tuinews.core.blobs import pack
    from tuinews.core.feeds import parse_feed

    parsed = parse_feed(data, url=url, content_type=content_type)
    entries = [
        dataclasses.replace(
            e, content_html=None, content_packed=pack(e.content_html.encode("utf-8"))
        )
        if e.content_html
        else e
        for e in parsed.entries
    ]
    return dataclasses.replace(parsed, entries=entries)


def serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    """The worker's loop: answer every request until stdin closes."""
    while True:
        request = _read_frame(stdin)
        if request is None:
            return 0
        request_id, data, url, content_type = request
        try:
            answer: tuple[int, bool, object] = (
                request_id,
                True,
                parse_for_cache(data, url, content_type),
            )
        except ParseError as exc:
            answer = (request_id, False, exc.message)
        except Exception as exc:  # noqa: BLE001 - a parser bug: report it, keep serving
            answer = (request_id, False, f"internal parser error: {exc!r}"[:300])
        _write_frame(stdout, answer)


def _widen_pipes(*streams: BinaryIO) -> None:
    """Grow the pipes to 1 MiB (Linux; the default is 64 KiB), so that neither side blocks on
    a busy peer while a feed (about 100 KB) or its parse is on its way."""
    try:
        import fcntl

        for stream in streams:
            with contextlib.suppress(OSError, ValueError):
                fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError):  # not Linux: the default size works, only slower
        pass


def main() -> int:
    """``python -m tuinews.core.parseworker``: serve parse requests on stdin/stdout."""
    _widen_pipes(sys.stdin.buffer, sys.stdout.buffer)
    return serve(sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    raise SystemExit(main())
